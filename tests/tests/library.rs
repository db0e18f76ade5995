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
//! cross C compiler and run under qemu-user. For a musl target the C
//! programs are built by Zig's clang with its musl (static, without the
//! sanitizer); the Rust programs are tested on the glibc targets only.
//!
//! `tests/library/c/threads.c` checks that an instance refuses calls from
//! another thread than its creator's, while that thread can make and use
//! an instance of its own. `tests/library/c/resources.c` uses the resource
//! type exported by `tests/library/resources` through its handles, and
//! `tests/library/c/imports.c` implements the imports of
//! `tests/library/imports` in C.
//!
//! From Rust: `tests/library/rust`, whose `build.rs` compiles the same
//! component with `smelt::Build` and whose `main` makes the same calls
//! through the generated bindings, must print the same output; so must
//! `tests/library/rust-resources`, the Rust twin of resources.c. They are
//! built with `cargo build --target` for the test target (linked by its C
//! compiler, with its runtime library from `target/TRIPLE/release`) and run
//! under qemu-user for another architecture.

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
    let out = compile_c(target, dir, name, "shapes", sanitize, &[])?;
    if !out.status.success() {
        bail!(
            "compiling tests/library/c/{name}.c failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(dir.join(name))
}

/// Whether the test target's C programs are built with AddressSanitizer:
/// on this machine's architecture, with glibc (Zig's musl has no
/// sanitizer runtime).
fn sanitized(target: &smelt::target::Target) -> bool {
    target.is_native_arch() && !target.triple().to_string().ends_with("-musl")
}

/// The C compiler of the test target: its linker (a C compiler driver)
/// for a glibc target; for a musl target, whose executables smelt links
/// with rust-lld and Rust's own musl, Zig's clang with its musl
/// (`python3 -m ziglang cc`, which tests/setup.sh installs).
fn c_compiler(target: &smelt::target::Target) -> Result<Command> {
    let triple = target.triple().to_string();
    if !triple.ends_with("-musl") {
        return Ok(Command::new(&target.spec().link.linker));
    }
    let arch = triple.split('-').next().context("a triple")?;
    let arch = arch.strip_suffix("gc").unwrap_or(arch);
    let mut cc = Command::new("python3");
    cc.args([
        "-m",
        "ziglang",
        "cc",
        "-target",
        &format!("{arch}-linux-musl"),
    ]);
    // Zig's clang checks for undefined behavior by default, with a runtime
    // that only its own link provides (smelt links the objects of --link).
    cc.arg("-fno-sanitize=undefined");
    Ok(cc)
}

/// Runs the target's C compiler on `tests/library/c/NAME.c` with `flags`
/// (which may name more sources), linking `dir/libLIB.a`, to `dir/NAME`;
/// returns its output. A musl target's program also links libunwind,
/// which the runtime's `std` needs and musl's libc does not have.
fn compile_c(
    target: &smelt::target::Target,
    dir: &Path,
    name: &str,
    lib: &str,
    sanitize: bool,
    flags: &[&str],
) -> Result<std::process::Output> {
    let root = smelt_tests::repo_root();
    let mut cc = c_compiler(target)?;
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"]);
    if sanitize {
        cc.arg("-fsanitize=address");
    }
    cc.args(flags)
        .arg(format!("-I{}", dir.display()))
        .arg(root.join(format!("tests/library/c/{name}.c")))
        .arg(dir.join(format!("lib{lib}.a")))
        .args(["-lpthread", "-ldl", "-lm"]);
    if target.triple().to_string().ends_with("-musl") {
        cc.arg("-lunwind");
    }
    cc.arg("-o").arg(dir.join(name));
    cc.output().context("failed to run the C compiler")
}

/// The output of `run`, a run of the C program `exe` (`how`: which way it
/// ran, for messages), asserted to have succeeded with no report of the
/// sanitizer: its stdout and stderr.
fn clean_run(run: &std::process::Output, exe: &Path, how: &str) -> (String, String) {
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success(),
        "{} ({how}) failed ({}):\n{stdout}\n{stderr}",
        exe.display(),
        smelt_tests::describe(run.status)
    );
    assert!(
        !stderr.contains("AddressSanitizer") && !stderr.contains("LeakSanitizer"),
        "the sanitizer reported ({how}):\n{stderr}"
    );
    (stdout, stderr)
}

/// Builds tests/library's component into `libshapes.a` and `shapes.h` for
/// the test target (`SMELT_TEST_TARGET`), in a new temporary folder.
fn build_library() -> Result<tempfile::TempDir> {
    build_component_library("guest", "smelt_library_guest", "shapes")
}

