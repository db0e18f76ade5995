//! Linking an object with the runtime library into an executable.
//!
//! In: the program's object and a [`Target`]; out: an executable, linked
//! by the command line of the target's description (`targets/<triple>.toml`,
//! [`crate::target::LinkSpec`]).
//!
//! The runtime (`libsmelt_runtime.a`, the `smelt-runtime` crate built for
//! the target) is found in `$SMELT_RUNTIME_DIR` (or its `<triple>/`
//! folder) if set, else where an installed smelt keeps it
//! (`PREFIX/lib/smelt/<triple>/` for `PREFIX/bin/smelt`, see
//! [`crate::install`]), else next to the `smelt` executable, in a Cargo
//! target directory: `target/<profile>/` for this machine's target, and
//! `target/<triple>/<profile>/` for any target.
//!
//! Before the linker runs, [`check`] makes sure every piece is there — the
//! runtime library, the linker, the sysroot, the C runtime files — and
//! when one is missing the error says what to install, rather than letting
//! the linker fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::target::{Target, find_program, rust_sysroot};

/// File name of the runtime library.
pub const RUNTIME_LIB: &str = "libsmelt_runtime.a";

/// Why linking failed.
#[derive(Debug, Error)]
pub enum LinkError {
    /// Pieces the target needs are missing on this machine.
    #[error("cannot link for {target}: {missing}\n{fix}")]
    Missing {
        /// The target triple.
        target: String,
        /// What is missing, one item per line.
        missing: String,
        /// The commands that install it.
        fix: String,
    },
    /// The linker could not be started.
    #[error("failed to run the linker `{linker}`: {error}")]
    Spawn {
        /// The linker command.
        linker: String,
        /// Why.
        error: std::io::Error,
    },
    /// The object's temporary file could not be written.
    #[error("failed to write the object to a temporary file in {path}: {error}")]
    Write {
        /// The temporary folder.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The runtime library was built by another version of smelt: the
    /// object's descriptor symbol (`smelt_program_v<N>`, see
    /// `smelt_abi::PROGRAM_SYMBOL`) is not the one it asks for.
    #[error(
        "failed to link {output}: the smelt runtime library was built by another version of \
         smelt (it asks for ABI version {found}, this smelt emits version {}); rebuild it in \
         smelt's source tree: `cargo build --release -p smelt-runtime` (with `--target TRIPLE` \
         for another target)",
        smelt_abi::ABI_VERSION
    )]
    StaleRuntime {
        /// The executable being linked.
        output: String,
        /// The ABI version the runtime library was built for.
        found: u32,
    },
    /// The linker failed.
    #[error("failed to link {output}: `{command}` exited with {status}:\n{stderr}")]
    Failed {
        /// The executable being linked.
        output: String,
        /// The command line.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// A piece a target needs that this machine lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The runtime library built for the target.
    Runtime {
        /// The paths tried.
        searched: Vec<PathBuf>,
    },
    /// The linker program.
    Linker(String),
    /// The target's C library folder.
    Sysroot(String),
    /// The Rust toolchain's self-contained C runtime for the target.
    SelfContained(PathBuf),
    /// The emulator that runs the target's executables here (this one
    /// does not prevent building).
    Runner(String),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Runtime { searched } => write!(
                f,
                "the smelt runtime library for the target (looked for {})",
                searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Missing::Linker(l) => write!(f, "the linker `{l}`"),
            Missing::Sysroot(s) => write!(f, "the target's C library ({s})"),
            Missing::SelfContained(p) => {
                write!(f, "Rust's C runtime for the target ({})", p.display())
            }
            Missing::Runner(r) => write!(f, "the emulator `{r}` to run its executables here"),
        }
    }
}

/// What [`check`] found for a target.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The runtime library, when found.
    pub runtime: Option<PathBuf>,
    /// The linker program, when found.
    pub linker: Option<PathBuf>,
    /// Everything missing (building needs all but [`Missing::Runner`]).
    pub missing: Vec<Missing>,
}

impl Readiness {
    /// Whether executables for the target can be built here.
    pub fn can_build(&self) -> bool {
        self.missing.iter().all(|m| matches!(m, Missing::Runner(_)))
    }

    /// Whether they can also run here.
    pub fn can_run(&self) -> bool {
        self.missing.is_empty()
    }

