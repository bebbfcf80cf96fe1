//! The `socle` binary: everything is in the library (see `socle_core::cli`).

fn main() -> std::process::ExitCode {
    socle_core::cli::main()
}