/// Builds the component of `tests/library/GUEST` (`WASM.wasm`) into
/// `libLIB.a` and `LIB.h` for the test target (`SMELT_TEST_TARGET`), in a
/// new temporary folder.
fn build_component_library(guest: &str, wasm: &str, lib: &str) -> Result<tempfile::TempDir> {
    let guests = smelt_tests::build_guests(&format!("tests/library/{guest}"), "wasm32-wasip2")
        .map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let lib_path = dir.path().join(format!("lib{lib}.a"));
    let mut args = vec![
        "build".to_string(),
        guests.join(format!("{wasm}.wasm")).display().to_string(),
        "--emit".into(),
        "staticlib".into(),
        "-o".into(),
        lib_path.display().to_string(),
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
        dir.path().join(format!("{lib}.h")).is_file(),
        "the header is written beside the library"
    );
    Ok(dir)
}

#[test]
fn a_c_program_calls_the_component_as_the_native_crate_does() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_library()?;
    let sanitize = sanitized(&target);
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
        let (stdout, stderr) = clean_run(&run, &exe, path);
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
        assert!(
            stderr.contains("text.not-utf8() trapped: wasm trap: invalid utf-8"),
            "the trap of a result that is not UTF-8 ({path}):\n{stderr}"
        );
    }
    Ok(())
}

#[test]
fn an_instance_belongs_to_the_thread_that_created_it() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_library()?;
    let exe = build_c(&target, dir.path(), "threads", sanitized(&target))?;
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

/// Native imports: `tests/library/c/host.c` and `imports.c` implement the
/// interfaces the component of `tests/library/imports` imports, through
/// the glue the header defines, and imports.c checks what the component's
/// exports (which call those functions) return against what it computes
/// itself: numbers, strings both ways, lists of strings, records,
/// variants, results, no parameters, no result, a thousand calls in one;
/// a resource type the C code implements (its handles its own table's
/// indices: made by its constructor, lent to methods and in a list,
/// given back by an `own` argument, and its destructor called when the
/// component drops one); and results the
/// Canonical ABI forbids (a string that is not UTF-8, a variant case out
/// of range), which must fail the call with a trap and leak nothing.
#[test]
fn a_c_program_implements_the_components_imports() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_component_library("imports", "smelt_library_imports", "imports")?;
    let sanitize = sanitized(&target);
    let host = smelt_tests::repo_root().join("tests/library/c/host.c");
    let host = host.to_str().context("a UTF-8 path")?;
    let out = compile_c(&target, dir.path(), "imports", "imports", sanitize, &[host])?;
    assert!(
        out.status.success(),
        "compiling tests/library/c/imports.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = dir.path().join("imports");
    let run = smelt_tests::run(&exe, &[])?;
    let (stdout, _) = clean_run(&run, &exe, "with host.c");
    let checks = stdout.lines().filter(|l| l.starts_with("ok: ")).count();
    assert_eq!(checks, 22, "every check of imports.c passed:\n{stdout}");
    // The traps name the import and what was wrong with its result.
    assert!(
        stdout.contains(
            "error: wasm trap: native import `test:imports/host@0.1.0#upper`: a string is not UTF-8"
        ),
        "the first trap's message:\n{stdout}"
    );
    assert!(
        stdout.contains(
            "error: wasm trap: native import `test:imports/host@0.1.0#find`: invalid variant \
             discriminant"
        ),
        "the second trap's message:\n{stdout}"
    );
    Ok(())
}

/// A C program uses the resource of tests/library/resources through the
/// generated header (tests/library/c/resources.c): constructor, methods and
/// a static function; handles in a record, a result and a list of borrows;
/// an owned handle moved into a call; `_drop` running the component's
/// destructor; a moved or dropped handle refused by name; a trap with a
/// handle lent. Under AddressSanitizer on this machine's architecture.
#[test]
fn a_c_program_uses_an_exported_resource_through_handles() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_component_library("resources", "smelt_library_resources", "res")?;
    let sanitize = sanitized(&target);
    let out = compile_c(&target, dir.path(), "resources", "res", sanitize, &[])?;
    assert!(
        out.status.success(),
        "compiling tests/library/c/resources.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = dir.path().join("resources");
    let run = smelt_tests::run(&exe, &[])?;
    let (stdout, _) = clean_run(&run, &exe, "resources.c");
    assert_resources_output(&stdout);
    Ok(())
}

