//! Cross-compilation: for every supported target, programs compiled and
//! linked for it, their ELF headers checked (architecture; a musl output
//! is static, with no program interpreter) and run here (under the
//! target's runner, qemu-user, for another architecture), exercising each
//! architecture-specific part of the runtime: trap instructions, faults
//! on guard pages, reading the program counter and frame pointer from the
//! signal context for the backtrace, stack-overflow detection, the entry
//! and unwind code (`rt/src/traps/unwind.rs`). (Wasm atomics, the threads
//! proposal, are not compiled yet; the runtime's own atomics are Rust's.)
//!
//! One trial per target and case, named `<triple>::<case>`. A target whose
//! pieces are missing here (see `smelt targets`) is listed as ignored with
//! what is missing, unless `SMELT_CROSS_REQUIRED=1` (as `tests/run.sh`
//! sets), which makes it a failure.
//!
//! The full suites (the specification scripts, the `tests/programs` guest
//! programs, the trap tests) run per target through `smelt wast --target`
//! and `SMELT_TEST_TARGET`; see `tests/run.sh`.

use std::path::{Path, PathBuf};
use std::process::Output;

use libtest_mimic::{Arguments, Failed, Trial};
use smelt::link::PendingLink;
use smelt::target::{SUPPORTED_TRIPLES, Target};

/// Exit status after a trap.
const TRAP: i32 = 134;

/// One program and what it must do.
struct Case {
    name: &'static str,
    wat: &'static str,
    /// `None`: exits 0 with empty stderr; `Some((message, frames))`: traps
    /// with `message`, and the backtrace starts with `frames`.
    trap: Option<(&'static str, &'static [&'static str])>,
    /// `SMELT_TIMEOUT` for the run, if any.
    timeout: Option<&'static str>,
}

/// `v128` code, checked lane by lane: run for every target, riscv64 with
/// `--cpu rv64gcv` (the V extension; under qemu, its runner arguments).
const SIMD_CASE: Case = Case {
    name: "v128",
    wat: r#"(module
        (func $check (param v128) (result i32)
          (i32.and
            (i32x4.all_true (i32x4.eq (local.get 0) (v128.const i32x4 11 22 33 44)))
            (i32.eq (i8x16.bitmask (i8x16.swizzle (local.get 0)
                                    (v128.const i8x16 0 4 8 12 1 5 9 13 16 17 18 19 20 21 22 23)))
                    (i32.const 0))))
        (func (export "_start")
          (if (i32.eqz (call $check (i32x4.add (v128.const i32x4 1 2 3 4)
                                                (v128.const i32x4 10 20 30 40))))
            (then unreachable))))"#,
    trap: None,
    timeout: None,
};

/// The cases, each aimed at one architecture-specific part.
const CASES: &[Case] = &[
    // A time limit (`SMELT_TIMEOUT`): the timer raises the store's stack
    // limit, and the stack check in the prologue of a function that makes
    // calls traps (the loop calling it has no check of its own).
    Case {
        name: "interrupt_at_a_prologue",
        wat: r#"(module
            (func $leaf (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
            (func $step (param i64) (result i64) (call $leaf (call $leaf (local.get 0))))
            (func (export "_start") (local $n i64)
              (loop (local.set $n (call $step (local.get $n))) (br 0))))"#,
        trap: Some(("interrupt: the time limit passed", &["step"])),
        timeout: Some("0.2"),
    },
    // Cranelift's trap instruction (ud2, udf, unimp) raises SIGILL; the
    // handler reads the PC and walks the frame pointers.
    Case {
        name: "unreachable_with_backtrace",
        wat: r#"(module
            (global $g (mut i32) (i32.const 0))
            (func $outer (call $middle) (global.set $g (i32.const 1)))
            (func $middle (call $inner) (global.set $g (i32.const 2)))
            (func $inner unreachable)
            (func (export "_start") (call $outer)))"#,
        trap: Some(("unreachable", &["inner", "middle", "outer"])),
        timeout: None,
    },
    // x86_64 faults in the divide instruction (SIGFPE); aarch64 and
    // riscv64 do not, and Cranelift checks explicitly.
    Case {
        name: "integer_divide_by_zero",
        wat: r#"(module
            (func $div (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
            (func (export "_start") (drop (call $div (i32.const 0)))))"#,
        trap: Some(("integer divide by zero", &["div"])),
        timeout: None,
    },
    Case {
        name: "integer_overflow",
        wat: r#"(module
            (func $div (param i64) (result i64)
              (i64.div_s (i64.const 0x8000000000000000) (local.get 0)))
            (func (export "_start") (drop (call $div (i64.const -1)))))"#,
        trap: Some(("integer overflow", &["div"])),
        timeout: None,
    },
    // A load from the guard region: SIGSEGV at a recorded trap site.
    Case {
        name: "out_of_bounds_load",
        wat: r#"(module (memory 1)
            (func $load (param i32) (result i64) (i64.load (local.get 0)))
            (func (export "_start") (drop (call $load (i32.const 65530)))))"#,
        trap: Some(("out of bounds memory access", &["load"])),
        timeout: None,
    },
    // The stack limit check in every prologue.
    Case {
        name: "stack_overflow",
        wat: r#"(module
            (func $recurse (param i64) (result i64)
              (i64.add (local.get 0) (call $recurse (i64.add (local.get 0) (i64.const 1)))))
            (func (export "_start") (drop (call $recurse (i64.const 0)))))"#,
        trap: Some(("call stack exhausted", &["recurse", "recurse"])),
        timeout: None,
    },
    // Deep but finite recursion fits the guest stack budget.
    Case {
        name: "deep_recursion_completes",
        wat: r#"(module
            (func $down (param i32) (result i32)
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 0))
                (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
            (func (export "_start")
              (if (i32.ne (call $down (i32.const 50000)) (i32.const 50000)) (then unreachable))))"#,
        trap: None,
        timeout: None,
    },
    // Floating point and conversions that trap (checked explicitly on
    // every architecture).
    Case {
        name: "float_to_int_trap",
        wat: r#"(module
            (func $cvt (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
            (func (export "_start")
              (if (i32.ne (call $cvt (f64.const -2.75)) (i32.const -2)) (then unreachable))
              (drop (call $cvt (f64.const 3e9)))))"#,
        trap: Some(("integer overflow", &["cvt"])),
        timeout: None,
    },
];

