//! The filesystem core: descriptors under preopened directories, for every
//! WASI version.
//!
//! In: the directories granted at build time (`WasiHost::preopens`), opened
//! once by [`open_preopens`] at start-up, and the paths and flags a guest
//! passes. Out: [`Descriptor`]s (an open file or directory and what it may
//! do) and the operations on them, each a method that makes the system
//! calls and returns the value or the [`Errno`] of the failure. WASI 0.2
//! (`p2/filesystem.rs`), WASI 0.3 (`p3/filesystem.rs`) and preview1
//! (`p1/`) are faces over this: they convert their types to the neutral
//! ones of [`types`], call, and convert the result.
//!
//! Invariant: every path a guest passes is resolved *beneath* the directory
//! descriptor it is relative to, as [WASI path resolution] demands. A path
//! starting with `/`, a `..` that climbs above the base directory, or a
//! symbolic link whose target is absolute or climbs above it fails with
//! `EPERM` (`not-permitted`). [`sandbox`] does this with `openat2(2)` and
//! `RESOLVE_BENEATH` where the kernel has it, and component by component
//! (`openat` with `O_PATH | O_NOFOLLOW`, symbolic links expanded by hand)
//! where it does not; either way, every system call that names a file names
//! it by a single component relative to a directory descriptor already
//! resolved beneath the base, with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`, so
//! no kernel-side resolution can leave the sandbox.
//!
//! The pieces, by concern: [`errno`] (the error type), [`sys`] (system
//! call wrappers), [`sandbox`] (path resolution), [`path`] (operations on a
//! path beneath a directory), [`dir`] (directory listings), [`file`]
//! (reading, reopening), [`preopens`]; the tests run them on a temporary
//! directory (`tests.rs`).
//!
//! [WASI path resolution]: https://github.com/WebAssembly/wasi-filesystem/blob/main/path-resolution.md

pub mod dir;
pub mod errno;
pub mod file;
pub mod path;
pub mod preopens;
pub mod sandbox;
pub mod sys;
#[cfg(test)]
mod tests;
pub mod types;

pub use errno::{Errno, FsResult};
pub use preopens::open_preopens;
pub use types::{Advice, FileType, Flags, OpenFlags, SetTime, Time};

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use smelt_rt::component::host::HostResult;

use crate::WasiHost;
use sandbox::Beneath;
use sys::{fstat, is_dir, retry};

/// A `descriptor`: an open file or directory.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// The open file or directory. Streams made from the descriptor share
    /// it; reads and writes give their offset (`pread`/`pwrite`), so its
    /// file position is unused by WASI 0.2 and 0.3.
    pub file: Arc<File>,
    /// What `get-flags` returns: how it was opened (`read`, `write`, the
    /// sync flags; `mutate-directory` when that was asked for), and so
    /// whether its file may be read or written.
    pub flags: Flags,
    /// Whether what is beneath it may be changed (created, removed,
    /// renamed, its times set). A preopened directory may (it has
    /// `mutate-directory`), and so may every descriptor opened beneath
    /// one that may, whatever flags it was opened with: POSIX programs
    /// open directories for reading, then remove entries in them
    /// (wasi-libc's `rmdir -r`), as wasmtime lets them.
    pub mutate: bool,
    /// Whether it is known to be a directory (a preopen, or opened with
    /// `directory`), without asking the kernel: reading it is refused at
    /// once (`EISDIR`). Another directory's reads fail when they are made,
    /// with the same error.
    pub dir: bool,
}

/// The entries of a directory, read when the listing was asked for, sorted
/// by name, without `.` and `..`: a type and a name each.
#[derive(Debug, Default)]
pub struct DirectoryEntries {
    /// The entries not yet returned.
    pub entries: VecDeque<(FileType, Vec<u8>)>,
}

impl Descriptor {
    /// `file`, with `flags`, its contents changeable when `mutate`.
    pub fn new(file: File, flags: Flags, mutate: bool) -> Self {
        Descriptor {
            file: Arc::new(file),
            flags,
            mutate,
            dir: false,
        }
    }

