//! Generates the host bindings of the WASI 0.2 and 0.3 interfaces
//! (`smelt-wit`) into `$OUT_DIR/bindings.rs` (WASI 0.2, and the table of
//! both worlds' resource types) and `$OUT_DIR/bindings_p3.rs` (WASI 0.3, the `bindings::p3`
//! module), and those of WASI preview1 (from its witx) into
//! `$OUT_DIR/bindings_p1.rs` (`p1::bindings`).

fn main() {
    let (p2, p3) = (smelt_wit::p2(), smelt_wit::p3());
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code = smelt_wit::bindings::generate(p2);
    code.push_str(&smelt_wit::bindings::resource_table(&[p2, p3]));
    std::fs::write(out.join("bindings.rs"), code).expect("OUT_DIR is writable");
    std::fs::write(
        out.join("bindings_p3.rs"),
        smelt_wit::bindings::generate(p3),
    )
    .expect("OUT_DIR is writable");
    std::fs::write(out.join("bindings_p1.rs"), smelt_wit::preview1::generate())
        .expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