    /// The commands that install what is missing, one per line.
    pub fn fix(&self, target: &Target) -> String {
        let spec = target.spec();
        let triple = target.triple().to_string();
        let rustup = spec.install.rustup_target.as_deref().unwrap_or(&triple);
        let mut lines = Vec::new();
        let mut apt: Vec<&str> = Vec::new();
        let needs_rustup = self
            .missing
            .iter()
            .any(|m| matches!(m, Missing::Runtime { .. } | Missing::SelfContained(_)));
        if needs_rustup {
            lines.push(format!("rustup target add {rustup}"));
        }
        for m in &self.missing {
            match m {
                Missing::Linker(_) | Missing::Sysroot(_) => {
                    apt.extend(spec.install.apt_link.iter().map(String::as_str))
                }
                Missing::Runner(_) => apt.extend(spec.install.apt_run.iter().map(String::as_str)),
                _ => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        apt.retain(|p| seen.insert(*p));
        if !apt.is_empty() {
            lines.push(format!("apt-get install {}", apt.join(" ")));
        }
        if self
            .missing
            .iter()
            .any(|m| matches!(m, Missing::Runtime { .. }))
        {
            lines.push(format!(
                "cargo build --release -p smelt-runtime --target {triple}   # in smelt's source tree"
            ));
        }
        if needs_rustup
            && spec
                .link
                .args
                .iter()
                .any(|a| a.contains("{self-contained}"))
        {
            lines.push(format!(
                "# or, where rustup cannot install the target: \
                 bash targets/musl-from-source.sh {triple}   # in smelt's source tree"
            ));
        }
        lines.join("\n")
    }
}

/// The places the runtime library for `target` is looked for, in order.
pub fn runtime_candidates(target: &Target) -> Vec<PathBuf> {
    let triple = target.triple().to_string();
    let host = Target::host()
        .map(|h| h.triple().to_string() == triple)
        .unwrap_or(false);
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("SMELT_RUNTIME_DIR") {
        let dir = PathBuf::from(dir);
        candidates.push(dir.join(&triple).join(RUNTIME_LIB));
        candidates.push(dir.join(RUNTIME_LIB));
    }
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe
        .as_deref()
        .and_then(|exe| crate::install::installed_runtime_dir(exe, &triple))
    {
        candidates.push(dir.join(RUNTIME_LIB));
    }
    // `target/<profile>/smelt`, or a test binary in `target/<profile>/deps/`.
    let profile_dir = exe.and_then(|exe| {
        let dir = exe.parent()?.to_path_buf();
        match dir.file_name() {
            Some(name) if name == "deps" => dir.parent().map(Path::to_path_buf),
            _ => Some(dir),
        }
    });
    if let Some(dir) = profile_dir {
        if host {
            candidates.push(dir.join(RUNTIME_LIB));
        }
        if let (Some(profile), Some(target_dir)) = (dir.file_name(), dir.parent()) {
            candidates.push(target_dir.join(&triple).join(profile).join(RUNTIME_LIB));
        }
    }
    candidates
}

/// Finds the runtime library for `target`.
pub fn find_runtime(target: &Target) -> Result<PathBuf, LinkError> {
    let candidates = runtime_candidates(target);
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let readiness = Readiness {
        runtime: None,
        linker: None,
        missing: vec![Missing::Runtime {
            searched: candidates,
        }],
    };
    Err(missing_error(target, &readiness))
}

/// The folder `{self-contained}` stands for: `self-contained/` beside the
/// runtime library when there is one (where a distribution of smelt keeps
/// the C runtime, and where `targets/musl-from-source.sh` puts the one it
/// builds for a target the toolchain cannot install), else the Rust
/// toolchain's for the target.
fn self_contained_dir(target: &Target, runtime: Option<&Path>) -> Option<PathBuf> {
    let toolchain = rust_sysroot().map(|root| {
        root.join("lib/rustlib")
            .join(target.triple().to_string())
            .join("lib/self-contained")
    });
    let beside_runtime = runtime
        .and_then(Path::parent)
        .map(|dir| dir.join("self-contained"))
        .filter(|dir| dir.is_dir());
    // Files put beside the runtime on purpose (a distribution, a target
    // built from source) come first.
    beside_runtime.or(toolchain)
}

/// Whether `target`'s link command names `{self-contained}` (musl
/// targets: the C runtime files come with the Rust toolchain).
fn names_self_contained(target: &Target) -> bool {
    target
        .spec()
        .link
        .args
        .iter()
        .any(|a| a.contains("{self-contained}"))
}

/// The Rust toolchain's folder of linker wrappers for C compiler drivers
/// (`gcc-ld/`, whose `ld.lld` runs `rust-lld`), when it has one: what a
/// target with [`crate::target::LinkSpec::prefer_rust_lld`] links with.
pub fn rust_lld_driver_dir() -> Option<PathBuf> {
    let host = Target::host().ok()?.triple().to_string();
    let dir = rust_sysroot()?
        .join("lib/rustlib")
        .join(host)
        .join("bin/gcc-ld");
    dir.join("ld.lld").is_file().then_some(dir)
}

/// The linker program of `target`, when this machine has it.
fn find_linker(target: &Target) -> Option<PathBuf> {
    find_linker_named(&target.spec().link.linker)
}

/// The linker program `linker` (a [`crate::target::LinkSpec::linker`]),
/// when this machine has it.
fn find_linker_named(linker: &str) -> Option<PathBuf> {
    if linker == "rust-lld" {
        // The Rust toolchain's, else the system's LLVM linker (a machine
        // with a distribution of smelt and no Rust toolchain).
        let host = Target::host().ok()?.triple().to_string();
        let bundled =
            rust_sysroot().map(|root| root.join("lib/rustlib").join(host).join("bin/rust-lld"));
        return bundled
            .filter(|p| p.is_file())
            .or_else(|| find_program("ld.lld"));
    }
    find_program(linker)
}

/// Looks for every piece `target` needs on this machine.
pub fn check(target: &Target) -> Readiness {
    let spec = target.spec();
    let mut missing = Vec::new();
    let candidates = runtime_candidates(target);
    let runtime = candidates.iter().find(|p| p.is_file()).cloned();
    if runtime.is_none() {
        missing.push(Missing::Runtime {
            searched: candidates,
        });
    }
    let linker = find_linker(target);
    if linker.is_none() {
        missing.push(Missing::Linker(spec.link.linker.clone()));
    }
    if let Some(sysroot) = &spec.link.sysroot
        && !Path::new(sysroot).is_dir()
    {
        missing.push(Missing::Sysroot(sysroot.clone()));
    }
    if names_self_contained(target) {
        match self_contained_dir(target, runtime.as_deref()) {
            Some(dir) if dir.is_dir() => {
                for arg in &spec.link.args {
                    if arg.contains("{self-contained}") {
                        let file =
                            PathBuf::from(arg.replace("{self-contained}", &dir.to_string_lossy()));
                        if !file.is_file() {
                            missing.push(Missing::SelfContained(file));
                            break;
                        }
                    }
                }
            }
            Some(dir) => missing.push(Missing::SelfContained(dir)),
            None => missing.push(Missing::SelfContained(PathBuf::from(format!(
                "lib/rustlib/{}/lib/self-contained of the Rust toolchain (`rustc` was not found)",
                target.triple()
            )))),
        }
    }
    if !target.is_native_arch()
        && let Some(runner) = spec.run.runner.first()
        && find_program(runner).is_none()
    {
        missing.push(Missing::Runner(runner.clone()));
    }
    Readiness {
        runtime,
        linker,
        missing,
    }
}

fn missing_error(target: &Target, readiness: &Readiness) -> LinkError {
    LinkError::Missing {
        target: target.triple().to_string(),
        missing: readiness
            .missing
            .iter()
            .filter(|m| !matches!(m, Missing::Runner(_)))
            .map(|m| format!("missing {m}"))
            .collect::<Vec<_>>()
            .join("; "),
        fix: format!("install it with:\n{}", readiness.fix(target)),
    }
}

/// Links `object` with the runtime for `target` into the executable
/// `output`.
pub fn link(target: &Target, object: &Path, output: &Path) -> Result<(), LinkError> {
    link_with(target, object, output, &[])
}

/// As [`link`], with the user's `inputs` (object files, archives, `-lNAME`,
/// `-LDIR`, as a C compiler driver takes them) right after the object:
/// what defines the native imports of the program.
pub fn link_with(
    target: &Target,
    object: &Path,
    output: &Path,
    inputs: &[std::ffi::OsString],
) -> Result<(), LinkError> {
    let mut plan = LinkPlan::new(target)?;
    plan.user_inputs = inputs.to_vec();
    // The driver's own command line for its linker, run directly: the
    // driver and `collect2` take a third of the link's time. On failure
    // the driver links, and its error is the one reported.
    if let Some((direct, lld)) = plan.direct_command(object, output)
        && run_linker(direct, &lld, output).is_ok()
    {
        return Ok(());
    }
    plan.driver_link(object, output)
}

/// A link started before its object exists, so that the linker loads and
/// reads its other inputs while smelt compiles: `rust-lld`, started by
/// [`PendingLink::start`], reads the object from a pipe on its standard
/// input, which [`PendingLink::finish`] fills. Only where the target
/// links with `rust-lld` directly (see [`link`]); elsewhere `finish`
/// links as [`link`] does.
///
/// The linker never waits for an object that will not come: dropping a
/// `PendingLink` (compilation failed) kills it, and if smelt dies the
/// pipe's end closes, the linker reads a truncated object and fails.
pub struct PendingLink<'a> {
    target: &'a Target,
    output: PathBuf,
    user_inputs: Vec<std::ffi::OsString>,
    started: Option<StartedLinker>,
}

/// `rust-lld`, running, and the pipe it reads the object from.
struct StartedLinker {
    child: std::process::Child,
    object: std::io::PipeWriter,
    lld: PathBuf,
}

impl<'a> PendingLink<'a> {
    /// Starts linking the executable `output` for `target`, if the target
    /// links with `rust-lld` directly and everything it needs is here;
    /// otherwise only remembers what to link. Never fails: errors are
    /// reported by [`PendingLink::finish`].
    pub fn start(target: &'a Target, output: &Path) -> Self {
        Self::start_with(target, output, Vec::new())
    }

