//! `smelt::Build`: a component compiled into a native library from a Rust
//! build script, in the manner of the `cc` crate's `cc::Build`.
//!
//! In: a component file and options (target, CPU level, output folder,
//! where the runtime library is). Out: in the output folder, `libNAME.a`
//! (the component and smelt's runtime), `NAME.h` (its C header) and
//! `NAME.rs` (typed Rust bindings, [`super::rust_bindings`]), and cargo's
//! link instructions on stdout.
//!
//! ```no_run
//! // In build.rs's main:
//! smelt::Build::new()
//!     .component("guest/shapes.wasm")
//!     .compile()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! // In the crate: include!(concat!(env!("OUT_DIR"), "/shapes.rs"));
//! ```

use std::path::{Path, PathBuf};

use smelt_abi::wasi::WasiConfig;

use super::output::{BuildError, write_staticlib};
use crate::link::RUNTIME_LIB;
use crate::staticlib::StaticLibError;
use crate::target::Target;

/// A component library to build (see the module documentation). Every
/// setting has a default; only [`Build::component`] is required.
#[derive(Clone, Debug, Default)]
pub struct Build {
    component: Option<PathBuf>,
    name: Option<String>,
    target: Option<String>,
    cpu: Option<String>,
    out_dir: Option<PathBuf>,
    runtime_dir: Option<PathBuf>,
    cargo_metadata: Option<bool>,
}

/// What [`Build::compile`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// The library's name: the prefix of its C names, `NAME` in the
    /// files' names.
    pub name: String,
    /// The static library, `OUT/libNAME.a`.
    pub staticlib: PathBuf,
    /// The C header, `OUT/NAME.h`.
    pub header: PathBuf,
    /// The Rust bindings, `OUT/NAME.rs`, for
    /// `include!(concat!(env!("OUT_DIR"), "/NAME.rs"))`.
    pub bindings: PathBuf,
    /// The runtime library that went into the static library.
    pub runtime: PathBuf,
}

impl Build {
    /// A build with every setting at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// The component to compile: a `.wasm` file holding a WebAssembly
    /// component (a core module is refused). Relative paths are relative
    /// to the current directory, which for a build script is the
    /// package's folder.
    pub fn component(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.component = Some(path.as_ref().to_path_buf());
        self
    }

    /// The library's name: the prefix of the C names and `NAME` in
    /// `libNAME.a`, `NAME.h` and `NAME.rs`. It must be a C identifier.
    /// Default: the component file's stem with every character that
    /// cannot be in a C identifier replaced by `_` (`my-lib.wasm` ->
    /// `my_lib`), and `_` put before a leading digit.
    pub fn name(&mut self, name: &str) -> &mut Self {
        self.name = Some(name.to_string());
        self
    }

    /// The target triple to compile for (one of
    /// [`crate::target::SUPPORTED_TRIPLES`]). Default: `$TARGET`, which
    /// cargo sets for a build script to the triple of the package being
    /// built, else the machine's own target.
    pub fn target(&mut self, triple: &str) -> &mut Self {
        self.target = Some(triple.to_string());
        self
    }

    /// The CPU level of the generated code (`smelt build --cpu`: `baseline`,
    /// `native`, or a level the target lists). Default: `baseline`.
    pub fn cpu(&mut self, level: &str) -> &mut Self {
        self.cpu = Some(level.to_string());
        self
    }

    /// The folder the library, header and bindings are written to.
    /// Default: `$OUT_DIR`, which cargo sets for a build script.
    pub fn out_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The folder with smelt's runtime library (`libsmelt_runtime.a`) for
    /// the target: `DIR/TRIPLE/libsmelt_runtime.a` or
    /// `DIR/libsmelt_runtime.a`.
    ///
    /// Default, in order: `$SMELT_RUNTIME_DIR` (the same two places), the
    /// places [`crate::link::find_runtime`] looks at, then the `target/`
    /// folder of the smelt source tree this crate was built from
    /// (`target/release/libsmelt_runtime.a` for the machine's target,
    /// `target/TRIPLE/release/libsmelt_runtime.a` for another), which is
    /// where `cargo build --release -p smelt-runtime [--target TRIPLE]`
    /// puts it. A build script does not run beside an installed `smelt`,
    /// so a project that uses an installed toolchain sets
    /// `SMELT_RUNTIME_DIR` (e.g. in `.cargo/config.toml`'s `[env]`) or
    /// calls this.
    pub fn runtime_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.runtime_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether [`Build::compile`] prints cargo's instructions on stdout:
    /// `cargo:rustc-link-search=native=OUT`,
    /// `cargo:rustc-link-lib=static=NAME`, and `cargo:rerun-if-changed=`
    /// the component and the runtime library (and
    /// `cargo:rerun-if-env-changed=SMELT_RUNTIME_DIR`). Default: true.
    pub fn cargo_metadata(&mut self, print: bool) -> &mut Self {
        self.cargo_metadata = Some(print);
        self
    }

