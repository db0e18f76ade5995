//! Writing a component library: the static library `libP.a` with its C
//! header `P.h` ([`write_staticlib`], what `smelt build --emit staticlib`
//! and [`super::Build`] both do), and the errors of doing so
//! ([`BuildError`]).

use std::path::{Path, PathBuf};

use smelt_abi::wasi::WasiConfig;
use thiserror::Error;

use super::LibraryError;
use crate::command::CommandError;
use crate::staticlib::StaticLibError;
use crate::target::{Target, TargetError};

/// Why a component library could not be built or written.
#[derive(Debug, Error)]
pub enum BuildError {
    /// [`super::Build::compile`] was called without
    /// [`super::Build::component`].
    #[error("no component to build: call smelt::Build::component(PATH)")]
    NoComponent,
    /// No output folder: neither [`super::Build::out_dir`] nor `$OUT_DIR`
    /// (which cargo sets for a build script).
    #[error(
        "no output folder: OUT_DIR is not set (run from a build script) and smelt::Build::out_dir was not called"
    )]
    NoOutDir,
    /// The component file could not be read.
    #[error("cannot read the component {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The target (or CPU level) cannot be used.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The component's exports cannot be made into a library, or its
    /// header or Rust bindings written.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// The component does not compile.
    #[error(transparent)]
    Compile(#[from] CommandError),
    /// The runtime library is missing or unreadable, or the archive
    /// cannot be written.
    #[error(transparent)]
    StaticLib(#[from] StaticLibError),
    /// The runtime library is not in the folder given to
    /// [`super::Build::runtime_dir`].
    #[error(
        "the runtime library for {triple} is not in {dir} (looked for {searched}); build it with `cargo build --release -p smelt-runtime --target {triple}` in smelt's source tree, or give the folder that has it"
    )]
    NoRuntime {
        /// The target's triple.
        triple: String,
        /// The folder given.
        dir: PathBuf,
        /// The paths looked at, comma-separated.
        searched: String,
    },
    /// One of the errors above, for the component at `path`.
    #[error("failed to build the component library of {path}: {source}")]
    Component {
        /// The component file.
        path: PathBuf,
        /// What went wrong.
        source: Box<BuildError>,
    },
}

/// Compiles the component `wasm` for `target` into the static library
/// `output` (`libNAME.a`: the component's code and the runtime library
/// without its `main`) and writes its C header to `header`, with C names
/// starting with `name`. `wasi` holds the capabilities
/// baked into the library (each instance gets its own from `smelt_config`
/// when it is created). `runtime` is the target's `libsmelt_runtime.a`;
/// `None` looks for it as [`crate::link::find_runtime`] does.
///
/// The code is position-independent (the library may be linked into a
/// PIE or a shared object).
///
/// # Errors
///
/// [`BuildError::Compile`] with [`CommandError::LibraryOfModule`] when
/// `wasm` is a core module; [`BuildError::Library`] for the errors of
/// [`super::exported_functions`] and [`super::c_header`] (`name` not a C
/// identifier, exports of unsupported types); [`BuildError::Compile`] when
/// the component does not compile; [`BuildError::StaticLib`] when the
/// runtime library is missing or `output` cannot be written;
/// [`BuildError::Write`] when `header` cannot be written.
pub fn write_staticlib(
    wasm: &[u8],
    name: &str,
    target: &Target,
    wasi: &WasiConfig,
    runtime: Option<&Path>,
    output: &Path,
    header: &Path,
) -> Result<(), BuildError> {
    if !wasmparser::Parser::is_component(wasm) {
        return Err(CommandError::LibraryOfModule.into());
    }
    let functions = super::exported_functions(wasm)?;
    let text = super::c_header(wasm, name)?;
    let keys: Vec<String> = functions.into_iter().map(|f| f.key).collect();
    let resources: Vec<String> = super::exported_resources(wasm)?
        .into_iter()
        .map(|r| r.key)
        .collect();
    let target = &target.clone().with_pic()?;
    let object = crate::command::compile_library(wasm, target, wasi, &keys, &resources)?;
    let member = format!("{name}.o");
    match runtime {
        Some(runtime) => {
            crate::staticlib::write_with_runtime(runtime, &object, &member, output)?;
        }
        None => crate::staticlib::write(target, &object, &member, output)?,
    }
    std::fs::write(header, text).map_err(|error| BuildError::Write {
        path: header.to_path_buf(),
        error,
    })
}
