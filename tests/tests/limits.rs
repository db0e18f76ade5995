//! Resource limits end to end: executables built with `smelt build
//! --max-memory`, `--max-table-elements` and `--timeout`, run with and
//! without the environment's overrides (`SMELT_MAX_MEMORY`,
//! `SMELT_MAX_TABLE_ELEMENTS`, `SMELT_TIMEOUT`).
//!
//! The modules check what `memory.grow` and `table.grow` return themselves
//! and reach `unreachable` when it is not what the limit allows, so a
//! limit that is not applied shows as a trap, and one that is applied as
//! exit status 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use smelt_tests::{output_within, quote, smelt, target_flags, under_runner};

/// Builds the text module `wat` with the extra `smelt build` flags
/// `flags` into `dir`; returns the executable's path.
fn build(dir: &Path, wat: &str, flags: &[&str]) -> PathBuf {
    let input = dir.join("prog.wat");
    std::fs::write(&input, wat).unwrap();
    let exe = dir.join("prog");
    let mut args = vec![
        "build",
        input.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let targets = target_flags();
    args.extend(targets.iter().map(String::as_str));
    let out = smelt(&args).expect("run smelt");
    assert!(
        out.status.success(),
        "smelt build {flags:?} failed:\n{}",
        quote(&String::from_utf8_lossy(&out.stderr))
    );
    exe
}

/// Runs `exe` with the environment variables `env` set. An executable
/// still running after [`WATCHDOG`] is killed (so a time limit that does
/// not work fails its test instead of hanging the suite).
fn run_with(exe: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(exe);
    command.envs(env.iter().copied());
    output_within(under_runner(command), &[], WATCHDOG).unwrap_or_else(|e| panic!("{e}"))
}

/// How long an executable may run before [`run_with`] kills it: far more
/// than any of these programs needs, even on a loaded machine or under
/// qemu.
const WATCHDOG: Duration = Duration::from_secs(120);

/// Asserts that `out` is a trap with `message` (a prefix) and status 134.
fn assert_trap(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "stderr:\n{}", quote(&stderr));
    assert!(
        stderr.starts_with(&format!("wasm trap: {message}")),
        "expected the trap `{message}`, stderr:\n{}",
        quote(&stderr)
    );
}

/// Asserts that `out` ended with status 0.
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        quote(&String::from_utf8_lossy(&out.stderr))
    );
}

/// A memory of one page that grows by 3 pages (which must succeed) and
/// then by 1 more (which must return -1): right under a limit of 4 pages.
const GROW_MEMORY: &str = r#"(module
  (memory 1)
  (func (export "_start")
    (if (i32.ne (memory.grow (i32.const 3)) (i32.const 1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
    (if (i32.ne (memory.size) (i32.const 4)) (then unreachable))))"#;

#[test]
fn memory_grow_past_the_limit_returns_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), GROW_MEMORY, &["--max-memory", "256KiB"]);
    assert_ok(&run_with(&exe, &[]));
}

#[test]
fn the_environment_overrides_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), GROW_MEMORY, &["--max-memory", "256KiB"]);
    // No limit, or a larger one: the second growth succeeds, and the
    // module says so with `unreachable`.
    assert_trap(
        &run_with(&exe, &[("SMELT_MAX_MEMORY", "none")]),
        "unreachable",
    );
    assert_trap(
        &run_with(&exe, &[("SMELT_MAX_MEMORY", "1MiB")]),
        "unreachable",
    );
    // A limit set only when the executable starts.
    let unlimited = build(dir.path(), GROW_MEMORY, &[]);
    assert_trap(&run_with(&unlimited, &[]), "unreachable");
    assert_ok(&run_with(&unlimited, &[("SMELT_MAX_MEMORY", "262144")]));
}

#[test]
fn the_memory_limit_counts_all_memories_together() {
    let dir = tempfile::tempdir().unwrap();
    // Two memories of 2 pages each fill a limit of 4 pages: neither grows.
    let wat = r#"(module
      (memory $a 2)
      (memory $b 2)
      (func (export "_start")
        (if (i32.ne (memory.grow $a (i32.const 1)) (i32.const -1)) (then unreachable))
        (if (i32.ne (memory.grow $b (i32.const 1)) (i32.const -1)) (then unreachable))))"#;
    let exe = build(dir.path(), wat, &["--max-memory", "256KiB"]);
    assert_ok(&run_with(&exe, &[]));
    assert_trap(
        &run_with(&exe, &[("SMELT_MAX_MEMORY", "none")]),
        "unreachable",
    );
}

