//! The garbage collector end to end: a program that allocates far more
//! than it keeps live runs in memory bounded by what it keeps, and its
//! live data survives every collection intact.

use std::process::Command;

use smelt_tests::{build_wat, under_runner};

/// Binary trees: a long-lived tree of 2^21 - 1 nodes (48 MiB: 24-byte
/// nodes) and `iters` short-lived trees of 2^17 - 1 nodes (3 MiB each),
/// every node counted; traps (`unreachable`) if a count is wrong.
fn binary_trees(iters: u32) -> String {
    format!(
        r#"(module
            (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))
            (func $tree (param $d i32) (result (ref $node))
              (if (result (ref $node)) (i32.eqz (local.get $d))
                (then (struct.new $node (ref.null $node) (ref.null $node)))
                (else (struct.new $node
                  (call $tree (i32.sub (local.get $d) (i32.const 1)))
                  (call $tree (i32.sub (local.get $d) (i32.const 1)))))))
            (func $count (param $n (ref null $node)) (result i32)
              (if (result i32) (ref.is_null (local.get $n))
                (then (i32.const 0))
                (else (i32.add (i32.const 1)
                  (i32.add (call $count (struct.get $node $l (local.get $n)))
                           (call $count (struct.get $node $r (local.get $n))))))))
            (func (export "_start")
              (local $long (ref null $node)) (local $i i32)
              (local.set $long (call $tree (i32.const 20)))
              (loop $l
                (if (i32.ne (call $count (call $tree (i32.const 16))) (i32.const 131071))
                  (then unreachable))
                (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                    (i32.const {iters}))))
              (if (i32.ne (call $count (local.get $long)) (i32.const 2097151))
                (then unreachable))))"#
    )
}

/// Runs `command` to completion; returns its exit status and peak
/// resident set size in KiB.
fn run_measured(mut command: Command) -> (i32, i64) {
    #[expect(
        clippy::zombie_processes,
        reason = "wait4 below waits for it, and gives its resource usage"
    )]
    let child = command.spawn().expect("spawn");
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 on our own child's pid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert_eq!(pid, child.id() as libc::pid_t, "wait4");
        usage
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (code, usage.ru_maxrss)
}

#[test]
fn a_gigabyte_of_garbage_runs_in_memory_bounded_by_the_live_data() {
    let dir = tempfile::tempdir().unwrap();
    // 330 short-lived trees: 1 GiB allocated in all, 48 MiB live at most
    // beside the one being built.
    let exe = build_wat(dir.path(), "trees", &binary_trees(330), None).expect("build");
    let (status, peak_kib) = run_measured(under_runner(Command::new(&exe)));
    assert_eq!(status, 0, "the program failed a count or trapped");
    // Without collection it would need the whole gigabyte; the copying
    // collector needs about four times the live data. (Under qemu-user
    // the emulator's own memory counts too.)
    assert!(
        peak_kib < 400 << 10,
        "peak resident set {} MiB",
        peak_kib >> 10
    );
}
