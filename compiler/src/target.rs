//! Compilation targets: the triple, the Cranelift ISA with smelt's code
//! generation settings, and the target's description (`targets/<triple>.toml`:
//! how to link for it, how to run its executables on this machine, and what
//! to install when a piece is missing).
//!
//! smelt produces standalone executables, so each target has one fixed CPU
//! baseline rather than the compiling machine's features:
//!
//! | architecture | baseline |
//! | --- | --- |
//! | x86_64 | x86-64-v2 (SSE4.2, POPCNT): every x86_64 CPU since 2009 |
//! | aarch64 | ARMv8.0-A |
//! | riscv64 | RV64GC (IMAFD, Zicsr, Zifencei, C) |
//!
//! `smelt build --cpu x86-64-v3` lets an x86_64 executable use AVX2, BMI1,
//! BMI2, LZCNT and FMA as well (Haswell, 2013, and later; what `wasmtime`
//! uses when the machine it runs on has them): shifts and rotates by a
//! variable amount without `cl`, three-operand floating point, `andn`.
//! Such an executable dies with `SIGILL` on an older CPU.
//!
//! `smelt build --cpu armv8.1-a` lets an aarch64 executable use the Large
//! System Extensions (LSE, part of every ARMv8.1-A CPU: Cortex-A55/A76 and
//! later, Neoverse, Apple M1, Graviton 2): wasm's atomic read-modify-write
//! and compare-exchange instructions become single `ldaddal`, `swpal`,
//! `casal`... instead of `ldaxr`/`stlxr` retry loops, which scale better
//! when several threads contend for one location. The ARMv8.0-A baseline
//! keeps the loops, which run on every aarch64 CPU.
//!
//! `smelt build --cpu rv64gcv` lets a riscv64 executable use the vector
//! extension V 1.0 (with vectors of at least 128 bits), which wasm's SIMD
//! (`v128`) needs on riscv64: RV64GC alone has no vector unit, and `v128`
//! code is refused for it. Under qemu-user, such an executable runs with
//! the runner arguments of the level (`[run.cpu-args]`).
//!
//! `smelt build --cpu native` uses every extension of the CPU smelt runs
//! on that Cranelift can use (found by `cranelift-native`, as `wasmtime`
//! does): for an executable that runs only on this machine or its like.
//! It needs the target's architecture to be this machine's.
//!
//! The descriptions of the supported targets are compiled into smelt (from
//! the repository's `targets/` folder); `$SMELT_TARGETS_DIR`, when set, is a
//! folder whose `<triple>.toml` files replace them.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use serde::Deserialize;
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

/// The built-in target descriptions, by triple (the files of `targets/`).
const BUILTIN_SPECS: &[(&str, &str)] = &[
    (
        "x86_64-unknown-linux-gnu",
        include_str!("../../targets/x86_64-unknown-linux-gnu.toml"),
    ),
    (
        "aarch64-unknown-linux-gnu",
        include_str!("../../targets/aarch64-unknown-linux-gnu.toml"),
    ),
    (
        "riscv64gc-unknown-linux-gnu",
        include_str!("../../targets/riscv64gc-unknown-linux-gnu.toml"),
    ),
    (
        "x86_64-unknown-linux-musl",
        include_str!("../../targets/x86_64-unknown-linux-musl.toml"),
    ),
    (
        "aarch64-unknown-linux-musl",
        include_str!("../../targets/aarch64-unknown-linux-musl.toml"),
    ),
    (
        "riscv64gc-unknown-linux-musl",
        include_str!("../../targets/riscv64gc-unknown-linux-musl.toml"),
    ),
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
    /// The target's description cannot be read or is wrong.
    #[error("the description of the target `{triple}` ({source_name}) is invalid: {message}")]
    Spec {
        /// The triple.
        triple: String,
        /// Where the description came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A `--cpu` level the target does not have.
    #[error("the target `{triple}` has no CPU level `{cpu}` (it has: {list})", list = cpu_levels(triple).join(", "))]
    Cpu {
        /// The triple.
        triple: String,
        /// The level asked for.
        cpu: String,
    },
    /// Cranelift could not build the ISA (a bug in smelt's settings).
    #[error("internal error: cannot configure code generation for `{triple}`: {message}")]
    Isa {
        /// The triple.
        triple: String,
        /// Cranelift's message.
        message: String,
    },
}

/// A target's description: the contents of `targets/<triple>.toml`.
///
/// In `link.args`, `{self-contained}` stands for the folder of the Rust
/// toolchain's self-contained C runtime for the target (`$(rustc --print
/// sysroot)/lib/rustlib/<triple>/lib/self-contained`: musl's `libc.a` and
/// start files), or, when the toolchain has none, for `self-contained/`
/// beside the runtime library (what `targets/musl-from-source.sh` builds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetSpec {
    /// The target triple; must match the file name.
    pub triple: String,
    /// One line for `smelt targets`.
    pub summary: String,
    /// How executables are linked.
    pub link: LinkSpec,
    /// How its executables run on a machine of another architecture.
    #[serde(default)]
    pub run: RunSpec,
    /// What to install when a piece is missing.
    #[serde(default)]
    pub install: InstallSpec,
}

