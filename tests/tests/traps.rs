//! Traps end to end: a module compiled into an executable, run; the trap
//! message, the wasm backtrace and exit status 134 checked.

use smelt_tests::{build_wat, run};

/// Builds `wat` (a command module) and runs it; returns (status, stderr).
fn run_wat(wat: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_wat(dir.path(), "prog", wat, None).expect("build");
    let out = run(&exe, &[]).expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `wat` traps with `message` and exit status 134.
fn assert_traps(wat: &str, message: &str) -> String {
    let (status, stderr) = run_wat(wat);
    assert_eq!(status, Some(134), "stderr: {stderr}");
    assert!(
        stderr.starts_with(&format!("wasm trap: {message}\nwasm backtrace:\n")),
        "expected trap `{message}`, stderr: {stderr}"
    );
    stderr
}

/// The backtrace lines of a trap's stderr (`N: name`), trimmed.
fn frames(stderr: &str) -> Vec<&str> {
    stderr.lines().skip(2).map(str::trim).collect()
}

#[test]
fn infinite_recursion_is_call_stack_exhausted() {
    let stderr = assert_traps(
        r#"(module
            (func $recurse (param i64) (result i64)
              (i64.add (local.get 0) (call $recurse (i64.add (local.get 0) (i64.const 1)))))
            (func (export "_start") (drop (call $recurse (i64.const 0)))))"#,
        "call stack exhausted",
    );
    assert!(stderr.contains("    0: recurse\n"), "{stderr}");
    assert!(
        stderr.contains("more frames"),
        "deep stacks are summarized: {stderr}"
    );
}

#[test]
fn mutual_recursion_through_call_indirect_is_call_stack_exhausted() {
    assert_traps(
        r#"(module
            (type $t (func))
            (table funcref (elem $a $b))
            (func $a (call_indirect (type $t) (i32.const 1)))
            (func $b (call_indirect (type $t) (i32.const 0)))
            (func (export "_start") (call $a)))"#,
        "call stack exhausted",
    );
}

#[test]
fn large_frames_cannot_skip_the_stack_limit() {
    // Each frame has many locals kept live across the call, so frames are
    // large; the prologue check must still catch the overflow.
    let mut locals = String::new();
    let mut uses = String::new();
    for i in 0..200 {
        locals.push_str(&format!("(local $l{i} i64)"));
        uses.push_str(&format!(
            "(local.set $l{i} (i64.add (local.get $l{i}) (local.get 0)))"
        ));
    }
    let mut sum = String::from("(local.get 0)");
    for i in 0..200 {
        sum = format!("(i64.add {sum} (local.get $l{i}))");
    }
    let wat = format!(
        r#"(module
            (func $big (param i64) (result i64) {locals}
              {uses}
              (drop (call $big (local.get 0)))
              {sum})
            (func (export "_start") (drop (call $big (i64.const 1)))))"#
    );
    assert_traps(&wat, "call stack exhausted");
}

#[test]
fn deep_finite_recursion_completes() {
    // 100,000 frames: the guest stack budget must allow ordinary deep
    // recursion, not only catch the infinite kind.
    let (status, stderr) = run_wat(
        r#"(module
            (func $down (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
            (func (export "_start")
              (if (i32.ne (call $down (i32.const 100000)) (i32.const 100000)) (then unreachable))))"#,
    );
    assert_eq!(status, Some(0), "stderr: {stderr}");
}

#[test]
fn backtrace_lists_frames_innermost_first() {
    let stderr = assert_traps(
        r#"(module
            (global $g (mut i32) (i32.const 0))
            (func $outer (call $middle) (global.set $g (i32.const 1)))
            (func $middle (call $inner) (global.set $g (i32.const 2)))
            (func $inner unreachable)
            (func (export "_start") (call $outer)))"#,
        "unreachable",
    );
    let frames = frames(&stderr);
    assert_eq!(
        &frames[..3],
        ["0: inner", "1: middle", "2: outer"],
        "{stderr}"
    );
}

#[test]
fn forwarding_functions_are_not_in_the_backtrace() {
    // `$forward` only passes its parameter on: its caller calls `$inner`
    // directly (compiler/src/core/forward.rs), so it never has a frame.
    let stderr = assert_traps(
        r#"(module
            (global $g (mut i32) (i32.const 0))
            (func $outer (call $forward (i32.const 7)) (global.set $g (i32.const 1)))
            (func $forward (param i32) (call $inner (local.get 0)))
            (func $inner (param i32) unreachable)
            (func (export "_start") (call $outer)))"#,
        "unreachable",
    );
    let frames = frames(&stderr);
    assert_eq!(&frames[..2], ["0: inner", "1: outer"], "{stderr}");
}

#[test]
fn inlined_functions_keep_their_frames() {
    // `$load` is a small leaf: it is inlined at both of `$sum`'s calls
    // (compiler/src/core/inline.rs), and the second faults.
    let stderr = assert_traps(
        r#"(module (memory 1)
            (func $load (param i32) (result i32) (i32.load (local.get 0)))
            (func $sum (param i32) (result i32)
              (i32.add (call $load (i32.const 16)) (call $load (local.get 0))))
            (func (export "_start") (drop (call $sum (i32.const 65536)))))"#,
        "out of bounds memory access",
    );
    let frames = frames(&stderr);
    assert_eq!(&frames[..2], ["0: load", "1: sum"], "{stderr}");
}

#[test]
fn code_after_an_inlined_call_is_its_callers() {
    let stderr = assert_traps(
        r#"(module (memory 1)
            (global $g (mut i32) (i32.const 0))
            (func $get (result i32) (i32.load (i32.const 8)))
            (func $after (global.set $g (call $get)) unreachable)
            (func (export "_start") (call $after)))"#,
        "unreachable",
    );
    let frames = frames(&stderr);
    assert_eq!(frames[0], "0: after", "{stderr}");
}

