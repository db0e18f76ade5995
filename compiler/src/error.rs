//! Compilation errors.
//!
//! Every error that comes from the input names where: a byte offset in the
//! input (as wasmparser reports it) and, inside a function body, the
//! function's index and name.

use thiserror::Error;

/// Why a module or program could not be compiled.
#[derive(Debug, Error)]
pub enum CompileError {
    /// The input is not valid WebAssembly (malformed or failing
    /// validation).
    #[error("invalid WebAssembly: {message} (at offset {offset:#x})")]
    Invalid {
        /// What is wrong, in wasmparser's words.
        message: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// The input uses something smelt does not support yet.
    #[error("unsupported: {what} (at offset {offset:#x})")]
    Unsupported {
        /// What, naming the proposal or feature.
        what: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// A component's import cannot be satisfied, or its instantiation
    /// names something that does not fit.
    #[error("cannot link: {message} (at offset {offset:#x})")]
    Link {
        /// What does not fit.
        message: String,
        /// Byte offset in the input.
        offset: u64,
    },
    /// An error inside a function body.
    #[error("in function {index}{}: {error}", name_suffix(.name))]
    InFunction {
        /// The function's index in the module's function index space.
        index: u32,
        /// Its name from the name section, if any.
        name: Option<String>,
        /// The error.
        error: Box<CompileError>,
    },
    /// Cranelift rejected the code we generated: a bug in smelt.
    #[error(
        "internal error (a bug in smelt's translation): code generation for {func} failed: {message}"
    )]
    Codegen {
        /// The function's symbol name.
        func: String,
        /// Cranelift's message.
        message: String,
    },
    /// Writing the object file failed.
    #[error("failed to write the object file: {0}")]
    Object(String),
}

fn name_suffix(name: &Option<String>) -> String {
    name.as_deref()
        .map(|n| format!(" `{n}`"))
        .unwrap_or_default()
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        CompileError::Invalid {
            message: e.message().to_string(),
            offset: e.offset(),
        }
    }
}

impl CompileError {
    /// An [`CompileError::Unsupported`] error.
    pub fn unsupported(what: impl Into<String>, offset: u64) -> CompileError {
        CompileError::Unsupported {
            what: what.into(),
            offset,
        }
    }
}

/// Result of a compilation step.
pub type Result<T, E = CompileError> = std::result::Result<T, E>;
