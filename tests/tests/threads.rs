//! wasi-threads end to end: programs that spawn threads, compiled by
//! `smelt build` and run, each on its own OS threads.
//!
//! - The Rust programs of `tests/programs-threads/` (`std::thread` with
//!   `Mutex`, `Condvar`, channels, barriers and scoped threads; a stress
//!   test of atomics from 8 threads; rayon's parallel sum and sort;
//!   `process::exit` and a panic on a spawned thread; spawning under the
//!   thread cap; files and one shared descriptor used from 8 threads at
//!   once), built with `cargo build --release --target
//!   wasm32-wasip1-threads`. A case either compares the executable's exit
//!   status and stdout with its native twin's (the same program built for
//!   this machine and run here) and with the status it must have, or
//!   states what it must print when wasm and native differ (a panic
//!   aborts on wasm; the cap is smelt's).
//! - A C program of POSIX threads (`tests/programs-threads/c/`: mutex,
//!   condition variable, `pthread_once`, thread-specific data, barrier,
//!   semaphore, detached threads) built with wasi-libc's pthreads, compared
//!   with its native twin.
//! - Text modules of the edge cases the wasi-threads proposal names: a
//!   trap on a spawned thread, `proc_exit` from one, `_start` returning
//!   while a thread runs, `thread-spawn` past the cap, and the modules
//!   smelt refuses.
//!
//! Every case runs for `$SMELT_TEST_TARGET` (under qemu-user for another
//! architecture); native twins always run on this machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use smelt_tests::{describe, quote};

/// The guest programs' project and Rust target.
const PROJECT: &str = "tests/programs-threads";
const WASM_TARGET: &str = "wasm32-wasip1-threads";

/// How long one executable may run before the case fails.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The status of an executable that trapped.
const TRAP: i32 = 134;

/// An argument that stands for a fresh directory: granted as `/data` to
/// smelt's executable, passed by its path to the native twin.
const DATA: &str = "{data}";

/// What a case expects of the executable.
enum Expect {
    /// This exit status, and the native twin's status and stdout.
    Twin(i32),
    /// This exit status and stdout exactly, and these strings in stderr.
    Exact(i32, &'static str, &'static [&'static str]),
}

/// One Rust program run.
struct Case {
    name: &'static str,
    program: &'static str,
    build_flags: &'static [&'static str],
    args: &'static [&'static str],
    expect: Expect,
}

fn cases() -> Vec<Case> {
    let case = |name, program, build_flags, args, expect| Case {
        name,
        program,
        build_flags,
        args,
        expect,
    };
    vec![
        case("sync", "sync", &[], &[], Expect::Twin(0)),
        case("atomics_8_threads", "atomics", &[], &[], Expect::Twin(0)),
        case("rayon_4_threads", "rayon_sum", &[], &["4"], Expect::Twin(0)),
        case("rayon_1_thread", "rayon_sum", &[], &["1"], Expect::Twin(0)),
        case(
            "exit_from_thread",
            "exit_from_thread",
            &[],
            &[],
            Expect::Twin(17),
        ),
        case("spawn_64", "spawn_many", &[], &["64"], Expect::Twin(0)),
        case(
            "host_from_8_threads",
            "fs_threads",
            &[],
            &[DATA],
            Expect::Twin(0),
        ),
        case(
            "max_threads_3",
            "spawn_many",
            &["--max-threads", "3"],
            &["10"],
            Expect::Exact(
                0,
                "started: 2\nspawn failed: WouldBlock\njoined, sum of indices: 1\n",
                &[],
            ),
        ),
        case(
            "max_threads_1",
            "spawn_many",
            &["--max-threads", "1"],
            &["10"],
            Expect::Exact(
                0,
                "started: 0\nspawn failed: WouldBlock\njoined, sum of indices: 0\n",
                &[],
            ),
        ),
        case(
            "panic_in_thread",
            "panic_in_thread",
            &[],
            &[],
            Expect::Exact(
                TRAP,
                "main: spawning\n",
                &[
                    "panicked at",
                    "index out of bounds",
                    "wasm trap: unreachable",
                    "wasi_thread_start",
                ],
            ),
        ),
    ]
}

/// Runs `command` with a timeout, capturing its output.
fn run_timed(command: Command) -> Result<Output, String> {
    smelt_tests::output_within(command, &[], TIMEOUT)
}