    /// Compiles the component and writes `OUT/libNAME.a`, `OUT/NAME.h` and
    /// `OUT/NAME.rs`; prints cargo's instructions unless
    /// [`Build::cargo_metadata`] is false.
    ///
    /// The library gets no capabilities at build time: each instance gets
    /// its arguments, environment and directories when it is created
    /// (`Config` in the bindings, `smelt_config` in C).
    ///
    /// # Errors
    ///
    /// [`BuildError::NoComponent`] and [`BuildError::NoOutDir`] for missing
    /// settings; otherwise a [`BuildError::Component`] naming the
    /// component, around [`BuildError::Read`], [`BuildError::Target`],
    /// [`BuildError::NoRuntime`] or an error of [`write_staticlib`] and
    /// [`super::rust_bindings`]. Never panics nor exits the process.
    pub fn compile(&self) -> Result<Built, BuildError> {
        let component = self.component.clone().ok_or(BuildError::NoComponent)?;
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let built = self
            .write(&component, &out_dir)
            .map_err(|source| BuildError::Component {
                path: component.clone(),
                source: Box::new(source),
            })?;
        if self.cargo_metadata.unwrap_or(true) {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            println!("cargo:rustc-link-lib=static={}", built.name);
            println!("cargo:rerun-if-changed={}", component.display());
            println!("cargo:rerun-if-changed={}", built.runtime.display());
            println!("cargo:rerun-if-env-changed=SMELT_RUNTIME_DIR");
        }
        Ok(built)
    }

    /// [`Build::compile`]'s work, with the component and output folder
    /// known.
    fn write(&self, component: &Path, out_dir: &Path) -> Result<Built, BuildError> {
        let wasm = std::fs::read(component).map_err(|error| BuildError::Read {
            path: component.to_path_buf(),
            error,
        })?;
        let name = match &self.name {
            Some(name) => name.clone(),
            None => default_name(component),
        };
        let target = match self.target.clone().or_else(|| std::env::var("TARGET").ok()) {
            Some(triple) => Target::from_name(&triple)?,
            None => Target::host()?,
        };
        let target = target.with_cpu(self.cpu.as_deref().unwrap_or("baseline"))?;
        let runtime = self.find_runtime(&target)?;
        // The bindings first: they check the name and the exports' types
        // without compiling anything.
        let bindings_text = super::rust_bindings(&wasm, &name)?;
        let staticlib = out_dir.join(format!("lib{name}.a"));
        let header = out_dir.join(format!("{name}.h"));
        let bindings = out_dir.join(format!("{name}.rs"));
        write_staticlib(
            &wasm,
            &name,
            &target,
            &WasiConfig::default(),
            Some(&runtime),
            &staticlib,
            &header,
        )?;
        std::fs::write(&bindings, bindings_text).map_err(|error| BuildError::Write {
            path: bindings.clone(),
            error,
        })?;
        Ok(Built {
            name,
            staticlib,
            header,
            bindings,
            runtime,
        })
    }

    /// The runtime library for `target` (see [`Build::runtime_dir`]).
    fn find_runtime(&self, target: &Target) -> Result<PathBuf, BuildError> {
        let triple = target.triple().to_string();
        let in_dir = |dir: &Path| [dir.join(&triple).join(RUNTIME_LIB), dir.join(RUNTIME_LIB)];
        if let Some(dir) = &self.runtime_dir {
            let searched = in_dir(dir);
            return match searched.iter().find(|p| p.is_file()) {
                Some(found) => Ok(found.clone()),
                None => Err(BuildError::NoRuntime {
                    triple,
                    dir: dir.clone(),
                    searched: searched
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            };
        }
        let found = crate::link::find_runtime(target);
        if found.is_ok() {
            return found.map_err(|e| StaticLibError::from(e).into());
        }
        // The source tree this crate was built from.
        let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
        let host = Target::host().is_ok_and(|h| h.triple().to_string() == triple);
        let mut candidates = vec![tree.join(&triple).join("release").join(RUNTIME_LIB)];
        if host {
            candidates.insert(0, tree.join("release").join(RUNTIME_LIB));
        }
        match candidates.into_iter().find(|p| p.is_file()) {
            Some(path) => Ok(path),
            None => found.map_err(|e| StaticLibError::from(e).into()),
        }
    }
}

/// The default library name of the component at `path`: its file stem,
/// made a C identifier.
fn default_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_the_stem_as_a_c_identifier() {
        assert_eq!(default_name(Path::new("a/my-lib.wasm")), "my_lib");
        assert_eq!(default_name(Path::new("shapes.wasm")), "shapes");
        assert_eq!(default_name(Path::new("1x.wasm")), "_1x");
    }

    #[test]
    fn missing_settings_are_errors() {
        let err = Build::new().out_dir("/nonexistent").compile().unwrap_err();
        assert!(matches!(err, BuildError::NoComponent), "{err}");
        let err = Build::new()
            .component("/nonexistent/x.wasm")
            .out_dir("/nonexistent")
            .cargo_metadata(false)
            .compile()
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot read the component"),
            "{err}"
        );
    }

    #[test]
    fn a_runtime_dir_without_the_runtime_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("c.wasm");
        std::fs::write(&wasm, b"\0asm\x0d\0\x01\0").unwrap();
        let err = Build::new()
            .component(&wasm)
            .target("x86_64-unknown-linux-gnu")
            .runtime_dir(dir.path())
            .out_dir(dir.path())
            .cargo_metadata(false)
            .compile()
            .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("runtime library for x86_64-unknown-linux-gnu"),
            "{message}"
        );
    }
}
