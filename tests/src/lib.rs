//! Helpers shared by smelt's integration tests.
//!
//! The tests run the compiler in-process and the `smelt` executable as a
//! user would; both need the workspace built first (`cargo build
//! --release`), which the test command in the README does. A missing
//! `smelt` binary or runtime library is a test failure that says so, never
//! a silent skip.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The shared test suite (`../shared/testsuite` from the repository root).
pub fn testsuite() -> PathBuf {
    repo_root().join("..").join("shared").join("testsuite")
}

/// The `smelt` executable of the same build as this test.
pub fn smelt_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join("smelt");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "the smelt executable was not found next to {}; run `cargo build --release` first",
        exe.display()
    )
}

/// Runs `smelt` with `args`.
pub fn smelt(args: &[&str]) -> Result<Output> {
    let bin = smelt_bin()?;
    Command::new(&bin)
        .args(args)
        .output()
        .with_context(|| format!("failed to run {}", bin.display()))
}

/// Compiles the text module `wat` as a command (see `smelt::command`) into
/// an executable in `dir`; returns its path.
pub fn build_wat(dir: &Path, name: &str, wat: &str, invoke: Option<&str>) -> Result<PathBuf> {
    let wasm = wat::parse_str(wat)?;
    let target = smelt::target::Target::host()?;
    let object = smelt::command::compile(&wasm, &target, invoke)?;
    let obj_path = dir.join(format!("{name}.o"));
    std::fs::write(&obj_path, object)?;
    let exe = dir.join(name);
    smelt::link::link(&target, &obj_path, &exe)?;
    Ok(exe)
}

/// Runs an executable with `args`, capturing its output.
pub fn run(exe: &Path, args: &[&str]) -> Result<Output> {
    Command::new(exe)
        .args(args)
        .output()
        .with_context(|| format!("failed to run {}", exe.display()))
}