/// Compiles `wasm` with `smelt build` and `flags` into `dir/name`.
fn smelt_build(dir: &Path, name: &str, wasm: &Path, flags: &[&str]) -> Result<PathBuf, String> {
    let exe = dir.join(name);
    let mut args: Vec<String> = vec!["build".into(), wasm.display().to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.extend(smelt_tests::target_flags());
    args.extend(["-o".into(), exe.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = smelt_tests::smelt(&args).map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`smelt {}` failed ({}):\n{}",
            args.join(" "),
            describe(out.status),
            quote(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    Ok(exe)
}

/// Runs an executable built for the test target with `args`.
fn run_exe(exe: &Path, args: &[&str]) -> Result<Output, String> {
    let mut command = Command::new(exe);
    command.args(args);
    run_timed(smelt_tests::under_runner(command))
}

fn check_status(what: &str, out: &Output, want: i32) -> Result<(), String> {
    if out.status.code() == Some(want) {
        return Ok(());
    }
    Err(format!(
        "{what}: expected exit status {want}, got {}\nstdout:\n{}stderr:\n{}",
        describe(out.status),
        quote(&String::from_utf8_lossy(&out.stdout)),
        quote(&String::from_utf8_lossy(&out.stderr))
    ))
}

fn run_case(case: &Case, wasm_dir: &Path, native_dir: &Path) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wasm = wasm_dir.join(format!("{}.wasm", case.program));
    let mut flags = case.build_flags.to_vec();
    let grant;
    let (wasm_data, native_data) = (dir.path().join("data"), dir.path().join("native-data"));
    if case.args.contains(&DATA) {
        for d in [&wasm_data, &native_data] {
            std::fs::create_dir(d).map_err(|e| e.to_string())?;
        }
        grant = format!("{}::/data", wasm_data.display());
        flags.extend(["--dir", grant.as_str()]);
    }
    let args = |data: &str| -> Vec<String> {
        case.args
            .iter()
            .map(|a| if *a == DATA { data } else { a }.to_string())
            .collect()
    };
    let exe = smelt_build(dir.path(), case.program, &wasm, &flags)?;
    let wasm_args = args("/data");
    let wasm_args: Vec<&str> = wasm_args.iter().map(String::as_str).collect();
    let out = run_exe(&exe, &wasm_args)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match &case.expect {
        Expect::Twin(status) => {
            check_status("smelt's executable", &out, *status)?;
            let mut native = Command::new(native_dir.join(case.program));
            native.args(args(&native_data.display().to_string()));
            let twin = run_timed(native)?;
            check_status("the native twin", &twin, *status)?;
            if twin.stdout != out.stdout {
                return Err(format!(
                    "stdout differs from the native twin's:\nnative:\n{}smelt:\n{}",
                    quote(&String::from_utf8_lossy(&twin.stdout)),
                    quote(&stdout)
                )
                .into());
            }
        }
        Expect::Exact(status, want_stdout, want_stderr) => {
            check_status("smelt's executable", &out, *status)?;
            if stdout != *want_stdout {
                return Err(format!(
                    "expected stdout:\n{}got:\n{}",
                    quote(want_stdout),
                    quote(&stdout)
                )
                .into());
            }
            for want in *want_stderr {
                if !stderr.contains(want) {
                    return Err(format!("stderr lacks {want:?}:\n{}", quote(&stderr)).into());
                }
            }
        }
    }
    Ok(())
}

/// The C program of `tests/programs-threads/c/`: POSIX threads through
/// wasi-libc's pthreads.
const C_PROGRAM: &str = "tests/programs-threads/c/pthreads.c";

/// Runs `command`, which builds `what`; its failure is the error.
fn build_step(mut command: Command, what: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("{what}: cannot run {command:?}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what}: {command:?} failed ({}):\n{}",
        describe(out.status),
        quote(&String::from_utf8_lossy(&out.stderr))
    ))
}

/// Builds [`C_PROGRAM`] into `dir`: `pthreads.wasm` for
/// `wasm32-wasip1-threads` and the native twin `pthreads`. The wasm one is
/// compiled by Zig's clang (`python3 -m ziglang cc`, whose wasi-libc
/// headers declare the pthreads API: Debian's wasi-libc predates it) and
/// linked by `rust-lld` with the wasi-libc that Rust's
/// `wasm32-wasip1-threads` target ships (crt1 and libc with pthreads on
/// `thread-spawn`), as wasi-sdk links a threaded C program: shared,
/// imported memory and `wasi_thread_start` exported. tests/setup.sh
/// installs both.
fn build_c_program(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let source = smelt_tests::repo_root().join(C_PROGRAM);
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let self_contained = sysroot.join("lib/rustlib/wasm32-wasip1-threads/lib/self-contained");
    let host = smelt::target::Target::host().map_err(|e| e.to_string())?;
    let lld = sysroot.join(format!("lib/rustlib/{}/bin/rust-lld", host.triple()));
    let object = dir.join("pthreads.o");
    let wasm = dir.join("pthreads.wasm");
    let native = dir.join("pthreads");
    let mut cc = Command::new("python3");
    cc.args(["-m", "ziglang", "cc", "-target", "wasm32-wasi-musl"])
        .args([
            "-mcpu=generic+atomics+bulk_memory",
            "-D_REENTRANT",
            "-O2",
            "-c",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&object);
    build_step(
        cc,
        "compiling the C program for wasm (Zig from tests/setup.sh)",
    )?;
    let mut link = Command::new(&lld);
    link.args(["-flavor", "wasm"])
        .arg(&object)
        .arg(self_contained.join("crt1-command.o"))
        .arg(self_contained.join("libc.a"))
        .args([
            "--import-memory",
            "--shared-memory",
            "--max-memory=67108864",
        ])
        .args(["--export=wasi_thread_start", "-o"])
        .arg(&wasm);
    build_step(link, "linking the C program for wasm32-wasip1-threads")?;
    let mut gcc = Command::new("cc");
    gcc.args(["-O2", "-pthread"])
        .arg(&source)
        .arg("-o")
        .arg(&native);
    build_step(gcc, "compiling the C program's native twin")?;
    Ok((wasm, native))
}

/// The C program compiled by smelt prints what its native twin prints and
/// exits 0.
fn run_c_program() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (wasm, native) = build_c_program(dir.path())?;
    let exe = smelt_build(dir.path(), "pthreads-smelt", &wasm, &[])?;
    let out = run_exe(&exe, &[])?;
    check_status("smelt's executable", &out, 0)?;
    let twin = run_timed(Command::new(&native))?;
    check_status("the native twin", &twin, 0)?;
    if twin.stdout != out.stdout {
        return Err(format!(
            "stdout differs from the native twin's:\nnative:\n{}smelt:\n{}",
            quote(&String::from_utf8_lossy(&twin.stdout)),
            quote(&String::from_utf8_lossy(&out.stdout))
        )
        .into());
    }
    Ok(())
}

/// A text module of an edge case, with what its executable must do.
struct WatCase {
    name: &'static str,
    flags: &'static [&'static str],
    wat: String,
    status: i32,
    stderr: &'static [&'static str],
}