    /// As [`PendingLink::start`], with the user's `inputs` (as
    /// [`link_with`] takes them).
    pub fn start_with(target: &'a Target, output: &Path, inputs: Vec<std::ffi::OsString>) -> Self {
        // Not even the plan otherwise: `finish` makes it, and for musl
        // targets that asks `rustc` for its sysroot.
        let direct = target.spec().link.prefer_rust_lld;
        let plan = direct.then(|| LinkPlan::new(target).ok()).flatten();
        let started = plan.and_then(|mut plan| {
            plan.user_inputs = inputs.clone();
            let (mut cmd, lld) = plan.direct_command(Path::new("/dev/stdin"), output)?;
            let (reader, writer) = std::io::pipe().ok()?;
            let child = cmd
                .stdin(reader)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .ok()?;
            Some(StartedLinker {
                child,
                object: writer,
                lld,
            })
        });
        PendingLink {
            target,
            output: output.to_path_buf(),
            user_inputs: inputs,
            started,
        }
    }

    /// Whether the linker is running, waiting for the object.
    pub fn is_started(&self) -> bool {
        self.started.is_some()
    }

    /// Links the object `object` (its bytes) into the executable. Errors
    /// as [`link`]'s, and when a temporary file for the object cannot be
    /// written (when the linker was not started, or failed: the driver
    /// then links, and its error is the one reported).
    pub fn finish(mut self, object: &[u8]) -> Result<(), LinkError> {
        if let Some(started) = self.started.take()
            && started.link(object, &self.output).is_ok()
        {
            return Ok(());
        }
        let write = |error| LinkError::Write {
            path: std::env::temp_dir().display().to_string(),
            error,
        };
        let dir = tempfile::tempdir().map_err(write)?;
        let path = dir.path().join("program.o");
        std::fs::write(&path, object).map_err(write)?;
        link_with(self.target, &path, &self.output, &self.user_inputs)
    }
}

impl StartedLinker {
    /// Writes `object` to the linker, closes the pipe and waits for it.
    fn link(self, object: &[u8], output: &Path) -> Result<(), LinkError> {
        let StartedLinker {
            child,
            object: mut pipe,
            lld,
        } = self;
        // On its own thread, while this one reads the linker's output, so
        // that neither waits on the other; with SIGPIPE blocked there, as
        // the linker may exit without reading it all (smelt otherwise ends
        // on SIGPIPE, see `main`), and the write then fails with EPIPE.
        let out = std::thread::scope(|scope| {
            scope.spawn(move || {
                block_sigpipe();
                use std::io::Write;
                // A failed write shows as the linker's error.
                let _ = pipe.write_all(object);
            });
            child.wait_with_output()
        });
        linker_outcome(out, &lld, output, || {
            format!("{} (reading the object on its stdin)", lld.display())
        })
    }
}

impl Drop for PendingLink<'_> {
    fn drop(&mut self) {
        if let Some(mut started) = self.started.take() {
            let _ = started.child.kill();
            let _ = started.child.wait();
        }
    }
}

