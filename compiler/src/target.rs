//! Compilation targets: the triple and the Cranelift ISA with smelt's
//! code generation settings.
//!
//! smelt produces standalone executables, so each target has one fixed CPU
//! baseline rather than the compiling machine's features:
//!
//! | architecture | baseline |
//! | --- | --- |
//! | x86_64 | x86-64-v2 (SSE4.2, POPCNT): every x86_64 CPU since 2009 |
//! | aarch64 | ARMv8.0-A |
//! | riscv64 | RV64GC (IMAFD, Zicsr, Zifencei, C) |

use std::str::FromStr;
use std::sync::Arc;

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use target_lexicon::{Architecture, Environment, OperatingSystem, Triple};
use thiserror::Error;

/// The targets smelt can compile for.
pub const SUPPORTED_TRIPLES: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "riscv64gc-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "riscv64gc-unknown-linux-musl",
];

/// Why a target cannot be used.
#[derive(Debug, Error)]
pub enum TargetError {
    /// The triple does not parse.
    #[error("`{triple}` is not a target triple: {message}")]
    Malformed {
        /// The text given.
        triple: String,
        /// Why.
        message: String,
    },
    /// The triple parses but smelt does not support it.
    #[error("smelt does not support the target `{0}` (supported: {list})", list = SUPPORTED_TRIPLES.join(", "))]
    Unsupported(String),
    /// Cranelift could not build the ISA (a bug in smelt's settings).
    #[error("internal error: cannot configure code generation for `{triple}`: {message}")]
    Isa {
        /// The triple.
        triple: String,
        /// Cranelift's message.
        message: String,
    },
}

/// A compilation target.
#[derive(Clone)]
pub struct Target {
    triple: Triple,
    isa: OwnedTargetIsa,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.triple)
    }
}

impl Target {
    /// The target of the machine smelt runs on.
    pub fn host() -> Result<Target, TargetError> {
        let arch = match std::env::consts::ARCH {
            "riscv64" => "riscv64gc",
            other => other,
        };
        Target::from_name(&format!("{arch}-unknown-linux-gnu"))
    }

    /// The target named by `triple`, which must be one of
    /// [`SUPPORTED_TRIPLES`].
    pub fn from_name(triple: &str) -> Result<Target, TargetError> {
        let parsed = Triple::from_str(triple).map_err(|e| TargetError::Malformed {
            triple: triple.to_string(),
            message: e.to_string(),
        })?;
        let supported_arch = matches!(
            parsed.architecture,
            Architecture::X86_64 | Architecture::Aarch64(_) | Architecture::Riscv64(_)
        );
        let supported_env = matches!(parsed.environment, Environment::Gnu | Environment::Musl);
        if !supported_arch
            || parsed.operating_system != OperatingSystem::Linux
            || !supported_env
            || !SUPPORTED_TRIPLES.contains(&triple)
        {
            return Err(TargetError::Unsupported(triple.to_string()));
        }
        let isa = build_isa(&parsed)?;
        Ok(Target {
            triple: parsed,
            isa,
        })
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// The Cranelift ISA.
    pub fn isa(&self) -> &Arc<dyn isa::TargetIsa> {
        &self.isa
    }

    /// Whether the target links statically against musl.
    pub fn is_musl(&self) -> bool {
        self.triple.environment == Environment::Musl
    }
}

fn build_isa(triple: &Triple) -> Result<OwnedTargetIsa, TargetError> {
    let err = |message: String| TargetError::Isa {
        triple: triple.to_string(),
        message,
    };
    let mut flags = settings::builder();
    let shared = [
        ("opt_level", "speed"),
        // Every frame keeps a frame pointer: the trap handler walks them for
        // wasm backtraces, and `perf`/`gdb` can too.
        ("preserve_frame_pointers", "true"),
        // Functions with many results return them through memory.
        ("enable_multi_ret_implicit_sret", "true"),
        // Executables are linked non-PIE: direct calls, absolute addresses.
        ("is_pic", "false"),
        // The stack limit check in every prologue covers the whole frame.
        ("enable_probestack", "false"),
        // Memory32 accesses need no check at all (guard regions); explicit
        // checks elsewhere need no Spectre hardening in a single-tenant
        // process.
        ("enable_heap_access_spectre_mitigation", "false"),
        ("enable_table_access_spectre_mitigation", "false"),
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
    ];
    for (name, value) in shared {
        flags.set(name, value).map_err(|e| err(e.to_string()))?;
    }
    let mut builder = isa::lookup(triple.clone()).map_err(|e| err(e.to_string()))?;
    let isa_flags: &[&str] = match triple.architecture {
        Architecture::X86_64 => &[
            "has_sse3",
            "has_ssse3",
            "has_sse41",
            "has_sse42",
            "has_popcnt",
        ],
        Architecture::Riscv64(_) => &[
            "has_m",
            "has_a",
            "has_f",
            "has_d",
            "has_zicsr",
            "has_zifencei",
            "has_zca",
            "has_zcd",
        ],
        _ => &[],
    };
    for name in isa_flags {
        builder.enable(name).map_err(|e| err(e.to_string()))?;
    }
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_triple_builds_an_isa() {
        for triple in SUPPORTED_TRIPLES {
            let target = Target::from_name(triple).unwrap();
            assert_eq!(target.triple().to_string(), *triple);
        }
    }

    #[test]
    fn unsupported_and_malformed_triples_are_errors() {
        assert!(matches!(
            Target::from_name("x86_64-pc-windows-msvc"),
            Err(TargetError::Unsupported(_))
        ));
        assert!(matches!(
            Target::from_name("not-a-triple-at-all-really"),
            Err(TargetError::Malformed { .. }) | Err(TargetError::Unsupported(_))
        ));
    }
}