/// A wasi-threads module: the shared memory, `thread-spawn`, `proc_exit`,
/// and the given `wasi_thread_start` body and `_start` body. Memory word
/// 0 is what the main thread waits on; `$spawn` traps when
/// `thread-spawn` fails.
fn threads_module(thread_body: &str, start_body: &str) -> String {
    format!(
        r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func $spawn (param i32) (result i32)
    (local $tid i32)
    (local.set $tid (call $thread_spawn (local.get 0)))
    (if (i32.le_s (local.get $tid) (i32.const 0)) (then unreachable))
    (local.get $tid))
  ;; Blocks the calling thread for good (nothing notifies address 64).
  (func $block
    (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))
    unreachable)
  ;; Waits until word 0 is no longer 0.
  (func $wait_flag
    (loop $again
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $again)))))
  ;; Sets word 0 and wakes its waiters.
  (func $set_flag
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func $thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    {thread_body})
  (func (export "_start")
    {start_body})
)"#
    )
}

/// Eight threads (the main one and seven spawned) each take a spin lock
/// 20000 times, a lock of `bits` bits (an `rmw8`/`rmw16` compare-exchange
/// and a narrow atomic store) whose word's other bytes other atomics
/// change meanwhile, and increment a plain counter under it; `_start`
/// exits with 0 when the counter is 160000.
fn narrow_lock_module(bits: u32) -> String {
    let (cmpxchg, store, other) = match bits {
        8 => ("i32.atomic.rmw8.cmpxchg_u", "i32.atomic.store8", 1),
        _ => ("i32.atomic.rmw16.cmpxchg_u", "i32.atomic.store16", 2),
    };
    format!(
        r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (func $work (local $i i32)
    (loop $l
      (loop $spin
        (br_if $spin (i32.ne ({cmpxchg} (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0))))
      (i32.store (i32.const 64) (i32.add (i32.load (i32.const 64)) (i32.const 1)))
      ({store} (i32.const 0) (i32.const 0))
      (drop (i32.atomic.rmw8.add_u (i32.const {other}) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000)))))
  (func (export "wasi_thread_start") (param i32 i32)
    (call $work)
    (drop (i32.atomic.rmw.add (i32.const 128) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 128) (i32.const 1))))
  (func (export "_start") (local $n i32)
    (local.set $n (i32.const 7))
    (loop $spawn
      (drop (call $thread_spawn (i32.const 0)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $spawn (local.get $n)))
    (call $work)
    (loop $w
      (local.set $n (i32.atomic.load (i32.const 128)))
      (if (i32.lt_u (local.get $n) (i32.const 7))
        (then
          (drop (memory.atomic.wait32 (i32.const 128) (local.get $n) (i64.const -1)))
          (br $w))))
    (call $proc_exit (i32.ne (i32.load (i32.const 64)) (i32.const 160000)))))"#
    )
}