/// Asserts that `stdout`, the output of resources.c or of its Rust twin,
/// has all 20 checks passed, and the errors of the bad handles and the
/// trap.
fn assert_resources_output(stdout: &str) {
    let checks = stdout.lines().filter(|l| l.starts_with("ok: ")).count();
    assert_eq!(checks, 20, "every check passed:\n{stdout}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "error: cannot drop handle 2 of resource `test:resources/counters@0.1.0#counter`: \
             unknown handle index 2",
            "error: cannot drop handle 3 of resource `test:resources/counters@0.1.0#counter`: \
             unknown handle index 3",
            "error: wasm trap: unknown handle index 3",
            "error: wasm trap: unreachable",
            "error: the instance trapped in an earlier call (wasm trap: unreachable) and cannot \
             be called again: free it and create another",
        ],
        "the errors of the bad handles and the trap:\n{stdout}"
    );
}

/// A native import the program does not implement is a link error that
/// names its C function (`<prefix>_impl_<interface>_<function>`).
#[test]
fn a_missing_native_import_is_a_link_error_naming_it() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let dir = build_component_library("imports", "smelt_library_imports", "imports")?;
    let host = smelt_tests::repo_root().join("tests/library/c/host.c");
    let host = host.to_str().context("a UTF-8 path")?;
    let flags = ["-DOMIT_ADD", host];
    let out = compile_c(&target, dir.path(), "imports", "imports", false, &flags)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "linking without imports_impl_host_add succeeded"
    );
    // GNU ld's words, or lld's (Zig's, for a musl target).
    assert!(
        stderr.contains("undefined reference to `imports_impl_host_add'")
            || stderr.contains("undefined symbol: imports_impl_host_add"),
        "the linker's message names the missing function:\n{stderr}"
    );
    Ok(())
}

/// Native imports of an executable: `smelt build --emit header` writes the
/// header of `tests/library/command`'s imports, `tests/library/c/host.c`
/// is compiled against it, and `smelt build --link` links it into the
/// command, which calls it and prints what it returns.
#[test]
fn an_executable_links_the_c_code_of_its_imports() -> Result<()> {
    let target = smelt_tests::test_target()?;
    let guests = smelt_tests::build_guests("tests/library/command", "wasm32-wasip2")
        .map_err(anyhow::Error::msg)?;
    let wasm = guests.join("smelt-library-command.wasm");
    let wasm = wasm.to_str().context("a UTF-8 path")?;
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name).display().to_string();
    let header =
        smelt_tests::smelt(&["build", wasm, "--emit", "header", "-o", &path("imports.h")])?;
    assert!(
        header.status.success(),
        "smelt build --emit header failed:\n{}",
        String::from_utf8_lossy(&header.stderr)
    );
    let root = smelt_tests::repo_root();
    let cc = c_compiler(&target)?
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-c", "-fPIC"])
        .arg(format!("-I{}", dir.path().display()))
        .arg(root.join("tests/library/c/host.c"))
        .arg("-o")
        .arg(path("host.o"))
        .output()
        .context("failed to run the C compiler")?;
    assert!(
        cc.status.success(),
        "compiling tests/library/c/host.c failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let exe = path("command");
    let host = path("host.o");
    let mut args = vec!["build", wasm, "--link", &host, "-o", &exe];
    let flags = smelt_tests::target_flags();
    args.extend(flags.iter().map(String::as_str));
    let built = smelt_tests::smelt(&args)?;
    assert!(
        built.status.success(),
        "smelt build --link failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = smelt_tests::run(Path::new(&exe), &["one", "three"])?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{exe} failed ({}):\n{stdout}\n{}",
        smelt_tests::describe(run.status),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout,
        "upper: ONE\nupper: THREE\nsplit: [\"a\", \"b\", \"c\"]\nentry: a=1\nentry: b=2\n\
         check: Err(\"negative: -3\")\nsum of lengths: 8\n"
    );

    // Without the implementation, the link fails naming what is missing;
    // without --link, smelt says how to provide the imports.
    let empty = path("empty.o");
    let cc = c_compiler(&target)?
        .args(["-x", "c", "-c", "/dev/null", "-o", &empty])
        .output()?;
    assert!(cc.status.success());
    let mut args = vec!["build", wasm, "--link", &empty, "-o", &exe];
    args.extend(flags.iter().map(String::as_str));
    let unlinked = smelt_tests::smelt(&args)?;
    let stderr = String::from_utf8_lossy(&unlinked.stderr);
    assert!(
        !unlinked.status.success() && stderr.contains("smelt_import_test_3aimports_2fhost"),
        "a missing glue is a link error naming its symbol:\n{stderr}"
    );
    let mut args = vec!["build", wasm, "-o", &exe];
    args.extend(flags.iter().map(String::as_str));
    let refused = smelt_tests::smelt(&args)?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("--link"),
        "without --link, smelt points to it:\n{stderr}"
    );
    Ok(())
}

