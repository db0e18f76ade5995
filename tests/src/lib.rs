//! Helpers shared by smelt's integration tests.
//!
//! The tests run the compiler in-process and the `smelt` executable as a
//! user would; both need the workspace built first (`cargo build
//! --release`), which the test command in the README does. A missing
//! `smelt` binary or runtime library is a test failure that says so, never
//! a silent skip.

#![deny(missing_docs)]

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The shared test suite: `$SMELT_TESTSUITE` when set (for a checkout
/// that is not next to `shared/`, such as a git worktree), else
/// `../shared/testsuite` from the repository root.
pub fn testsuite() -> PathBuf {
    match std::env::var_os("SMELT_TESTSUITE") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("..").join("shared").join("testsuite"),
    }
}

/// The `smelt` executable of the same build as this test.
pub fn smelt_bin() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join("smelt");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "the smelt executable was not found next to {}; run `cargo build --release` first",
        exe.display()
    )
}

/// Runs `smelt` with `args`.
pub fn smelt(args: &[&str]) -> Result<Output> {
    let bin = smelt_bin()?;
    Command::new(&bin)
        .args(args)
        .output()
        .with_context(|| format!("failed to run {}", bin.display()))
}

/// The environment variable that names the target the end-to-end tests
/// compile for (default: this machine's); executables for another
/// architecture run under the target's runner (see `smelt targets`).
pub const TARGET_VAR: &str = "SMELT_TEST_TARGET";

/// The target the end-to-end tests compile for: `$SMELT_TEST_TARGET`, or
/// this machine's.
pub fn test_target() -> Result<smelt::target::Target> {
    match std::env::var(TARGET_VAR) {
        Ok(name) if !name.is_empty() => {
            smelt::target::Target::from_name(&name).with_context(|| format!("{TARGET_VAR}={name}"))
        }
        _ => Ok(smelt::target::Target::host()?),
    }
}

/// The `smelt build` flags that select [`test_target`]: `--target TRIPLE`
/// when `$SMELT_TEST_TARGET` is set, else none.
pub fn target_flags() -> Vec<String> {
    match std::env::var(TARGET_VAR) {
        Ok(name) if !name.is_empty() => vec!["--target".to_string(), name],
        _ => Vec::new(),
    }
}

/// Whether executables built for [`test_target`] run under an emulator
/// here (many times slower: tests that measure nothing but load scale
/// their counts down by it).
pub fn emulated() -> bool {
    test_target().is_ok_and(|t| !t.is_native_arch())
}

/// `command`, which runs an executable built for [`test_target`], as it
/// must run on this machine: unchanged, or under the target's runner
/// (program, arguments, environment and working directory carried over).
pub fn under_runner(command: Command) -> Command {
    let Ok(target) = test_target() else {
        return command;
    };
    if target.is_native_arch() {
        return command;
    }
    let mut wrapped = target.run_command(Path::new(command.get_program()));
    wrapped.args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// Compiles the text module `wat` as a command (see `smelt::command`) into
/// an executable for [`test_target`] in `dir`; returns its path.
pub fn build_wat(dir: &Path, name: &str, wat: &str, invoke: Option<&str>) -> Result<PathBuf> {
    let wasm = wat::parse_str(wat)?;
    let target = test_target()?;
    let object = smelt::command::compile(&wasm, &target, invoke)?;
    let obj_path = dir.join(format!("{name}.o"));
    std::fs::write(&obj_path, object)?;
    let exe = dir.join(name);
    smelt::link::link(&target, &obj_path, &exe)?;
    Ok(exe)
}

/// Runs an executable (built for [`test_target`]) with `args`, capturing
/// its output.
pub fn run(exe: &Path, args: &[&str]) -> Result<Output> {
    under_runner(Command::new(exe))
        .args(args)
        .output()
        .with_context(|| format!("failed to run {}", exe.display()))
}

/// Runs `command` with `stdin` as its standard input until it ends, or
/// for `limit` at most, capturing its standard output and error.
///
/// Errors (as text for a test failure): the program did not start, or it
/// ran past `limit` and was killed (the text then holds what it printed).
/// A program that does not read its input is not an error.
pub fn output_within(
    mut command: Command,
    stdin: &[u8],
    limit: Duration,
) -> Result<Output, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("failed to run {program}: {e}"))?;
    let mut input = child.stdin.take().expect("piped stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || drop(input.write_all(&stdin)));
    let reader = |mut stream: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            drop(stream.read_to_end(&mut bytes));
            bytes
        })
    };
    let stdout = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let mut killed = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                killed = true;
                drop(child.kill());
                break child
                    .wait()
                    .map_err(|e| format!("failed to wait for {program}: {e}"))?;
            }
            Err(e) => return Err(format!("failed to wait for {program}: {e}")),
        }
    };
    drop(writer.join());
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if killed {
        return Err(format!(
            "{program} killed after {limit:?}; stdout:\n{}stderr:\n{}",
            quote(&String::from_utf8_lossy(&output.stdout)),
            quote(&String::from_utf8_lossy(&output.stderr))
        ));
    }
    Ok(output)
}

/// `text` indented, long text cut, so that a failure stays readable.
pub fn quote(text: &str) -> String {
    const MAX: usize = 4000;
    let mut cut = text.len().min(MAX);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out: String = text[..cut]
        .lines()
        .map(|l| format!("    | {l}\n"))
        .collect();
    if cut < text.len() {
        out.push_str(&format!("    ... ({} more bytes)\n", text.len() - cut));
    }
    out
}

/// `status` as the shell would describe it.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Builds the Cargo project of guest programs in `project` (relative to
/// the repository) for `target`; returns the folder of the `.wasm` files,
/// or why it failed (with the build's output).
pub fn build_guests(project: &str, target: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let manifest = root.join(project).join("Cargo.toml");
    let target_dir = root.join(project).join("target");
    let hint = format!("the {target} target is not installed: run `rustup target add {target}`");
    // `rustc --print target-libdir` names the folder even when it is
    // missing; its absence is the missing target.
    let libdir = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", target])
        .output();
    if let Ok(out) = libdir
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !Path::new(&dir).is_dir() {
            return Err(hint);
        }
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .args(["build", "--release", "--locked", "--target", target])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    let out = build
        .output()
        .map_err(|e| format!("failed to run {}: {e}", cargo.to_string_lossy()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut message = format!(
            "`cargo build --release --locked --target {target} --manifest-path {}` failed ({}):\n{}{}",
            manifest.display(),
            describe(out.status),
            String::from_utf8_lossy(&out.stdout),
            stderr
        );
        if stderr.contains("target may not be installed") {
            message = format!("{hint}\n{message}");
        }
        return Err(message);
    }
    Ok(target_dir.join(target).join("release"))
}

/// Makes two tests of each function `name(minor: u32)` given: `p2::name`
/// calls it with 2 (WASI 0.2), `p3::name` with 3 (WASI 0.3).
#[macro_export]
macro_rules! both_versions {
    ($($name:ident),* $(,)?) => {
        mod p2 {
            $(#[test]
            fn $name() {
                super::$name(2)
            })*
        }
        mod p3 {
            $(#[test]
            fn $name() {
                super::$name(3)
            })*
        }
    };
}