/// ELF `e_machine` of each architecture.
fn expected_machine(triple: &str) -> u16 {
    match triple.split('-').next() {
        Some("x86_64") => 62,
        Some("aarch64") => 183,
        Some("riscv64gc") => 243,
        other => panic!("no ELF machine for {other:?}"),
    }
}

/// Checks the ELF header and program headers of `exe` for `triple`: a
/// 64-bit little-endian executable for the architecture, with a program
/// interpreter for glibc and none (static) for musl.
fn check_elf(exe: &Path, triple: &str) -> Result<(), String> {
    let bytes = std::fs::read(exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    const ET_EXEC: u16 = 2;
    if u16_at(16) != ET_EXEC {
        return Err(format!("ELF type {}, not an executable", u16_at(16)));
    }
    let machine = u16_at(18);
    if machine != expected_machine(triple) {
        return Err(format!(
            "ELF machine {machine}, expected {}",
            expected_machine(triple)
        ));
    }
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    const PT_INTERP: u32 = 3;
    const PT_DYNAMIC: u32 = 2;
    let kinds: Vec<u32> = (0..phnum as usize)
        .map(|i| u32_at(phoff + i * phentsize))
        .collect();
    let dynamic = kinds.contains(&PT_INTERP) || kinds.contains(&PT_DYNAMIC);
    let musl = triple.ends_with("-musl");
    match (musl, dynamic) {
        (true, true) => Err("a musl executable must be static, but it is dynamic".into()),
        (false, false) => Err("a glibc executable must have a program interpreter".into()),
        _ => Ok(()),
    }
}

/// Compiles and links `wat` for `target` into `dir`.
fn build(target: &Target, dir: &Path, name: &str, wat: &str) -> Result<PathBuf, String> {
    let wasm = wat::parse_str(wat).map_err(|e| e.to_string())?;
    let object = smelt::command::compile(&wasm, target, None).map_err(|e| format!("{e:#}"))?;
    let obj = dir.join(format!("{name}.o"));
    std::fs::write(&obj, object).map_err(|e| e.to_string())?;
    let exe = dir.join(name);
    smelt::link::link(target, &obj, &exe).map_err(|e| e.to_string())?;
    Ok(exe)
}

fn run(target: &Target, exe: &Path, timeout: Option<&str>) -> Result<Output, String> {
    let mut command = target.run_command(exe);
    if let Some(timeout) = timeout {
        command.env("SMELT_TIMEOUT", timeout);
    }
    command
        .output()
        .map_err(|e| format!("failed to run {}: {e}", exe.display()))
}

fn run_case(target: &Target, case: &Case) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let triple = target.triple().to_string();
    let exe = build(target, dir.path(), case.name, case.wat)?;
    check_elf(&exe, &triple)?;
    let out = run(target, &exe, case.timeout)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match case.trap {
        None if out.status.code() == Some(0) && stderr.is_empty() => Ok(()),
        None => Err(format!(
            "expected exit status 0, got {}; stderr:\n{stderr}",
            out.status
        )
        .into()),
        Some((message, frames)) => {
            if out.status.code() != Some(TRAP) {
                return Err(format!(
                    "expected exit status {TRAP}, got {}; stderr:\n{stderr}",
                    out.status
                )
                .into());
            }
            let head = format!("wasm trap: {message}\nwasm backtrace:\n");
            if !stderr.starts_with(&head) {
                return Err(format!("expected `{message}`; stderr:\n{stderr}").into());
            }
            let got: Vec<String> = stderr
                .lines()
                .skip(2)
                .take(frames.len())
                .map(|l| l.trim().split_once(": ").map_or("", |(_, n)| n).to_string())
                .collect();
            if got != frames {
                return Err(format!("expected frames {frames:?} first; stderr:\n{stderr}").into());
            }
            Ok(())
        }
    }
}