/// How executables for a target are linked: `linker args…`, where the
/// arguments name the output `{output}`, the program's object `{object}`
/// and the runtime library `{runtime}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LinkSpec {
    /// The linker: a program looked up on `PATH`, or `rust-lld`, the
    /// `ld.lld` that ships with the Rust toolchain (run as `rust-lld
    /// -flavor gnu`), else `ld.lld` from `PATH`.
    pub linker: String,
    /// The arguments.
    pub args: Vec<String>,
    /// The target's C library folder, which must exist (for a cross C
    /// toolchain, where its libc development files are installed).
    #[serde(default)]
    pub sysroot: Option<String>,
    /// For a C compiler driver as `linker`: have it run the Rust
    /// toolchain's `rust-lld` (`-fuse-ld=lld -B
    /// <sysroot>/lib/rustlib/<host>/bin/gcc-ld`), as `rustc` links for
    /// x86_64-unknown-linux-gnu, when the toolchain has it; else the
    /// driver's own linker. About twice as fast as GNU ld on the runtime
    /// library.
    #[serde(default)]
    pub prefer_rust_lld: bool,
    /// How the runtime library is linked, once per runtime library, into
    /// one relocatable object that every later link reads instead of the
    /// archive (see [`crate::link::prelinked_runtime`]); none: every link
    /// reads the archive.
    #[serde(default)]
    pub prelink: Option<PrelinkSpec>,
}

/// A relocatable link of the runtime library (`ld -r`): `linker args…`,
/// where the arguments name the output `{output}`, the runtime library
/// `{runtime}`, and, as `{roots}`, one `--undefined=SYMBOL` argument for
/// every symbol a program can refer to (the archive's global symbols but
/// Rust's mangled ones), the roots of `--gc-sections`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrelinkSpec {
    /// The linker, as [`LinkSpec::linker`]: GNU `ld` drops unreachable
    /// sections in a relocatable link (`-r --gc-sections`); `ld.lld`
    /// cannot.
    pub linker: String,
    /// The arguments.
    pub args: Vec<String>,
}

/// How a target's executables run here when this machine has another
/// architecture.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunSpec {
    /// The emulator and its arguments, before the executable
    /// (`["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]`); empty when
    /// the target cannot run elsewhere.
    #[serde(default)]
    pub runner: Vec<String>,
    /// More arguments for the emulator, after its program, for the
    /// executables of a CPU level (`rv64gcv = ["-cpu",
    /// "rv64,v=true,vlen=128,vext_spec=v1.0"]`: qemu's default riscv64 CPU has no V).
    #[serde(default)]
    pub cpu_args: std::collections::BTreeMap<String, Vec<String>>,
}

/// Packages that provide a target's pieces.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InstallSpec {
    /// The Rust target the runtime library is built for (`rustup target
    /// add`); it also provides `{self-contained}`.
    #[serde(default)]
    pub rustup_target: Option<String>,
    /// Debian packages that provide the linker and the sysroot.
    #[serde(default)]
    pub apt_link: Vec<String>,
    /// Debian packages that provide the runner.
    #[serde(default)]
    pub apt_run: Vec<String>,
}

