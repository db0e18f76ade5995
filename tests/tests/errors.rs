//! Bad input gets a clear error naming what and where, and an exit status
//! scripts can use (1), never a panic.

use smelt_tests::smelt;

/// Runs `smelt build` on `wasm` (written to a file); returns (status,
/// stderr).
fn build(wasm: &[u8]) -> (Option<i32>, String) {
    build_with(wasm, &[])
}

/// Runs `smelt build ARGS` on `wasm`; returns (status, stderr).
fn build_with(wasm: &[u8], args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wasm");
    std::fs::write(&input, wasm).unwrap();
    let output = dir.path().join("out");
    let mut command = vec![
        "build",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    command.extend_from_slice(args);
    let out = smelt(&command).expect("run smelt");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "smelt panicked: {stderr}");
    (out.status.code(), stderr)
}

fn assert_error(wasm: &[u8], needles: &[&str]) {
    let (status, stderr) = build(wasm);
    assert_eq!(status, Some(1), "stderr: {stderr}");
    assert!(stderr.starts_with("smelt: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    }
}

#[test]
fn not_webassembly() {
    assert_error(b"\x7fELF, not wasm", &["neither a binary nor a text"]);
}

#[test]
fn bad_magic_number_names_the_offset() {
    assert_error(b"\0asm\x02\0\0\0", &["invalid WebAssembly", "offset 0x"]);
}

#[test]
fn invalid_function_body_names_function_and_offset() {
    let wasm = wat::parse_str(
        r#"(module (func $ok) (func $broken (result i32) (i64.const 1)) (func (export "_start")))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &["in function 1 `broken`", "type mismatch", "(at offset 0x"],
    );
}

/// riscv64's baseline (RV64GC) has no vector unit for Cranelift to compile
/// `v128` code to: an instruction, a local, a signature or a global of
/// `v128` is refused with the reason, where it is, and the level that has
/// one.
#[test]
fn simd_for_riscv64_is_refused_with_the_reason() {
    let riscv = ["--target", "riscv64gc-unknown-linux-gnu", "--emit", "obj"];
    let cases = [
        (
            r#"(module (func $vec (drop (i8x16.splat (i32.const 1)))) (func (export "_start")))"#,
            "in function 0 `vec`",
        ),
        (
            r#"(module (func $local (local v128)) (func (export "_start")))"#,
            "in function 0 `local`",
        ),
        (
            r#"(module (func $param (param v128)) (func (export "_start")))"#,
            "v128 values",
        ),
        (
            r#"(module (global v128 (v128.const i64x2 0 0)) (func (export "_start")))"#,
            "v128 values",
        ),
    ];
    for (wat, needle) in cases {
        let wasm = wat::parse_str(wat).unwrap();
        let (status, stderr) = build_with(&wasm, &riscv);
        assert_eq!(status, Some(1), "{wat}: {stderr}");
        for needle in [needle, "V extension", "--cpu rv64gcv", "offset 0x"] {
            assert!(
                stderr.contains(needle),
                "{wat}: expected `{needle}` in: {stderr}"
            );
        }
        // The same module compiles for x86_64, aarch64, and riscv64 with V.
        for flags in [
            &["--target", "x86_64-unknown-linux-gnu"][..],
            &["--target", "aarch64-unknown-linux-gnu"],
            &[
                "--target",
                "riscv64gc-unknown-linux-gnu",
                "--cpu",
                "rv64gcv",
            ],
        ] {
            let (status, stderr) = build_with(&wasm, &[flags, &["--emit", "obj"]].concat());
            assert_eq!(status, Some(0), "{wat} with {flags:?}: {stderr}");
        }
    }
}

#[test]
fn unresolved_import_is_named() {
    let wasm = wat::parse_str(r#"(module (import "env" "missing" (func)))"#).unwrap();
    assert_error(&wasm, &["`env::missing`", "nothing provides"]);
}

#[test]
fn missing_entry_point_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("m.wat");
    std::fs::write(&input, "(module (func (export \"go\") (param i32)))").unwrap();
    let out = smelt(&[
        "build",
        input.to_str().unwrap(),
        "-o",
        dir.path().join("m").to_str().unwrap(),
        "--invoke",
        "go",
    ])
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no exported function `go` without parameters"),
        "{stderr}"
    );
}

#[test]
fn every_truncation_of_a_module_is_an_error_not_a_panic() {
    let wasm = wat::parse_str(
        r#"(module
            (type (func (param i32) (result i32)))
            (import "m" "g" (global i32))
            (memory 1) (table 2 funcref)
            (global $x (mut i64) (i64.const 5))
            (func $f (type 0) (i32.add (local.get 0) (global.get 0)))
            (export "f" (func $f))
            (elem (i32.const 0) $f)
            (data (i32.const 8) "hello"))"#,
    )
    .unwrap();
    // In-process, so that every prefix is cheap to try. A prefix that
    // ends on a section boundary is a valid module of its own; every other
    // one must be rejected with an error (a panic fails the test).
    let target = smelt::target::Target::host().unwrap();
    let mut rejected = 0;
    for len in 0..wasm.len() {
        let prefix = &wasm[..len];
        match smelt::command::compile(prefix, &target, None) {
            Ok(_) => assert!(
                wasmparser::Validator::new().validate_all(prefix).is_ok(),
                "an invalid {len}-byte prefix compiled"
            ),
            Err(e) => {
                rejected += 1;
                assert!(e.to_string().contains("offset 0x"), "{len} bytes: {e}");
            }
        }
    }
    assert!(
        rejected > wasm.len() / 2,
        "only {rejected} prefixes rejected"
    );
}