fn wat_cases() -> Vec<WatCase> {
    vec![
        WatCase {
            name: "byte_spin_lock_from_8_threads",
            flags: &[],
            wat: narrow_lock_module(8),
            status: 0,
            stderr: &[],
        },
        WatCase {
            name: "halfword_spin_lock_from_8_threads",
            flags: &[],
            wat: narrow_lock_module(16),
            status: 0,
            stderr: &[],
        },
        WatCase {
            // A shared memory import without `thread-spawn` (what
            // `wasm32-wasip1-threads` makes of a program that spawns no
            // thread): the runtime makes the memory, with its data.
            name: "shared_memory_without_threads",
            flags: &[],
            wat: r#"(module
  (import "env" "memory" (memory 2 3 shared))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (data (i32.const 70000) "\05")
  (func (export "_start")
    (i32.atomic.store (i32.const 65536) (i32.const 4))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const 2)) (then unreachable))
    (i32.store (i32.const 131072) (i32.const 6))
    (call $proc_exit (i32.add (i32.add (i32.load (i32.const 65536))
                                       (i32.load8_u (i32.const 70000)))
                              (i32.load (i32.const 131072))))))"#
                .to_string(),
            status: 15,
            stderr: &[],
        },
        WatCase {
            name: "trap_on_a_thread",
            flags: &[],
            wat: threads_module(
                "(call $set_flag) unreachable",
                "(drop (call $spawn (i32.const 0))) (call $block)",
            ),
            status: TRAP,
            stderr: &["wasm trap: unreachable", "thread_start"],
        },
        WatCase {
            // A spawned thread's stack is guarded as the main one's.
            name: "stack_overflow_on_a_thread",
            flags: &[],
            wat: threads_module(
                "(call $thread_start (local.get $tid) (local.get $arg))",
                "(drop (call $spawn (i32.const 0))) (call $block)",
            ),
            status: TRAP,
            stderr: &["wasm trap: call stack exhausted", "thread_start"],
        },
        WatCase {
            name: "proc_exit_on_a_thread",
            flags: &[],
            wat: threads_module(
                "(call $proc_exit (i32.const 23))",
                "(drop (call $spawn (i32.const 0))) (call $block)",
            ),
            status: 23,
            stderr: &[],
        },
        WatCase {
            // `_start` returns while a thread spins and another blocks:
            // the process ends with status 0.
            name: "start_returns_while_threads_run",
            flags: &[],
            wat: threads_module(
                "(if (local.get $arg) (then (call $set_flag) (loop $spin (br $spin)))) (call $block)",
                "(drop (call $spawn (i32.const 0))) (drop (call $spawn (i32.const 1))) (call $wait_flag)",
            ),
            status: 0,
            stderr: &[],
        },
        WatCase {
            // The thread gets its id and the start argument; ids are
            // positive and distinct.
            name: "thread_ids_and_start_argument",
            flags: &[],
            wat: threads_module(
                "(i32.store (local.get $arg) (local.get $tid)) (call $set_flag)",
                "(local $a i32)
                 (local.set $a (call $spawn (i32.const 8)))
                 (call $wait_flag)
                 (i32.atomic.store (i32.const 0) (i32.const 0))
                 (if (i32.ne (i32.load (i32.const 8)) (local.get $a)) (then (call $proc_exit (i32.const 1))))
                 (if (i32.eq (call $spawn (i32.const 12)) (local.get $a)) (then (call $proc_exit (i32.const 2))))
                 (call $wait_flag)
                 (if (i32.eq (i32.load (i32.const 12)) (local.get $a)) (then (call $proc_exit (i32.const 3))))
                 (call $proc_exit (i32.const 40))",
            ),
            status: 40,
            stderr: &[],
        },
        WatCase {
            // With `--max-threads 2`, one thread can be spawned (it
            // blocks); the second `thread-spawn` returns a negative value.
            name: "thread_spawn_past_the_cap",
            flags: &["--max-threads", "2"],
            wat: threads_module(
                "(call $block)",
                "(drop (call $spawn (i32.const 0)))
                 (if (i32.lt_s (call $thread_spawn (i32.const 0)) (i32.const 0))
                   (then (call $proc_exit (i32.const 41))))
                 (call $proc_exit (i32.const 1))",
            ),
            status: 41,
            stderr: &[],
        },
    ]
}

