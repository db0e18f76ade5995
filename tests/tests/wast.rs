//! Conformance: every core test script of `../shared/testsuite/core/` (the
//! WebAssembly 3.0 root folder), of its `legacy/` folder (the legacy
//! exception-handling instructions) and of the threads proposal
//! (`core/proposals/threads`), and every Component Model reference test
//! (`component-model/{values,resources,linking,validation,binary,async}`)
//! is one test, run by the same code as `smelt wast`; so is each of the
//! project's own scripts in `tests/wast/`.
//! Scripts in `tests/wast-skip.txt` are ignored, each with the reason the
//! list gives; the reasons are printed before the tests.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use smelt::wast::{Options, SkipList, run_file};

fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    files
}

fn main() {
    let args = Arguments::from_args();
    let root = smelt_tests::repo_root();
    let options = Options {
        target: smelt::target::Target::host().expect("the host target"),
        verbose: true,
    };
    let skips = SkipList::load(&root.join("tests/wast-skip.txt"))
        .expect("the skip list")
        .for_target(&options.target);
    let suite = smelt_tests::testsuite();
    let dirs = [
        "core",
        "core/legacy",
        "core/proposals/threads",
        "component-model/values",
        "component-model/resources",
        "component-model/linking",
        "component-model/validation",
        "component-model/binary",
        "component-model/async",
    ];
    let mut trials = Vec::new();
    let mut skipped = 0;
    let own = scripts(&root.join("tests/wast"));
    for path in dirs.iter().flat_map(|d| scripts(&suite.join(d))).chain(own) {
        let name = path
            .strip_prefix(&suite)
            .or_else(|_| path.strip_prefix(&root))
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Some(reason) = skips.reason(&path) {
            eprintln!("skipping {name}: {reason}");
            skipped += 1;
            trials.push(Trial::test(name, || Ok(())).with_ignored_flag(true));
            continue;
        }
        let options = options.clone();
        let skips = skips.clone();
        trials.push(Trial::test(name, move || {
            let report =
                run_file(&path, &options, &skips).map_err(|e| Failed::from(format!("{e:#}")))?;
            if report.failures.is_empty() {
                return Ok(());
            }
            let lines: Vec<String> = report
                .failures
                .iter()
                .map(|f| format!("line {}: {}", f.line, f.message))
                .collect();
            Err(format!(
                "{} of {} assertions failed:\n{}",
                report.failures.len(),
                report.checked,
                lines.join("\n")
            )
            .into())
        }));
    }
    eprintln!("{skipped} scripts skipped by tests/wast-skip.txt");
    libtest_mimic::run(&args, trials).exit();
}
