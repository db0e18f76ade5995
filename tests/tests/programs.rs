//! End to end: the guest programs of `tests/programs/` (one Rust binary per
//! area of WASI 0.2: arguments and environment, stdio, exit, files,
//! directories, the sandbox, clocks, randomness, panics and traps).
//!
//! The programs are built once per target, at start, with `cargo build
//! --release --target wasm32-wasip2` (components) and `--target
//! wasm32-wasip1` (WASI preview1 core modules, which run on smelt's
//! preview1 host).
//! Some programs also have a C twin in `tests/programs/c/`, built with
//! clang and Debian's wasi-libc into a preview1 module; the cases of those
//! programs run for it too (`c::<case>`). Some have a WASI 0.3 twin in
//! `tests/programs-p3/` (a component exporting `wasi:cli/run@0.3.x`, its
//! I/O through `stream<u8>`s and `async` host functions), built for
//! `wasm32-wasip2` with the `wasip3` crate; the cases of those run for it
//! too (`p3::<case>`), as do the cases only a WASI 0.3 program has
//! ([`p3_cases`]).
//! Each case is one trial per target: its program compiled by
//! `smelt build` with the case's grants (`--dir`, `--env`, `--inherit-env`)
//! into an executable in a fresh temporary directory, run there with the
//! case's arguments, environment and standard input, and its exit status,
//! stdout and stderr compared with what the program is known to print. The
//! expected outputs were checked by running the programs natively and under
//! a reference WASI 0.2 runtime.
//!
//! In the case table, `{root}` in a flag or an argument stands for the case's
//! temporary directory; its subdirectory `data/` always exists and is what
//! `.data()` grants as `/data`.

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use smelt_tests::{describe, quote};

/// The targets the guest programs are built for: every case runs once
/// for each, as `<target>::<case>`. A `wasm32-wasip1` program is a core
/// module importing WASI preview1, which runs on smelt's preview1 host; it
/// must behave as its `wasm32-wasip2` twin (but for the exit status it
/// passes on, [`Case::preview1_status`]).
const TARGETS: &[&str] = &["wasm32-wasip2", "wasm32-wasip1"];

/// Cases that cannot pass for one target, each with the reason: listed as
/// ignored, and printed at the start.
const SKIPS: &[(&str, &str, &str)] = &[];

/// How long one executable may run before it is killed and the case fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The status of an executable that trapped (see the README).
const TRAP: i32 = 134;

/// Environment variables the cases set themselves: removed from the
/// environment every executable and every `smelt build` starts with, so that
/// the outer environment cannot change an outcome.
const CASE_VARS: &str = "SMELT_TEST_";

/// How a captured stream must look.
enum Text {
    /// Exactly these bytes.
    Exact(Vec<u8>),
    /// Each of these strings, somewhere.
    Contains(Vec<&'static str>),
    /// Line by line: exactly as many lines, each equal to its pattern, or,
    /// for a pattern ending in `*`, starting with what precedes the `*`.
    Lines(Vec<&'static str>),
}

impl Text {
    /// Why `actual` does not match, if it does not.
    fn mismatch(&self, actual: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(actual);
        match self {
            Text::Exact(expected) if expected == actual => None,
            Text::Exact(expected) => Some(format!(
                "expected:\n{}\ngot:\n{}",
                quote(&String::from_utf8_lossy(expected)),
                quote(&text)
            )),
            Text::Contains(needles) => {
                let missing: Vec<&str> = needles
                    .iter()
                    .copied()
                    .filter(|n| !text.contains(n))
                    .collect();
                (!missing.is_empty()).then(|| format!("missing {missing:?} in:\n{}", quote(&text)))
            }
            Text::Lines(patterns) => {
                let lines: Vec<&str> = text.lines().collect();
                let matches = lines.len() == patterns.len()
                    && lines.iter().zip(patterns).all(|(line, pattern)| {
                        match pattern.strip_suffix('*') {
                            Some(prefix) => line.starts_with(prefix),
                            None => line == pattern,
                        }
                    });
                (!matches).then(|| {
                    format!(
                        "expected lines matching:\n{}\ngot:\n{}",
                        quote(&patterns.join("\n")),
                        quote(&text)
                    )
                })
            }
        }
    }
}

/// What a case's extra check after the run gets.
struct Ran<'a> {
    /// The executable, to run again.
    exe: &'a Path,
    /// The case's temporary directory (`{root}`).
    root: &'a Path,
    /// The first run's stderr.
    stderr: &'a [u8],
}

/// A check after the run: the host side of the filesystem, a second run.
type After = fn(&Ran) -> Result<(), String>;

/// Lays out the case's temporary directory (`{root}`) before the build.
type Setup = fn(&Path) -> std::io::Result<()>;

/// One program, compiled with some grants, run once.
struct Case {
    name: String,
    program: &'static str,
    /// `smelt build` flags after `INPUT -o OUTPUT`.
    flags: Vec<String>,
    /// Arguments after [`Case::args`], as bytes (not necessarily UTF-8).
    raw_args: Vec<Vec<u8>>,
    /// Variables set for `smelt build` itself.
    build_env: Vec<(&'static str, &'static str)>,
    args: Vec<String>,
    /// Variables set for the executable, on top of the test's environment.
    run_env: Vec<(&'static str, &'static str)>,
    stdin: Vec<u8>,
    setup: Option<Setup>,
    status: i32,
    stdout: Text,
    stderr: Text,
    after: Option<After>,
    /// The program has `v128` code: for a target without SIMD the build
    /// must fail, saying why.
    simd: bool,
    /// The exit status of the program built as a WASI preview1 module,
    /// when it differs (preview1's `proc_exit` passes any status on; WASI
    /// 0.2's `exit` only success or failure).
    preview1_status: Option<i32>,
}

impl Case {
    /// A case named `name` that runs `program` with no grants, arguments
    /// or input, expected to exit 0 with empty stdout and stderr.
    fn new(name: &str, program: &'static str) -> Case {
        Case {
            name: name.to_string(),
            program,
            flags: Vec::new(),
            raw_args: Vec::new(),
            build_env: Vec::new(),
            args: Vec::new(),
            run_env: Vec::new(),
            stdin: Vec::new(),
            setup: None,
            status: 0,
            stdout: Text::Exact(Vec::new()),
            stderr: Text::Exact(Vec::new()),
            after: None,
            simd: false,
            preview1_status: None,
        }
    }