/// A target description whose linker does not exist: `smelt build` must
/// say what to install, not fail inside a linker.
fn missing_linker_is_explained() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let triple = "aarch64-unknown-linux-gnu";
    let builtin = smelt::target::TargetSpec::load(triple).map_err(|e| e.to_string())?;
    let text = format!(
        r#"triple = "{triple}"
summary = "test"
[link]
linker = "smelt-test-no-such-linker"
args = ["-o", "{{output}}", "{{object}}", "{{runtime}}"]
sysroot = "/nonexistent/sysroot"
[install]
rustup-target = "{triple}"
apt-link = ["gcc-smelt-test-package"]
"#
    );
    assert!(builtin.link.sysroot.is_some());
    std::fs::write(dir.path().join(format!("{triple}.toml")), text).map_err(|e| e.to_string())?;
    let wasm = dir.path().join("m.wat");
    std::fs::write(&wasm, "(module (func (export \"_start\")))").map_err(|e| e.to_string())?;
    let smelt = smelt_tests::smelt_bin().map_err(|e| format!("{e:#}"))?;
    let out = std::process::Command::new(smelt)
        .args(["build", "--target", triple, "-o"])
        .arg(dir.path().join("m"))
        .arg(&wasm)
        .env("SMELT_TARGETS_DIR", dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let wanted = [
        "missing the linker `smelt-test-no-such-linker`",
        "/nonexistent/sysroot",
        "apt-get install gcc-smelt-test-package",
    ];
    if out.status.code() != Some(1) || wanted.iter().any(|w| !stderr.contains(w)) {
        return Err(format!(
            "expected exit status 1 and {wanted:?}; got {}, stderr:\n{stderr}",
            out.status
        )
        .into());
    }
    Ok(())
}

/// x86_64-unknown-linux-gnu links through `cc` with the Rust toolchain's
/// `rust-lld` when the toolchain has it (`prefer-rust-lld`), which marks
/// the executable's `.comment`; the same description without the setting
/// links with the driver's own `ld`.
fn x86_64_gnu_links_with_rust_lld() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = Target::from_name("x86_64-unknown-linux-gnu").map_err(|e| e.to_string())?;
    assert!(target.spec().link.prefer_rust_lld);
    let wat = r#"(module (func (export "_start")))"#;
    let names_lld = |exe: &Path| -> Result<bool, String> {
        let bytes = std::fs::read(exe).map_err(|e| e.to_string())?;
        Ok(bytes.windows(11).any(|w| w == b"Linker: LLD"))
    };
    let exe = build(&target, dir.path(), "with_lld", wat)?;
    if !names_lld(&exe)? {
        return Err("linked without rust-lld although the toolchain has it".into());
    }
    let mut spec = target.spec().clone();
    spec.link.prefer_rust_lld = false;
    let plain = target.with_spec(spec);
    let exe = build(&plain, dir.path(), "without_lld", wat)?;
    if names_lld(&exe)? {
        return Err("linked with LLD although the description does not ask for it".into());
    }
    Ok(())
}

