//! Generates the host bindings of the WASI 0.2 interfaces (`smelt-wit`)
//! into `$OUT_DIR/bindings.rs`.

fn main() {
    let world = smelt_wit::p2();
    let code = smelt_wit::bindings::generate(world);
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("bindings.rs"), code).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