/// Blocks SIGPIPE for the calling thread: a write to a pipe whose reader
/// has gone then fails with EPIPE, and the signal, pending on the thread,
/// goes with it when it ends.
fn block_sigpipe() {
    // SAFETY: changes only this thread's signal mask, to a set built by
    // `sigemptyset` and `sigaddset`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// What a link of `target` needs, found.
struct LinkPlan<'a> {
    target: &'a Target,
    linker: PathBuf,
    runtime: PathBuf,
    self_contained: String,
    /// The user's inputs, after the object (see [`link_with`]).
    user_inputs: Vec<std::ffi::OsString>,
}

impl<'a> LinkPlan<'a> {
    /// Finds the linker and the runtime (prelinked when it can be); an
    /// error names what is missing.
    fn new(target: &'a Target) -> Result<Self, LinkError> {
        let readiness = check(target);
        let (Some(runtime), Some(linker), true) =
            (&readiness.runtime, &readiness.linker, readiness.can_build())
        else {
            let only_build = Readiness {
                missing: readiness
                    .missing
                    .iter()
                    .filter(|m| !matches!(m, Missing::Runner(_)))
                    .cloned()
                    .collect(),
                ..readiness.clone()
            };
            return Err(missing_error(target, &only_build));
        };
        // Only musl targets name `{self-contained}`; finding it asks `rustc`
        // for its sysroot, a process that takes longer than the link itself.
        let self_contained = if names_self_contained(target) {
            self_contained_dir(target, Some(runtime))
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(LinkPlan {
            target,
            linker: linker.clone(),
            runtime: prelinked_runtime(target, runtime).unwrap_or_else(|| runtime.clone()),
            self_contained,
            user_inputs: Vec::new(),
        })
    }

    fn inputs<'p>(&'p self, object: &'p Path, output: &'p Path) -> LinkInputs<'p> {
        LinkInputs {
            output,
            object,
            runtime: &self.runtime,
            self_contained: &self.self_contained,
            user_inputs: &self.user_inputs,
        }
    }

    /// The command that runs `rust-lld` directly, with the line the C
    /// compiler driver would give it, and `rust-lld`'s path; `None` unless
    /// the target prefers `rust-lld` and the toolchain has it.
    fn direct_command(&self, object: &Path, output: &Path) -> Option<(Command, PathBuf)> {
        let spec = self.target.spec();
        if !spec.link.prefer_rust_lld {
            return None;
        }
        let dir = rust_lld_driver_dir()?;
        let line = driver_link_line(&self.linker, &dir, &spec.link.args)?;
        let lld = find_linker_named("rust-lld")?;
        let mut direct = linker_command(&lld);
        // One thread: on two cores lld's thread pool costs more than it
        // saves, 2 ms of 15 for hello world, 1.5 of 20 for a 2.5 MB
        // executable.
        direct.arg("--threads=1");
        self.inputs(object, output).add_args(&mut direct, &line);
        Some((direct, lld))
    }

    /// Links through the C compiler driver (with `rust-lld` when the
    /// target prefers it and the toolchain has it).
    fn driver_link(&self, object: &Path, output: &Path) -> Result<(), LinkError> {
        let spec = self.target.spec();
        let mut cmd = linker_command(&self.linker);
        if spec.link.prefer_rust_lld
            && let Some(dir) = rust_lld_driver_dir()
        {
            cmd.arg("-fuse-ld=lld").arg(format!("-B{}", dir.display()));
        }
        self.inputs(object, output)
            .add_args(&mut cmd, &spec.link.args);
        run_linker(cmd, &self.linker, output)
    }
}

