//! Linking an object with the runtime library into an executable.
//!
//! In: the program's object and a [`Target`]; out: an executable, linked
//! by the command line of the target's description (`targets/<triple>.toml`,
//! [`crate::target::LinkSpec`]).
//!
//! The runtime (`libsmelt_runtime.a`, the `smelt-runtime` crate built for
//! the target) is found in `$SMELT_RUNTIME_DIR` (or its `<triple>/`
//! folder) if set, else next to the `smelt` executable, in a Cargo target
//! directory: `target/<profile>/` for this machine's target, and
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
    // `target/<profile>/smelt`, or a test binary in `target/<profile>/deps/`.
    let profile_dir = std::env::current_exe().ok().and_then(|exe| {
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

/// The folder `{self-contained}` stands for: the Rust toolchain's for the
/// target, else `self-contained/` beside the runtime library (where
/// `targets/musl-from-source.sh` puts the C runtime it builds for a target
/// the toolchain cannot install).
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
    match toolchain {
        Some(dir) if dir.is_dir() => Some(dir),
        other => beside_runtime.or(other),
    }
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
    let linker = &target.spec().link.linker;
    if linker == "rust-lld" {
        let host = Target::host().ok()?.triple().to_string();
        let bundled = rust_sysroot()?
            .join("lib/rustlib")
            .join(host)
            .join("bin/rust-lld");
        return Some(bundled)
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
    let mut cmd = Command::new(linker);
    if linker.file_name().is_some_and(|n| n == "rust-lld") {
        cmd.args(["-flavor", "gnu"]);
    }
    if target.spec().link.prefer_rust_lld
        && let Some(dir) = rust_lld_driver_dir()
    {
        cmd.arg("-fuse-ld=lld").arg(format!("-B{}", dir.display()));
    }
    for arg in &target.spec().link.args {
        match arg.as_str() {
            "{output}" => cmd.arg(output),
            "{object}" => cmd.arg(object),
            "{runtime}" => cmd.arg(runtime),
            other => cmd.arg(other.replace("{self-contained}", &self_contained)),
        };
    }
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(|error| LinkError::Spawn {
        linker: linker.display().to_string(),
        error,
    })?;
    if !out.status.success() {
        return Err(LinkError::Failed {
            output: output.display().to_string(),
            command,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}
