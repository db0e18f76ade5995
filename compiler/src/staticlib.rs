//! Writing a component library as a static library (`smelt build --emit
//! staticlib`): an `ar` archive holding the program's object and the
//! members of the runtime library, but the one that defines `main` (the
//! embedding program has its own).
//!
//! The archive is written in the GNU format with a symbol index, as `ar
//! rcs` writes it, so that any ELF linker (GNU `ld`, `lld`, `gold`, `mold`)
//! reads it whatever its place on the command line.

use std::path::Path;

use object::{Object, ObjectSymbol};
use thiserror::Error;

use crate::link::{LinkError, find_runtime};
use crate::target::Target;

/// Why the static library could not be written.
#[derive(Debug, Error)]
pub enum StaticLibError {
    /// The runtime library of the target is missing.
    #[error(transparent)]
    Runtime(#[from] LinkError),
    /// The runtime library does not read as an archive.
    #[error("the runtime library {path} is not an `ar` archive: {error}")]
    BadRuntime {
        /// Its path.
        path: String,
        /// What the reader said.
        error: String,
    },
    /// Reading the runtime library or writing the output failed.
    #[error("{what} {path}: {error}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

/// Whether the object `data` defines a global symbol `main`.
fn defines_main(data: &[u8]) -> bool {
    object::File::parse(data).is_ok_and(|file| {
        file.symbols()
            .any(|s| s.is_definition() && s.is_global() && s.name() == Ok("main"))
    })
}

/// Writes `output`: an archive of `object` (the program's object, named
/// `member` in it) and the runtime library of `target` without its `main`.
///
/// # Errors
///
/// A missing or unreadable runtime library, or an output that cannot be
/// written.
pub fn write(
    target: &Target,
    object: &[u8],
    member: &str,
    output: &Path,
) -> Result<(), StaticLibError> {
    write_with_runtime(&find_runtime(target)?, object, member, output)
}

/// Writes `output` as [`write`] does, with the runtime library at
/// `runtime` (a `libsmelt_runtime.a` built for the object's target).
///
/// # Errors
///
/// An unreadable or malformed runtime library, or an output that cannot
/// be written.
pub fn write_with_runtime(
    runtime: &Path,
    object: &[u8],
    member: &str,
    output: &Path,
) -> Result<(), StaticLibError> {
    let bytes = std::fs::read(runtime).map_err(|error| StaticLibError::Io {
        what: "cannot read the runtime library",
        path: runtime.display().to_string(),
        error,
    })?;
    let bad = |error: object::Error| StaticLibError::BadRuntime {
        path: runtime.display().to_string(),
        error: error.to_string(),
    };
    let archive = object::read::archive::ArchiveFile::parse(&*bytes).map_err(bad)?;
    let reader = &ar_archive_writer::DEFAULT_OBJECT_READER;
    let mut members = vec![ar_archive_writer::NewArchiveMember::new(
        object,
        reader,
        member.to_string(),
    )];
    for m in archive.members() {
        let m = m.map_err(bad)?;
        let data = m.data(&*bytes).map_err(bad)?;
        if defines_main(data) {
            continue;
        }
        let name = String::from_utf8_lossy(m.name()).into_owned();
        members.push(ar_archive_writer::NewArchiveMember::new(data, reader, name));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let written = ar_archive_writer::write_archive_to_stream(
        &mut out,
        &members,
        ar_archive_writer::ArchiveKind::Gnu,
        false,
        None,
    );
    let io = |error| StaticLibError::Io {
        what: "cannot write",
        path: output.display().to_string(),
        error,
    };
    written.map_err(io)?;
    let partial = crate::link::partial_path(output);
    std::fs::write(&partial, out.into_inner())
        .and_then(|()| std::fs::rename(&partial, output))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            io(e)
        })
}