/// A link started before compilation (`smelt build`'s) runs `rust-lld`
/// at once, which reads the object from a pipe: the executable is the one
/// a link from the object's file makes, byte for byte, and runs.
fn a_pending_link_reads_its_object_from_a_pipe() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = Target::from_name("x86_64-unknown-linux-gnu").map_err(|e| e.to_string())?;
    let wat = r#"(module (func (export "_start")))"#;
    let from_file = build(&target, dir.path(), "from_file", wat)?;
    let output = dir.path().join("from_pipe");
    let link = PendingLink::start(&target, &output);
    if !link.is_started() {
        return Err("the linker did not start before the object was ready".into());
    }
    let wasm = wat::parse_str(wat).map_err(|e| e.to_string())?;
    let object = smelt::command::compile(&wasm, &target, None).map_err(|e| e.to_string())?;
    link.finish(&object).map_err(|e| e.to_string())?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| e.to_string());
    if read(&output)? != read(&from_file)? {
        return Err("the executables linked from a pipe and from a file differ".into());
    }
    let out = run(&target, &output, None)?;
    if !out.status.success() {
        return Err(format!("the executable exited with {}", out.status).into());
    }
    Ok(())
}

/// A pending link dropped without its object (compilation failed) stops
/// its linker, which would otherwise wait on the pipe, and writes nothing;
/// one whose linker fails reports the linker's error.
fn a_pending_link_ends_with_its_compilation() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = Target::from_name("x86_64-unknown-linux-gnu").map_err(|e| e.to_string())?;
    let output = dir.path().join("never");
    let (done, dropped) = std::sync::mpsc::channel();
    // On a thread of its own, so that a linker left waiting fails the
    // test instead of hanging it.
    let (t, o) = (target.clone(), output.clone());
    std::thread::spawn(move || {
        let link = PendingLink::start(&t, &o);
        let started = link.is_started();
        drop(link);
        let _ = done.send(started);
    });
    match dropped.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(true) => {}
        Ok(false) => return Err("the linker did not start".into()),
        Err(_) => return Err("dropping the pending link did not return in 20 s".into()),
    }
    if output.exists() {
        return Err("a link without an object wrote the executable".into());
    }
    let wasm = wat::parse_str(r#"(module (func (export "_start")))"#).map_err(|e| e.to_string())?;
    let object = smelt::command::compile(&wasm, &target, None).map_err(|e| e.to_string())?;
    let nowhere = dir.path().join("no-such-folder").join("exe");
    match PendingLink::start(&target, &nowhere).finish(&object) {
        Err(e @ smelt::link::LinkError::Failed { .. })
            if e.to_string().contains("no-such-folder") =>
        {
            Ok(())
        }
        other => {
            Err(format!("expected the linker's error naming the folder, got {other:?}").into())
        }
    }
}

/// The target's runtime library, linked into one relocatable object by
/// its `[link.prelink]`, is in the cache (the links of `run_case` read it):
/// an ELF relocatable object, smaller than the archive.
fn runtime_is_prelinked(target: &Target) -> Result<(), Failed> {
    let archive = smelt::link::find_runtime(target).map_err(|e| e.to_string())?;
    let object = smelt::link::prelinked_runtime(target, &archive)
        .ok_or("the runtime library was not prelinked (is the target's `ld` installed?)")?;
    let bytes = std::fs::read(&object).map_err(|e| e.to_string())?;
    const ET_REL: u16 = 1;
    if bytes.get(..4) != Some(b"\x7fELF") || bytes.get(16..18) != Some(&ET_REL.to_le_bytes()) {
        return Err(format!("{} is not an ELF relocatable object", object.display()).into());
    }
    let archive_len = std::fs::metadata(&archive)
        .map_err(|e| e.to_string())?
        .len();
    if bytes.len() as u64 >= archive_len {
        return Err(format!(
            "the prelinked runtime ({} bytes) is not smaller than the archive ({archive_len} bytes)",
            bytes.len()
        )
        .into());
    }
    let again = smelt::link::prelinked_runtime(target, &archive);
    if again.as_ref() != Some(&object) {
        return Err(format!("a second call gave {again:?}, not {}", object.display()).into());
    }
    Ok(())
}

