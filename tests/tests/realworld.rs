//! End to end with a real-world program from crates.io: `zopfli` 0.8.4,
//! whose binary `zopfli FILE...` writes a gzip file `FILE.gz` next to each
//! input. It opens, stats, reads, creates and truncates files through the
//! Rust standard library, and its output depends on every byte it reads, so
//! a wrong read, a short write or a miscompiled loop shows up as a `.gz`
//! that differs from the native program's.
//!
//! At start (on first use, by whichever trial comes first), `cargo install
//! zopfli --version 0.8.4 --locked` builds the crate twice into the
//! workspace's `target/realworld/zopfli-0.8.4/`: once with `--target
//! wasm32-wasip2` (`wasm/bin/zopfli.wasm`), once for the host
//! (`native/bin/zopfli`). A binary already there is not built again (cargo
//! alone would skip the native build but redo the wasm32-wasip2 one on
//! every `cargo install`). The first, cold run needs the crates.io index,
//! or a cargo cache that holds it.
//!
//! Each case is one trial, in a fresh temporary directory `{root}`: the
//! case's input files are written twice, to `{root}/native/` and
//! `{root}/wasm/`; `smelt build zopfli.wasm --dir {root}/wasm::/w` compiles
//! the component into `{root}/zopfli`; the native program runs in
//! `{root}/native/` with the inputs' relative paths, the smelt-compiled one
//! with the same paths under `/w/`. The two runs must end the same way
//! (both succeed, or both fail with a non-zero exit status, whatever its
//! value and message: the guest's messages name WASI error codes and `/w/`
//! paths), and leave the same tree behind, every file byte for byte.
//!
//! A missing `wasm32-wasip2` target is a failure that says so, never a skip.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use smelt_tests::quote;

/// The target the component is built for.
const TARGET: &str = "wasm32-wasip2";

/// The crate, also the name of its binary.
const CRATE: &str = "zopfli";

/// The version installed and compared.
const VERSION: &str = "0.8.4";

/// Where the smelt-compiled program sees its directory.
const GUEST_DIR: &str = "/w";

/// How long one run may take before it is killed and the case fails. Each
/// case's inputs take well under 5 s to compress.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What is at one path of a directory tree.
#[derive(Clone, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
    /// A symbolic link, and the path it holds.
    Symlink(String),
}

/// A case's input tree: paths relative to the directory the program runs
/// in, each directory before what it holds.
type Inputs = Vec<(&'static str, Node)>;

/// How a run must end: the same way for both programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Exit status 0.
    Success,
    /// A non-zero exit status. The native program's panic exits with 101,
    /// the guest's panic aborts, which is a trap: 134.
    Failure,
}

/// One invocation of `zopfli` on an input tree.
struct Case {
    name: &'static str,
    inputs: Inputs,
    /// Paths relative to the program's directory; under `/w/` for the
    /// guest.
    args: Vec<&'static str>,
    ending: Ending,
    /// The `.gz` files the run must leave (besides being equal in both
    /// trees), so that two runs doing nothing do not pass.
    outputs: Vec<&'static str>,
}

impl Case {
    fn new(name: &'static str, inputs: Inputs, args: &[&'static str]) -> Case {
        Case {
            name,
            inputs,
            args: args.to_vec(),
            ending: Ending::Success,
            outputs: Vec::new(),
        }
    }

    fn ending(mut self, ending: Ending) -> Case {
        self.ending = ending;
        self
    }

    fn outputs(mut self, outputs: &[&'static str]) -> Case {
        self.outputs = outputs.to_vec();
        self
    }
}

/// A fixed xorshift64 sequence: the same inputs on every run.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo) as u64) as usize
    }
}