    /// The exit status when the program is a preview1 module.
    fn preview1_status(mut self, status: i32) -> Case {
        self.preview1_status = Some(status);
        self
    }

    /// The case for a preview1 module of its program.
    fn for_preview1(mut self) -> Case {
        if let Some(status) = self.preview1_status {
            self.status = status;
        }
        self
    }

    /// The program has `v128` code.
    fn simd(mut self) -> Case {
        self.simd = true;
        self
    }

    fn flags(mut self, flags: &[&str]) -> Case {
        self.flags.extend(flags.iter().map(|f| f.to_string()));
        self
    }

    /// Grants `{root}/data` as `/data`.
    fn data(self) -> Case {
        self.flags(&["--dir", "{root}/data::/data"])
    }

    fn build_env(mut self, vars: &[(&'static str, &'static str)]) -> Case {
        self.build_env.extend_from_slice(vars);
        self
    }

    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// Arguments given as bytes, after the others.
    fn raw_args(mut self, args: &[&[u8]]) -> Case {
        self.raw_args.extend(args.iter().map(|a| a.to_vec()));
        self
    }

    fn run_env(mut self, vars: &[(&'static str, &'static str)]) -> Case {
        self.run_env.extend_from_slice(vars);
        self
    }

    fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Case {
        self.stdin = bytes.into();
        self
    }

    fn setup(mut self, setup: Setup) -> Case {
        self.setup = Some(setup);
        self
    }

    fn status(mut self, status: i32) -> Case {
        self.status = status;
        self
    }

    fn stdout(mut self, text: impl Into<Vec<u8>>) -> Case {
        self.stdout = Text::Exact(text.into());
        self
    }

    fn stderr(mut self, text: impl Into<Vec<u8>>) -> Case {
        self.stderr = Text::Exact(text.into());
        self
    }