    /// The descriptor as the base of paths.
    pub fn beneath(&self) -> Beneath<'_> {
        Beneath::new(self.file.as_fd())
    }

    /// The descriptor as the base of paths whose files are about to change
    /// (needs [`Descriptor::mutate`], else `EROFS`).
    pub fn mutable(&self) -> FsResult<Beneath<'_>> {
        if self.mutate {
            Ok(self.beneath())
        } else {
            Err(Errno(libc::EROFS))
        }
    }

    /// The file, about to be read (`needs` is [`Flags::READ`]; else
    /// `EBADF`) or written ([`Flags::WRITE`]), without a system call (the
    /// read or write itself fails on what cannot be read or written).
    ///
    /// # Errors
    ///
    /// `EBADF` without the flag, `EISDIR` for a descriptor known to be a
    /// directory ([`Descriptor::dir`]).
    pub fn file(&self, needs: u8) -> FsResult<&Arc<File>> {
        if !self.flags.contains(needs) {
            return Err(Errno(libc::EBADF));
        }
        if self.dir {
            return Err(Errno(libc::EISDIR));
        }
        Ok(&self.file)
    }

    /// `open-at`: opens `path` (following a last symbolic link when
    /// `follow`) with `open_flags`, as a descriptor with `flags` (see
    /// [`opened_flags`] for the ones it gets).
    ///
    /// # Errors
    ///
    /// `EROFS` when a change is asked for (writing, creating, truncating,
    /// `mutate-directory`) beneath a descriptor that may not change what is
    /// beneath it; otherwise as [`path::open_at`] (`EISDIR` for a
    /// directory opened for writing).
    pub fn open_at(
        &self,
        follow: bool,
        path: &[u8],
        open_flags: OpenFlags,
        flags: Flags,
    ) -> FsResult<Descriptor> {
        self.open_at_with(follow, path, open_flags, flags, 0)
    }

    /// [`Descriptor::open_at`] with more `open(2)` flags (`O_APPEND`,
    /// `O_NONBLOCK`: preview1's `fdflags`).
    ///
    /// # Errors
    ///
    /// As [`Descriptor::open_at`].
    pub fn open_at_with(
        &self,
        follow: bool,
        path: &[u8],
        open_flags: OpenFlags,
        flags: Flags,
        more: libc::c_int,
    ) -> FsResult<Descriptor> {
        let flags = opened_flags(open_flags, flags);
        let mutates = flags.contains(Flags::WRITE) || flags.contains(Flags::MUTATE_DIRECTORY);
        if mutates && !self.mutate {
            return Err(Errno(libc::EROFS));
        }
        let (oflags, follow) = path::open_mode(follow, open_flags, flags);
        let file = path::open_at(self.beneath(), path, follow, oflags | more)?;
        let mut opened = Descriptor::new(file, flags, self.mutate);
        opened.dir = open_flags.contains(OpenFlags::DIRECTORY);
        Ok(opened)
    }

    /// `advise`: `posix_fadvise`.
    ///
    /// # Errors
    ///
    /// `EBADF` for a directory (which has no data to advise about: the WIT
    /// tests expect `bad-descriptor`), `EINVAL` for an offset or length
    /// past `i64`, or the error of `posix_fadvise`.
    pub fn advise(&self, offset: u64, length: u64, advice: Advice) -> FsResult<()> {
        if is_dir(&self.stat()?) {
            return Err(Errno(libc::EBADF));
        }
        let offset = i64::try_from(offset).map_err(|_| Errno(libc::EINVAL))?;
        let length = i64::try_from(length).map_err(|_| Errno(libc::EINVAL))?;
        // SAFETY: a valid descriptor; `posix_fadvise` returns the error.
        let e =
            unsafe { libc::posix_fadvise(self.file.as_raw_fd(), offset, length, advice.posix()) };
        if e == 0 { Ok(()) } else { Err(Errno(e)) }
    }

    /// `sync-data` (`fdatasync`), or with `all`, `sync` (`fsync`). On a
    /// descriptor not opened for writing, a failure is no failure
    /// ("succeeds with no effect").
    ///
    /// # Errors
    ///
    /// The error of `fsync`/`fdatasync`.
    pub fn sync(&self, all: bool) -> FsResult<()> {
        let result = if all {
            self.file.sync_all()
        } else {
            self.file.sync_data()
        };
        match result {
            Ok(()) => Ok(()),
            Err(_) if !self.flags.contains(Flags::WRITE) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `get-type`: the type of the open file.
    ///
    /// # Errors
    ///
    /// The error of `fstat`.
    pub fn get_type(&self) -> FsResult<FileType> {
        Ok(FileType::of_stat(&self.stat()?))
    }

    /// `set-size`: truncates or extends the file.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::file`] for writing; `EFBIG` for a size past `i64`;
    /// the error of `ftruncate`.
    pub fn set_size(&self, size: u64) -> FsResult<()> {
        let file = self.file(Flags::WRITE)?;
        if i64::try_from(size).is_err() {
            return Err(Errno(libc::EFBIG));
        }
        Ok(file.set_len(size)?)
    }

    /// `set-times`: sets the access and modification times of the open
    /// file (a directory's need [`Descriptor::mutate`], else `EROFS`; a
    /// file's `write`, else `EPERM`).
    ///
    /// # Errors
    ///
    /// As above, [`SetTime::timespec`], or the error of `futimens`.
    pub fn set_times(&self, atime: SetTime, mtime: SetTime) -> FsResult<()> {
        let st = self.stat()?;
        if is_dir(&st) {
            if !self.mutate {
                return Err(Errno(libc::EROFS));
            }
        } else if !self.flags.contains(Flags::WRITE) {
            return Err(Errno(libc::EPERM));
        }
        let times = [atime.timespec()?, mtime.timespec()?];
        // SAFETY: a valid descriptor and two timespecs.
        retry(|| unsafe { libc::futimens(self.file.as_raw_fd(), times.as_ptr()) })?;
        Ok(())
    }

    /// `read`: up to `len` bytes at `offset` (at most
    /// [`crate::io::CHUNK`]), and whether the end of the file was reached.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::file`] for reading, and [`file::read_at`].
    pub fn read(&self, len: u64, offset: u64) -> FsResult<(Vec<u8>, bool)> {
        file::read_at(self.file(Flags::READ)?, len, offset)
    }

    /// `write`: all of `bytes` at `offset`; returns their length.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::file`] for writing, or the error of `pwrite`.
    pub fn write(&self, bytes: &[u8], offset: u64) -> FsResult<u64> {
        self.file(Flags::WRITE)?.write_all_at(bytes, offset)?;
        Ok(bytes.len() as u64)
    }

    /// A new open file description of the file for appending
    /// (`append-via-stream`).
    ///
    /// # Errors
    ///
    /// As [`Descriptor::file`] for writing and [`file::reopen_for_append`].
    pub fn append(&self) -> FsResult<File> {
        file::reopen_for_append(self.file(Flags::WRITE)?)
    }

    /// `read-directory`: the entries of the directory.
    ///
    /// # Errors
    ///
    /// As [`dir::read_directory`].
    pub fn read_directory(&self) -> FsResult<DirectoryEntries> {
        dir::read_directory(self.file.as_fd())
    }

    /// `stat`: the status of the open file.
    ///
    /// # Errors
    ///
    /// The error of `fstat`.
    pub fn stat(&self) -> FsResult<libc::stat> {
        fstat(self.file.as_fd())
    }

    /// `create-directory-at`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] and [`path::create_directory_at`].
    pub fn create_directory_at(&self, path: &[u8]) -> FsResult<()> {
        path::create_directory_at(self.mutable()?, path)
    }

    /// `set-times-at`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] and [`path::set_times_at`].
    pub fn set_times_at(
        &self,
        follow: bool,
        path: &[u8],
        atime: SetTime,
        mtime: SetTime,
    ) -> FsResult<()> {
        path::set_times_at(self.mutable()?, path, follow, atime, mtime)
    }

    /// `link-at`: links `old_path` beneath this descriptor to `new_path`
    /// beneath `new`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] of `new` and [`path::link_at`].
    pub fn link_at(
        &self,
        follow: bool,
        old_path: &[u8],
        new: &Descriptor,
        new_path: &[u8],
    ) -> FsResult<()> {
        path::link_at(self.beneath(), old_path, follow, new.mutable()?, new_path)
    }

    /// `readlink-at`.
    ///
    /// # Errors
    ///
    /// As [`path::readlink_at`].
    pub fn readlink_at(&self, path: &[u8]) -> FsResult<Vec<u8>> {
        path::readlink_at(self.beneath(), path)
    }

    /// `remove-directory-at`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] and [`path::remove_directory_at`].
    pub fn remove_directory_at(&self, path: &[u8]) -> FsResult<()> {
        path::remove_directory_at(self.mutable()?, path)
    }

    /// `rename-at`: renames `old_path` beneath this descriptor to
    /// `new_path` beneath `new`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] of both and [`path::rename_at`].
    pub fn rename_at(&self, old_path: &[u8], new: &Descriptor, new_path: &[u8]) -> FsResult<()> {
        path::rename_at(self.mutable()?, old_path, new.mutable()?, new_path)
    }

    /// `symlink-at`: makes `path` a symbolic link to `target`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] and [`path::symlink_at`].
    pub fn symlink_at(&self, target: &[u8], path: &[u8]) -> FsResult<()> {
        path::symlink_at(self.mutable()?, target, path)
    }

    /// `unlink-file-at`.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::mutable`] and [`path::unlink_file_at`].
    pub fn unlink_file_at(&self, path: &[u8]) -> FsResult<()> {
        path::unlink_file_at(self.mutable()?, path)
    }

    /// `is-same-object`: whether both are the same file (device and
    /// inode); `false` when either cannot be stated.
    pub fn is_same_object(&self, other: &Descriptor) -> bool {
        match (self.stat(), other.stat()) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// `metadata-hash`: [`types::metadata_hash`] of the open file.
    ///
    /// # Errors
    ///
    /// The error of `fstat`.
    pub fn metadata_hash(&self) -> FsResult<(u64, u64)> {
        Ok(types::metadata_hash(&self.stat()?))
    }
}

/// The flags of a descriptor opened with `open_flags` and `flags`, as
/// `get-flags` reports them and the file is opened: `write` when asked for,
/// or implied by `create` or `truncate`; `read` when asked for, or when
/// `write` was not (every open needs an access mode); the sync flags and
/// `mutate-directory` as asked for. (As wasmtime opens, and as the WASI
/// 0.3 test suite expects: a directory opened with no flags reports
/// `read`, a file created with `write` alone reports `write`.)
pub fn opened_flags(open_flags: OpenFlags, flags: Flags) -> Flags {
    let mut out = flags.0
        & (Flags::FILE_INTEGRITY_SYNC
            | Flags::DATA_INTEGRITY_SYNC
            | Flags::REQUESTED_WRITE_SYNC
            | Flags::MUTATE_DIRECTORY);
    let write = flags.contains(Flags::WRITE)
        || open_flags.contains(OpenFlags::CREATE)
        || open_flags.contains(OpenFlags::TRUNCATE);
    if write {
        out |= Flags::WRITE;
    }
    if flags.contains(Flags::READ) || !flags.contains(Flags::WRITE) {
        out |= Flags::READ;
    }
    Flags(out)
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
    call: u64,
    /// The descriptor's handle representation.
    descriptor: u32,
    path: Vec<u8>,
    follow: bool,
    /// Whether the path's last component is a symbolic link (if not,
    /// `stat` answers with `follow` either way).
    link: bool,
    stat: libc::stat,
}

impl WasiHost {
    /// The `stat` of `path` under descriptor `rep` (following a last
    /// symbolic link when `follow`), from the [`LastStat`] of the host call
    /// just before when it was of the same, else from the system (and kept
    /// for the next call): `stat-at` and `metadata-hash-at` of WASI 0.2
    /// and 0.3.
    ///
    /// # Errors
    ///
    /// A trap when `rep` is not a descriptor (the outer result); as
    /// [`path::stat_at`] (the inner one).
    pub fn stat_at_again(
        &mut self,
        rep: u32,
        path: Vec<u8>,
        follow: bool,
    ) -> HostResult<FsResult<libc::stat>> {
        if let Some(last) = self.last_stat.take()
            && last.call.wrapping_add(1) == self.calls
            && last.descriptor == rep
            && (last.follow == follow || !last.link)
            && last.path == path
        {
            return Ok(Ok(last.stat));
        }
        let d: &Descriptor = self.table.get_as(rep)?;
        let st = path::stat_at_link(d.beneath(), &path, follow);
        if let Ok((stat, link)) = &st {
            self.last_stat = Some(LastStat {
                call: self.calls,
                descriptor: rep,
                path,
                follow,
                link: *link,
                stat: *stat,
            });
        }
        Ok(st.map(|(stat, _)| stat))
    }
}
