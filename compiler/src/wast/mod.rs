//! Running WebAssembly test scripts (`.wast`).
//!
//! A script is compiled into one test executable, by the same path as real
//! programs: every module of the script (and the `spectest` module) is
//! compiled into one object, linked with the runtime, and the script's
//! commands become a [`smelt_abi::script`] the executable runs, printing
//! one outcome line per command. So a script runs unchanged on any target,
//! under an emulator if need be.
//!
//! The steps for one script:
//!
//! 1. parse it with the `wast` crate and encode every module
//!    ([`script::read`]);
//! 2. decide what needs no execution: `assert_malformed` and
//!    `assert_invalid` (the module must fail to parse or validate) and
//!    imports that cannot link by type ([`plan`]);
//! 3. compile the other modules into one program, the commands into a
//!    script, and link;
//! 4. run the executable and check each outcome line against its
//!    assertion.

mod cvalue;
mod legacy;
mod plan;
mod script;
mod values;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use smelt_abi::script::Outcome;

use crate::target::Target;

/// How to run scripts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target to compile for.
    pub target: Target,
    /// Report every failed assertion (not only the first few).
    pub verbose: bool,
}

/// Longest a test executable may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// Failed assertions printed per script unless verbose.
const FAILURES_SHOWN: usize = 10;

/// Scripts, or directives of scripts, to skip, each with the reason.
///
/// The file has one entry per line; `#` starts a comment. `PATH: REASON`
/// skips a whole script; `PATH:FIRST-LAST: REASON` (or `PATH:LINE:
/// REASON`) skips the script's directives that start on those lines. An
/// entry matches a script whose path ends with `PATH`, where one `*`
/// stands for any part of a file name. An entry that starts with
/// `[PREFIX] ` applies only to targets whose triple starts with `PREFIX`,
/// and one that starts with `[no-simd] ` only to targets that do not
/// compile `v128` code (riscv64 without `--cpu rv64gcv`; see
/// [`SkipList::for_target`]).
#[derive(Debug, Default, Clone)]
pub struct SkipList {
    entries: Vec<SkipEntry>,
}

#[derive(Debug, Clone)]
struct SkipEntry {
    /// The start of the triples of the targets the entry applies to; none:
    /// every target.
    target: Option<String>,
    path: String,
    lines: Option<std::ops::RangeInclusive<usize>>,
    reason: String,
}

