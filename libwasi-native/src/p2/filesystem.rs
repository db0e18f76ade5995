//! `wasi:filesystem` of WASI 0.2: the `Host` traits on the filesystem core
//! ([`crate::fs`]).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::PoisonError;

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_filesystem_preopens;
use crate::bindings::wasi_filesystem_types::{
    self, Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use crate::bindings::wasi_io_error::Error as ErrorRes;
use crate::bindings::wasi_io_streams::{InputStream as InputRes, OutputStream as OutputRes};
use crate::fs::sandbox::Beneath;
use crate::fs::*;
use crate::p2::io::{InputStream, OutputStream};
use crate::table::Object;

type DescriptorRes = wasi_filesystem_types::Descriptor;
type EntriesRes = wasi_filesystem_types::DirectoryEntryStream;

/// The result of a `wasi:filesystem` call: a trap (a bug in smelt), or the
/// call's value or `error-code`.
type FsResult<T> = HostResult<Result<T, ErrorCode>>;

impl WasiHost {
    /// The `stat` of `path` under descriptor `descriptor` (following a
    /// last symbolic link when `follow`), from the [`LastStat`] of the host
    /// call just before when it was of the same, else from the system (and
    /// kept for the next call).
    ///
    /// # Errors
    ///
    /// As [`WasiHost::fs_descriptor`] (the outer result), and as [`stat_at`].
    pub(crate) fn stat_at_again(
        &mut self,
        descriptor: u32,
        path: String,
        follow: bool,
    ) -> HostResult<Result<libc::stat, ErrorCode>> {
        let (dir, _) = self.fs_descriptor(descriptor)?;
        if let Some(last) = self.last_stat.take()
            && last.call.wrapping_add(1) == self.calls
            && last.descriptor == descriptor
            && (last.follow == follow || !last.link)
            && last.path == path
        {
            return Ok(Ok(last.stat));
        }
        let st = stat_at_link(Beneath::new(dir.as_fd()), &path, follow);
        if let Ok((stat, link)) = &st {
            self.last_stat = Some(LastStat {
                call: self.calls,
                descriptor,
                path,
                follow,
                link: *link,
                stat: *stat,
            });
        }
        Ok(st.map(|(stat, _)| stat))
    }

    /// The file and flags of descriptor `rep`.
    pub fn fs_descriptor(&mut self, rep: u32) -> HostResult<(Rc<File>, DescriptorFlags)> {
        let d = self.table.descriptor(rep)?;
        Ok((d.file.clone(), d.flags))
    }

    /// Descriptor `rep`, which is about to change what is in it (needs
    /// `mutate-directory`, else `read-only`).
    fn fs_mutable(&mut self, rep: u32) -> HostResult<Result<Rc<File>, ErrorCode>> {
        let (file, flags) = self.fs_descriptor(rep)?;
        Ok(if flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            Ok(file)
        } else {
            Err(ErrorCode::ReadOnly)
        })
    }

    /// Descriptor `rep`, a file that is about to be read (needs `read`,
    /// else `bad-descriptor`) or written (`write`).
    pub fn fs_file(&mut self, rep: u32, needs: u64) -> HostResult<Result<Rc<File>, ErrorCode>> {
        let (file, flags) = self.fs_descriptor(rep)?;
        if !flags.contains(needs) {
            return Ok(Err(ErrorCode::BadDescriptor));
        }
        Ok(match fstat(file.as_fd()) {
            Ok(st) if is_dir(&st) => Err(ErrorCode::IsDirectory),
            Ok(_) => Ok(file),
            Err(e) => Err(e.into()),
        })
    }

    /// A new descriptor resource.
    fn fs_new_descriptor(
        &mut self,
        file: File,
        flags: DescriptorFlags,
    ) -> HostResult<Own<DescriptorRes>> {
        Ok(Own::new(self.table.push(Object::Descriptor(
            Descriptor {
                file: Rc::new(file),
                flags,
            },
        ))?))
    }
}

/// `?` for the `error-code` of a `wasi:filesystem` call inside a
/// `HostResult`.
macro_rules! fs_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(ErrorCode::from(e))),
        }
    };
}