#[test]
fn out_of_bounds_load_past_the_last_page() {
    assert_traps(
        r#"(module (memory 1)
            (func (export "_start") (drop (i32.load (i32.const 65533)))))"#,
        "out of bounds memory access",
    );
}

#[test]
fn out_of_bounds_with_a_large_static_offset() {
    assert_traps(
        r#"(module (memory 1)
            (func (export "_start") (drop (i64.load offset=0xfffffff0 (i32.const 0x20)))))"#,
        "out of bounds memory access",
    );
}

#[test]
fn memory64_accesses_are_checked_explicitly() {
    assert_traps(
        r#"(module (memory i64 1)
            (func (export "_start")
              (i64.store (i64.const 65528) (i64.const 7))
              (drop (i64.load (i64.const 0xffff_ffff_ffff_fffc)))))"#,
        "out of bounds memory access",
    );
}

#[test]
fn grown_memory_is_accessible_and_its_end_is_not() {
    let (status, stderr) = run_wat(
        r#"(module (memory 1 3)
            (func (export "_start")
              (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then unreachable))
              (i32.store (i32.const 131068) (i32.const 42))
              (if (i32.ne (i32.load (i32.const 131068)) (i32.const 42)) (then unreachable))
              (if (i32.ne (memory.grow (i32.const 2)) (i32.const -1)) (then unreachable))))"#,
    );
    assert_eq!(status, Some(0), "stderr: {stderr}");
    assert_traps(
        r#"(module (memory 1 3)
            (func (export "_start")
              (drop (memory.grow (i32.const 1)))
              (i32.store (i32.const 131070) (i32.const 1))))"#,
        "out of bounds memory access",
    );
}

#[test]
fn arithmetic_traps() {
    let cases = [
        (
            "(drop (i32.div_s (i32.const 1) (i32.const 0)))",
            "integer divide by zero",
        ),
        (
            "(drop (i64.rem_u (i64.const 1) (i64.const 0)))",
            "integer divide by zero",
        ),
        (
            "(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))",
            "integer overflow",
        ),
        (
            "(drop (i32.trunc_f32_s (f32.const nan)))",
            "invalid conversion to integer",
        ),
        (
            "(drop (i64.trunc_f64_u (f64.const -1)))",
            "integer overflow",
        ),
    ];
    for (body, message) in cases {
        assert_traps(
            &format!(r#"(module (func (export "_start") {body}))"#),
            message,
        );
    }
}

#[test]
fn table_traps() {
    let module = |call: &str| {
        format!(
            r#"(module
                (type $v (func)) (type $i (func (param i32)))
                (table 2 funcref) (elem (i32.const 0) $f)
                (func $f)
                (func (export "_start") {call}))"#
        )
    };
    assert_traps(
        &module("(call_indirect (type $v) (i32.const 2))"),
        "undefined element",
    );
    assert_traps(
        &module("(call_indirect (type $v) (i32.const 1))"),
        "uninitialized element",
    );
    assert_traps(
        &module("(call_indirect (type $i) (i32.const 0) (i32.const 0))"),
        "indirect call type mismatch",
    );
    assert_traps(
        &module("(drop (table.get (i32.const 5)))"),
        "out of bounds table access",
    );
}

#[test]
fn trap_in_the_start_function() {
    assert_traps(
        r#"(module (func $s unreachable) (start $s) (func (export "_start")))"#,
        "unreachable",
    );
}

#[test]
fn out_of_bounds_data_segment_traps_at_instantiation() {
    assert_traps(
        r#"(module (memory 1) (data (i32.const 65535) "ab") (func (export "_start")))"#,
        "out of bounds memory access",
    );
}

#[test]
fn a_module_that_returns_exits_zero() {
    let (status, stderr) = run_wat(r#"(module (func (export "_start")))"#);
    assert_eq!(status, Some(0));
    assert_eq!(stderr, "");
}

#[test]
fn uncaught_exception_is_a_trap_with_the_thrower_in_the_backtrace() {
    let stderr = assert_traps(
        r#"(module
            (tag $e (param i32))
            (global $g (mut i32) (i32.const 0))
            (func $thrower (throw $e (i32.const 1)))
            (func $middle (call $thrower) (global.set $g (i32.const 1)))
            (func (export "_start") (call $middle)))"#,
        "uncaught exception",
    );
    let frames = frames(&stderr);
    assert_eq!(&frames[..2], ["0: thrower", "1: middle"], "{stderr}");
}

#[test]
fn exception_passed_on_by_a_handler_is_uncaught_from_the_handler() {
    // `middle` catches another tag only: its landing pad throws the
    // exception on, and the backtrace starts there.
    let stderr = assert_traps(
        r#"(module
            (tag $e (param i32))
            (tag $other)
            (func $thrower (throw $e (i32.const 1)))
            (func $middle
              (block $h (try_table (catch $other $h) (call $thrower))))
            (func $start (export "_start") (call $middle)))"#,
        "uncaught exception",
    );
    let frames = frames(&stderr);
    assert_eq!(&frames[..2], ["0: middle", "1: start"], "{stderr}");
}

#[test]
fn caught_exception_lets_the_command_exit_normally() {
    let (status, stderr) = run_wat(
        r#"(module
            (tag $e (param i32))
            (func $thrower (param i32) (throw $e (local.get 0)))
            (func (export "_start")
              (block $h (result i32)
                (try_table (catch $e $h) (call $thrower (i32.const 42)))
                (unreachable))
              (if (i32.ne (i32.const 42)) (then unreachable))))"#,
    );
    assert_eq!(status, Some(0), "stderr: {stderr}");
}
