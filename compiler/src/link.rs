//! Linking an object with the runtime library into an executable.
//!
//! The runtime (`libsmelt_runtime.a`, the `smelt-runtime` crate) is found
//! in `$SMELT_RUNTIME_DIR` if set, else next to the `smelt` executable (in
//! a Cargo target directory: `target/<profile>/`, and
//! `target/<triple>/<profile>/` for another target). The system C compiler
//! driver (`cc`) links, as a non-PIE executable.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::target::Target;

/// File name of the runtime library.
pub const RUNTIME_LIB: &str = "libsmelt_runtime.a";

/// Libraries the runtime (a Rust static library) needs from the system.
const SYSTEM_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// Why linking failed.
#[derive(Debug, Error)]
pub enum LinkError {
    /// No runtime library for the target was found.
    #[error(
        "the smelt runtime library for {target} was not found (looked for {searched}); \
         build it with `cargo build --release -p smelt-runtime{target_flag}` or set SMELT_RUNTIME_DIR"
    )]
    RuntimeNotFound {
        /// The target triple.
        target: String,
        /// `--target ...` for the build command, or empty for the host.
        target_flag: String,
        /// The paths tried.
        searched: String,
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

/// Finds the runtime library for `target`.
pub fn find_runtime(target: &Target) -> Result<PathBuf, LinkError> {
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
    if let Ok(exe) = std::env::current_exe() {
        // `target/<profile>/smelt`, or a test binary in
        // `target/<profile>/deps/`.
        for dir in exe.ancestors().skip(1).take(2) {
            let profile = dir.file_name().map(|p| p.to_owned());
            if host {
                candidates.push(dir.join(RUNTIME_LIB));
            }
            if let (Some(profile), Some(target_dir)) = (profile, dir.parent()) {
                candidates.push(target_dir.join(&triple).join(profile).join(RUNTIME_LIB));
            }
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| LinkError::RuntimeNotFound {
            target: triple.clone(),
            target_flag: if host {
                String::new()
            } else {
                format!(" --target {triple}")
            },
            searched: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Links `object` with the runtime for `target` into the executable
/// `output`.
pub fn link(target: &Target, object: &Path, output: &Path) -> Result<(), LinkError> {
    let runtime = find_runtime(target)?;
    let linker = "cc";
    let mut cmd = Command::new(linker);
    cmd.arg("-no-pie")
        .arg("-Wl,--gc-sections")
        .arg("-o")
        .arg(output)
        .arg(object)
        .arg(&runtime)
        .args(SYSTEM_LIBS);
    let command = format!("{cmd:?}");
    let out = cmd.output().map_err(|error| LinkError::Spawn {
        linker: linker.to_string(),
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
