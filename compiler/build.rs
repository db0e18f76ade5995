//! Records the sysroot of the Rust toolchain that builds smelt, so that
//! `smelt build` finds the toolchain's linker (`rust-lld`) and C runtime
//! files without running `rustc --print sysroot` (about 20 ms, as long as
//! linking hello world) every time.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=SMELT_BUILD_SYSROOT={sysroot}");
}