fn run_wat_case(case: &WatCase) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wasm = dir.path().join(format!("{}.wasm", case.name));
    std::fs::write(&wasm, wat::parse_str(&case.wat).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let exe = smelt_build(dir.path(), case.name, &wasm, case.flags)?;
    let out = run_exe(&exe, &[])?;
    check_status("the executable", &out, case.status)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in case.stderr {
        if !stderr.contains(want) {
            return Err(format!("stderr lacks {want:?}:\n{}", quote(&stderr)).into());
        }
    }
    Ok(())
}

/// Modules smelt refuses, and what the error must say.
fn refusals() -> Vec<(&'static str, String, &'static [&'static str], &'static str)> {
    let spawn = r#"(import "wasi" "thread-spawn" (func (param i32) (result i32)))"#;
    let start = r#"(func (export "_start")) (func (export "wasi_thread_start") (param i32 i32))"#;
    vec![
        (
            "no_shared_memory",
            format!("(module {spawn} (memory (export \"memory\") 1) {start})"),
            &[],
            "imports `wasi::thread-spawn` but no shared memory",
        ),
        (
            "no_wasi_thread_start",
            format!(
                "(module (import \"env\" \"memory\" (memory 1 1 shared)) {spawn} (func (export \"_start\")))"
            ),
            &[],
            "exports no function `wasi_thread_start`",
        ),
        (
            "unshared_memory_import",
            format!("(module (import \"env\" \"memory\" (memory 1)) {spawn} {start})"),
            &[],
            "which is not shared",
        ),
        (
            "thread_spawn_of_another_type",
            format!(
                "(module (import \"env\" \"memory\" (memory 1 1 shared)) \
                 (import \"wasi\" \"thread-spawn\" (func (param i32))) {start})"
            ),
            &[],
            "wasi-threads defines it as (func (param i32) (result i32))",
        ),
        (
            "max_threads_without_threads",
            r#"(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
                 (func (export "_start")))"#
                .to_string(),
            &["--max-threads", "4"],
            "--max-threads applies to wasi-threads modules",
        ),
    ]
}

fn run_refusal(wat: &str, flags: &[&str], want: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let wasm = dir.path().join("refused.wasm");
    std::fs::write(&wasm, wat::parse_str(wat).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    match smelt_build(dir.path(), "refused", &wasm, flags) {
        Ok(_) => Err("smelt build succeeded".into()),
        Err(e) if e.contains(want) && !e.contains("panicked") => Ok(()),
        Err(e) => Err(format!("the error does not say {want:?}:\n{e}").into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let built = if args.list {
        Err(String::new())
    } else {
        smelt_tests::build_guests(PROJECT, WASM_TARGET).and_then(|wasm| {
            let host = smelt::target::Target::host().map_err(|e| e.to_string())?;
            let native = smelt_tests::build_guests(PROJECT, &host.triple().to_string())?;
            Ok((wasm, native))
        })
    };
    if let Err(why) = &built
        && !args.list
    {
        eprintln!("threads: building {PROJECT} failed:\n{why}");
    }
    for case in cases() {
        let built = built.clone();
        trials.push(Trial::test(
            format!("program::{}", case.name),
            move || match &built {
                Ok((wasm, native)) => run_case(&case, wasm, native),
                Err(why) => Err(format!(
                    "the guest programs did not build: {}",
                    why.lines().next().unwrap_or_default()
                )
                .into()),
            },
        ));
    }
    trials.push(Trial::test("c::pthreads", run_c_program));
    for case in wat_cases() {
        trials.push(Trial::test(format!("wat::{}", case.name), move || {
            run_wat_case(&case)
        }));
    }
    for (name, wat, flags, want) in refusals() {
        trials.push(Trial::test(format!("refused::{name}"), move || {
            run_refusal(&wat, flags, want)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