#[test]
fn missing_input_file_is_named() {
    let out = smelt(&["build", "/nonexistent/x.wasm", "-o", "/tmp/never"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed to read /nonexistent/x.wasm"),
        "{stderr}"
    );
}

#[test]
fn unsupported_target_is_named() {
    let out = smelt(&[
        "build",
        "x.wasm",
        "-o",
        "x",
        "--target",
        "x86_64-pc-windows-msvc",
    ])
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not support the target `x86_64-pc-windows-msvc`"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_exit_two() {
    let out = smelt(&["build"]).unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn component_import_the_host_lacks_is_named() {
    let wasm = wat::parse_str(
        r#"(component (import "example:kv/store@1.0.0" (instance (export "get" (func (param "k" string) (result string))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &[
            "imports `example:kv/store@1.0.0`",
            "does not provide",
            "offset",
        ],
    );
}

#[test]
fn component_function_the_host_lacks_is_named() {
    let wasm = wat::parse_str(
        r#"(component (import "wasi:cli/environment@0.2.0" (instance (export "get-secrets" (func (result string))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &["function `get-secrets` of `wasi:cli/environment@0.2.0`"],
    );
}

/// A WASI 0.3 import binds to the WASI 0.3 host (here: the component is
/// refused only for having no `run`), never to the WASI 0.2 one.
#[test]
fn wasi_0_3_import_binds_to_the_0_3_host() {
    let wasm = wat::parse_str(
        r#"(component (import "wasi:cli/environment@0.3.0" (instance (export "get-arguments" (func (result (list string)))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &["exports no `wasi:cli/run@0.2.x` or `wasi:cli/run@0.3.x`"],
    );
}

#[test]
fn wasi_0_3_interface_the_host_lacks_is_named() {
    let wasm =
        wat::parse_str(r#"(component (import "wasi:config/store@0.3.0" (instance)))"#).unwrap();
    assert_error(
        &wasm,
        &["imports `wasi:config/store@0.3.0`", "does not provide"],
    );
}

/// `wait-for` is an `async func`: a component declaring it without
/// `async` does not get it.
#[test]
fn wasi_0_3_function_must_be_async_as_in_the_wit() {
    let wasm = wat::parse_str(
        r#"(component (import "wasi:clocks/monotonic-clock@0.3.2" (instance (export "wait-for" (func (param "how-long" u64))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &[
            "`wait-for` of `wasi:clocks/monotonic-clock@0.3.2` with a type that is not the one of smelt's WASI 0.3 host",
        ],
    );
}

/// Flat types do not tell a `stream<u32>` from a `stream<u8>`: the
/// structural check does.
#[test]
fn wasi_0_3_stream_of_another_element_type_is_refused() {
    let wasm = wat::parse_str(
        r#"(component
             (import "wasi:cli/stdout@0.3.2" (instance
               (type $e (enum "io" "illegal-byte-sequence" "pipe"))
               (export "error-code" (type $ec (eq $e)))
               (type $r (result (error $ec)))
               (type $f (future $r))
               (type $s (stream u32))
               (export "write-via-stream" (func (param "data" $s) (result $f))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &["`write-via-stream` of `wasi:cli/stdout@0.3.2` with a type that is not the one"],
    );
}

#[test]
fn component_without_run_export_is_not_a_command() {
    let wasm = wat::parse_str(r#"(component)"#).unwrap();
    assert_error(&wasm, &["no `wasi:cli/run@0.2.x`", "exports nothing"]);
}

#[test]
fn component_import_with_another_type_than_the_host_is_refused() {
    let wasm = wat::parse_str(
        r#"(component (import "wasi:cli/environment@0.2.0" (instance (export "get-arguments" (func (result u32))))))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &["`get-arguments` of `wasi:cli/environment@0.2.0` with a type"],
    );
}

#[test]
fn preview1_module_with_a_foreign_import_names_it() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
             (import "env" "host_log" (func (param i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
    .unwrap();
    assert_error(&wasm, &["imports `env::host_log`", "offset 0x"]);
}

#[test]
fn preview1_reactor_is_refused_with_a_reason() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
             (memory (export "memory") 1)
             (func (export "_initialize")))"#,
    )
    .unwrap();
    assert_error(&wasm, &["WASI reactor", "`_initialize`"]);
}

#[test]
fn preview1_import_of_a_function_preview1_lacks_is_named() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_nonesuch" (func (param i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &[
            "`wasi_snapshot_preview1::fd_nonesuch`",
            "offset 0x",
            "not a WASI preview1 function",
        ],
    );
}

#[test]
fn preview1_import_with_another_type_than_the_witx_is_refused() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")))"#,
    )
    .unwrap();
    assert_error(
        &wasm,
        &[
            "`wasi_snapshot_preview1::fd_write`",
            "as (func (param i32 i32 i32) (result i32))",
            "(func (param i32 i32 i32 i32) (result i32)) in WASI preview1",
        ],
    );
}