impl SkipList {
    /// Reads a skip list.
    pub fn load(path: &Path) -> Result<SkipList> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the skip list {}", path.display()))?;
        SkipList::parse(&text).with_context(|| format!("in the skip list {}", path.display()))
    }

    /// Parses the text of a skip list.
    pub fn parse(text: &str) -> Result<SkipList> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (only, line) = match line.strip_prefix('[') {
                Some(rest) => match rest.split_once("] ") {
                    Some((prefix, rest)) => (Some(prefix.trim().to_string()), rest.trim_start()),
                    None => bail!("line {}: expected `[TRIPLE-PREFIX] PATH: REASON`", i + 1),
                },
                None => (None, line),
            };
            let Some((target, reason)) = line.split_once(": ") else {
                bail!("line {}: expected `PATH: REASON`", i + 1);
            };
            let reason = reason.trim();
            if reason.is_empty() {
                bail!("line {}: `{target}` has no reason", i + 1);
            }
            let (path, lines) = match target.rsplit_once(':') {
                None => (target, None),
                Some((path, range)) => {
                    let (first, last) = range.split_once('-').unwrap_or((range, range));
                    let parse = |n: &str| {
                        n.trim()
                            .parse::<usize>()
                            .with_context(|| format!("line {}: bad line number `{n}`", i + 1))
                    };
                    (path, Some(parse(first)?..=parse(last)?))
                }
            };
            let path = path.trim();
            if path.matches('*').count() > 1 {
                bail!("line {}: `{path}` has more than one `*`", i + 1);
            }
            entries.push(SkipEntry {
                target: only,
                path: path.to_string(),
                lines,
                reason: reason.to_string(),
            });
        }
        Ok(SkipList { entries })
    }

    /// The list for `target`: its entries for every target, those for
    /// targets whose triple starts as `target`'s and, when `target` does
    /// not compile `v128` code, the `[no-simd]` ones (the others apply
    /// nowhere else, and a list that was not made for a target ignores
    /// them).
    pub fn for_target(&self, target: &Target) -> SkipList {
        let triple = target.triple().to_string();
        let applies = |only: &str| match only {
            "no-simd" => !target.has_simd(),
            prefix => triple.starts_with(prefix),
        };
        SkipList {
            entries: self
                .entries
                .iter()
                .filter(|e| e.target.as_deref().is_none_or(applies))
                .map(|e| SkipEntry {
                    target: None,
                    ..e.clone()
                })
                .collect(),
        }
    }

    /// Why the whole of `file` is skipped, if it is.
    pub fn reason(&self, file: &Path) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.lines.is_none() && e.matches(file))
            .map(|e| e.reason.as_str())
    }

    /// Why the directive of `file` at `line` is skipped, if it is.
    pub fn line_reason(&self, file: &Path, line: usize) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.matches(file) && e.lines.as_ref().is_some_and(|r| r.contains(&line)))
            .map(|e| e.reason.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl SkipEntry {
    /// Whether the entry, for every target, names `file`: `file` ends with
    /// its path's components, a `*` matching any part of one component.
    fn matches(&self, file: &Path) -> bool {
        if self.target.is_some() {
            return false;
        }
        let Some((before, after)) = self.path.split_once('*') else {
            return file.ends_with(&self.path);
        };
        let depth = Path::new(&self.path).components().count();
        let components: Vec<_> = file.components().collect();
        let Some(tail) = components
            .len()
            .checked_sub(depth)
            .map(|i| &components[i..])
        else {
            return false;
        };
        let tail: PathBuf = tail.iter().collect();
        let tail = tail.to_string_lossy();
        tail.len() >= before.len() + after.len()
            && tail.starts_with(before)
            && tail.ends_with(after)
            && !tail[before.len()..tail.len() - after.len()].contains('/')
    }
}

/// One failed assertion.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Line of the assertion in the script.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// The result of running one script.
#[derive(Debug, Default)]
pub struct Report {
    /// Assertions (and commands) checked.
    pub checked: usize,
    /// Those that failed.
    pub failures: Vec<Failure>,
    /// Directives skipped by the skip list.
    pub skipped: usize,
}

impl Report {
    fn check(&mut self, line: usize, result: Result<(), String>) {
        self.checked += 1;
        if let Err(message) = result {
            self.failures.push(Failure { line, message });
        }
    }
}

/// The features `assert_invalid` and `assert_malformed` judge a script's
/// modules by: those of the specification the script was written for.
///
/// The core scripts are WebAssembly 3.0's. The scripts of
/// `proposals/threads/` were written for the threads proposal's own
/// specification, which forked from WebAssembly 2.0 before reference types
/// and multiple memories: they assert that a second table or memory is
/// invalid. They are judged by that specification (2.0 without reference
/// types and SIMD, with threads), as wasmtime runs them; every module they
/// expect to be valid is valid in 3.0 too, and is compiled as any other.
pub fn rejection_features(path: &Path) -> wasmparser::WasmFeatures {
    use wasmparser::WasmFeatures as F;
    let components: Vec<_> = path.components().map(|c| c.as_os_str()).collect();
    let threads_proposal = components
        .windows(2)
        .any(|w| w[0] == "proposals" && w[1] == "threads");
    if threads_proposal {
        F::WASM2
            .difference(F::REFERENCE_TYPES | F::SIMD)
            .union(F::THREADS)
    } else {
        crate::core::features()
    }
}

/// Runs one script, leaving out the directives `skips` lists for it.
/// `Err` when it cannot be run at all (it does not parse, its program does
/// not compile or link, its executable cannot start).
pub fn run_file(path: &Path, options: &Options, skips: &SkipList) -> Result<Report> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let mut steps = script::read(path, &text)?;
    let mut report = Report::default();
    steps.retain(|step| {
        let skip = skips.line_reason(path, step.line).is_some();
        report.skipped += usize::from(skip);
        !skip
    });
    let features = rejection_features(path);
    let planned = plan::plan(&steps, &options.target, features, &mut report)?;

    let dir = tempfile::tempdir().context("failed to create a temporary directory")?;
    let object = dir.path().join("script.o");
    let exe = dir.path().join("script");
    std::fs::write(&object, &planned.object)
        .with_context(|| format!("failed to write {}", object.display()))?;
    crate::link::link(&options.target, &object, &exe)?;
    let (outcomes, stderr) = run_executable(&options.target, &exe)?;
    for check in &planned.checks {
        let result = match outcomes.get(check.command).and_then(Option::as_ref) {
            Some(outcome) => check.verify(outcome, &planned.types),
            None => Err(format!(
                "the test executable stopped before this command; its stderr:\n{}",
                stderr.trim_end()
            )),
        };
        report.check(check.line, result);
    }
    report.failures.sort_by_key(|f| f.line);
    Ok(report)
}

