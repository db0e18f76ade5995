//! A component as a C library (`smelt build --emit staticlib`, issue 18):
//! the component of `tests/library/guest` is built into `libshapes.a` and
//! `shapes.h` for the test target, `tests/library/c/main.c` calls it
//! through the header, and its output must equal what
//! `tests/library/native`'s `expected` prints, the same library built as
//! a native Rust crate making the same calls.
//!
//! On this machine's target the C program is built with AddressSanitizer
//! (its leak checker included): the generated header, the runtime's
//! conversions and the free helpers must neither touch memory they do not
//! own nor lose any. For aarch64 and riscv64 it is built with the target's
//! cross C compiler and run under qemu-user. Libraries are tested on the
//! glibc targets: a musl target's library links with a musl C toolchain,
//! which this machine has for none of them.
//!
//! `tests/library/c/threads.c` checks that an instance refuses calls from
//! another thread than its creator's, while that thread can make and use
//! an instance of its own.
//!
//! From Rust: `tests/library/rust`, whose `build.rs` compiles the same
//! component with `smelt::Build` and whose `main` makes the same calls
//! through the generated bindings, must print the same output. It is
//! built and run for this machine's target only (a build script links for
//! the target cargo builds for, and the test builds for the host), whatever
//! the test target is.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Builds `native`'s `expected` for this machine and returns its output.
fn expected() -> Result<String> {
    let root = smelt_tests::repo_root();
    let project = root.join("tests/library/native");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["build", "--release", "--locked", "--bin", "expected"])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(project.join("target"))
        .output()
        .context("failed to run cargo")?;
    if !out.status.success() {
        bail!(
            "building tests/library/native failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let run = Command::new(project.join("target/release/expected")).output()?;
    if !run.status.success() {
        bail!("expected failed: {}", smelt_tests::describe(run.status));
    }
    Ok(String::from_utf8(run.stdout)?)
}

/// Compiles `tests/library/c/NAME.c` against the library in `dir` with the
/// target's C compiler; returns the executable's path (`dir/NAME`).
fn build_c(
    target: &smelt::target::Target,
    dir: &Path,
    name: &str,
    sanitize: bool,
) -> Result<std::path::PathBuf> {
    let root = smelt_tests::repo_root();
    let exe = dir.join(name);
    let mut cc = Command::new(&target.spec().link.linker);
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"]);
    if sanitize {
        cc.arg("-fsanitize=address");
    }
    cc.arg(format!("-I{}", dir.display()))
        .arg(root.join(format!("tests/library/c/{name}.c")))
        .arg(dir.join("libshapes.a"))
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe);
    let out = cc.output().context("failed to run the C compiler")?;
    if !out.status.success() {
        bail!(
            "compiling tests/library/c/{name}.c failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(exe)
}

/// Builds tests/library's component into `libshapes.a` and `shapes.h` for
/// the test target, in a new temporary folder.
fn build_library(target: &smelt::target::Target) -> Result<tempfile::TempDir> {
    let triple = target.triple().to_string();
    if triple.ends_with("-musl") {
        bail!(
            "libraries are tested on the glibc targets (see the module documentation), not {triple}"
        );
    }
    let guests = smelt_tests::build_guests("tests/library/guest", "wasm32-wasip2")
        .map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let lib = dir.path().join("libshapes.a");
    let mut args = vec![
        "build".to_string(),
        guests
            .join("smelt_library_guest.wasm")
            .display()
            .to_string(),
        "--emit".into(),
        "staticlib".into(),
        "-o".into(),
        lib.display().to_string(),
    ];
    args.extend(smelt_tests::target_flags());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let built = smelt_tests::smelt(&args)?;
    if !built.status.success() {
        bail!(
            "smelt build --emit staticlib failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    assert!(
        dir.path().join("shapes.h").is_file(),
        "the header is written beside the library"
    );
    Ok(dir)
}

#[test]
fn a_c_program_calls_the_component_as_the_native_crate_does() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_library(&target)?;
    let sanitize = target.is_native_arch();
    let exe = build_c(&target, dir.path(), "main", sanitize)?;
    let expected = expected()?;
    // Both paths of a call (rt/src/component/library.rs): direct, which
    // this component's calls take, and through the export adapter, which
    // the environment variable forces.
    for via_adapter in [false, true] {
        let mut command = smelt_tests::under_runner(Command::new(&exe));
        if via_adapter {
            command.env("SMELT_LIBRARY_VIA_ADAPTER", "1");
        }
        let run = command.output()?;
        let path = if via_adapter {
            "through the adapter"
        } else {
            "direct"
        };
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            run.status.success(),
            "{} ({path}) failed ({}):\n{stdout}\n{stderr}",
            exe.display(),
            smelt_tests::describe(run.status)
        );
        assert!(
            !stderr.contains("AddressSanitizer") && !stderr.contains("LeakSanitizer"),
            "the sanitizer reported ({path}):\n{stderr}"
        );
        assert_eq!(
            stdout, expected,
            "the C program's output ({path}) differs from the native crate's"
        );
        // The trap came back to C as an error carrying the trap's message
        // and the function it happened in.
        assert!(
            stderr.contains("wasm trap: unreachable") && stderr.contains("#boom"),
            "the trap's message ({path}):\n{stderr}"
        );
    }
    Ok(())
}

#[test]
fn an_instance_belongs_to_the_thread_that_created_it() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_library(&target)?;
    let exe = build_c(&target, dir.path(), "threads", target.is_native_arch())?;
    let run = smelt_tests::run(&exe, &[])?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{} failed ({}):\n{stdout}\n{}",
        exe.display(),
        smelt_tests::describe(run.status),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout,
        "other thread, first instance: refused\n\
         other thread, own instance: z\n\
         main thread, first instance: y\n"
    );
    Ok(())
}

