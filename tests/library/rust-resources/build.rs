//! Compiles the component of `../resources` into `libres.a` with its Rust
//! bindings `res.rs`, in `OUT_DIR`. The test passes the component's path
//! in `SMELT_LIBRARY_RESOURCES_WASM` and the folder of the runtime library
//! in `SMELT_RUNTIME_DIR`.

fn main() {
    println!("cargo:rerun-if-env-changed=SMELT_LIBRARY_RESOURCES_WASM");
    let Some(wasm) = std::env::var_os("SMELT_LIBRARY_RESOURCES_WASM") else {
        eprintln!("set SMELT_LIBRARY_RESOURCES_WASM to the component built from ../resources");
        std::process::exit(1);
    };
    if let Err(e) = smelt::Build::new().component(wasm).name("res").compile() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
