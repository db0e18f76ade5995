fn main() {
    println!("cargo::rerun-if-changed=src/unwind.c");
    cc::Build::new()
        .file("src/unwind.c")
        .warnings(true)
        .extra_warnings(true)
        .compile("smelt_unwind");
}