#[test]
fn an_instance_whose_memory_is_over_the_limit_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        r#"(module (memory 100) (func (export "_start")))"#,
        &["--max-memory", "1MiB"],
    );
    let out = run_with(&exe, &[]);
    assert_trap(&out, "failed to allocate a memory: ");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("limit of 1048576 bytes") && stderr.contains("SMELT_MAX_MEMORY"),
        "the message names the limit and how to change it:\n{}",
        quote(&stderr)
    );
    assert_ok(&run_with(&exe, &[("SMELT_MAX_MEMORY", "7MiB")]));
}

/// A table of 10 elements that grows by 10 (which must succeed) and then
/// by 1 more (which must return -1): right under a limit of 20 elements.
const GROW_TABLE: &str = r#"(module
  (table $t 10 funcref)
  (func (export "_start")
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 10)) (i32.const 10)) (then unreachable))
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1)) (then unreachable))
    (if (i32.ne (table.size $t) (i32.const 20)) (then unreachable))))"#;

#[test]
fn a_wasi_program_has_the_limits_too() {
    // A preview1 module runs as a component, through another path of the
    // runtime; the limit reaches it as well.
    let dir = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (if (i32.ne (memory.grow (i32.const 100)) (i32.const -1)) (then unreachable))))"#;
    let exe = build(dir.path(), wat, &["--max-memory", "1MiB"]);
    assert_ok(&run_with(&exe, &[]));
    assert_trap(
        &run_with(&exe, &[("SMELT_MAX_MEMORY", "none")]),
        "unreachable",
    );
}

/// Keeps 64 arrays of 1 MiB each alive (in a table), so the GC heap
/// must hold 64 MiB of live objects.
const GC_LIVE_64MIB: &str = r#"(module
  (type $bytes (array (mut i8)))
  (table $keep 64 (ref null $bytes))
  (func (export "_start")
    (local $i i32)
    (loop $more
      (table.set $keep (local.get $i) (array.new_default $bytes (i32.const 1048576)))
      (br_if $more (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))))"#;

#[test]
fn the_gc_heap_counts_against_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), GC_LIVE_64MIB, &["--max-memory", "32MiB"]);
    let out = run_with(&exe, &[]);
    assert_trap(&out, "out of memory: the GC heap cannot grow");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("limit of 33554432 bytes"), "{stderr}");
    // The same program with room for its objects ends normally.
    assert_ok(&run_with(&exe, &[("SMELT_MAX_MEMORY", "1GiB")]));
}

#[test]
fn a_gc_object_larger_than_the_machine_traps() {
    // 2^32 - 1 elements of 16 bytes: 64 GiB, more than the machines the
    // tests run on have, with no --max-memory; the OOM killer must not be
    // what ends it.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("MemTotal in /proc/meminfo");
    assert!(
        total_kib < 64 << 20,
        "this test needs a machine with less than 64 GiB of memory"
    );
    let dir = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (type $lanes (array (mut v128)))
      (func (export "_start")
        (drop (array.new $lanes (v128.const i64x2 1 2) (i32.const -1)))))"#;
    let exe = build(dir.path(), wat, &[]);
    let out = run_with(&exe, &[]);
    assert_trap(&out, "out of memory: the GC heap cannot grow");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("more than this machine's memory"),
        "{stderr}"
    );
}

#[test]
fn table_grow_past_the_limit_returns_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), GROW_TABLE, &["--max-table-elements", "20"]);
    assert_ok(&run_with(&exe, &[]));
    assert_trap(
        &run_with(&exe, &[("SMELT_MAX_TABLE_ELEMENTS", "none")]),
        "unreachable",
    );
    let unlimited = build(dir.path(), GROW_TABLE, &[]);
    assert_trap(&run_with(&unlimited, &[]), "unreachable");
    assert_ok(&run_with(&unlimited, &[("SMELT_MAX_TABLE_ELEMENTS", "20")]));
}

#[test]
fn an_instance_whose_table_is_over_the_limit_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        r#"(module (table 100 funcref) (func (export "_start")))"#,
        &["--max-table-elements", "10"],
    );
    assert_trap(&run_with(&exe, &[]), "failed to allocate a table: ");
}

/// A loop without calls or stores: only the check in its header stops it.
const SPIN: &str = r#"(module (func (export "_start") (loop br 0)))"#;