    fn stderr_contains(mut self, needles: &[&'static str]) -> Case {
        self.stderr = Text::Contains(needles.to_vec());
        self
    }

    fn stderr_lines(mut self, patterns: &[&'static str]) -> Case {
        self.stderr = Text::Lines(patterns.to_vec());
        self
    }

    fn after(mut self, after: After) -> Case {
        self.after = Some(after);
        self
    }
}

/// `n` bytes of a fixed pseudo-random sequence (xorshift64), every byte
/// value included.
fn pseudo_random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every case, in the order they are listed.
fn cases() -> Vec<Case> {
    let big = pseudo_random_bytes((1 << 20) + 17);
    vec![
        Case::new("hello", "hello")
            .stdout("hello from a smelt test program\n")
            .stderr("hello on stderr\n"),
        // v128 code from rustc (`simd128` functions), checked against the
        // scalar computation; refused for riscv64 (no V extension).
        Case::new("simd", "simd").simd().stdout(
            "sum of squares: 335350007 (scalar 335350007)\n\
             count of 'e': 296 (scalar 296)\n\
             dot: 21840 (scalar 21840)\n\
             mix: [250, 250, 250, 250, 250, 250, 244, 228, 212, 196, 180, 164, 148, 132, 116, 100] \
             (scalar [250, 250, 250, 250, 250, 250, 244, 228, 212, 196, 180, 164, 148, 132, 116, 100])\n\
             scaled sum: 1416.25\n",
        ),
        // Arguments and environment.
        Case::new("args_env/no_arguments", "args_env").stdout("argc: 0\n"),
        Case::new("args_env/arguments", "args_env")
            .args(&["a", "b c", "ünï", "", "--x=y", "-", "say \"hi\"", "two\nlines"])
            .stdout(
                "argc: 8\narg[0]: a\narg[1]: b c\narg[2]: ünï\narg[3]: \narg[4]: --x=y\narg[5]: -\n\
                 arg[6]: say \"hi\"\narg[7]: two\nlines\n",
            ),
        // Values with quotes, spaces, newlines, non-ASCII and nothing, as
        // an AssemblyScript program's environment has them.
        Case::new("args_env/env_values_of_every_kind", "args_env")
            .flags(&[
                "--env",
                "QUOTED=say \"hi\" and 'bye'",
                "--env",
                "NEWLINE=one\ntwo",
                "--env",
                "SPACES=  a  b  ",
                "--env",
                "UNICODE=ünï ✓",
                "--env",
                "EMPTY=",
            ])
            .args(&["--all-env"])
            .stdout(
                "argc: 1\narg[0]: --all-env\nall-env: 5\nEMPTY=\nNEWLINE=one\ntwo\n\
                 QUOTED=say \"hi\" and 'bye'\nSPACES=  a  b  \nUNICODE=ünï ✓\n",
            ),
        // Without --inherit-env the guest sees only what --env gives, not
        // the executable's environment.
        Case::new("args_env/only_env_given_by_flags", "args_env")
            .flags(&[
                "--env",
                "FOO=bar",
                "--env",
                "EMPTY=",
                "--env",
                "WITH_EQUALS=a=b=c",
            ])
            .run_env(&[("SMELT_TEST_HOST_ONLY", "1")])
            .args(&["--all-env"])
            .stdout(
                "argc: 1\narg[0]: --all-env\nall-env: 3\nEMPTY=\nFOO=bar\nWITH_EQUALS=a=b=c\n",
            ),
        // `--env NAME` takes the value the executable finds when it starts,
        // not the one smelt saw at build time; unset then, it is absent.
        Case::new("args_env/env_name_takes_the_run_time_value", "args_env")
            .flags(&[
                "--env",
                "SMELT_TEST_NAMED",
                "--env",
                "SMELT_TEST_NAMED_UNSET",
            ])
            .build_env(&[
                ("SMELT_TEST_NAMED", "at build time"),
                ("SMELT_TEST_NAMED_UNSET", "at build time"),
            ])
            .run_env(&[
                ("SMELT_TEST_NAMED", "at run time"),
                ("SMELT_TEST_OTHER", "1"),
            ])
            .args(&["--all-env"])
            .stdout("argc: 1\narg[0]: --all-env\nall-env: 1\nSMELT_TEST_NAMED=at run time\n"),
        // --inherit-env passes the executable's environment; --env
        // overrides it.
        Case::new("args_env/inherit_env", "args_env")
            .flags(&[
                "--inherit-env",
                "--env",
                "SMELT_TEST_OVERRIDDEN=from smelt",
            ])
            .run_env(&[
                ("SMELT_TEST_INHERITED", "from the host"),
                ("SMELT_TEST_OVERRIDDEN", "from the host"),
            ])
            .args(&[
                "--env",
                "SMELT_TEST_INHERITED",
                "--env",
                "SMELT_TEST_OVERRIDDEN",
                "--env",
                "SMELT_TEST_UNSET",
            ])
            .stdout(
                "argc: 6\narg[0]: --env\narg[1]: SMELT_TEST_INHERITED\narg[2]: --env\n\
                 arg[3]: SMELT_TEST_OVERRIDDEN\narg[4]: --env\narg[5]: SMELT_TEST_UNSET\n\
                 env SMELT_TEST_INHERITED=from the host\n\
                 env SMELT_TEST_OVERRIDDEN=from smelt\n\
                 env SMELT_TEST_UNSET is not set\n",
            ),
        // Standard streams.
        Case::new("stdin_to_stdout/empty", "stdin_to_stdout").stderr("0 bytes\n"),
        Case::new("stdin_to_stdout/text", "stdin_to_stdout")
            .stdin("one\ntwo\nthree")
            .stdout("one\ntwo\nthree")
            .stderr("13 bytes\n"),
        Case::new("stdin_to_stdout/1MiB_binary", "stdin_to_stdout")
            .stdin(big.clone())
            .stdout(big)
            .stderr("1048593 bytes\n"),
        // Exit status. WASI 0.2's `exit` carries only success or failure: any
        // non-zero status reaches the host as 1.
        Case::new("exit_code/0", "exit_code")
            .args(&["0"])
            .stdout("exiting with 0\n")
            .stderr("stderr before exit\n"),
        Case::new("exit_code/1", "exit_code")
            .args(&["1"])
            .status(1)
            .stdout("exiting with 1\n")
            .stderr("stderr before exit\n"),
        // WASI 0.2's `exit` says failure (1); preview1's `proc_exit` keeps
        // the status.
        Case::new("exit_code/3_is_failure", "exit_code")
            .args(&["3"])
            .status(1)
            .preview1_status(3)
            .stdout("exiting with 3\n")
            .stderr("stderr before exit\n"),
        Case::new("exit_code/255_is_failure", "exit_code")
            .args(&["255"])
            .status(1)
            .preview1_status(255)
            .stdout("exiting with 255\n")
            .stderr("stderr before exit\n"),
        // Files.
        Case::new("files", "files")
            .data()
            .setup(|root| std::fs::write(root.join("data/input.txt"), "from the host\n"))
            .stdout(concat!(
                "input.txt: \"from the host\\n\"\n",
                "created notes.txt\n",
                "after append: \"line 1\\nline 2\\nline 3\\n\"\n",
                "at 7: \"line 2\"\n",
                "from end -7 (offset 14): \"line 3\\n\"\n",
                "current -14: offset 7\n",
                "overwritten and truncated: \"line A\\nline 2\\n\"\n",
                "metadata: len 14, file true, dir false\n",
                "modified within the last hour: true\n",
                "root is a directory: true\n",
                "identity: same by path true, by descriptor true, input.txt differs true\n",
                "open missing.txt: Err(NotFound)\n",
                "create_new notes.txt: Err(AlreadyExists)\n",
                "renamed: notes.txt exists false, renamed.txt exists true\n",
                "create_dir sub again: Err(AlreadyExists)\n",
                "listing: [input.txt, renamed.txt, sub/]\n",
                "listing sub: [a/, inner.txt]\n",
                "remove_dir non-empty sub is an error: true\n",
                "after removing: [input.txt]\n",
                "done\n",
            ))
            .after(files_left_on_the_host),
        // Directories.
        Case::new("readdir/data", "readdir")
            .data()
            .setup(readdir_tree)
            .args(&["/data"])
            .stdout(READDIR_DATA),
        Case::new("readdir/subdirectory", "readdir")
            .data()
            .setup(readdir_tree)
            .args(&["/data/b"])
            .stdout("file nested.txt (7 bytes)\n1 entries\n"),
        Case::new("readdir/missing", "readdir")
            .data()
            .setup(readdir_tree)
            .args(&["/data/missing"])
            .status(1)
            .stderr_contains(&["readdir: /data/missing: "]),
        // A relative HOST is resolved against the executable's working
        // directory when it starts ({root} here).
        Case::new("readdir/relative_host_dir", "readdir")
            .flags(&["--dir", "data::/data"])
            .setup(readdir_tree)
            .args(&["/data"])
            .stdout(READDIR_DATA),
        // --dir HOST without ::GUEST: the guest uses the host path.
        Case::new("readdir/host_path_as_guest_path", "readdir")
            .flags(&["--dir", "{root}/data"])
            .setup(readdir_tree)
            .args(&["{root}/data"])
            .stdout(READDIR_DATA),
        Case::new("readdir/two_dirs", "readdir")
            .flags(&[
                "--dir",
                "{root}/data::/data",
                "--dir",
                "{root}/data/b::/other",
            ])
            .setup(readdir_tree)
            .args(&["/other"])
            .stdout("file nested.txt (7 bytes)\n1 entries\n"),
        // The sandbox: `..`, absolute paths and symlinks must not leave
        // /data. A path resolved beneath /data that escapes is
        // `not-permitted` (PermissionDenied); a path under no preopen is
        // refused by wasi-libc itself (NotFound).
        Case::new("escape", "escape")
            .data()
            .setup(escape_tree)
            .stdout(concat!(
                "read /data/../etc/passwd: denied (PermissionDenied)\n",
                "read /data/../../../../../../../../../../etc/passwd: denied (PermissionDenied)\n",
                "read /etc/passwd: denied (NotFound)\n",
                "read /data/link/passwd: denied (PermissionDenied)\n",
                "read /data/passwd_link: denied (PermissionDenied)\n",
                "read /data/up/etc/passwd: denied (PermissionDenied)\n",
                "read /data/sub/../../../../../../../../../../../etc/passwd: denied (PermissionDenied)\n",
                "read_dir /data/link: denied (PermissionDenied)\n",
                "metadata /data/link/passwd: denied (PermissionDenied)\n",
                "write /data/outside_link/probe: denied (PermissionDenied)\n",
                "write /data/../outside/probe: denied (PermissionDenied)\n",
                "create_dir /data/../outside/dir: denied (PermissionDenied)\n",
                "read /data/inside.txt: ok \"inside\\n\"\n",
                "read /data/inside_link: ok \"inside\\n\"\n",
                "read /data/sub/../inside.txt: ok \"inside\\n\"\n",
                "symlink_metadata /data/link: ok, symlink true\n",
                "escapes: 0\n",
            ))
            .after(nothing_written_outside),
        // Clocks and randomness.
        Case::new("fs_streams", "fs_streams")
            .data()
            .setup(fs_streams_files)
            .stdout(concat!(
                "out.txt: \"written by the guest\\nappended\\n\"\n",
                "size: 30\n",
                "listing: [input.bin, input.txt, out.txt, sub/]\n",
                "input.txt: \"from the host\\n\"\n",
                "copied input.bin: 1048593 bytes\n",
                "missing.txt: not found\n",
                "../etc/passwd: denied\n",
            ))
            .after(fs_streams_copied),
        Case::new("clocks", "clocks").stdout(concat!(
            "sleep(50ms) took >= 50ms: true\n",
            "sleep(50ms) took < 5s: true\n",
            "Instant never goes backwards: true\n",
            "SystemTime::now() is after 2024-01-01: true\n",
            "SystemTime advances across a sleep: true\n",
        )),
        Case::new("random", "random")
            .stdout("ok\n")
            .stderr_lines(&["fingerprint: *"])
            .after(random_differs_between_runs),
        // Panics and traps: status 134, the message on stderr, and the stdout
        // line written before not lost.
        Case::new("panic", "panic")
            .status(TRAP)
            .stdout("before the panic\n")
            .stderr_contains(&[
                "panicked at src/bin/panic.rs:7:5:\nboom\n",
                "wasm trap: unreachable\n",
            ]),
        Case::new("trap/unreachable", "trap")
            .status(TRAP)
            .stdout("about to trap (unreachable)\n")
            .stderr_contains(&["wasm trap: unreachable\nwasm backtrace:\n", "trap::main"]),
        Case::new("trap/out_of_bounds", "trap")
            .args(&["oob"])
            .status(TRAP)
            .stdout("about to trap (oob)\n")
            .stderr_contains(&[
                "wasm trap: out of bounds memory access\nwasm backtrace:\n",
                "trap::main",
            ]),
        // Many descriptors at once.
        Case::new("many_files", "many_files")
            .data()
            .stdout(concat!(
                "opened 1000 files\n",
                "wrote 28872 bytes\n",
                "read 28872 bytes, 0 mismatches\n",
                "checksum: 281be2c2e4cc6875\n",
                "removed 1000 files, 0 entries left\n",
            ))
            .after(data_left_empty),
    ]
    .into_iter()
    .chain(preview1_cases())
    .collect()
}

/// The layout `preview1 path-open` and `bad-fds` expect in `{root}`:
/// `data/file.txt`, `data/dir/`, `data/link -> file.txt`, `data/loop ->
/// loop`, `data/out -> ../outside.txt`, and `outside.txt` beside `data/`.
fn path_open_tree(root: &Path) -> std::io::Result<()> {
    std::fs::write(root.join("data/file.txt"), "hello\n")?;
    std::fs::create_dir(root.join("data/dir"))?;
    symlink("file.txt", root.join("data/link"))?;
    symlink("loop", root.join("data/loop"))?;
    symlink("../outside.txt", root.join("data/out"))?;
    std::fs::write(root.join("outside.txt"), "outside\n")
}

/// Cases of the `preview1` C program (`tests/programs/c/preview1.c`),
/// which calls preview1 itself: errno values are the witx's numbers
/// (`badf` 8, `exist` 20, `ilseq` 25, `inval` 28, `isdir` 31, `loop` 32,
/// `nametoolong` 37, `noent` 44, `notdir` 54, `perm` 63, `notcapable`
/// 76).
fn preview1_cases() -> Vec<Case> {
    vec![
        // `proc_exit` passes its status on.
        Case::new("preview1/exit_33", "preview1")
            .args(&["exit", "33"])
            .status(33),
        Case::new("preview1/exit_255", "preview1")
            .args(&["exit", "255"])
            .status(255),
        // Byte for byte: quotes, spaces, newlines, non-ASCII, nothing,
        // and bytes that are not UTF-8.
        Case::new("preview1/args", "preview1")
            .args(&["args", "say \"hi\"", "a b", "one\ntwo", "ünï", ""])
            .raw_args(&[b"\xff\xfe"])
            .stdout(concat!(
                "7 strings, 36 bytes\n",
                "\"args\"\n",
                "\"say \\\"hi\\\"\"\n",
                "\"a b\"\n",
                "\"one\\ntwo\"\n",
                "\"\\xc3\\xbcn\\xc3\\xaf\"\n",
                "\"\"\n",
                "\"\\xff\\xfe\"\n",
            )),
        Case::new("preview1/environ", "preview1")
            .flags(&[
                "--env",
                "QUOTED=say \"hi\"",
                "--env",
                "NEWLINE=one\ntwo",
                "--env",
                "UNICODE=ünï",
                "--env",
                "EMPTY=",
            ])
            .args(&["environ"])
            .stdout(concat!(
                "4 strings, 53 bytes\n",
                "\"QUOTED=say \\\"hi\\\"\"\n",
                "\"NEWLINE=one\\ntwo\"\n",
                "\"UNICODE=\\xc3\\xbcn\\xc3\\xaf\"\n",
                "\"EMPTY=\"\n",
            )),
        // Writes to a descriptor never opened and to one closed: `badf`.
        Case::new("preview1/bad_fds", "preview1")
            .data()
            .args(&["bad-fds"])
            .stdout(concat!(
                "write to never-opened 77: errno 8\n",
                "close never-opened 77: errno 8\n",
                "open w.txt: errno 0\n",
                "write to w.txt: errno 0\n",
                "close w.txt: errno 0\n",
                "write to closed w.txt: errno 8\n",
                "close closed w.txt: errno 8\n",
                "close stderr: errno 0\n",
                "write to closed stderr: errno 8\n",
            )),
        // Every way `path_open` fails, with its errno.
        Case::new("preview1/path_open", "preview1")
            .data()
            .setup(path_open_tree)
            .args(&["path-open"])
            .stdout(concat!(
                "existing file: errno 0\n",
                "missing file: errno 44\n",
                "missing directory on the way: errno 44\n",
                "empty path: errno 44\n",
                "create exclusive over a file: errno 20\n",
                "directory flag on a file: errno 54\n",
                "a file as a directory on the way: errno 54\n",
                "trailing slash on a file: errno 54\n",
                "write a directory: errno 31\n",
                "read a directory: errno 0\n",
                "symbolic link, not followed: errno 32\n",
                "symbolic link, followed: errno 0\n",
                "symbolic link loop, followed: errno 32\n",
                "dot-dot out of the preopen: errno 63\n",
                "dot-dot back in: errno 0\n",
                "absolute path: errno 63\n",
                "symbolic link out of the preopen, followed: errno 63\n",
                "never-opened directory descriptor: errno 8\n",
                "standard input as the directory: errno 8\n",
                "unknown open flag: errno 28\n",
                "unknown lookup flag: errno 28\n",
                "path with a NUL: errno 28\n",
                "path not UTF-8: errno 25\n",
                "name too long: errno 37\n",
                "create: errno 0\n",
                "truncate: errno 0\n",
                "a file descriptor as the directory: errno 54\n",
            )),
        // `fd_readdir` with a buffer two entries long: each call resumes at
        // the cookie of the last whole entry; a resumed listing from the
        // second entry's cookie lacks the first.
        Case::new("preview1/readdir_cookies", "preview1")
            .data()
            .setup(|root| {
                for name in ["a", "bb", "ccc"] {
                    std::fs::write(root.join("data").join(name), name)?;
                }
                std::fs::create_dir(root.join("data/d"))
            })
            .args(&["readdir"])
            .stdout("6 entries: . .. a bb ccc d\nfrom the second cookie: 5 entries\n"),
        Case::new("preview1/fdstat", "preview1")
            .data()
            .setup(path_open_tree)
            .args(&["fdstat"])
            .stdout(concat!(
                "preopen: type 3 flags 0 read 0 write 0 readdir 1\n",
                "file for reading: type 4 flags 0 read 1 write 0 readdir 0\n",
                "file for appending: type 4 flags 1 read 0 write 1 readdir 0\n",
                "drop every right: errno 0\n",
                "add a right back: errno 76\n",
                "never opened: errno 8\n",
                "prestat of the preopen: errno 0, name length 5\n",
                "prestat of stdin: errno 8\n",
            )),
        // A clock of 60 s and stdin with data: stdin's event alone; then
        // the clock alone; none is `inval`; a descriptor not open is an
        // event with `badf`.
        Case::new("preview1/poll", "preview1")
            .args(&["poll"])
            .stdin("hi\n")
            .stdout(concat!(
                "poll: errno 0, 1 event(s)\n",
                "event: userdata 2, error 0, type 1\n",
                "clock: errno 0, 1 event(s), userdata 1\n",
                "nothing: errno 28\n",
                "never opened: errno 0, 1 event(s), error 8\n",
            )),
    ]
}

/// What `readdir` prints for the tree `readdir_tree` lays out.
const READDIR_DATA: &str = "\
file .hidden (0 bytes)
file a.txt (3 bytes)
dir b
symlink c
symlink d
file with space.txt (1 bytes)
6 entries
";

/// `{root}/data`: files, a directory, a symlink to a file and a dangling one.
fn readdir_tree(root: &Path) -> std::io::Result<()> {
    let data = root.join("data");
    std::fs::write(data.join("a.txt"), "abc")?;
    std::fs::create_dir(data.join("b"))?;
    std::fs::write(data.join("b/nested.txt"), "nested\n")?;
    symlink("a.txt", data.join("c"))?;
    symlink("/nonexistent", data.join("d"))?;
    std::fs::write(data.join(".hidden"), "")?;
    std::fs::write(data.join("with space.txt"), "x")?;
    Ok(())
}

/// The layout `tests/programs/src/bin/escape.rs` describes.
/// The inputs of `fs_streams`: a text file and 1 MiB (and a bit) of
/// binary data.
fn fs_streams_files(root: &Path) -> std::io::Result<()> {
    let data = root.join("data");
    std::fs::write(data.join("input.txt"), "from the host\n")?;
    std::fs::write(data.join("input.bin"), pseudo_random_bytes((1 << 20) + 17))
}

/// `fs_streams` copied `input.bin` to `copy.bin` byte for byte.
fn fs_streams_copied(ran: &Ran) -> Result<(), String> {
    let data = ran.root.join("data");
    let read = |name: &str| std::fs::read(data.join(name)).map_err(|e| format!("{name}: {e}"));
    if read("copy.bin")? != read("input.bin")? {
        return Err("on the host, copy.bin differs from input.bin".into());
    }
    Ok(())
}

fn escape_tree(root: &Path) -> std::io::Result<()> {
    let data = root.join("data");
    std::fs::write(data.join("inside.txt"), "inside\n")?;
    std::fs::create_dir(data.join("sub"))?;
    std::fs::create_dir(root.join("outside"))?;
    symlink("inside.txt", data.join("inside_link"))?;
    symlink("/etc", data.join("link"))?;
    symlink("/etc/passwd", data.join("passwd_link"))?;
    symlink("../../../../../../../../../..", data.join("up"))?;
    symlink(root.join("outside"), data.join("outside_link"))?;
    Ok(())
}

/// The sorted names in `dir`.
fn names(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    names.sort();
    Ok(names)
}

/// `files` leaves `input.txt` untouched and `result.txt` written, nothing
/// else.
fn files_left_on_the_host(ran: &Ran) -> Result<(), String> {
    let data = ran.root.join("data");
    let left = names(&data)?;
    if left != ["input.txt", "result.txt"] {
        return Err(format!("on the host, data/ holds {left:?}"));
    }
    let read = |name: &str| std::fs::read_to_string(data.join(name)).unwrap_or_default();
    if read("input.txt") != "from the host\n" || read("result.txt") != "written by the guest\n" {
        return Err(format!(
            "on the host: input.txt {:?}, result.txt {:?}",
            read("input.txt"),
            read("result.txt")
        ));
    }
    Ok(())
}

/// `escape` wrote nothing outside `/data`.
fn nothing_written_outside(ran: &Ran) -> Result<(), String> {
    let left = names(&ran.root.join("outside"))?;
    if !left.is_empty() {
        return Err(format!("the guest wrote {left:?} outside /data"));
    }
    Ok(())
}

/// `many_files` removed all it created.
fn data_left_empty(ran: &Ran) -> Result<(), String> {
    let left = names(&ran.root.join("data"))?;
    if !left.is_empty() {
        return Err(format!(
            "on the host, data/ still holds {} entries",
            left.len()
        ));
    }
    Ok(())
}

/// A second run of `random` prints another fingerprint: the seed comes from
/// the host at run time, not from the build.
fn random_differs_between_runs(ran: &Ran) -> Result<(), String> {
    let mut command = smelt_tests::under_runner(Command::new(ran.exe));
    command.current_dir(ran.root);
    let second = run_with_timeout(command, &[])?;
    if second.stderr == ran.stderr {
        return Err(format!(
            "two runs printed the same {}",
            String::from_utf8_lossy(&second.stderr).trim_end()
        ));
    }
    Ok(())
}

/// Runs `command` with `stdin` as its standard input, capturing its output;
/// kills it after [`TIMEOUT`].
fn run_with_timeout(command: Command, stdin: &[u8]) -> Result<Output, String> {
    smelt_tests::output_within(command, stdin, TIMEOUT)
}

/// A command whose environment holds none of the variables cases set.
fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(CASE_VARS) {
            command.env_remove(name);
        }
    }
    command
}

/// Compiles and runs one case in a fresh temporary directory.
fn run_case(case: &Case, wasm_dir: &Path) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let root = tmp.path();
    std::fs::create_dir(root.join("data")).map_err(|e| format!("data/: {e}"))?;
    if let Some(setup) = case.setup {
        setup(root).map_err(|e| format!("setting up {}: {e}", root.display()))?;
    }
    let fill = |s: &String| s.replace("{root}", &root.to_string_lossy());

