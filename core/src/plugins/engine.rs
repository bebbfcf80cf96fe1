//! The process's one wasmtime `Engine`: component model, async host calls, epoch interruption
//! (a thread ticks every millisecond; each tick lets other tasks run and checks the deadline),
//! and the pooling allocator. One engine per process: every app in it shares compiled code, the
//! pool and the ticker.
//!
//! Guest code that computes for more than a tick moves to its own executor, on threads the OS
//! schedules at a lower priority than the platform's: however hard plugins spin, HTTP requests
//! and database work get the CPU first.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

/// Epoch tick length: how long a guest runs before other tasks get a turn.
pub const TICK: Duration = Duration::from_millis(1);
/// How much lower the OS priority of guest threads is (Linux `nice`).
const GUEST_NICENESS: i32 = 10;
/// Largest linear memory any plan allows (the pool's hard ceiling; plans set lower limits).
pub const MAX_MEMORY: usize = 128 << 20;

fn config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(OptLevel::Speed);
    // Deep recursion traps instead of exhausting the host's stack.
    config.max_wasm_stack(512 * 1024);
    config.async_stack_size(2 << 20);
    // Reserve less than the 4 GiB default per memory: bounds checks cost a little, but hundreds
    // of slots fit comfortably in the address space.
    config.memory_reservation(MAX_MEMORY as u64 + (64 << 20));
    config.memory_guard_size(32 << 20);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(512);
    pool.total_core_instances(1024);
    pool.total_memories(512);
    pool.total_tables(1024);
    pool.max_memory_size(MAX_MEMORY);
    pool.max_memories_per_component(2);
    // Resetting a memory slot is an `madvise`, and on a busy node (other threads of the process
    // running on other cores) each one interrupts every core to flush its TLB: profiling the
    // dispatch bench showed those IPIs as the largest cost of a short invocation. Batching the
    // decommits makes it one flush per batch.
    pool.decommit_batch_size(32);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The engine (created, with its ticker, on first use).
pub fn shared() -> anyhow::Result<&'static Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let engine = Engine::new(&config()).map_err(|e| format!("{e:#}"))?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("socle-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(TICK);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(engine)
    });
    engine.as_ref().map_err(|e| anyhow::anyhow!("failed to create the wasmtime engine: {e}"))
}

/// The executor guest code runs on (created on first use, one thread per core).
pub fn executor() -> anyhow::Result<&'static tokio::runtime::Runtime> {
    static EXECUTOR: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let executor = EXECUTOR.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("socle-plugin")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    executor.as_ref().map_err(|e| anyhow::anyhow!("failed to start the plugin executor: {e}"))
}

/// Lowers the calling thread's scheduling priority (Linux: `nice` is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority only read their integer arguments; a failure (a
        // sandbox forbidding it) leaves the thread at normal priority, which is safe.
        #[allow(unsafe_code)]
        unsafe {
            let tid = libc::gettid();
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, GUEST_NICENESS);
        }
    }
}