impl TargetSpec {
    /// Parses a description; `source_name` says where it came from.
    pub fn parse(triple: &str, text: &str, source_name: &str) -> Result<TargetSpec, TargetError> {
        let err = |message: String| TargetError::Spec {
            triple: triple.to_string(),
            source_name: source_name.to_string(),
            message,
        };
        let spec: TargetSpec = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if spec.triple != triple {
            return Err(err(format!("it describes `{}`", spec.triple)));
        }
        if spec.link.linker.is_empty() {
            return Err(err("`link.linker` is empty".to_string()));
        }
        for placeholder in ["{output}", "{object}", "{runtime}"] {
            if !spec.link.args.iter().any(|a| a == placeholder) {
                return Err(err(format!("`link.args` has no `{placeholder}`")));
            }
        }
        Ok(spec)
    }

    /// The description of `triple`: from `$SMELT_TARGETS_DIR/<triple>.toml`
    /// if that exists, else the built-in one.
    pub fn load(triple: &str) -> Result<TargetSpec, TargetError> {
        if let Some(dir) = std::env::var_os("SMELT_TARGETS_DIR") {
            let path = Path::new(&dir).join(format!("{triple}.toml"));
            if path.is_file() {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|e| TargetError::Spec {
                    triple: triple.to_string(),
                    source_name: name.clone(),
                    message: e.to_string(),
                })?;
                return TargetSpec::parse(triple, &text, &name);
            }
        }
        let (_, text) = BUILTIN_SPECS
            .iter()
            .find(|(t, _)| *t == triple)
            .ok_or_else(|| TargetError::Unsupported(triple.to_string()))?;
        TargetSpec::parse(triple, text, &format!("built-in targets/{triple}.toml"))
    }
}

/// The Rust toolchain's sysroot: that of the toolchain smelt was built
/// with while it is installed and `$RUSTC` is not set, else what `rustc
/// --print sysroot` (or `$RUSTC`'s) says, asked once.
pub fn rust_sysroot() -> Option<&'static Path> {
    static SYSROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    SYSROOT
        .get_or_init(|| {
            let built_with = Path::new(env!("SMELT_BUILD_SYSROOT"));
            if std::env::var_os("RUSTC").is_none()
                && !built_with.as_os_str().is_empty()
                && built_with.is_dir()
            {
                return Some(built_with.to_path_buf());
            }
            let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
            let out = std::process::Command::new(rustc)
                .args(["--print", "sysroot"])
                .output()
                .ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            let path = PathBuf::from(text.trim());
            (out.status.success() && path.is_dir()).then_some(path)
        })
        .as_deref()
}