/// The files a link command line names by placeholder.
struct LinkInputs<'a> {
    output: &'a Path,
    object: &'a Path,
    runtime: &'a Path,
    self_contained: &'a str,
    user_inputs: &'a [std::ffi::OsString],
}

impl LinkInputs<'_> {
    /// Adds `args` to `cmd`, each placeholder replaced by its file.
    fn add_args(&self, cmd: &mut Command, args: &[String]) {
        for arg in args {
            match arg.as_str() {
                "{output}" => cmd.arg(self.output),
                "{object}" => cmd.arg(self.object).args(self.user_inputs),
                "{runtime}" => cmd.arg(self.runtime),
                other => cmd.arg(other.replace("{self-contained}", self.self_contained)),
            };
        }
    }
}

/// Runs the link command `cmd` of `linker`, which writes `output`.
fn run_linker(mut cmd: Command, linker: &Path, output: &Path) -> Result<(), LinkError> {
    let out = cmd.output();
    linker_outcome(out, linker, output, || format!("{cmd:?}"))
}

/// The outcome of a run of `linker` that wrote `output`, from its
/// output `out`; `command` describes it for the error.
fn linker_outcome(
    out: std::io::Result<std::process::Output>,
    linker: &Path,
    output: &Path,
    command: impl FnOnce() -> String,
) -> Result<(), LinkError> {
    let out = out.map_err(|error| LinkError::Spawn {
        linker: linker.display().to_string(),
        error,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(found) = stale_runtime_version(&stderr) {
            return Err(LinkError::StaleRuntime {
                output: output.display().to_string(),
                found,
            });
        }
        return Err(LinkError::Failed {
            output: output.display().to_string(),
            command: command(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// The ABI version a runtime library built by another smelt asks for,
/// from the linker's complaint that its descriptor symbol is undefined.
fn stale_runtime_version(stderr: &str) -> Option<u32> {
    let prefix = smelt_abi::PROGRAM_SYMBOL.trim_end_matches(|c: char| c.is_ascii_digit());
    stderr.lines().find_map(|line| {
        let rest = &line[line.find(prefix)? + prefix.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let found = digits.parse().ok()?;
        (line.contains("undefined") && found != smelt_abi::ABI_VERSION).then_some(found)
    })
}

/// What the placeholders of a link command line are while the driver
/// prints its linker's command line.
const DRIVER_PLACEHOLDERS: [(&str, &str); 3] = [
    ("{output}", "/smelt-placeholder/output"),
    ("{object}", "/smelt-placeholder/object.o"),
    ("{runtime}", "/smelt-placeholder/runtime.o"),
];

/// The command line with which the C compiler driver `driver`, given
/// `args` (with their placeholders) and `-fuse-ld=lld -B<gcc_ld>`, runs
/// its linker: the `collect2` command `driver -###` prints, without its
/// program, its `-fuse-ld=` and its LTO plugin options (there is no LTO
/// input), and with the placeholders back. That is what `rust-lld`
/// receives from `collect2`; run directly it links the same executable.
///
/// Kept in `<cache_dir>/link/`, by the driver (path, size and
/// modification time: a new compiler version has other start files) and
/// `args`. `None` when there is no cache folder, the driver fails, or its
/// output is not as expected.
fn driver_link_line(driver: &Path, gcc_ld: &Path, args: &[String]) -> Option<Vec<String>> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut key = DefaultHasher::new();
    driver.hash(&mut key);
    hash_file_state(driver, &mut key)?;
    gcc_ld.hash(&mut key);
    args.hash(&mut key);
    env!("CARGO_PKG_VERSION").hash(&mut key);
    // The line's form: 2 is without repeated libraries.
    2u8.hash(&mut key);
    let dir = cache_dir()?.join("link");
    let file = dir.join(format!("{:016x}.args", key.finish()));
    if let Ok(text) = std::fs::read_to_string(&file) {
        let line: Vec<String> = text.lines().map(str::to_string).collect();
        if names_each_placeholder_once(&line) {
            return Some(line);
        }
    }
    let placeholder = |arg: &str| {
        DRIVER_PLACEHOLDERS
            .iter()
            .find(|(name, _)| *name == arg)
            .map_or(arg, |(_, path)| path)
            .to_string()
    };
    let out = Command::new(driver)
        .arg("-fuse-ld=lld")
        .arg(format!("-B{}", gcc_ld.display()))
        .arg("-###")
        .args(args.iter().map(|a| placeholder(a)))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let stderr = String::from_utf8(out.stderr).ok()?;
    let line = parse_driver_line(&stderr)?;
    if line.iter().any(|a| a.contains('\n')) {
        return None;
    }
    std::fs::create_dir_all(&dir).ok()?;
    let partial = partial_path(&file);
    let mut text = line.join("\n");
    text.push('\n');
    if std::fs::write(&partial, text).is_err() || std::fs::rename(&partial, &file).is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    Some(line)
}

/// The linker's arguments in the `-###` output `text` of a C compiler
/// driver (see [`driver_link_line`]): of the one command that names every
/// placeholder once, each argument after the program, placeholders put
/// back, options for `collect2` itself left out.
fn parse_driver_line(text: &str) -> Option<Vec<String>> {
    let line = text
        .lines()
        .find(|l| l.starts_with(' ') && l.contains(DRIVER_PLACEHOLDERS[1].1))?;
    let words = split_driver_words(line)?;
    let mut args = Vec::new();
    let mut words = words.into_iter().skip(1);
    while let Some(word) = words.next() {
        if word == "-plugin" {
            words.next();
            continue;
        }
        if word.starts_with("-plugin-opt=") || word.starts_with("-fuse-ld=") {
            continue;
        }
        if let Some((name, _)) = DRIVER_PLACEHOLDERS.iter().find(|(_, p)| *p == word) {
            args.push(name.to_string());
        } else {
            args.push(word);
        }
    }
    names_each_placeholder_once(&args).then_some(without_repeated_libraries(args))
}

/// The linker arguments `args` without a library (`-lNAME`) named again
/// with the same `--as-needed` and `-Bstatic` state, and without
/// `--push-state` … `--pop-state` groups that hold only state options.
///
/// GNU `ld` reads an archive once, where it is named, so C compiler
/// drivers name `-lc -lgcc -lgcc_s` three times over; `lld` keeps every
/// archive's symbol index whatever the order (its manual: "ld.lld remembers
/// all symbols in archives"), and opens and parses the library again each
/// time it is named: 1.6 ms of a 14 ms hello-world link.
fn without_repeated_libraries(args: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut state = LibraryState::default();
    let mut saved = Vec::new();
    let mut kept = Vec::with_capacity(args.len());
    for arg in args {
        if state.apply(&arg) {
            kept.push(arg);
            continue;
        }
        match arg.as_str() {
            "--push-state" => saved.push(state),
            "--pop-state" => {
                state = saved.pop().unwrap_or(state);
                let state_options = kept
                    .iter()
                    .rev()
                    .take_while(|a| LibraryState::default().apply(a))
                    .count();
                if let Some(start) = kept.len().checked_sub(state_options + 1)
                    && kept[start] == "--push-state"
                {
                    kept.truncate(start);
                    continue;
                }
            }
            lib if lib.starts_with("-l") && !seen.insert((arg.clone(), state)) => continue,
            _ => {}
        }
        kept.push(arg);
    }
    kept
}

/// How the linker links the libraries named after a point of its command
/// line.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
struct LibraryState {
    as_needed: bool,
    bstatic: bool,
}

impl LibraryState {
    /// Applies `arg` if it is an option that changes the state; returns
    /// whether it was.
    fn apply(&mut self, arg: &str) -> bool {
        match arg {
            "--as-needed" => self.as_needed = true,
            "--no-as-needed" => self.as_needed = false,
            "-Bstatic" | "-static" | "-dn" | "-non_shared" => self.bstatic = true,
            "-Bdynamic" | "-dy" | "-call_shared" => self.bstatic = false,
            _ => return false,
        }
        true
    }
}

/// Whether the linker arguments `args` name the output, the object and
/// the runtime once each.
fn names_each_placeholder_once(args: &[String]) -> bool {
    DRIVER_PLACEHOLDERS
        .iter()
        .all(|(name, _)| args.iter().filter(|a| a == name).count() == 1)
}

/// The words of one command line as a GCC driver prints it for `-###`:
/// separated by spaces, in double quotes when they hold a space or a
/// special character, with `\` before `"`, `\` and `$` inside quotes.
fn split_driver_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if_eq(&' ').is_some() {}
        let Some(first) = chars.next() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    c => word.push(c),
                }
            }
        } else {
            word.push(first);
            while let Some(c) = chars.next_if(|&c| c != ' ') {
                word.push(c);
            }
        }
        words.push(word);
    }
}

/// A command running `linker`, as `rust-lld -flavor gnu` when it is the
/// Rust toolchain's `rust-lld`.
fn linker_command(linker: &Path) -> Command {
    let mut cmd = Command::new(linker);
    if linker.file_name().is_some_and(|n| n == "rust-lld") {
        cmd.args(["-flavor", "gnu"]);
    }
    cmd
}

/// smelt's cache folder: `$XDG_CACHE_HOME/smelt`, else `~/.cache/smelt`;
/// none when neither variable is set.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("smelt"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("smelt"))
}