impl wasi_filesystem_types::Host for WasiHost {
    fn method_descriptor_read_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> FsResult<Own<InputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::READ)?);
        let rep = self
            .table
            .push(Object::InputStream(InputStream::File { file, offset }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> FsResult<Own<OutputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        let rep = self.table.push(Object::OutputStream(OutputStream::File {
            file,
            offset: Some(offset),
        }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_append_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<Own<OutputRes>> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        let file = fs_try!(reopen_for_append(&file));
        let rep = self.table.push(Object::OutputStream(OutputStream::File {
            file: Rc::new(file),
            offset: None,
        }))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_advise(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
        length: u64,
        advice: Advice,
    ) -> FsResult<()> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        let advice = match advice {
            Advice::Normal => libc::POSIX_FADV_NORMAL,
            Advice::Sequential => libc::POSIX_FADV_SEQUENTIAL,
            Advice::Random => libc::POSIX_FADV_RANDOM,
            Advice::WillNeed => libc::POSIX_FADV_WILLNEED,
            Advice::DontNeed => libc::POSIX_FADV_DONTNEED,
            Advice::NoReuse => libc::POSIX_FADV_NOREUSE,
        };
        let offset = fs_try!(i64::try_from(offset).map_err(|_| ErrorCode::Invalid));
        let length = fs_try!(i64::try_from(length).map_err(|_| ErrorCode::Invalid));
        // SAFETY: a valid descriptor; `posix_fadvise` returns the error.
        let e = unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, length, advice) };
        Ok(if e == 0 { Ok(()) } else { Err(errno_code(e)) })
    }

    fn method_descriptor_sync_data(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        Ok(sync_result(file.sync_data(), flags))
    }

    fn method_descriptor_get_flags(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorFlags> {
        Ok(Ok(self.fs_descriptor(this.rep)?.1))
    }

    fn method_descriptor_get_type(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorType> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| descriptor_type(st.st_mode))
            .map_err(Into::into))
    }

    fn method_descriptor_set_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        size: u64,
    ) -> FsResult<()> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        if i64::try_from(size).is_err() {
            return Ok(Err(ErrorCode::FileTooLarge));
        }
        Ok(file.set_len(size).map_err(|e| error_code(&e)))
    }

    fn method_descriptor_set_times(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        let st = fs_try!(fstat(file.as_fd()));
        // A directory's times change with `mutate-directory`, a file's with
        // `write`.
        if is_dir(&st) {
            if !flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
                return Ok(Err(ErrorCode::ReadOnly));
            }
        } else if !flags.contains(DescriptorFlags::WRITE) {
            return Ok(Err(ErrorCode::NotPermitted));
        }
        let times = [
            fs_try!(timespec(data_access_timestamp)),
            fs_try!(timespec(data_modification_timestamp)),
        ];
        // SAFETY: a valid descriptor and two timespecs.
        fs_try!(retry(|| unsafe {
            libc::futimens(file.as_raw_fd(), times.as_ptr())
        }));
        Ok(Ok(()))
    }

    fn method_descriptor_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        length: u64,
        offset: u64,
    ) -> FsResult<(Vec<u8>, bool)> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::READ)?);
        Ok(read_at(&file, length, offset))
    }

    fn method_descriptor_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        buffer: Vec<u8>,
        offset: u64,
    ) -> FsResult<u64> {
        let file = fs_try!(self.fs_file(this.rep, DescriptorFlags::WRITE)?);
        Ok(file
            .write_all_at(&buffer, offset)
            .map(|()| buffer.len() as u64)
            .map_err(|e| error_code(&e)))
    }

    fn method_descriptor_read_directory(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<Own<EntriesRes>> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        let entries = fs_try!(read_directory(file.as_fd()));
        let rep = self.table.push(Object::DirectoryEntries(entries))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_descriptor_sync(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<()> {
        let (file, flags) = self.fs_descriptor(this.rep)?;
        Ok(sync_result(file.sync_all(), flags))
    }

    fn method_descriptor_create_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(create_directory_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_stat(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<DescriptorStat> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| descriptor_stat(&st))
            .map_err(Into::into))
    }

    fn method_descriptor_stat_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(self
            .stat_at_again(this.rep, path, follow)?
            .map(|st| descriptor_stat(&st)))
    }

    fn method_descriptor_set_times_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(set_times_at(
            Beneath::new(dir.as_fd()),
            &path,
            follow,
            data_access_timestamp,
            data_modification_timestamp,
        ))
    }

    fn method_descriptor_link_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsResult<()> {
        let (old_dir, _) = self.fs_descriptor(this.rep)?;
        let new_dir = fs_try!(self.fs_mutable(new_descriptor.rep)?);
        let follow = old_path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(link_at(
            Beneath::new(old_dir.as_fd()),
            &old_path,
            follow,
            Beneath::new(new_dir.as_fd()),
            &new_path,
        ))
    }

    fn method_descriptor_open_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Own<DescriptorRes>> {
        let (dir, dir_flags) = self.fs_descriptor(this.rep)?;
        let mutates = flags.contains(DescriptorFlags::WRITE)
            || flags.contains(DescriptorFlags::MUTATE_DIRECTORY)
            || open_flags.contains(OpenFlags::CREATE)
            || open_flags.contains(OpenFlags::TRUNCATE);
        if mutates && !dir_flags.contains(DescriptorFlags::MUTATE_DIRECTORY) {
            return Ok(Err(ErrorCode::ReadOnly));
        }
        let (oflags, follow) = fs_try!(open_mode(path_flags, open_flags, flags));
        let file = fs_try!(open_at(Beneath::new(dir.as_fd()), &path, follow, oflags));
        // A directory opened under a mutable one may be changed too, as
        // POSIX programs expect (wasi-libc opens subdirectories with
        // `read` alone, then removes entries in them), and as wasmtime
        // does.
        let mut flags = flags;
        if let Ok(st) = fstat(file.as_fd())
            && st.st_mode & libc::S_IFMT == libc::S_IFDIR
            && dir_flags.contains(DescriptorFlags::MUTATE_DIRECTORY)
        {
            flags.bits |= DescriptorFlags::MUTATE_DIRECTORY;
        }
        Ok(Ok(self.fs_new_descriptor(file, flags)?))
    }

    fn method_descriptor_readlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<String> {
        let (dir, _) = self.fs_descriptor(this.rep)?;
        Ok(readlink_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_remove_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(remove_directory_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_rename_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsResult<()> {
        let old_dir = fs_try!(self.fs_mutable(this.rep)?);
        let new_dir = fs_try!(self.fs_mutable(new_descriptor.rep)?);
        Ok(rename_at(
            Beneath::new(old_dir.as_fd()),
            &old_path,
            Beneath::new(new_dir.as_fd()),
            &new_path,
        ))
    }

    fn method_descriptor_symlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(symlink_at(Beneath::new(dir.as_fd()), &old_path, &new_path))
    }

    fn method_descriptor_unlink_file_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsResult<()> {
        let dir = fs_try!(self.fs_mutable(this.rep)?);
        Ok(unlink_file_at(Beneath::new(dir.as_fd()), &path))
    }

    fn method_descriptor_is_same_object(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        other: Borrow<DescriptorRes>,
    ) -> HostResult<bool> {
        let (a, _) = self.fs_descriptor(this.rep)?;
        let (b, _) = self.fs_descriptor(other.rep)?;
        Ok(match (fstat(a.as_fd()), fstat(b.as_fd())) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        })
    }

    fn method_descriptor_metadata_hash(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsResult<MetadataHashValue> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        Ok(fstat(file.as_fd())
            .map(|st| metadata_hash(&st))
            .map_err(Into::into))
    }

    fn method_descriptor_metadata_hash_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        let follow = path_flags.contains(PathFlags::SYMLINK_FOLLOW);
        Ok(self
            .stat_at_again(this.rep, path, follow)?
            .map(|st| metadata_hash(&st)))
    }

    fn method_directory_entry_stream_read_directory_entry(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<EntriesRes>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let entries = self.table.directory_entries(this.rep)?;
        Ok(match entries.entries.pop_front() {
            None => Ok(None),
            Some(Ok((type_, name))) => Ok(Some(DirectoryEntry { type_, name })),
            Some(Err(e)) => Err(e),
        })
    }

    fn filesystem_error_code(
        &mut self,
        _: &mut Cx<'_>,
        err: Borrow<ErrorRes>,
    ) -> HostResult<Option<ErrorCode>> {
        match self.table.get(err.rep)? {
            Object::Error { code, .. } => Ok(*code),
            _ => Err(crate::table::wrong_type(err.rep, "error")),
        }
    }
}

/// The result of `fsync`/`fdatasync` on a descriptor with `flags`: on one
/// not opened for writing, a failure is no failure ("succeeds with no
/// effect").
fn sync_result(result: std::io::Result<()>, flags: DescriptorFlags) -> Result<(), ErrorCode> {
    match result {
        Ok(()) => Ok(()),
        Err(_) if !flags.contains(DescriptorFlags::WRITE) => Ok(()),
        Err(e) => Err(error_code(&e)),
    }
}

impl wasi_filesystem_preopens::Host for WasiHost {
    fn get_directories(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<(Own<DescriptorRes>, String)>> {
        let copies = {
            let preopened = PREOPENED.lock().unwrap_or_else(PoisonError::into_inner);
            preopened
                .iter()
                .map(|(fd, name)| fd.try_clone().map(|fd| (File::from(fd), name.clone())))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| {
                    HostTrap::Message(format!("cannot duplicate a preopened directory: {e}"))
                })?
        };
        copies
            .into_iter()
            .map(|(file, name)| Ok((self.fs_new_descriptor(file, PREOPEN_FLAGS)?, name)))
            .collect()
    }
}