/// Looks `program` up on `PATH` (or takes it as a path if it has a `/`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A compilation target.
#[derive(Clone)]
pub struct Target {
    triple: Triple,
    isa: OwnedTargetIsa,
    spec: Arc<TargetSpec>,
    /// The CPU level (`baseline`, or what [`Target::with_cpu`] was given).
    cpu: String,
    /// Whether code is position-independent ([`Target::with_pic`]).
    pic: bool,
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
        let isa = build_isa(&parsed, &[], false, false)?;
        let spec = TargetSpec::load(triple)?;
        Ok(Target {
            triple: parsed,
            isa,
            spec: Arc::new(spec),
            cpu: "baseline".to_string(),
            pic: false,
        })
    }

    /// The target with code generation for CPU level `cpu` (one of
    /// [`cpu_levels`]): `baseline`, the target's own, or one that adds
    /// instruction set extensions.
    ///
    /// `native` is this machine's CPU, with every extension it has that
    /// Cranelift uses; it is a [`TargetError::Cpu`] when the target's
    /// architecture is not this machine's.
    pub fn with_cpu(self, cpu: &str) -> Result<Target, TargetError> {
        let triple = self.triple.to_string();
        let isa = if cpu == "native" {
            if !self.is_native_arch() {
                return Err(TargetError::Cpu {
                    triple,
                    cpu: cpu.to_string(),
                });
            }
            build_isa(&self.triple, &[], true, self.pic)?
        } else {
            let features = cpu_features(&self.triple, cpu).ok_or_else(|| TargetError::Cpu {
                triple,
                cpu: cpu.to_string(),
            })?;
            build_isa(&self.triple, features, false, self.pic)?
        };
        Ok(Target {
            isa,
            cpu: cpu.to_string(),
            ..self
        })
    }

    /// The target with position-independent code (calls and data
    /// references through the GOT), for an object linked into another
    /// program, which may be a PIE or a shared library (`--emit
    /// staticlib`). Executables smelt links are not PIE and need none.
    pub fn with_pic(self) -> Result<Target, TargetError> {
        let cpu = self.cpu.clone();
        Target { pic: true, ..self }.with_cpu(&cpu)
    }

    /// The CPU level: `baseline`, or what [`Target::with_cpu`] was given.
    pub fn cpu(&self) -> &str {
        &self.cpu
    }

    /// The target with description `spec` in place of its own (how it
    /// links and runs; the code generation stays).
    pub fn with_spec(self, spec: TargetSpec) -> Target {
        Target {
            spec: Arc::new(spec),
            ..self
        }
    }

    /// The target's description.
    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// Whether this machine's architecture is the target's (its
    /// executables run here without an emulator).
    pub fn is_native_arch(&self) -> bool {
        let arch = match std::env::consts::ARCH {
            "riscv64" => "riscv64gc",
            other => other,
        };
        self.triple.to_string().starts_with(&format!("{arch}-"))
    }

    /// The command that runs the target's executable `exe` on this
    /// machine: the executable itself, or under the description's runner
    /// when this machine has another architecture.
    pub fn run_command(&self, exe: &Path) -> std::process::Command {
        self.run_command_as(exe, None)
    }

    /// [`Target::run_command`], the program seeing `argv0` as its
    /// `argv[0]` when one is given (for a foreign architecture, through
    /// qemu-user's `-0`, the runner every description names).
    pub fn run_command_as(
        &self,
        exe: &Path,
        argv0: Option<&std::ffi::OsStr>,
    ) -> std::process::Command {
        match self.spec.run.runner.split_first() {
            Some((program, args)) if !self.is_native_arch() => {
                let mut command = std::process::Command::new(program);
                if let Some(cpu_args) = self.spec.run.cpu_args.get(&self.cpu) {
                    command.args(cpu_args);
                }
                command.args(args);
                if let Some(argv0) = argv0 {
                    command.arg("-0").arg(argv0);
                }
                command.arg(exe);
                command
            }
            _ => {
                let mut command = std::process::Command::new(exe);
                if let Some(argv0) = argv0 {
                    use std::os::unix::process::CommandExt;
                    command.arg0(argv0);
                }
                command
            }
        }
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// The Cranelift ISA.
    pub fn isa(&self) -> &Arc<dyn isa::TargetIsa> {
        &self.isa
    }

    /// Whether Cranelift compiles wasm's fixed-width SIMD (`v128`) for
    /// the target: on x86_64 (SSE4.1 and SSSE3 are in every CPU level
    /// smelt has) and aarch64 (NEON), on riscv64 only with the V extension
    /// (`--cpu rv64gcv`), which the RV64GC baseline lacks.
    pub fn has_simd(&self) -> bool {
        match self.triple.architecture {
            Architecture::Riscv64(_) => self
                .isa
                .isa_flags()
                .iter()
                .any(|f| f.name == "has_v" && f.as_bool() == Some(true)),
            _ => true,
        }
    }

    /// Whether the target links statically against musl.
    pub fn is_musl(&self) -> bool {
        self.triple.environment == Environment::Musl
    }
}

/// The CPU levels `triple` can be compiled for, `baseline` first, then
/// `native` when `triple` has this machine's architecture.
pub fn cpu_levels(triple: &str) -> Vec<&'static str> {
    let mut levels = vec!["baseline"];
    if triple.starts_with("x86_64-") {
        levels.push("x86-64-v3");
    }
    if triple.starts_with("aarch64-") {
        levels.push("armv8.1-a");
    }
    if triple.starts_with("riscv64") {
        levels.push("rv64gcv");
    }
    if Target::from_name(triple).is_ok_and(|t| t.is_native_arch()) {
        levels.push("native");
    }
    levels
}