/// The runtime library `runtime` linked by `target`'s
/// [`crate::target::PrelinkSpec`] into one relocatable object, kept in
/// `<cache_dir>/runtime/`: made by the first link with this runtime
/// library (by its path, size and modification time, and the prelink
/// command), read by every later one instead of the archive.
///
/// The object holds only what the runtime's global symbols reach
/// (`--gc-sections` from every global symbol but Rust's mangled ones, the
/// only ones a program's object can name), without debug sections, in
/// place of some 300 archive members: lld links hello world in 13 ms
/// instead of 19 here. Linking it is the same link: the final link's own
/// `--gc-sections` keeps what the program reaches, as from the archive.
///
/// Returns `None`, and the link reads the archive, when the target has no
/// prelink, there is no cache folder, or the relocatable link fails (say,
/// GNU `ld` is not installed): nothing is lost but time.
pub fn prelinked_runtime(target: &Target, runtime: &Path) -> Option<PathBuf> {
    prelinked_runtime_in(target, runtime, &cache_dir()?)
}

/// [`prelinked_runtime`] with the cache folder `cache` (the object goes
/// in `cache/runtime/`). Safe to call from many threads and processes at
/// once: each writes its own file and renames it into place.
pub fn prelinked_runtime_in(target: &Target, runtime: &Path, cache: &Path) -> Option<PathBuf> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let spec = target.spec().link.prelink.as_ref()?;
    let linker = find_linker_named(&spec.linker)?;
    let mut path_hash = DefaultHasher::new();
    runtime.hash(&mut path_hash);
    let path_hash = path_hash.finish();
    let mut state = DefaultHasher::new();
    hash_file_state(runtime, &mut state)?;
    linker.hash(&mut state);
    spec.args.hash(&mut state);
    env!("CARGO_PKG_VERSION").hash(&mut state);
    let dir = cache.join("runtime");
    let prefix = format!("{path_hash:016x}-");
    let object = dir.join(format!("{prefix}{:016x}.o", state.finish()));
    if object.is_file() {
        return Some(object);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let archive = std::fs::read(runtime).ok()?;
    let roots = archive_roots(&archive)?;
    drop(archive);
    let partial = partial_path(&object);
    let mut cmd = linker_command(&linker);
    for arg in &spec.args {
        match arg.as_str() {
            "{output}" => {
                cmd.arg(&partial);
            }
            "{runtime}" => {
                cmd.arg(runtime);
            }
            "{roots}" => {
                cmd.args(roots.iter().map(|r| format!("--undefined={r}")));
            }
            other => {
                cmd.arg(other);
            }
        }
    }
    let linked = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !linked || std::fs::rename(&partial, &object).is_err() {
        let _ = std::fs::remove_file(&partial);
        return None;
    }
    // Objects of earlier builds of the same runtime library are stale
    // (files being written, `.tmp`, may be another call's).
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".o") && entry.path() != object {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Some(object)
}