#[test]
fn a_rust_program_calls_the_component_through_build_rs() -> Result<()> {
    let root = smelt_tests::repo_root();
    let guests = smelt_tests::build_guests("tests/library/guest", "wasm32-wasip2")
        .map_err(anyhow::Error::msg)?;
    let project = root.join("tests/library/rust");
    // The runtime library is built beside the smelt executable.
    let smelt = smelt_tests::smelt_bin()?;
    let runtime_dir = smelt.parent().context("the smelt executable's folder")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = std::time::Instant::now();
    let out = Command::new(&cargo)
        .args(["build", "--release", "--locked"])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(project.join("target"))
        .env(
            "SMELT_LIBRARY_GUEST_WASM",
            guests.join("smelt_library_guest.wasm"),
        )
        .env("SMELT_RUNTIME_DIR", runtime_dir)
        .output()
        .context("failed to run cargo")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "building tests/library/rust failed ({}, after {:.1} s):\n{}{}",
            smelt_tests::describe(out.status),
            elapsed.as_secs_f64(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let built = String::from_utf8_lossy(&out.stderr);
    let exe = project.join("target/release/smelt-library-rust");
    let run = Command::new(&exe)
        .output()
        .with_context(|| format!("failed to run {}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}\ncargo's output:\n{built}",
        exe.display(),
        smelt_tests::describe(run.status)
    );
    assert_eq!(
        stdout,
        expected()?,
        "the Rust program's output differs from the native crate's\ncargo's output:\n{built}"
    );
    assert!(
        stderr.contains("wasm trap: unreachable") && stderr.contains("#boom"),
        "the trap's message:\n{stderr}"
    );
    Ok(())
}

#[test]
fn a_core_module_is_not_a_library() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wat = dir.path().join("m.wat");
    std::fs::write(&wat, "(module (func (export \"f\")))")?;
    let lib = dir.path().join("libm.a");
    let out = smelt_tests::smelt(&[
        "build",
        wat.to_str().unwrap(),
        "--emit",
        "staticlib",
        "-o",
        lib.to_str().unwrap(),
    ])?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("builds components into libraries"),
        "{stderr}"
    );
    assert!(!lib.exists(), "nothing is written");
    Ok(())
}