/// Runs a test executable (under the target's runner when this machine
/// has another architecture); returns its outcomes by command index (none
/// for a command it did not finish) and its stderr.
fn run_executable(target: &Target, exe: &Path) -> Result<(Vec<Option<Outcome>>, String)> {
    let mut child = target
        .run_command(exe)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to run {}", exe.display()))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > RUN_TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_reader
        .join()
        .expect("reader thread")
        .unwrap_or_default();
    let mut stderr = err_reader
        .join()
        .expect("reader thread")
        .unwrap_or_default();
    match status {
        None => stderr.push_str(&format!("\n(killed after {}s)", RUN_TIMEOUT.as_secs())),
        Some(s) if !s.success() => stderr.push_str(&format!("\n(exited with {s})")),
        Some(_) => {}
    }
    // Lines come in command order, except that the commands of concurrent
    // threads interleave: each line carries its command's number.
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    for line in stdout.lines() {
        let Some((index, outcome)) = Outcome::parse(line) else {
            bail!("unexpected output from the test executable: {line:?}");
        };
        if outcomes.len() <= index {
            outcomes.resize(index + 1, None);
        }
        if outcomes[index].replace(outcome).is_some() {
            bail!("the test executable printed two outcomes for command {index}");
        }
    }
    Ok((outcomes, stderr))
}

/// What happened to one script.
enum FileResult {
    Skipped(String),
    Ran(Report),
    Error(anyhow::Error),
}