/// Hashes what tells a new version of file `path` from the old: its size
/// and modification time. `None` when it cannot be read.
pub fn hash_file_state(path: &Path, hasher: &mut impl std::hash::Hasher) -> Option<()> {
    use std::hash::Hash;
    let meta = std::fs::metadata(path).ok()?;
    meta.len().hash(hasher);
    meta.modified().ok()?.hash(hasher);
    Some(())
}

/// Where to write `path` before renaming it into place: a name of its own
/// for this call, as other threads and processes may be making the same
/// file at the same time.
pub fn partial_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    path.with_extension(format!("{}-{n}.tmp", std::process::id()))
}

/// The global symbols of the archive `archive` that a program's object
/// can refer to: all but Rust's mangled ones (`_ZN…`, `_R…`). `None` when
/// it is not an archive with a symbol table.
fn archive_roots(archive: &[u8]) -> Option<Vec<String>> {
    let archive = object::read::archive::ArchiveFile::parse(archive).ok()?;
    let mut roots: Vec<String> = archive
        .symbols()
        .ok()??
        .filter_map(Result::ok)
        .map(|s| s.name())
        .filter(|name| !name.starts_with(b"_ZN") && !name.starts_with(b"_R"))
        .filter_map(|name| std::str::from_utf8(name).ok().map(str::to_string))
        .collect();
    roots.sort_unstable();
    roots.dedup();
    (!roots.is_empty()).then_some(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_of_another_abi_version_is_named() {
        let lld = "rust-lld: error: undefined symbol: smelt_program_v7\n>>> referenced by x.c\n";
        assert_eq!(stale_runtime_version(lld), Some(7));
        let ld = "/usr/bin/ld: main.o: in function `main':\nundefined reference to `smelt_program_v12'\n";
        assert_eq!(stale_runtime_version(ld), Some(12));
        let other = "rust-lld: error: undefined symbol: memcpy\n";
        assert_eq!(stale_runtime_version(other), None);
        let current = format!("undefined symbol: {}\n", smelt_abi::PROGRAM_SYMBOL);
        assert_eq!(stale_runtime_version(&current), None);
    }

    #[test]
    fn driver_words_are_unquoted() {
        let words = split_driver_words(r#" /usr/lib/collect2 -o "a b" "-x=\"q\"" "c\\d\$e" last"#);
        assert_eq!(
            words.unwrap(),
            [
                "/usr/lib/collect2",
                "-o",
                "a b",
                "-x=\"q\"",
                "c\\d$e",
                "last"
            ]
        );
        assert_eq!(split_driver_words(r#" "unterminated"#), None);
    }

    #[test]
    fn the_collect2_line_becomes_linker_arguments() {
        let text = concat!(
            "Using built-in specs.\n",
            "COLLECT_GCC=cc\n",
            " /usr/lib/gcc/x86_64-linux-gnu/12/cc1 -quiet /smelt-placeholder/object.c\n",
            " /usr/lib/gcc/x86_64-linux-gnu/12/collect2 -plugin /usr/lib/liblto_plugin.so ",
            "\"-plugin-opt=-fresolution=/tmp/cc.res\" --build-id -fuse-ld=lld ",
            "-o /smelt-placeholder/output /usr/lib/crt1.o --gc-sections ",
            "/smelt-placeholder/object.o /smelt-placeholder/runtime.o -lc /usr/lib/crtn.o\n",
            "COLLECT_GCC_OPTIONS='-o' '/smelt-placeholder/output'\n",
        );
        assert_eq!(
            parse_driver_line(text).unwrap(),
            [
                "--build-id",
                "-o",
                "{output}",
                "/usr/lib/crt1.o",
                "--gc-sections",
                "{object}",
                "{runtime}",
                "-lc",
                "/usr/lib/crtn.o"
            ]
        );
        // A library named again in the same state is left out, and so is
        // a state group that is left empty.
        let repeated = text.replace(
            " -lc /usr/lib/crtn.o",
            " -lc -lgcc --push-state --as-needed -lgcc_s --pop-state -lc -lgcc \
             --push-state --as-needed -lgcc_s --pop-state -Bstatic -lc /usr/lib/crtn.o",
        );
        let line = parse_driver_line(&repeated).unwrap();
        assert_eq!(
            line[7..],
            [
                "-lc",
                "-lgcc",
                "--push-state",
                "--as-needed",
                "-lgcc_s",
                "--pop-state",
                "-Bstatic",
                "-lc",
                "/usr/lib/crtn.o"
            ]
        );
        // A line that lost a placeholder is not used.
        let no_runtime = text.replace("/smelt-placeholder/runtime.o ", "");
        assert_eq!(parse_driver_line(&no_runtime), None);
    }
}