    // 1. smelt build.
    let wasm = wasm_dir.join(format!("{}.wasm", case.program));
    let exe = root.join(case.program);
    let smelt = smelt_tests::smelt_bin().map_err(|e| format!("{e:#}"))?;
    let mut build = command(&smelt);
    build
        .arg("build")
        .arg(&wasm)
        .arg("-o")
        .arg(&exe)
        .args(smelt_tests::target_flags())
        .args(case.flags.iter().map(fill))
        .envs(case.build_env.iter().copied())
        .current_dir(root);
    let built = run_with_timeout(build, &[])?;
    let target = smelt_tests::test_target().map_err(|e| format!("{e:#}"))?;
    if case.simd && !target.has_simd() {
        let stderr = String::from_utf8_lossy(&built.stderr);
        return match (built.status.code(), stderr.contains("V extension")) {
            (Some(1), true) => Ok(()),
            _ => Err(format!(
                "expected `smelt build` to refuse v128 code for {} (exit 1, naming the V \
                 extension); it exited with {}:\n{}",
                target.triple(),
                describe(built.status),
                quote(&stderr)
            )
            .into()),
        };
    }
    if !built.status.success() {
        return Err(format!(
            "`smelt build {}.wasm {}` failed ({}):\n{}",
            case.program,
            case.flags.join(" "),
            describe(built.status),
            quote(&String::from_utf8_lossy(&built.stderr))
        )
        .into());
    }