/// Builds the Rust program of `tests/library/PROJECT` for the test target,
/// whose build script compiles the component of `tests/library/GUEST`
/// (`WASM.wasm`, passed in the environment variable `VAR`) with
/// `smelt::Build`, and runs it (under qemu-user for another architecture):
/// its stdout and stderr, asserted to have succeeded, and cargo's stderr.
/// Every such program builds in `tests/library/rust/target`, so smelt is
/// compiled for their build scripts once.
fn run_rust_program(
    project: &str,
    guest: &str,
    wasm: &str,
    var: &str,
) -> Result<(String, String, String)> {
    let root = smelt_tests::repo_root();
    let guests = smelt_tests::build_guests(&format!("tests/library/{guest}"), "wasm32-wasip2")
        .map_err(anyhow::Error::msg)?;
    let manifest = root.join(format!("tests/library/{project}/Cargo.toml"));
    let target_dir = root.join("tests/library/rust/target");
    let target = smelt_tests::test_target()?;
    let triple = target.triple().to_string();
    if triple.ends_with("-musl") {
        bail!(
            "the Rust programs are tested on the glibc targets (see the module documentation), \
             not {triple}"
        );
    }
    let host = smelt::target::Target::host()?.triple().to_string() == triple;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .args(["build", "--release", "--locked"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env(var, guests.join(format!("{wasm}.wasm")));
    let exe = if host {
        // The runtime library is built beside the smelt executable.
        let smelt = smelt_tests::smelt_bin()?;
        build.env(
            "SMELT_RUNTIME_DIR",
            smelt.parent().context("the smelt executable's folder")?,
        );
        target_dir.join(format!("release/smelt-library-{project}"))
    } else {
        // Another target's, where tests/run.sh builds it; the program is
        // linked by the target's C compiler, as smelt links.
        let linker = format!(
            "CARGO_TARGET_{}_LINKER",
            triple.to_uppercase().replace('-', "_")
        );
        build
            .args(["--target", &triple])
            .env(linker, &target.spec().link.linker)
            .env(
                "SMELT_RUNTIME_DIR",
                root.join(format!("target/{triple}/release")),
            );
        target_dir.join(format!("{triple}/release/smelt-library-{project}"))
    };
    let started = std::time::Instant::now();
    let out = build.output().context("failed to run cargo")?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "building tests/library/{project} failed ({}, after {:.1} s):\n{}{}",
            smelt_tests::describe(out.status),
            elapsed.as_secs_f64(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let built = String::from_utf8_lossy(&out.stderr).into_owned();
    let run = smelt_tests::run(&exe, &[])?;
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}\ncargo's output:\n{built}",
        exe.display(),
        smelt_tests::describe(run.status)
    );
    Ok((stdout, stderr, built))
}

#[test]
fn a_rust_program_calls_the_component_through_build_rs() -> Result<()> {
    let (stdout, stderr, built) = run_rust_program(
        "rust",
        "guest",
        "smelt_library_guest",
        "SMELT_LIBRARY_GUEST_WASM",
    )?;
    assert_eq!(
        stdout,
        expected()?,
        "the Rust program's output differs from the native crate's\ncargo's output:\n{built}"
    );
    assert!(
        stderr.contains("wasm trap: unreachable") && stderr.contains("#boom"),
        "the trap's message:\n{stderr}"
    );
    assert!(
        stderr.contains("text.not-utf8() trapped: wasm trap: invalid utf-8"),
        "the trap of a result that is not UTF-8:\n{stderr}"
    );
    Ok(())
}

/// A Rust program makes the checks of tests/library/c/resources.c through
/// the bindings `smelt::Build` generates for tests/library/resources
/// (`tests/library/rust-resources`), with the same output.
#[test]
fn a_rust_program_uses_an_exported_resource_through_handles() -> Result<()> {
    let (stdout, ..) = run_rust_program(
        "rust-resources",
        "resources",
        "smelt_library_resources",
        "SMELT_LIBRARY_RESOURCES_WASM",
    )?;
    assert_resources_output(&stdout);
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
