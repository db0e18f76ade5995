//! A fuzz harness of smelt on stable Rust, with no libFuzzer: it drives
//! the `smelt` executable as a user would, so that a panic (which aborts
//! in release builds), a crash or a hang is seen as the user would see it.
//!
//! Two targets:
//!
//! - `compile`: `smelt build --emit obj` on inputs that are random bytes
//!   (half of them behind a valid header), `wasm-smith` modules, and
//!   mutations of both and of the files given with `--corpus` (flipped,
//!   inserted, deleted and repeated bytes, cuts). Each must compile (exit
//!   0) or be refused with a one-paragraph `smelt: error:` (exit 1, at most
//!   [`MAX_ERROR_BYTES`] of stderr): anything else is a failure.
//! - `run`: `wasm-smith` modules made to terminate (`ensure_termination`),
//!   with no imports, compiled with `--invoke` naming an exported function
//!   without parameters and `--max-memory` [`MAX_MEMORY`], and run: each
//!   must exit 0, or trap (exit 134, `wasm trap:` first on stderr).
//!
//! Each case derives from `--seed` and its index, so one failure is
//! reproduced with `--seed S --first I --cases 1`; failing inputs are kept
//! in `--keep DIR`. Prints one line per failure and a summary; exits 1 if
//! any case failed, 2 on a usage or setup error.
//!
//! `tests/differential/run.py` is the differential oracle (smelt against
//! Wasmtime on the same modules).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use arbitrary::Unstructured;
use clap::{Parser, ValueEnum};

/// Longest stderr of a refused input: an error names what is wrong and
/// where, it does not echo the input.
const MAX_ERROR_BYTES: usize = 4096;

/// The memory limit of the `run` target's executables (linear memories
/// and GC heap together; `smelt build --max-memory`).
const MAX_MEMORY: &str = "1GiB";

/// How long one `smelt build` or one run may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(about = "Fuzz smelt: random inputs for smelt build, random modules compiled and run")]
struct Args {
    /// What to fuzz.
    target: Target,
    /// How many cases.
    #[arg(long, default_value_t = 1000)]
    cases: u64,
    /// The seed all cases derive from.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The index of the first case (to reproduce one).
    #[arg(long, default_value_t = 0)]
    first: u64,
    /// The smelt executable (default: the one beside this harness).
    #[arg(long)]
    smelt: Option<PathBuf>,
    /// Inputs to mutate (files; `compile` only).
    #[arg(long)]
    corpus: Vec<PathBuf>,
    /// Where to keep the inputs of failed cases.
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// smelt build on random and mutated bytes.
    Compile,
    /// wasm-smith modules compiled and run.
    Run,
}

/// SplitMix64: each case's stream of random numbers.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, case: u64) -> Rng {
        Rng(seed ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The features of the modules `wasm-smith` makes: what smelt supports.
fn smith_config(run: bool) -> wasm_smith::Config {
    let mut c = wasm_smith::Config {
        gc_enabled: true,
        exceptions_enabled: true,
        tail_call_enabled: true,
        reference_types_enabled: true,
        memory64_enabled: true,
        simd_enabled: true,
        relaxed_simd_enabled: true,
        multi_value_enabled: true,
        bulk_memory_enabled: true,
        threads_enabled: !run,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        max_memory32_bytes: 1 << 24,
        max_memory64_bytes: 1 << 24,
        max_table_elements: 10_000,
        canonicalize_nans: run,
        allow_start_export: !run,
        ..wasm_smith::Config::default()
    };
    if run {
        c.max_imports = 0;
        c.min_funcs = 1;
        c.export_everything = true;
    }
    c
}

/// A `wasm-smith` module from the case's random bytes (`None` when the
/// bytes ran out before a module was made).
fn smith_module(rng: &mut Rng, run: bool) -> Option<Vec<u8>> {
    let n = 256 + rng.below(4096);
    let seed = rng.bytes(n);
    let mut u = Unstructured::new(&seed);
    let mut module = wasm_smith::Module::new(smith_config(run), &mut u).ok()?;
    if run {
        module.ensure_termination(1000).ok()?;
    }
    Some(module.to_bytes())
}

/// Edits `bytes` in place a few times.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(6) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            1 if at < bytes.len() => bytes[at] = rng.next() as u8,
            2 => bytes.insert(at, rng.next() as u8),
            3 if at < bytes.len() => {
                bytes.remove(at);
            }
            4 => bytes.truncate(at),
            _ if at < bytes.len() => {
                let end = (at + 1 + rng.below(32)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            _ => {}
        }
    }
}

/// One input of the `compile` target.
fn compile_input(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(10) {
        0 => {
            let n = rng.below(512);
            rng.bytes(n)
        }
        1 => {
            let mut b = b"\0asm\x01\0\0\0".to_vec();
            let n = rng.below(512);
            b.extend(rng.bytes(n));
            b
        }
        2..=4 => smith_module(rng, false).unwrap_or_default(),
        5..=7 if !corpus.is_empty() => {
            let mut b = corpus[rng.below(corpus.len())].clone();
            mutate(rng, &mut b);
            b
        }
        _ => {
            let mut b = smith_module(rng, false).unwrap_or_default();
            mutate(rng, &mut b);
            b
        }
    }
}

/// What a process did: its exit code (`None` when a signal ended it or it
/// was killed at the timeout) and stderr.
struct Ran {
    code: Option<i32>,
    stderr: Vec<u8>,
    timed_out: bool,
}