#[test]
fn preview1_command_runs_on_the_preview1_host() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "preview1 ok\n")
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 12))
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
               (call $exit (i32.const 0))))"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("p1.wasm");
    std::fs::write(&input, &wasm).unwrap();
    let exe = dir.path().join("p1");
    let out = smelt(&[
        "build",
        input.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
    ])
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::process::Command::new(&exe).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&run.stdout), "preview1 ok\n");
}

/// A reader of smelt's output that goes away ends smelt by SIGPIPE, as it
/// would end `cat`: no panic, no message.
#[test]
fn a_closed_stdout_ends_smelt_quietly() {
    use std::os::unix::process::ExitStatusExt;
    const SIGPIPE: i32 = 13;
    // The pipe's read end is closed before smelt starts, so its first
    // write fails whatever the scheduling: a reader closing the pipe after
    // the spawn raced with smelt writing everything first on a loaded
    // machine (the test failed in CI for that reason alone).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = std::process::Command::new(smelt_tests::smelt_bin().unwrap())
        .arg("targets")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run smelt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

/// `smelt run` passes the input's file name as the program's `argv[0]`,
/// not its path (nor the cache's), as `wasmtime run` does: a program
/// printing its `argv[0]` prints `argv0.wasm`.
#[test]
fn smelt_run_passes_the_file_name_as_argv0() {
    let wasm = wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "args_get" (func $get (param i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start") (local $p i32) (local $n i32)
               (drop (call $sizes (i32.const 0) (i32.const 4)))
               (drop (call $get (i32.const 16) (i32.const 1024)))
               (local.set $p (i32.load (i32.const 16)))
               (block $done
                 (loop $next
                   (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
                   (local.set $n (i32.add (local.get $n) (i32.const 1)))
                   (br $next)))
               (i32.store (i32.const 8) (local.get $p))
               (i32.store (i32.const 12) (local.get $n))
               (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let input = dir.path().join("sub/argv0.wasm");
    std::fs::write(&input, &wasm).unwrap();
    let out = std::process::Command::new(smelt_tests::smelt_bin().unwrap())
        .arg("run")
        .arg(&input)
        .args(smelt_tests::target_flags())
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "argv0.wasm");
}

/// A file that is not WebAssembly is named, not echoed: the text parser
/// quotes the line it stopped at, which was the whole of a file without a
/// newline (a 200 MB file gave 210 MB of stderr), terminal escape sequences
/// included.
#[test]
fn a_large_non_wasm_file_is_not_echoed() {
    let mut text = "\u{1b}[31mnot wasm at all ".repeat(20_000).into_bytes();
    text.extend_from_slice(b"\x07end");
    let (status, stderr) = build(&text);
    assert_eq!(status, Some(1), "stderr: {stderr}");
    assert!(stderr.contains("is neither a binary nor a text WebAssembly module"));
    assert!(stderr.len() < 4000, "{} bytes of stderr", stderr.len());
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr}"
    );
    assert!(stderr.contains("more characters"), "{stderr}");
}

/// `-o` naming the input is refused before anything is written: the input
/// stays as it was.
#[test]
fn an_output_that_is_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wasm");
    let wasm = wat::parse_str("(module)").unwrap();
    std::fs::write(&input, &wasm).unwrap();
    let out = smelt(&[
        "build",
        input.to_str().unwrap(),
        "-o",
        input.to_str().unwrap(),
    ])
    .expect("run smelt");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is the input"), "{stderr}");
    assert_eq!(std::fs::read(&input).unwrap(), wasm, "the input changed");
}

/// An output that cannot be written is reported before compiling, with
/// the reason, not as a linker failure with its command line.
#[test]
fn an_unwritable_output_is_named_before_linking() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wasm");
    std::fs::write(&input, wat::parse_str("(module)").unwrap()).unwrap();
    for (output, reason) in [
        (dir.path().join("missing/out"), "does not exist"),
        (dir.path().to_path_buf(), "is a directory"),
    ] {
        let out = smelt(&[
            "build",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .expect("run smelt");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("cannot write") && stderr.contains(reason),
            "{stderr}"
        );
        assert!(
            !stderr.contains("linker") && !stderr.contains("cc\""),
            "{stderr}"
        );
    }
}
