//! An installed smelt: where it keeps the runtime libraries, and how
//! `smelt targets add` puts one there.
//!
//! `cargo install --path compiler --root PREFIX` writes `PREFIX/bin/smelt`
//! only. The runtime library of each target (`libsmelt_runtime.a`, the
//! `smelt-runtime` crate built for it) goes into
//! `PREFIX/lib/smelt/<triple>/` ([`installed_runtime_dir`]), where
//! [`crate::link::runtime_candidates`] looks for it. `smelt targets add`
//! builds it from the source tree smelt was built from ([`source_tree`]):
//! it installs the Rust target with `rustup` when missing, builds the
//! crate as `tests/run.sh` does (`targets/runtime.sh`: for a musl target
//! rustup does not have, with musl built from source), and copies the
//! library (and the C runtime files built beside it) into place.
//!
//! A distribution (`targets/dist.sh`) has the same layout, with every
//! target's library and the musl targets' C runtime files
//! (`PREFIX/lib/smelt/<triple>/self-contained/`), so that it needs no
//! Rust toolchain (their linker is then the system's `ld.lld`).

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::link::RUNTIME_LIB;
use crate::target::Target;

/// Why a target's runtime could not be added.
#[derive(Debug, Error)]
pub enum InstallError {
    /// The source tree smelt was built from is not there any more.
    #[error(
        "the source tree smelt was built from ({0}) is gone: build the runtime library in a \
         checkout of smelt (`cargo build --release -p smelt-runtime --target TRIPLE`) and copy \
         it into {1}"
    )]
    NoSource(String, String),
    /// The path of the running `smelt` is unknown.
    #[error("cannot tell where smelt is installed: {0}")]
    NoExe(std::io::Error),
    /// A step failed.
    #[error("`{command}` failed ({status})")]
    Step {
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
    },
    /// A file could not be copied.
    #[error("failed to copy {from} to {to}: {error}")]
    Copy {
        /// The source.
        from: String,
        /// The destination.
        to: String,
        /// Why.
        error: std::io::Error,
    },
}

/// The source tree this smelt was built from: the workspace holding the
/// `compiler` crate, if it still has the `runtime` crate.
pub fn source_tree() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("runtime/Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

/// `PREFIX/lib/smelt/<triple>/` for a smelt at `PREFIX/bin/smelt`: where
/// an installed smelt keeps the runtime library of `triple`.
pub fn installed_runtime_dir(exe: &Path, triple: &str) -> Option<PathBuf> {
    let prefix = exe.parent()?.parent()?;
    Some(prefix.join("lib").join("smelt").join(triple))
}

/// Builds the runtime library of `target` from the source tree and
/// installs it beside this smelt (see the module documentation); returns
/// the folder it is in. A smelt run from the source tree's own `target/`
/// finds the library where Cargo built it, and nothing is copied.
///
/// # Errors
///
/// No source tree, a failed `rustup`, build or copy.
pub fn add_target(target: &Target) -> Result<PathBuf, InstallError> {
    let exe = std::env::current_exe().map_err(InstallError::NoExe)?;
    let triple = target.triple().to_string();
    let dest = installed_runtime_dir(&exe, &triple)
        .ok_or_else(|| InstallError::NoExe(std::io::ErrorKind::NotFound.into()))?;
    let Some(source) = source_tree() else {
        return Err(InstallError::NoSource(
            env!("CARGO_MANIFEST_DIR").into(),
            dest.display().to_string(),
        ));
    };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| source.join("target"));
    // This machine's target is built as `cargo build` builds it, without
    // `--target` (into `target/release/`, which the workspace's build has
    // filled already).
    let host = Target::host().is_ok_and(|h| h.triple() == target.triple());
    let built = match host {
        true => target_dir.join("release"),
        false => target_dir.join(&triple).join("release"),
    };
    if !host && !rust_target_installed(&triple) && rustup_knows(&triple) {
        run(Command::new("rustup").args(["target", "add", &triple]))?;
    }
    if host {
        run(Command::new("cargo")
            .args(["build", "--release", "--locked", "-p", "smelt-runtime"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(&source))?;
    } else {
        run(Command::new("bash")
            .arg("targets/runtime.sh")
            .arg(&triple)
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(&source))?;
    }
    if exe.starts_with(&target_dir) {
        return Ok(built);
    }
    copy(&built.join(RUNTIME_LIB), &dest.join(RUNTIME_LIB))?;
    let crt = built.join("self-contained");
    if crt.is_dir() {
        let entries = std::fs::read_dir(&crt).map_err(|error| copy_error(&crt, &dest, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| copy_error(&crt, &dest, error))?;
            copy(
                &entry.path(),
                &dest.join("self-contained").join(entry.file_name()),
            )?;
        }
    }
    Ok(dest)
}

fn copy_error(from: &Path, to: &Path, error: std::io::Error) -> InstallError {
    InstallError::Copy {
        from: from.display().to_string(),
        to: to.display().to_string(),
        error,
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), InstallError> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| copy_error(from, to, e))?;
    }
    std::fs::copy(from, to).map_err(|e| copy_error(from, to, e))?;
    Ok(())
}

/// Whether the Rust toolchain has the standard library of `triple`.
fn rust_target_installed(triple: &str) -> bool {
    Command::new("rustc")
        .args(["--print", "target-libdir", "--target", triple])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir())
}

/// Whether `rustup` can install `triple` here.
fn rustup_knows(triple: &str) -> bool {
    Command::new("rustup")
        .args(["target", "list"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.split_whitespace().next() == Some(triple))
        })
}

fn run(command: &mut Command) -> Result<(), InstallError> {
    let line = format!("{command:?}");
    eprintln!("smelt: running {line}");
    let status = command.status().map_err(|e| InstallError::Step {
        command: line.clone(),
        status: e.to_string(),
    })?;
    if !status.success() {
        return Err(InstallError::Step {
            command: line,
            status: status.to_string(),
        });
    }
    Ok(())
}
