//! Generated bindings of `wit/plugin.wit` (hidden: use the crate's typed modules).

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
    pub_export_macro: true,
    export_macro_name: "__export_socle_plugin",
    default_bindings_module: "socle_sdk::bindings",
    generate_all,
});