/// At least `n` bytes alternating, in chunks of a few KiB, between
/// English-like text over a small vocabulary, random bytes (nothing to
/// find), binary records (little-endian counters and flags: short matches
/// everywhere), runs of one byte, and copies of an earlier chunk (matches
/// far back).
fn mixed_text_and_binary(n: usize) -> Vec<u8> {
    let mut rng = Prng(0x9e37_79b9_7f4a_7c15);
    let vocabulary: Vec<String> = (0..600)
        .map(|_| {
            let len = rng.range(1, 10);
            (0..len)
                .map(|_| char::from(b'a' + rng.range(0, 26) as u8))
                .collect()
        })
        .collect();
    let mut out = Vec::with_capacity(n + 8192);
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    while out.len() < n {
        let start = out.len();
        let len = rng.range(512, 6144);
        match rng.range(0, 10) {
            0..=3 => {
                while out.len() < start + len {
                    let word = &vocabulary[rng.range(0, vocabulary.len())];
                    out.extend_from_slice(word.as_bytes());
                    out.push(match rng.range(0, 16) {
                        0 => b'\n',
                        1 => b',',
                        2 => b'.',
                        _ => b' ',
                    });
                }
            }
            4 | 5 => out.extend((0..len).map(|_| (rng.next() >> 24) as u8)),
            6 | 7 => {
                let mut id = rng.next() as u32 & 0xffff;
                while out.len() < start + len {
                    id += rng.range(1, 4) as u32;
                    out.extend_from_slice(&id.to_le_bytes());
                    out.extend_from_slice(&[rng.range(0, 4) as u8, 0, 0, 0xff]);
                }
            }
            8 => out.extend(std::iter::repeat_n(rng.next() as u8, len)),
            _ if !chunks.is_empty() => {
                let (from, to) = chunks[rng.range(0, chunks.len())];
                out.extend_from_within(from..to);
            }
            _ => out.extend_from_slice(b"no earlier chunk yet\n"),
        }
        chunks.push((start, out.len()));
    }
    out
}