/// Threads that prelink the same runtime library into an empty cache at
/// the same time all get the one object, and leave nothing else behind.
fn prelinking_races_end_in_one_object() -> Result<(), Failed> {
    let target = Target::host().map_err(|e| e.to_string())?;
    let archive = smelt::link::find_runtime(&target).map_err(|e| e.to_string())?;
    let cache = tempfile::tempdir().map_err(|e| e.to_string())?;
    let objects: Vec<Option<PathBuf>> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| smelt::link::prelinked_runtime_in(&target, &archive, cache.path()))
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let first = objects[0].clone().ok_or("a call did not prelink")?;
    if objects.iter().any(|o| o.as_ref() != Some(&first)) {
        return Err(format!("the calls disagree: {objects:?}").into());
    }
    let left: Vec<String> = std::fs::read_dir(cache.path().join("runtime"))
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if left.len() != 1 {
        return Err(format!("expected one file in the cache, found {left:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let required = std::env::var("SMELT_CROSS_REQUIRED").is_ok_and(|v| v == "1");
    let mut trials = vec![Trial::test(
        "diagnostics::missing_linker_is_explained",
        missing_linker_is_explained,
    )];
    // `--cpu native`: every case again for this machine's own CPU (the
    // code generation with all the extensions it has), where it can build.
    let host = Target::host().expect("this machine is a supported target");
    let native_ready = smelt::link::check(&host).can_run();
    if !native_ready && !args.list {
        eprintln!("cross: cpu-native::* ignored: this machine cannot build for itself");
    }
    for case in CASES {
        let target = host.clone();
        trials.push(
            Trial::test(format!("cpu-native::{}", case.name), move || {
                let native = target.with_cpu("native").map_err(|e| e.to_string())?;
                run_case(&native, case)
            })
            .with_ignored_flag(!native_ready),
        );
    }
    // Only where `cc` links x86_64 and the Rust toolchain has rust-lld.
    let lld_here = std::env::consts::ARCH == "x86_64"
        && smelt::link::rust_lld_driver_dir().is_some()
        && smelt::link::check(&Target::from_name("x86_64-unknown-linux-gnu").unwrap()).can_build();
    if !lld_here && !args.list {
        eprintln!(
            "cross: linker::x86_64_gnu_links_with_rust_lld and linker::a_pending_link_* ignored: not an x86_64 machine with the Rust toolchain's rust-lld"
        );
    }
    trials.push(
        Trial::test(
            "linker::x86_64_gnu_links_with_rust_lld",
            x86_64_gnu_links_with_rust_lld,
        )
        .with_ignored_flag(!lld_here),
    );
    trials.push(
        Trial::test(
            "linker::a_pending_link_reads_its_object_from_a_pipe",
            a_pending_link_reads_its_object_from_a_pipe,
        )
        .with_ignored_flag(!lld_here),
    );
    trials.push(
        Trial::test(
            "linker::a_pending_link_ends_with_its_compilation",
            a_pending_link_ends_with_its_compilation,
        )
        .with_ignored_flag(!lld_here),
    );
    trials.push(
        Trial::test(
            "linker::prelinking_races_end_in_one_object",
            prelinking_races_end_in_one_object,
        )
        .with_ignored_flag(!native_ready),
    );
    for triple in SUPPORTED_TRIPLES {
        let target = Target::from_name(triple).expect("a supported target");
        let readiness = smelt::link::check(&target);
        let missing = (!readiness.can_run()).then(|| {
            readiness
                .missing
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        });
        if let Some(missing) = &missing
            && !args.list
        {
            eprintln!("cross: {triple} is not ready here: missing {missing}");
        }
        let name = format!("{triple}::{}", SIMD_CASE.name);
        let simd_target = if triple.starts_with("riscv64") {
            target
                .clone()
                .with_cpu("rv64gcv")
                .expect("riscv64 has rv64gcv")
        } else {
            target.clone()
        };
        trials.push(match (&missing, required) {
            (Some(missing), true) => {
                let why = format!("{triple} is not ready here: missing {missing}");
                Trial::test(name, move || Err(why.into()))
            }
            (Some(_), false) => Trial::test(name, || Ok(())).with_ignored_flag(true),
            (None, _) => Trial::test(name, move || run_case(&simd_target, &SIMD_CASE)),
        });
        let name = format!("{triple}::runtime_is_prelinked");
        let prelink_target = target.clone();
        trials.push(match (readiness.can_build(), required) {
            (false, true) => {
                let why = format!("{triple} cannot build here");
                Trial::test(name, move || Err(why.into()))
            }
            (false, false) => Trial::test(name, || Ok(())).with_ignored_flag(true),
            (true, _) => Trial::test(name, move || runtime_is_prelinked(&prelink_target)),
        });
        for case in CASES {
            let name = format!("{triple}::{}", case.name);
            let target = target.clone();
            let trial = match (&missing, required) {
                (Some(missing), true) => {
                    let why = format!("{triple} is not ready here: missing {missing}");
                    Trial::test(name, move || Err(why.into()))
                }
                (Some(_), false) => Trial::test(name, || Ok(())).with_ignored_flag(true),
                (None, _) => Trial::test(name, move || run_case(&target, case)),
            };
            trials.push(trial);
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