#[test]
fn an_infinite_loop_is_interrupted_by_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), SPIN, &["--timeout", "0.2"]);
    let out = run_with(&exe, &[]);
    assert_trap(&out, "interrupt: the time limit passed\nwasm backtrace:\n");
}

#[test]
fn endless_tail_calls_are_interrupted_at_function_entry() {
    let dir = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (func $f (return_call $f))
      (func (export "_start") (call $f)))"#;
    let exe = build(dir.path(), wat, &["--timeout", "0.2"]);
    let out = run_with(&exe, &[]);
    assert_trap(&out, "interrupt: the time limit passed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("    0: f\n"), "{}", quote(&stderr));
}

/// Programs that never end (or not for 2^60 calls) and pass no check but
/// the one their kind of cycle needs, with what each shows. smelt leaves
/// out the entry check of a function that calls nothing and the header
/// check of a loop whose every iteration calls a function that checks on
/// entry: each program is stopped only if that reasoning keeps a check on
/// its cycle. (`$leaf` is not empty and `$calls` makes two calls so that
/// neither is a forwarding function, whose calls smelt resolves away.)
const CYCLES: &[(&str, &str)] = &[
    (
        "a loop whose only call is to a leaf (which has no entry check)",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func (export "_start") (loop (call $leaf) (br 0))))"#,
    ),
    (
        "a loop calling a function with an entry check (the loop has none)",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start") (loop (call $calls) (br 0))))"#,
    ),
    (
        "a loop that branches back before its call",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start")
            (loop (br_if 0 (i32.const 1)) (call $calls) (br 0))))"#,
    ),
    (
        "a loop whose call is in an `if` not taken",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start") (local $n i32)
            (loop (if (local.get $n) (then (call $calls))) (br 0))))"#,
    ),
    (
        "a loop that branches back from a `br_table` before its call",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start")
            (loop (block (br_table 1 0 (i32.const 0))) (call $calls) (br 0))))"#,
    ),
    (
        "a loop calling, inside a `block`, a function with an entry check",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start") (loop (block (call $calls)) (br 0))))"#,
    ),
    (
        "a loop that branches out of the `block` around its call, skipping it",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (call $leaf) (call $leaf))
          (func (export "_start")
            (loop (block (br_if 0 (i32.const 1)) (call $calls)) (br 0))))"#,
    ),
    (
        "mutual recursion without loops (2^60 calls, 60 deep)",
        r#"(module
          (func $a (param $n i64)
            (if (i64.eqz (local.get $n)) (then return))
            (call $b (i64.sub (local.get $n) (i64.const 1)))
            (call $b (i64.sub (local.get $n) (i64.const 1))))
          (func $b (param $n i64)
            (if (i64.eqz (local.get $n)) (then return))
            (call $a (i64.sub (local.get $n) (i64.const 1)))
            (call $a (i64.sub (local.get $n) (i64.const 1))))
          (func (export "_start") (call $a (i64.const 60))))"#,
    ),
    (
        "recursion through a forwarding function (2^60 calls, 60 deep)",
        r#"(module
          (func $a (param $n i64)
            (if (i64.eqz (local.get $n)) (then return))
            (call $forward (i64.sub (local.get $n) (i64.const 1)))
            (call $forward (i64.sub (local.get $n) (i64.const 1))))
          (func $forward (param i64) (call $a (local.get 0)))
          (func (export "_start") (call $a (i64.const 60))))"#,
    ),
    (
        "a loop calling a forwarding function (with an entry check) of a leaf",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $forward (call $leaf))
          (func (export "_start") (loop (call $forward) (br 0))))"#,
    ),
    (
        "a loop calling an exported function that does nothing (the call is dropped)",
        r#"(module
          (func $empty (export "empty"))
          (func (export "_start") (loop (call $empty) (br 0))))"#,
    ),
    (
        "a loop calling a function whose only call is unreachable (no stack check in its prologue)",
        r#"(module
          (func $leaf (drop (i32.const 0)))
          (func $calls (if (i32.const 0) (then (call $leaf))))
          (func (export "_start") (loop (call $calls) (br 0))))"#,
    ),
    (
        "a cycle of tail calls between two functions",
        r#"(module
          (func $a (return_call $b))
          (func $b (return_call $a))
          (func (export "_start") (call $a)))"#,
    ),
    (
        "a cycle of tail calls through a table",
        r#"(module
          (type $t (func))
          (table 1 funcref)
          (elem (i32.const 0) $f)
          (func $f (type $t) (return_call_indirect (type $t) (i32.const 0)))
          (func (export "_start") (call $f)))"#,
    ),
    (
        "recursion through a table (2^60 calls, 60 deep)",
        r#"(module
          (type $t (func (param i64)))
          (table 1 funcref)
          (elem (i32.const 0) $f)
          (func $f (type $t) (param $n i64)
            (if (i64.eqz (local.get $n)) (then return))
            (call_indirect (type $t) (i64.sub (local.get $n) (i64.const 1)) (i32.const 0))
            (call_indirect (type $t) (i64.sub (local.get $n) (i64.const 1)) (i32.const 0)))
          (func (export "_start") (call $f (i64.const 60))))"#,
    ),
    (
        "a loop calling through a table (which may reach a function without checks)",
        r#"(module
          (type $t (func))
          (table 1 funcref)
          (elem (i32.const 0) $leaf)
          (func $leaf (type $t))
          (func (export "_start") (loop (call_indirect (type $t) (i32.const 0)) (br 0))))"#,
    ),
    (
        "a cycle of tail calls through `call_ref`",
        r#"(module
          (type $t (func))
          (elem declare func $f)
          (func $f (type $t) (return_call_ref $t (ref.func $f)))
          (func (export "_start") (call $f)))"#,
    ),
];