/// `count` numbered lines of a log-like text.
fn numbered_lines(count: usize) -> Vec<u8> {
    (0..count)
        .map(|i| {
            format!(
                "{i:05} request /items/{} status {}\n",
                i * 7 % 113,
                200 + i % 3
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// A few small text files, one of them in a subdirectory and one with
/// spaces and non-ASCII letters in its name.
fn small_text_files() -> Inputs {
    vec![
        ("hello.txt", Node::File(b"hello, zopfli\n".to_vec())),
        ("one_byte", Node::File(b"x".to_vec())),
        ("lines.txt", Node::File(numbered_lines(2000))),
        (
            "wörds with spaces.txt",
            Node::File("ünïcödé ".repeat(300).into_bytes()),
        ),
        ("sub", Node::Dir),
        (
            "sub/nested.txt",
            Node::File(b"in a subdirectory\n".to_vec()),
        ),
    ]
}

/// Every case, in the order they are listed.
fn cases() -> Vec<Case> {
    vec![
        Case::new(
            "zopfli/mixed_text_and_binary",
            vec![("mixed.bin", Node::File(mixed_text_and_binary(256 * 1024)))],
            &["mixed.bin"],
        )
        .outputs(&["mixed.bin.gz"]),
        Case::new(
            "zopfli/small_text_files",
            small_text_files(),
            &[
                "hello.txt",
                "one_byte",
                "lines.txt",
                "wörds with spaces.txt",
                "sub/nested.txt",
            ],
        )
        .outputs(&[
            "hello.txt.gz",
            "one_byte.gz",
            "lines.txt.gz",
            "wörds with spaces.txt.gz",
            "sub/nested.txt.gz",
        ]),
        Case::new(
            "zopfli/empty_file",
            vec![("empty", Node::File(Vec::new()))],
            &["empty"],
        )
        .outputs(&["empty.gz"]),
        Case::new("zopfli/no_arguments", small_text_files(), &[]),
        // `File::create` truncates: a longer file already at `FILE.gz`
        // leaves no tail behind.
        Case::new(
            "zopfli/existing_output_is_truncated",
            vec![
                ("hello.txt", Node::File(b"hello, zopfli\n".to_vec())),
                ("hello.txt.gz", Node::File(vec![b'#'; 10_000])),
            ],
            &["hello.txt"],
        )
        .outputs(&["hello.txt.gz"]),
        // The first file is compressed, the missing one stops the run (a
        // panic) before the third.
        Case::new(
            "zopfli/missing_input",
            small_text_files(),
            &["hello.txt", "missing.txt", "one_byte"],
        )
        .ending(Ending::Failure)
        .outputs(&["hello.txt.gz"]),
        // A directory opens and has metadata, so `sub.gz` is created and the
        // gzip header written; reading it fails (EISDIR) and stops the run.
        Case::new(
            "zopfli/directory_input",
            small_text_files(),
            &["hello.txt", "sub", "one_byte"],
        )
        .ending(Ending::Failure)
        .outputs(&["hello.txt.gz", "sub.gz"]),
        // Paths through `.`, `..` and symlinks (relative, inside the
        // directory) that resolve to files: `File::open` follows them, and
        // `FILE.gz` goes next to the link, not its target.
        Case::new(
            "zopfli/symlinks_and_dot_paths",
            small_text_files()
                .into_iter()
                .chain([
                    ("link", Node::Symlink("hello.txt".into())),
                    ("sub/up_link", Node::Symlink("../lines.txt".into())),
                    ("dir_link", Node::Symlink("sub".into())),
                ])
                .collect(),
            &[
                "link",
                "sub/up_link",
                "dir_link/nested.txt",
                "./sub/../one_byte",
            ],
        )
        .outputs(&[
            "link.gz",
            "sub/up_link.gz",
            "sub/nested.txt.gz",
            "one_byte.gz",
        ]),
    ]
}

/// `status` as the shell would describe it.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// How `status` ends a run; `None` for a signal, which neither program is
/// ever expected to die of.
fn ending(status: ExitStatus) -> Option<Ending> {
    match status.code()? {
        0 => Some(Ending::Success),
        _ => Some(Ending::Failure),
    }
}

/// A finished process's status and stderr.
struct Finished {
    status: ExitStatus,
    stderr: String,
}

/// Runs `command` with no input, capturing its stderr; kills it after
/// [`TIMEOUT`].
fn run_with_timeout(command: Command) -> Result<Finished, String> {
    let out = smelt_tests::output_within(command, &[], TIMEOUT)?;
    Ok(Finished {
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The two builds of `zopfli`.
struct Built {
    /// `zopfli.wasm`, the component.
    wasm: PathBuf,
    /// The host's `zopfli`.
    native: PathBuf,
}

/// The folder this test installs into: `target/realworld/zopfli-0.8.4/`
/// of the workspace.
fn install_root() -> PathBuf {
    // `target/tmp`, for this workspace's target directory wherever it is.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("realworld")
        .join(format!("{CRATE}-{VERSION}"))
}

/// How to install the target, if `rustc` says it is missing.
fn check_target() -> Result<(), String> {
    // `rustc --print target-libdir` names the folder even when it is
    // missing; its absence is the missing target.
    let out = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    if let Ok(out) = out
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !Path::new(&dir).is_dir() {
            return Err(missing_target());
        }
    }
    Ok(())
}

fn missing_target() -> String {
    format!("the {TARGET} target is not installed: run `rustup target add {TARGET}`")
}

/// `cargo install`s the crate into `root` for `target` (the host if
/// `None`) unless its binary is already there; returns the binary's path.
fn install(root: &Path, target: Option<&str>) -> Result<PathBuf, String> {
    let file = match target {
        Some(_) => format!("{CRATE}.wasm"),
        None => format!("{CRATE}{}", std::env::consts::EXE_SUFFIX),
    };
    let bin = root.join("bin").join(file);
    if bin.is_file() {
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut install = Command::new(&cargo);
    install
        .args(["install", CRATE, "--version", VERSION, "--locked"])
        .args(target.map(|t| ["--target", t]).iter().flatten())
        .arg("--root")
        .arg(root)
        .stdin(Stdio::null());
    let shown = format!(
        "cargo install {CRATE} --version {VERSION} --locked{} --root {}",
        target.map(|t| format!(" --target {t}")).unwrap_or_default(),
        root.display()
    );
    let out = install
        .output()
        .map_err(|e| format!("failed to run {}: {e}", cargo.to_string_lossy()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let hint = if stderr.contains("target may not be installed") {
            format!("{}\n", missing_target())
        } else {
            String::new()
        };
        return Err(format!(
            "{hint}`{shown}` failed ({}):\n{}",
            describe(out.status),
            quote(&stderr)
        ));
    }
    if !bin.is_file() {
        return Err(format!(
            "`{shown}` succeeded but left no {}:\n{}",
            bin.display(),
            quote(&stderr)
        ));
    }
    Ok(bin)
}

/// Both builds, done on first use by whichever trial comes first.
fn built() -> Result<&'static Built, Failed> {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            check_target()?;
            let root = install_root();
            Ok(Built {
                wasm: install(&root.join("wasm"), Some(TARGET))?,
                native: install(&root.join("native"), None)?,
            })
        })
        .as_ref()
        .map_err(|why| why.as_str().into())
}

/// Writes `inputs` under `dir`.
fn lay_out(dir: &Path, inputs: &Inputs) -> Result<(), String> {
    std::fs::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, node) in inputs {
        let path = dir.join(name);
        match node {
            Node::File(bytes) => std::fs::write(&path, bytes),
            Node::Dir => std::fs::create_dir(&path),
            Node::Symlink(target) => symlink(target, &path),
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// What a tree holds, by path relative to its root.
type Tree = BTreeMap<String, Node>;

/// Reads the tree under `root`, following no symlinks.
fn read_tree(root: &Path) -> Result<Tree, String> {
    let mut tree = Tree::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let failed = |e: std::io::Error| format!("{}: {e}", path.display());
            let kind = entry.file_type().map_err(failed)?;
            let node = if kind.is_symlink() {
                let target = std::fs::read_link(&path).map_err(failed)?;
                Node::Symlink(target.to_string_lossy().into_owned())
            } else if kind.is_dir() {
                pending.push(path.clone());
                Node::Dir
            } else {
                Node::File(std::fs::read(&path).map_err(failed)?)
            };
            tree.insert(relative, node);
        }
    }
    Ok(tree)
}

/// `path` with its kind and size, as a failure names it.
fn describe_entry(path: &str, node: &Node) -> String {
    match node {
        Node::File(bytes) => format!("{path} ({} bytes)", bytes.len()),
        Node::Dir => format!("{path}/"),
        Node::Symlink(target) => format!("{path} -> {target}"),
    }
}

/// Why the guest's tree is not the native program's, if it is not: one
/// line per entry that only one has or that differs.
fn tree_mismatch(native: &Tree, wasm: &Tree) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, node) in native {
        if !wasm.contains_key(path) {
            problems.push(format!(
                "only the native run left {}",
                describe_entry(path, node)
            ));
        }
    }
    for (path, node) in wasm {
        if !native.contains_key(path) {
            problems.push(format!(
                "only the smelt run left {}",
                describe_entry(path, node)
            ));
        }
    }
    for (path, n) in native {
        match (n, wasm.get(path)) {
            (_, None) => {}
            (n, Some(w)) if n == w => {}
            (Node::File(n), Some(Node::File(w))) => {
                let first = n.iter().zip(w).position(|(a, b)| a != b);
                problems.push(format!(
                    "{path} differs: native {} bytes, smelt {} bytes, first difference at byte {}",
                    n.len(),
                    w.len(),
                    first.unwrap_or(n.len().min(w.len()))
                ));
            }
            (n, Some(w)) => problems.push(format!(
                "the native run left {}, the smelt run {}",
                describe_entry(path, n),
                describe_entry(path, w)
            )),
        }
    }
    problems
}

/// Compiles the component with `--dir {root}/wasm::/w`, runs both programs
/// on the case's inputs and compares how they end and what they leave.
fn run_case(case: &Case) -> Result<(), Failed> {
    let built = built()?;
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = tmp.path();
    let (native_dir, wasm_dir) = (root.join("native"), root.join("wasm"));
    lay_out(&native_dir, &case.inputs)?;
    lay_out(&wasm_dir, &case.inputs)?;

    // 1. smelt build.
    let exe = root.join(CRATE);
    let smelt = smelt_tests::smelt_bin().map_err(|e| format!("{e:#}"))?;
    let mut build = Command::new(&smelt);
    build
        .arg("build")
        .arg(&built.wasm)
        .arg("-o")
        .arg(&exe)
        .arg("--dir")
        .arg(format!("{}::{GUEST_DIR}", wasm_dir.display()));
    let compiled = run_with_timeout(build)?;
    if !compiled.status.success() {
        return Err(format!(
            "`smelt build {} --dir {}::{GUEST_DIR}` failed ({}):\n{}",
            built.wasm.display(),
            wasm_dir.display(),
            describe(compiled.status),
            quote(&compiled.stderr)
        )
        .into());
    }

    // 2. Both programs.
    let mut native = Command::new(&built.native);
    native.args(&case.args).current_dir(&native_dir);
    let native = run_with_timeout(native)?;
    let mut wasm = Command::new(&exe);
    wasm.args(case.args.iter().map(|a| format!("{GUEST_DIR}/{a}")))
        .current_dir(root);
    let wasm = run_with_timeout(wasm)?;

    // 3. Compare.
    let mut problems = Vec::new();
    for (who, run) in [("native", &native), ("smelt", &wasm)] {
        if ending(run.status) != Some(case.ending) {
            problems.push(format!(
                "expected the {who} run to end in {:?}, got {}; stderr:\n{}",
                case.ending,
                describe(run.status),
                quote(&run.stderr)
            ));
        }
    }
    let native_tree = read_tree(&native_dir)?;
    let wasm_tree = read_tree(&wasm_dir)?;
    problems.extend(tree_mismatch(&native_tree, &wasm_tree));
    for output in &case.outputs {
        let is_gzip =
            |node: &Node| matches!(node, Node::File(gz) if gz.starts_with(&[0x1f, 0x8b, 8]));
        if !native_tree.get(*output).is_some_and(is_gzip) {
            problems.push(format!(
                "the native run left no gzip file {output} (a broken reference?)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials = cases()
        .into_iter()
        .map(|case| Trial::test(case.name, move || run_case(&case)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