/// Runs scripts in parallel, printing one line per script and the closing
/// line `N passed, N failed, N skipped` (counting scripts). Returns whether
/// none failed.
pub fn run_files(files: &[PathBuf], skips: &SkipList, options: &Options) -> bool {
    let results: Vec<(PathBuf, FileResult)> = files
        .par_iter()
        .map(|path| {
            let result = match skips.reason(path) {
                Some(reason) => FileResult::Skipped(reason.to_string()),
                None => match run_file(path, options, skips) {
                    Ok(report) => FileResult::Ran(report),
                    Err(e) => FileResult::Error(e),
                },
            };
            (path.clone(), result)
        })
        .collect();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let (mut checked, mut failed_checks, mut skipped_checks) = (0, 0, 0);
    for (path, result) in &results {
        let path = path.display();
        match result {
            FileResult::Skipped(reason) => {
                skipped += 1;
                println!("SKIP {path}: {reason}");
            }
            FileResult::Error(e) => {
                failed += 1;
                println!("FAIL {path}: {e:#}");
            }
            FileResult::Ran(report) => {
                checked += report.checked;
                failed_checks += report.failures.len();
                skipped_checks += report.skipped;
                let skipped_note = match report.skipped {
                    0 => String::new(),
                    n => format!(", {n} directives skipped"),
                };
                if report.failures.is_empty() {
                    passed += 1;
                    println!("PASS {path} ({} assertions{skipped_note})", report.checked);
                } else {
                    failed += 1;
                    println!(
                        "FAIL {path}: {} of {} assertions failed",
                        report.failures.len(),
                        report.checked
                    );
                    let shown = if options.verbose {
                        report.failures.len()
                    } else {
                        FAILURES_SHOWN
                    };
                    for f in report.failures.iter().take(shown) {
                        println!(
                            "    line {}: {}",
                            f.line,
                            f.message.replace('\n', "\n      ")
                        );
                    }
                    if report.failures.len() > shown {
                        println!("    ... and {} more", report.failures.len() - shown);
                    }
                }
            }
        }
    }
    println!(
        "({checked} assertions checked, {failed_checks} failed; {skipped_checks} directives skipped in scripts that ran)"
    );
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    failed == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_list_parses_and_matches_suffixes() {
        let list = SkipList::parse(
            "# comment\n\ncore/simd_lane.wast: fixed-width SIMD proposal\nx.wast : reason # trailing\n\
             core/t.wast:10-12: GC\ncore/t.wast:20: one line\n",
        )
        .unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.reason(Path::new("../shared/testsuite/core/simd_lane.wast")),
            Some("fixed-width SIMD proposal")
        );
        assert_eq!(list.reason(Path::new("a/x.wast")), Some("reason"));
        assert_eq!(list.reason(Path::new("a/y.wast")), None);
        assert_eq!(
            list.reason(Path::new("core/xsimd_lane.wast")),
            None,
            "whole components"
        );
        let t = Path::new("s/core/t.wast");
        assert_eq!(list.reason(t), None, "line entries do not skip the file");
        assert_eq!(list.line_reason(t, 9), None);
        assert_eq!(list.line_reason(t, 10), Some("GC"));
        assert_eq!(list.line_reason(t, 12), Some("GC"));
        assert_eq!(list.line_reason(t, 20), Some("one line"));
        assert_eq!(list.line_reason(t, 21), None);
    }

    #[test]
    fn skip_entries_can_name_targets_and_patterns() {
        let list = SkipList::parse(
            "[no-simd] core/simd_*.wast: no vectors\n[aarch64] core/a*.wast:3-4: lines\n",
        )
        .unwrap();
        let riscv = Target::from_name("riscv64gc-unknown-linux-gnu").unwrap();
        let x86 = Target::from_name("x86_64-unknown-linux-gnu").unwrap();
        let simd = Path::new("../testsuite/core/simd_lane.wast");
        assert_eq!(list.reason(simd), None, "a list for no target");
        assert_eq!(list.for_target(&x86).reason(simd), None);
        let for_riscv = list.for_target(&riscv);
        assert_eq!(for_riscv.reason(simd), Some("no vectors"));
        let with_v = riscv.clone().with_cpu("rv64gcv").unwrap();
        assert_eq!(list.for_target(&with_v).reason(simd), None);
        assert_eq!(for_riscv.reason(Path::new("core/simd.wast")), None);
        assert_eq!(for_riscv.reason(Path::new("core/x/simd_a.wast")), None);
        assert_eq!(for_riscv.reason(Path::new("simd_lane.wast")), None);
        let aarch64 = Target::from_name("aarch64-unknown-linux-musl").unwrap();
        let a = Path::new("core/abc.wast");
        assert_eq!(list.for_target(&aarch64).line_reason(a, 3), Some("lines"));
        assert_eq!(list.for_target(&aarch64).line_reason(a, 5), None);
        assert!(SkipList::parse("[riscv64 core/a.wast: x\n").is_err());
        assert!(SkipList::parse("core/*a*.wast: x\n").is_err());
    }

    #[test]
    fn threads_proposal_scripts_are_judged_by_their_own_specification() {
        let threads = rejection_features(Path::new("../t/core/proposals/threads/memory.wast"));
        assert!(threads.threads() && !threads.multi_memory() && !threads.reference_types());
        let core = rejection_features(Path::new("../t/core/memory.wast"));
        assert_eq!(core, crate::core::features());
    }

    #[test]
    fn skip_entries_need_reasons() {
        assert!(SkipList::parse("core/a.wast: \n").is_err());
        assert!(SkipList::parse("core/a.wast\n").is_err());
        assert!(SkipList::parse("core/a.wast:x-2: r\n").is_err());
    }
}