fn run_bounded(mut command: Command) -> Result<Ran> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to run {:?}", command.get_program()))?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut bytes);
        bytes
    });
    let deadline = Instant::now() + CASE_TIMEOUT;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait()? {
            break (status, false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break (child.wait()?, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Ran {
        code: status.code(),
        stderr: reader.join().unwrap_or_default(),
        timed_out,
    })
}

/// Why a case failed, or `None`.
fn judge_compile(ran: &Ran) -> Option<String> {
    let stderr = String::from_utf8_lossy(&ran.stderr);
    match ran.code {
        _ if ran.timed_out => Some(format!("smelt build ran past {CASE_TIMEOUT:?}")),
        Some(0) => None,
        Some(1) if ran.stderr.len() > MAX_ERROR_BYTES => {
            Some(format!("an error of {} bytes", ran.stderr.len()))
        }
        Some(1) if stderr.starts_with("smelt: error:") => None,
        code => Some(format!(
            "smelt build ended with {code:?}: {}",
            first_line(&stderr)
        )),
    }
}

fn judge_run(ran: &Ran) -> Option<String> {
    let stderr = String::from_utf8_lossy(&ran.stderr);
    match ran.code {
        _ if ran.timed_out => Some(format!("the executable ran past {CASE_TIMEOUT:?}")),
        Some(0) => None,
        Some(134) if stderr.starts_with("wasm trap:") => None,
        code => Some(format!(
            "the executable ended with {code:?}: {}",
            first_line(&stderr)
        )),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// An exported function of `wasm` without parameters, to run.
fn entry_export(wasm: &[u8]) -> Option<String> {
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut imported = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            wasmparser::Payload::TypeSection(r) => {
                for group in r {
                    for ty in group.ok()?.into_types() {
                        let params = match ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(f.params().len()),
                            _ => None,
                        };
                        types.push(params);
                    }
                }
            }
            wasmparser::Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if matches!(import.ok()?.ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            wasmparser::Payload::FunctionSection(r) => {
                for ty in r {
                    funcs.push(ty.ok()?);
                }
            }
            wasmparser::Payload::ExportSection(r) => {
                for export in r {
                    let export = export.ok()?;
                    if export.kind != wasmparser::ExternalKind::Func || export.index < imported {
                        continue;
                    }
                    let ty = *funcs.get((export.index - imported) as usize)?;
                    // (A name with a NUL byte cannot be an argument.)
                    if types.get(ty as usize).copied().flatten() == Some(0)
                        && !export.name.contains('\0')
                    {
                        return Some(export.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The `smelt` executable beside this harness's.
fn default_smelt() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let smelt = exe.with_file_name("smelt");
    if !smelt.is_file() {
        bail!(
            "no smelt executable beside {} (run `cargo build --release` first, or pass --smelt)",
            exe.display()
        );
    }
    Ok(smelt)
}

fn keep(dir: Option<&Path>, case: u64, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(format!("case-{case}.wasm")), bytes)?;
    }
    Ok(())
}

fn main() {
    match fuzz(Args::parse()) {
        Ok(0) => {}
        Ok(_) => std::process::exit(1),
        Err(e) => {
            eprintln!("smelt-fuzz: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Runs the cases; returns how many failed.
fn fuzz(args: Args) -> Result<u64> {
    let smelt = match &args.smelt {
        Some(p) => p.clone(),
        None => default_smelt()?,
    };
    let corpus = args
        .corpus
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("failed to read {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input.wasm");
    let output = dir.path().join("output");
    let (mut failed, mut compiled, mut refused, mut skipped) = (0, 0, 0, 0);
    let started = Instant::now();
    for case in args.first..args.first + args.cases {
        let mut rng = Rng::new(args.seed, case);
        let verdict = match args.target {
            Target::Compile => {
                let bytes = compile_input(&mut rng, &corpus);
                std::fs::write(&input, &bytes)?;
                let mut command = Command::new(&smelt);
                command
                    .arg("build")
                    .arg(&input)
                    .args(["--emit", "obj", "-o"]);
                command.arg(&output);
                let ran = run_bounded(command)?;
                match ran.code {
                    Some(0) => compiled += 1,
                    _ => refused += 1,
                }
                judge_compile(&ran).map(|why| (why, bytes))
            }
            Target::Run => {
                let Some(bytes) = smith_module(&mut rng, true) else {
                    skipped += 1;
                    continue;
                };
                let Some(entry) = entry_export(&bytes) else {
                    skipped += 1;
                    continue;
                };
                std::fs::write(&input, &bytes)?;
                let mut build = Command::new(&smelt);
                build.arg("build").arg(&input).arg("--invoke").arg(&entry);
                // Memories and the GC heap stay within a bound, so that a
                // module allocating without end traps, not the OOM killer.
                build.args(["--max-memory", MAX_MEMORY]);
                build.arg("-o").arg(&output);
                let built = run_bounded(build)?;
                if built.code == Some(0) {
                    compiled += 1;
                    judge_run(&run_bounded(Command::new(&output))?).map(|why| (why, bytes))
                } else {
                    judge_compile(&built)
                        .or_else(|| {
                            let stderr = String::from_utf8_lossy(&built.stderr);
                            Some(format!(
                                "a valid module was refused: {}",
                                first_line(&stderr)
                            ))
                        })
                        .map(|why| (why, bytes))
                }
            }
        };
        if let Some((why, bytes)) = verdict {
            failed += 1;
            println!(
                "case {case} (--seed {} --first {case} --cases 1): {why}",
                args.seed
            );
            keep(args.keep.as_deref(), case, &bytes)?;
        }
    }
    println!(
        "smelt-fuzz {}: {} cases, {compiled} compiled, {refused} refused, {skipped} skipped, \
         {failed} failed, in {:.0?}",
        match args.target {
            Target::Compile => "compile",
            Target::Run => "run",
        },
        args.cases,
        started.elapsed()
    );
    Ok(failed)
}
