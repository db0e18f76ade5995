//! `wasi:filesystem`: descriptors under preopened directories.
//!
//! In: the directories granted at build time (`WasiHost::preopens`), opened
//! once by [`open_preopens`] at start-up. Out: `descriptor`s, each an open
//! file or directory in the [`Table`](crate::table::Table), and the
//! `wasi:filesystem/types` operations on them.
//!
//! Invariant: every path a guest passes is resolved *beneath* the directory
//! descriptor it is relative to, as [WASI path resolution] demands. A path
//! starting with `/`, a `..` that climbs above the base directory, or a
//! symbolic link whose target is absolute or climbs above it fails with
//! `not-permitted`. [`sandbox`] does this with `openat2(2)` and
//! `RESOLVE_BENEATH` where the kernel has it, and component by component
//! (`openat` with `O_PATH | O_NOFOLLOW`, symbolic links expanded by hand)
//! where it does not; either way, every system call that names a file names
//! it by a single component relative to a directory descriptor already
//! resolved beneath the base, with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`, so
//! no kernel-side resolution can leave the sandbox.
//!
//! Everything but the `Host` methods is a plain function of descriptors and
//! paths, tested on a temporary directory at the end of this file.
//!
//! [WASI path resolution]: https://github.com/WebAssembly/wasi-filesystem/blob/main/path-resolution.md

mod dir;
mod errno;
mod file;
mod path;
mod preopens;
pub mod sandbox;
mod sys;
#[cfg(test)]
mod tests;

pub use dir::read_directory;
pub use errno::{errno_code, error_code};
pub use file::{read_at, reopen_for_append};
pub use path::*;
pub use preopens::open_preopens;
pub(crate) use preopens::{PREOPEN_FLAGS, PREOPENED};
pub(crate) use sys::*;

use std::collections::VecDeque;
use std::fs::File;
use std::rc::Rc;

use crate::bindings::wasi_filesystem_types::{DescriptorFlags, DescriptorType, ErrorCode};

/// A `descriptor`: an open file or directory.
#[derive(Debug)]
pub struct Descriptor {
    /// The open file or directory. Streams made from the descriptor share
    /// it; reads and writes give their offset (`pread`/`pwrite`), so its
    /// file position is unused.
    pub file: Rc<File>,
    /// The `descriptor-flags` it was opened with: what `get-flags` returns
    /// and what the descriptor may do (`read`, `write`,
    /// `mutate-directory`).
    pub flags: DescriptorFlags,
}

/// A `directory-entry-stream`: the entries of a directory, read when the
/// stream was made (`read-directory`), sorted by name, without `.` and
/// `..`.
#[derive(Debug, Default)]
pub struct DirectoryEntries {
    /// The entries not yet returned: a type and a name, or the error to
    /// return in that entry's place (a name that is not UTF-8).
    pub entries: VecDeque<Result<(DescriptorType, String), ErrorCode>>,
}

/// The result of a successful `stat-at` or `metadata-hash-at`, kept for
/// the next host call if it is one of the two, for the same descriptor,
/// path and flags: wasi-libc's `stat` makes this pair of calls
/// (`metadata-hash-at` for `st_ino` without following a last symbolic
/// link, then `stat-at` following it), and the second needs
/// no second `fstatat`. Answering it from the first is what one `fstatat`
/// at the time of the first call gives: the guest, which made no host call
/// between the two, cannot tell the difference (a change to the file
/// between them is a race it cannot order either way).
#[derive(Debug)]
pub struct LastStat {
    /// [`WasiHost::calls`] at the first call.
    pub(crate) call: u64,
    /// The descriptor's handle representation.
    pub(crate) descriptor: u32,
    pub(crate) path: String,
    pub(crate) follow: bool,
    /// Whether the path's last component is a symbolic link (if not,
    /// `stat` answers with `follow` either way).
    pub(crate) link: bool,
    pub(crate) stat: libc::stat,
}