#[test]
fn every_kind_of_cycle_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    for (what, wat) in CYCLES {
        let exe = build(dir.path(), wat, &["--timeout", "0.2"]);
        let out = run_with(&exe, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(134)
                && stderr.starts_with("wasm trap: interrupt: the time limit passed"),
            "{what}: expected the interrupt trap, got status {:?}, stderr:\n{}",
            out.status.code(),
            quote(&stderr)
        );
    }
}

#[test]
fn a_stack_overflow_under_a_time_limit_is_still_a_stack_overflow() {
    // The timer interrupts a function entry by raising the stack limit; a
    // real overflow before the time is up must still say so.
    let dir = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (func $recurse (param i64) (result i64)
        (i64.add (local.get 0) (call $recurse (i64.add (local.get 0) (i64.const 1)))))
      (func (export "_start") (drop (call $recurse (i64.const 0)))))"#;
    let exe = build(dir.path(), wat, &["--timeout", "60"]);
    assert_trap(&run_with(&exe, &[]), "call stack exhausted");
}

#[test]
fn the_environment_sets_a_timeout_the_build_did_not() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), SPIN, &[]);
    assert_trap(
        &run_with(&exe, &[("SMELT_TIMEOUT", "0.2")]),
        "interrupt: the time limit passed",
    );
}

#[test]
fn a_malformed_override_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), r#"(module (func (export "_start")))"#, &[]);
    for (name, value) in [
        ("SMELT_TIMEOUT", "soon"),
        ("SMELT_MAX_MEMORY", "64 apples"),
        ("SMELT_MAX_TABLE_ELEMENTS", "-1"),
    ] {
        let out = run_with(&exe, &[(name, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {stderr}");
        assert!(
            stderr.starts_with(&format!("smelt: {name}: `{value}`")),
            "{name}={value}: {stderr}"
        );
    }
}

#[test]
fn malformed_limits_are_refused_at_build_time() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("spin.wat");
    std::fs::write(&input, SPIN).unwrap();
    let input = input.to_str().unwrap();
    for flags in [["--timeout", "0"], ["--max-memory", "lots"]] {
        let out = smelt(&["build", input, "-o", "/dev/null", flags[0], flags[1]]).unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flags[0]), "{flags:?}: {stderr}");
    }
}

#[test]
fn a_build_without_interruption_checks_refuses_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("spin.wat");
    std::fs::write(&input, SPIN).unwrap();
    let exe = dir.path().join("spin");
    let build = |flags: &[&str]| {
        Command::new(smelt_tests::smelt_bin().unwrap())
            .args([
                "build",
                input.to_str().unwrap(),
                "-o",
                exe.to_str().unwrap(),
            ])
            .args(flags)
            .args(target_flags())
            .env("SMELT_NO_INTERRUPT_CHECKS", "1")
            .output()
            .unwrap()
    };
    let out = build(&["--timeout", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", quote(&stderr));
    assert!(
        stderr.contains("--timeout") && stderr.contains("SMELT_NO_INTERRUPT_CHECKS"),
        "{}",
        quote(&stderr)
    );
    // Without --timeout it builds, and says what the executable lacks.
    let out = build(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", quote(&stderr));
    assert!(
        stderr.contains("no interruption checks"),
        "{}",
        quote(&stderr)
    );
}