/// The Cranelift ISA flags CPU level `cpu` adds to `triple`'s baseline;
/// `None` when the target has no such level.
fn cpu_features(triple: &Triple, cpu: &str) -> Option<&'static [&'static str]> {
    match (cpu, triple.architecture) {
        ("baseline", _) => Some(&[]),
        ("x86-64-v3", Architecture::X86_64) => Some(&[
            "has_avx",
            "has_avx2",
            "has_bmi1",
            "has_bmi2",
            "has_lzcnt",
            "has_fma",
        ]),
        ("armv8.1-a", Architecture::Aarch64(_)) => Some(&["has_lse"]),
        ("rv64gcv", Architecture::Riscv64(_)) => Some(&["has_v", "has_zvl128b"]),
        _ => None,
    }
}

/// The ISA for `triple` with smelt's settings, its baseline extensions and
/// `extra`; with `native`, also every extension this machine's CPU has.
fn build_isa(
    triple: &Triple,
    extra: &[&str],
    native: bool,
    pic: bool,
) -> Result<OwnedTargetIsa, TargetError> {
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
        // Executables are linked non-PIE: direct calls, absolute addresses
        // (a library's object is position-independent: `Target::with_pic`).
        ("is_pic", if pic { "true" } else { "false" }),
        // The stack limit check in every prologue covers the whole frame.
        ("enable_probestack", "false"),
        // No DWARF unwind tables for wasm code: backtraces follow the frame
        // pointers, and nothing unwinds through wasm frames (a trap jumps
        // over them). ~2% less compile time.
        ("unwind_info", "false"),
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
    for name in isa_flags.iter().chain(extra) {
        builder.enable(name).map_err(|e| err(e.to_string()))?;
    }
    if native {
        cranelift_native::infer_native_flags(&mut builder).map_err(|e| err(e.to_string()))?;
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
    fn every_builtin_description_parses_and_names_its_file() {
        assert_eq!(BUILTIN_SPECS.len(), SUPPORTED_TRIPLES.len());
        for (triple, text) in BUILTIN_SPECS {
            assert!(SUPPORTED_TRIPLES.contains(triple));
            let spec = TargetSpec::parse(triple, text, "test").unwrap();
            assert!(spec.install.rustup_target.is_some(), "{triple}");
            if !triple.starts_with("x86_64") {
                assert!(!spec.run.runner.is_empty(), "{triple} has no runner");
            }
        }
    }

    #[test]
    fn a_description_must_match_its_triple() {
        let text = BUILTIN_SPECS[0].1;
        assert!(matches!(
            TargetSpec::parse("aarch64-unknown-linux-gnu", text, "test"),
            Err(TargetError::Spec { .. })
        ));
        assert!(matches!(
            TargetSpec::parse(BUILTIN_SPECS[0].0, "triple = 1", "test"),
            Err(TargetError::Spec { .. })
        ));
    }

    #[test]
    fn cpu_levels_build_an_isa_and_others_are_errors() {
        for triple in SUPPORTED_TRIPLES {
            for cpu in cpu_levels(triple) {
                Target::from_name(triple).unwrap().with_cpu(cpu).unwrap();
            }
        }
        let target = Target::from_name("x86_64-unknown-linux-gnu").unwrap();
        let v3 = target.clone().with_cpu("x86-64-v3").unwrap();
        assert!(
            v3.isa()
                .isa_flags()
                .iter()
                .any(|f| f.name == "has_bmi2" && f.as_bool() == Some(true))
        );
        assert!(matches!(
            target.with_cpu("x86-64-v9"),
            Err(TargetError::Cpu { .. })
        ));
        assert!(matches!(
            Target::from_name("aarch64-unknown-linux-gnu")
                .unwrap()
                .with_cpu("x86-64-v3"),
            Err(TargetError::Cpu { .. })
        ));
        let host = Target::host().unwrap();
        assert!(cpu_levels(&host.triple().to_string()).contains(&"native"));
        let foreign = SUPPORTED_TRIPLES
            .iter()
            .map(|t| Target::from_name(t).unwrap())
            .find(|t| !t.is_native_arch())
            .unwrap();
        assert!(!cpu_levels(&foreign.triple().to_string()).contains(&"native"));
        assert!(matches!(
            foreign.with_cpu("native"),
            Err(TargetError::Cpu { .. })
        ));
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