    // 2. Run the executable.
    let mut run = smelt_tests::under_runner(command(&exe));
    run.args(case.args.iter().map(fill))
        .args(case.raw_args.iter().map(|a| {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(a).to_os_string()
        }))
        .envs(case.run_env.iter().copied())
        .current_dir(root);
    let ran = run_with_timeout(run, &case.stdin)?;

    // 3. Compare.
    let mut problems = Vec::new();
    if ran.status.code() != Some(case.status) {
        problems.push(format!(
            "expected exit status {}, got {}",
            case.status,
            describe(ran.status)
        ));
    }
    if let Some(why) = case.stdout.mismatch(&ran.stdout) {
        problems.push(format!("stdout: {why}"));
    }
    if let Some(why) = case.stderr.mismatch(&ran.stderr) {
        problems.push(format!("stderr: {why}"));
    } else if !problems.is_empty() {
        problems.push(format!(
            "stderr:\n{}",
            quote(&String::from_utf8_lossy(&ran.stderr))
        ));
    }
    if problems.is_empty()
        && let Some(after) = case.after
    {
        let ran = Ran {
            exe: &exe,
            root,
            stderr: &ran.stderr,
        };
        if let Err(why) = after(&ran) {
            problems.push(why);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// Cases of programs that only have a WASI 0.3 version.
fn p3_cases() -> Vec<Case> {
    vec![
        // A guest computing forever in its task's coroutine is stopped by
        // the time limit (an async task swaps the store's stack limit,
        // which is also how an interruption reaches function entries).
        // The limit leaves time to print first under an emulator on a
        // loaded machine: 0.3 s did not, for riscv64 under qemu beside
        // two other CPU-heavy jobs.
        Case::new("spin/interrupted", "spin")
            .flags(&["--timeout", "5"])
            .stdout("spinning\n")
            .status(134)
            .stderr_contains(&["wasm trap: interrupt: the time limit passed\n"]),
        // Three `wait-for`s joined must overlap: the program checks that
        // they took at least one wait and less than two.
        Case::new("timers", "timers").stdout(concat!(
            "3 joined waits of 300ms took >= 300ms: true\n",
            "3 joined waits of 300ms took < 600ms: true\n",
        )),
        // 1 MiB to stdout while a timer runs; with a reader that drains
        // stdout late, the timer still fires on time
        // (`timer_fires_while_stdout_is_full`).
        Case::new("slow_reader", "slow_reader")
            .stdout(
                (0..(1u32 << 20) + 17)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<u8>>(),
            )
            .stderr("timer fired\n")
            .after(timer_fires_while_stdout_is_full),
        // The losing 30 s wait of a race is cancelled, not waited for.
        Case::new("cancel_timer", "cancel_timer")
            .stdout("short wait won: true\nended within 5s: true\n"),
        // The stream stdin gives, handed straight to stdout: the host
        // holds both of its ends and moves the bytes itself.
        Case::new("stdin_spliced/1MiB_binary", "stdin_spliced")
            .stdin(pseudo_random_bytes((1 << 20) + 17))
            .stdout(pseudo_random_bytes((1 << 20) + 17)),
        // Input there at once is read before the timer fires; input that
        // comes late, after it (see `timer_fires_while_stdin_waits`).
        Case::new("timer_and_stdin", "timer_and_stdin")
            .stdin("abc")
            .stdout("stdin: 3 bytes\ntimer\n")
            .after(timer_fires_while_stdin_waits),
        // What WASI 0.3 says of get-flags, advise and insecure-seed.
        Case::new("fidelity", "fidelity")
            .data()
            .setup(|root| {
                std::fs::write(root.join("data/file.txt"), "hello\n")?;
                std::fs::create_dir(root.join("data/sub"))
            })
            .stdout(concat!(
                "preopen: [read, mutate-directory]\n",
                "directory, no flags: [read]\n",
                "directory, read: [read]\n",
                "directory, read and mutate: [read, mutate-directory]\n",
                "directory, write: ErrorCode::IsDirectory\n",
                "file, read: [read]\n",
                "file, no flags: [read]\n",
                "file, write: [write]\n",
                "file, exclusive alone: [read]\n",
                "created, no flags: [read, write]\n",
                "created, read: [read, write]\n",
                "created, write: [write]\n",
                "truncated, read: [read, write]\n",
                "mkdir and rmdir in it: Ok(()) Ok(())\n",
                "advise on the directory: Err(ErrorCode::BadDescriptor)\n",
                "advise on a file: Ok(())\n",
                "insecure-seed the same twice: true\n",
                "random bytes of max-len 0: 0\n",
            )),
    ]
}

/// A second run of `slow_reader` whose stdout is not read for 2 s: its
/// pipe fills up, and the 100 ms timer must still fire (and its line
/// reach stderr) long before, as the write waits in the event loop rather
/// than in `write(2)`.
fn timer_fires_while_stdout_is_full(ran: &Ran) -> Result<(), String> {
    let mut command = smelt_tests::under_runner(Command::new(ran.exe));
    command
        .current_dir(ran.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("failed to run {}: {e}", ran.exe.display()))?;
    let mut err = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8];
        while !line.ends_with(b"\n") && matches!(err.read(&mut byte), Ok(1)) {
            line.push(byte[0]);
        }
        (line, start.elapsed())
    });
    std::thread::sleep(Duration::from_secs(2));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for the executable: {e}"))?;
    let (line, at) = stderr.join().map_err(|_| "the stderr reader panicked")?;
    if line != b"timer fired\n" || at >= Duration::from_millis(1500) {
        return Err(format!(
            "with stdout unread for 2 s: stderr {:?} after {at:?} (expected `timer fired` \
             before 1.5 s), {} bytes on stdout, {}",
            String::from_utf8_lossy(&line),
            out.stdout.len(),
            describe(out.status)
        ));
    }
    Ok(())
}

