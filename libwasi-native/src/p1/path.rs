//! Preview1's `path_*` functions, on the filesystem core ([`crate::fs`]):
//! every path resolved beneath its directory descriptor by the core's
//! sandbox (`openat2` with `RESOLVE_BENEATH`).

use std::sync::atomic::Ordering;

use super::bindings::{Filestat, Preview1Path, fdflags, lookupflags, rights};
use super::fd::{filestat, set_times};
use super::table::{Entry, Handle};
use super::{Memory, P1Result, Preview1Host};
use crate::fs::{Descriptor, Flags, OpenFlags};

/// Whether lookup flags `flags` follow a last symbolic link.
fn follow(flags: u32) -> bool {
    flags & lookupflags::SYMLINK_FOLLOW != 0
}

impl Preview1Host {
    /// Runs `f` on directory descriptor `fd` and path `[path, path +
    /// len)`.
    fn at<T>(
        &self,
        mem: &Memory,
        fd: u32,
        path: u32,
        len: u32,
        f: impl FnOnce(&Descriptor, &[u8]) -> crate::fs::FsResult<T>,
    ) -> P1Result<T> {
        let entry = self.fd(fd)?;
        let path = mem.string(path, len)?;
        Ok(f(entry.descriptor()?, path.as_bytes())?)
    }
}

impl Preview1Path for Preview1Host {
    fn path_create_directory(
        &self,
        mem: &Memory,
        fd: u32,
        path: u32,
        path_len: u32,
    ) -> P1Result<()> {
        self.at(mem, fd, path, path_len, |d, p| d.create_directory_at(p))
    }

    fn path_filestat_get(
        &self,
        mem: &Memory,
        fd: u32,
        flags: u32,
        path: u32,
        path_len: u32,
    ) -> P1Result<Filestat> {
        let s = self.at(mem, fd, path, path_len, |d, p| {
            crate::fs::path::stat_at(d.beneath(), p, follow(flags))
        })?;
        Ok(filestat(&s))
    }

    fn path_filestat_set_times(
        &self,
        mem: &Memory,
        fd: u32,
        flags: u32,
        path: u32,
        path_len: u32,
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> P1Result<()> {
        let (a, m) = set_times(atim, mtim, fst_flags)?;
        self.at(mem, fd, path, path_len, |d, p| {
            d.set_times_at(follow(flags), p, a, m)
        })
    }

    fn path_link(
        &self,
        mem: &Memory,
        old_fd: u32,
        old_flags: u32,
        old_path: u32,
        old_path_len: u32,
        new_fd: u32,
        new_path: u32,
        new_path_len: u32,
    ) -> P1Result<()> {
        let new = self.fd(new_fd)?;
        let new_path = mem.string(new_path, new_path_len)?;
        self.at(mem, old_fd, old_path, old_path_len, |d, p| {
            let new = new
                .descriptor()
                .map_err(|_| crate::fs::Errno(libc::EBADF))?;
            d.link_at(follow(old_flags), p, new, new_path.as_bytes())
        })
    }

    fn path_open(
        &self,
        mem: &Memory,
        fd: u32,
        dirflags: u32,
        path: u32,
        path_len: u32,
        oflags: u16,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
        fdflags: u16,
    ) -> P1Result<u32> {
        // Reading and writing as the rights ask; `oflags` has the bits of
        // the core's `OpenFlags` (creat, directory, excl, trunc).
        let mut flags = 0;
        if fs_rights_base & rights::FD_READ != 0 {
            flags |= Flags::READ;
        }
        if fs_rights_base & rights::FD_WRITE != 0 {
            flags |= Flags::WRITE;
        }
        if fdflags & fdflags::SYNC != 0 {
            flags |= Flags::FILE_INTEGRITY_SYNC;
        }
        if fdflags & fdflags::DSYNC != 0 {
            flags |= Flags::DATA_INTEGRITY_SYNC;
        }
        if fdflags & fdflags::RSYNC != 0 {
            flags |= Flags::REQUESTED_WRITE_SYNC;
        }
        let mut more = 0;
        if fdflags & fdflags::APPEND != 0 {
            more |= libc::O_APPEND;
        }
        let nonblock = fdflags & fdflags::NONBLOCK != 0;
        if nonblock {
            more |= libc::O_NONBLOCK;
        }
        let open_flags = OpenFlags(oflags as u8);
        let opened = self.at(mem, fd, path, path_len, |d, p| {
            d.open_at_with(follow(dirflags), p, open_flags, Flags(flags), more)
        })?;
        let entry = Entry::new(Handle::Open(opened), None);
        entry.nonblock.store(nonblock, Ordering::Relaxed);
        entry
            .append
            .store(fdflags & fdflags::APPEND != 0, Ordering::Relaxed);
        entry.rights_base.store(fs_rights_base, Ordering::Relaxed);
        entry
            .rights_inheriting
            .store(fs_rights_inheriting, Ordering::Relaxed);
        self.fds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(entry)
    }

    fn path_readlink(
        &self,
        mem: &Memory,
        fd: u32,
        path: u32,
        path_len: u32,
        buf: u32,
        buf_len: u32,
    ) -> P1Result<u32> {
        let mut target = self.at(mem, fd, path, path_len, |d, p| d.readlink_at(p))?;
        target.truncate(buf_len as usize);
        mem.write_bytes(buf, &target)?;
        Ok(target.len() as u32)
    }

    fn path_remove_directory(
        &self,
        mem: &Memory,
        fd: u32,
        path: u32,
        path_len: u32,
    ) -> P1Result<()> {
        self.at(mem, fd, path, path_len, |d, p| d.remove_directory_at(p))
    }

    fn path_rename(
        &self,
        mem: &Memory,
        fd: u32,
        old_path: u32,
        old_path_len: u32,
        new_fd: u32,
        new_path: u32,
        new_path_len: u32,
    ) -> P1Result<()> {
        let new = self.fd(new_fd)?;
        let new_path = mem.string(new_path, new_path_len)?;
        self.at(mem, fd, old_path, old_path_len, |d, p| {
            let new = new
                .descriptor()
                .map_err(|_| crate::fs::Errno(libc::EBADF))?;
            d.rename_at(p, new, new_path.as_bytes())
        })
    }

    fn path_symlink(
        &self,
        mem: &Memory,
        old_path: u32,
        old_path_len: u32,
        fd: u32,
        new_path: u32,
        new_path_len: u32,
    ) -> P1Result<()> {
        let target = mem.string(old_path, old_path_len)?;
        self.at(mem, fd, new_path, new_path_len, |d, p| {
            d.symlink_at(target.as_bytes(), p)
        })
    }

    fn path_unlink_file(&self, mem: &Memory, fd: u32, path: u32, path_len: u32) -> P1Result<()> {
        self.at(mem, fd, path, path_len, |d, p| d.unlink_file_at(p))
    }
}