/// A second run of `timer_and_stdin` whose stdin only gets its bytes
/// 1.5 s after the start (time for qemu-user to start it on other
/// targets): the 200 ms timer must fire while the read of
/// stdin waits (the event loop blocks in the OS on both).
fn timer_fires_while_stdin_waits(ran: &Ran) -> Result<(), String> {
    let mut command = smelt_tests::under_runner(Command::new(ran.exe));
    command
        .current_dir(ran.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("failed to run {}: {e}", ran.exe.display()))?;
    let mut input = child.stdin.take().expect("piped stdin");
    std::thread::sleep(Duration::from_millis(1500));
    input
        .write_all(b"late")
        .map_err(|e| format!("writing stdin: {e}"))?;
    drop(input);
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for the executable: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || stdout != "timer\nstdin: 4 bytes\n" {
        return Err(format!(
            "with stdin 1.5 s late: {}, stdout:\n{}stderr:\n{}",
            describe(out.status),
            quote(&stdout),
            quote(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    Ok(())
}

/// The programs of `tests/programs-p3`, the WASI 0.3 twins.
fn p3_programs() -> Vec<String> {
    let dir = smelt_tests::repo_root().join("tests/programs-p3/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".rs"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Builds `tests/programs` for `target` (one of [`TARGETS`]); returns the
/// folder of the `.wasm` files, or why it failed (with the build's output).
fn build_programs(target: &str) -> Result<PathBuf, String> {
    smelt_tests::build_guests("tests/programs", target)
}

/// The folder of the C twins of some programs (`<program>.c`).
fn c_sources() -> PathBuf {
    smelt_tests::repo_root().join("tests/programs/c")
}

/// The Rust programs (`tests/programs/src/bin/<program>.rs`).
fn rust_programs() -> Vec<String> {
    let dir = smelt_tests::repo_root().join("tests/programs/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".rs"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The programs that have a C twin (or are C programs only).
fn c_programs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(c_sources())
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".c"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Builds the C twins with clang and Debian's wasi-libc (`--target=wasm32-wasi
/// --sysroot=/usr`) into WASI preview1 core modules; returns their folder.
fn build_c_programs() -> Result<PathBuf, String> {
    const HINT: &str = "building the C programs needs clang and wasi-libc: run \
                        `apt-get install clang lld wasi-libc libclang-rt-dev-wasm32`";
    let out_dir = smelt_tests::repo_root().join("tests/programs/target/wasm32-wasi-c");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    for name in c_programs() {
        let source = c_sources().join(format!("{name}.c"));
        let output = out_dir.join(format!("{name}.wasm"));
        let out = Command::new("clang")
            .args([
                "--target=wasm32-wasi",
                "--sysroot=/usr",
                "-O2",
                "-Wall",
                "-Werror",
                "-o",
            ])
            .arg(&output)
            .arg(&source)
            .output()
            .map_err(|e| format!("{HINT}\n(running `clang`: {e})"))?;
        if !out.status.success() {
            return Err(format!(
                "{HINT}\n`clang` failed on {} ({}):\n{}",
                source.display(),
                describe(out.status),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(out_dir)
}

/// The trial of `case` under `name`, run with the programs in `built`.
fn trial(name: String, case: Case, built: Result<PathBuf, String>, ignored: bool) -> Trial {
    Trial::test(name, move || match &built {
        Ok(wasm_dir) => run_case(&case, wasm_dir),
        Err(why) => Err(format!(
            "the guest programs did not build: {}",
            why.lines().next().unwrap_or_default()
        )
        .into()),
    })
    .with_ignored_flag(ignored)
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for target in TARGETS {
        // Listing the trials needs no build.
        let built = if args.list {
            Err(String::new())
        } else {
            build_programs(target)
        };
        if let Err(why) = &built
            && !args.list
        {
            eprintln!("programs: building the guest programs for {target} failed:\n{why}");
        }
        let short = target.trim_start_matches("wasm32-");
        let rust = rust_programs();
        for case in cases()
            .into_iter()
            .filter(|c| rust.contains(&c.program.to_string()))
        {
            let skip = SKIPS
                .iter()
                .find(|(t, name, _)| t == target && *name == case.name);
            if let Some((_, _, why)) = skip {
                eprintln!("programs: skipping {short}::{}: {why}", case.name);
            }
            let name = format!("{short}::{}", case.name);
            let case = if *target == "wasm32-wasip1" {
                case.for_preview1()
            } else {
                case
            };
            trials.push(trial(name, case, built.clone(), skip.is_some()));
        }
    }
    // The C twins: WASI preview1 modules from clang and wasi-libc, which
    // must behave as the Rust programs do.
    let c = c_programs();
    let built = if args.list {
        Err(String::new())
    } else {
        build_c_programs()
    };
    if let Err(why) = &built
        && !args.list
    {
        eprintln!("programs: building the C programs failed:\n{why}");
    }
    for case in cases() {
        if c.iter().any(|p| p == case.program) {
            let name = format!("c::{}", case.name);
            trials.push(trial(name, case.for_preview1(), built.clone(), false));
        }
    }
    // The WASI 0.3 twins, which must behave as the WASI 0.2 programs do,
    // and the cases only WASI 0.3 programs have.
    let p3 = p3_programs();
    let built = if args.list {
        Err(String::new())
    } else {
        smelt_tests::build_guests("tests/programs-p3", "wasm32-wasip2")
    };
    if let Err(why) = &built
        && !args.list
    {
        eprintln!("programs: building the WASI 0.3 programs failed:\n{why}");
    }
    for case in cases().into_iter().chain(p3_cases()) {
        if p3.iter().any(|p| p == case.program) {
            let name = format!("p3::{}", case.name);
            trials.push(trial(name, case, built.clone(), false));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
