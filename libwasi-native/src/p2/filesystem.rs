//! `wasi:filesystem` of WASI 0.2: the `Host` traits on the filesystem core
//! ([`crate::fs`]).
//!
//! Each method converts WASI 0.2's types to the core's, calls the core's
//! operation on the [`Descriptor`] its handle names, and converts the
//! result back (an `errno` to the `error-code` the WIT documents for it).

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_filesystem_preopens;
use crate::bindings::wasi_filesystem_types::{
    self, Advice, Datetime, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
    ErrorCode, MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use crate::bindings::wasi_io_error::Error as ErrorRes;
use crate::bindings::wasi_io_streams::{InputStream as InputRes, OutputStream as OutputRes};
use crate::fs::errno::error_code_of_errno;
use crate::fs::types::stat as st;
use crate::fs::{self, Descriptor, Errno, FileType, Flags, FsResult, SetTime, Time};
use crate::p2::io::{InputStream, OutputStream};
use crate::table::Object;

type DescriptorRes = wasi_filesystem_types::Descriptor;
type EntriesRes = wasi_filesystem_types::DirectoryEntryStream;

/// The result of a `wasi:filesystem` call: a trap (a bug in smelt), or the
/// call's value or `error-code`.
type WitResult<T> = HostResult<Result<T, ErrorCode>>;

/// The `error-code` of `errno` value `e`.
pub fn error_code(e: Errno) -> ErrorCode {
    match e.0 {
        libc::EAGAIN => ErrorCode::WouldBlock,
        n => error_code_of_errno!(ErrorCode, n, ErrorCode::Io),
    }
}

/// A core result as a call's result, its value converted by `f`.
fn wit<T, U>(r: FsResult<T>, f: impl FnOnce(T) -> U) -> WitResult<U> {
    Ok(r.map(f).map_err(error_code))
}

/// The `descriptor-type` of a file type.
fn descriptor_type(t: FileType) -> DescriptorType {
    match t {
        FileType::Unknown => DescriptorType::Unknown,
        FileType::BlockDevice => DescriptorType::BlockDevice,
        FileType::CharacterDevice => DescriptorType::CharacterDevice,
        FileType::Directory => DescriptorType::Directory,
        FileType::Fifo => DescriptorType::Fifo,
        FileType::SymbolicLink => DescriptorType::SymbolicLink,
        FileType::RegularFile => DescriptorType::RegularFile,
        FileType::Socket => DescriptorType::Socket,
    }
}

/// A `datetime`; `None` before the epoch (a `datetime` cannot say it).
fn datetime(t: Time) -> Option<Datetime> {
    Some(Datetime {
        seconds: u64::try_from(t.seconds).ok()?,
        nanoseconds: t.nanoseconds,
    })
}

/// The `descriptor-stat` of `s`.
fn descriptor_stat(s: libc::stat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st::file_type(&s)),
        link_count: st::link_count(&s),
        size: st::size(&s),
        data_access_timestamp: datetime(st::accessed(&s)),
        data_modification_timestamp: datetime(st::modified(&s)),
        status_change_timestamp: datetime(st::changed(&s)),
    }
}

fn metadata_hash((lower, upper): (u64, u64)) -> MetadataHashValue {
    MetadataHashValue { lower, upper }
}

/// The core's `SetTime` of a `new-timestamp` (`overflow` past `time_t`).
fn set_time(t: NewTimestamp) -> Result<SetTime, ErrorCode> {
    Ok(match t {
        NewTimestamp::NoChange => SetTime::NoChange,
        NewTimestamp::Now => SetTime::Now,
        NewTimestamp::Timestamp(d) => SetTime::At(Time {
            seconds: i64::try_from(d.seconds).map_err(|_| ErrorCode::Overflow)?,
            nanoseconds: d.nanoseconds,
        }),
    })
}

fn advice(a: Advice) -> fs::Advice {
    match a {
        Advice::Normal => fs::Advice::Normal,
        Advice::Sequential => fs::Advice::Sequential,
        Advice::Random => fs::Advice::Random,
        Advice::WillNeed => fs::Advice::WillNeed,
        Advice::DontNeed => fs::Advice::DontNeed,
        Advice::NoReuse => fs::Advice::NoReuse,
    }
}

fn follow(f: PathFlags) -> bool {
    f.contains(PathFlags::SYMLINK_FOLLOW)
}

/// `?` for an `error-code` inside a `HostResult`.
macro_rules! fs_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        }
    };
}

impl WasiHost {
    fn descriptor(&self, d: &Borrow<DescriptorRes>) -> HostResult<&Descriptor> {
        self.table.resource(d)
    }
}

impl wasi_filesystem_types::Host for WasiHost {
    fn method_descriptor_read_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> WitResult<Own<InputRes>> {
        let d = self.descriptor(&this)?;
        let file = fs_try!(d.file(Flags::READ).map_err(error_code)).clone();
        Ok(Ok(self.table.own(InputStream::File { file, offset })?))
    }

    fn method_descriptor_write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> WitResult<Own<OutputRes>> {
        let d = self.descriptor(&this)?;
        let file = fs_try!(d.file(Flags::WRITE).map_err(error_code)).clone();
        let stream = OutputStream::File {
            file,
            offset: Some(offset),
        };
        Ok(Ok(self.table.own(stream)?))
    }

    fn method_descriptor_append_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<Own<OutputRes>> {
        let file = fs_try!(self.descriptor(&this)?.append().map_err(error_code));
        let stream = OutputStream::File {
            file: file.into(),
            offset: None,
        };
        Ok(Ok(self.table.own(stream)?))
    }

    fn method_descriptor_advise(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
        length: u64,
        a: Advice,
    ) -> WitResult<()> {
        wit(
            self.descriptor(&this)?.advise(offset, length, advice(a)),
            |v| v,
        )
    }

    fn method_descriptor_sync_data(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<()> {
        wit(self.descriptor(&this)?.sync(false), |v| v)
    }

    fn method_descriptor_get_flags(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<DescriptorFlags> {
        let flags = self.descriptor(&this)?.flags;
        Ok(Ok(DescriptorFlags { bits: flags.bits() }))
    }

    fn method_descriptor_get_type(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<DescriptorType> {
        wit(self.descriptor(&this)?.get_type(), descriptor_type)
    }

    fn method_descriptor_set_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        size: u64,
    ) -> WitResult<()> {
        wit(self.descriptor(&this)?.set_size(size), |v| v)
    }

    fn method_descriptor_set_times(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> WitResult<()> {
        let d = self.descriptor(&this)?;
        let atime = fs_try!(set_time(data_access_timestamp));
        let mtime = fs_try!(set_time(data_modification_timestamp));
        wit(d.set_times(atime, mtime), |v| v)
    }

    fn method_descriptor_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        length: u64,
        offset: u64,
    ) -> WitResult<(Vec<u8>, bool)> {
        wit(self.descriptor(&this)?.read(length, offset), |v| v)
    }

    fn method_descriptor_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        buffer: Vec<u8>,
        offset: u64,
    ) -> WitResult<u64> {
        wit(self.descriptor(&this)?.write(&buffer, offset), |v| v)
    }

    fn method_descriptor_read_directory(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<Own<EntriesRes>> {
        let entries = fs_try!(self.descriptor(&this)?.read_directory().map_err(error_code));
        Ok(Ok(self.table.own(entries)?))
    }

    fn method_descriptor_sync(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<()> {
        wit(self.descriptor(&this)?.sync(true), |v| v)
    }

    fn method_descriptor_create_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> WitResult<()> {
        wit(
            self.descriptor(&this)?.create_directory_at(path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_stat(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<DescriptorStat> {
        wit(self.descriptor(&this)?.stat(), descriptor_stat)
    }

    fn method_descriptor_stat_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> WitResult<DescriptorStat> {
        let st = self.stat_at_again(this.rep, path.into_bytes(), follow(path_flags))?;
        wit(st, descriptor_stat)
    }

    fn method_descriptor_set_times_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> WitResult<()> {
        let d = self.descriptor(&this)?;
        // Read-only first, as the WIT says of every change.
        fs_try!(d.mutable().map_err(error_code));
        let atime = fs_try!(set_time(data_access_timestamp));
        let mtime = fs_try!(set_time(data_modification_timestamp));
        wit(
            d.set_times_at(follow(path_flags), path.as_bytes(), atime, mtime),
            |v| v,
        )
    }

    fn method_descriptor_link_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> WitResult<()> {
        let old = self.descriptor(&this)?;
        let new = self.descriptor(&new_descriptor)?;
        wit(
            old.link_at(
                follow(old_path_flags),
                old_path.as_bytes(),
                new,
                new_path.as_bytes(),
            ),
            |v| v,
        )
    }

    fn method_descriptor_open_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> WitResult<Own<DescriptorRes>> {
        let opened = self.descriptor(&this)?.open_at(
            follow(path_flags),
            path.as_bytes(),
            fs::OpenFlags::from_bits(open_flags.bits),
            Flags::from_bits(flags.bits),
        );
        let opened = fs_try!(opened.map_err(error_code));
        Ok(Ok(self.table.own(opened)?))
    }

    fn method_descriptor_readlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> WitResult<String> {
        let target = fs_try!(
            self.descriptor(&this)?
                .readlink_at(path.as_bytes())
                .map_err(error_code)
        );
        Ok(String::from_utf8(target).map_err(|_| ErrorCode::IllegalByteSequence))
    }

    fn method_descriptor_remove_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> WitResult<()> {
        wit(
            self.descriptor(&this)?.remove_directory_at(path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_rename_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> WitResult<()> {
        let old = self.descriptor(&this)?;
        let new = self.descriptor(&new_descriptor)?;
        wit(
            old.rename_at(old_path.as_bytes(), new, new_path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_symlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_path: String,
    ) -> WitResult<()> {
        wit(
            self.descriptor(&this)?
                .symlink_at(old_path.as_bytes(), new_path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_unlink_file_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> WitResult<()> {
        wit(
            self.descriptor(&this)?.unlink_file_at(path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_is_same_object(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        other: Borrow<DescriptorRes>,
    ) -> HostResult<bool> {
        let a = self.descriptor(&this)?;
        let b = self.descriptor(&other)?;
        Ok(a.is_same_object(b))
    }

    fn method_descriptor_metadata_hash(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> WitResult<MetadataHashValue> {
        wit(self.descriptor(&this)?.metadata_hash(), metadata_hash)
    }

    fn method_descriptor_metadata_hash_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> WitResult<MetadataHashValue> {
        let st = self.stat_at_again(this.rep, path.into_bytes(), follow(path_flags))?;
        wit(st, |s| metadata_hash(fs::types::metadata_hash(&s)))
    }

    fn method_directory_entry_stream_read_directory_entry(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<EntriesRes>,
    ) -> WitResult<Option<DirectoryEntry>> {
        let entries = self.table.resource_mut(&this)?;
        Ok(match entries.entries.pop_front() {
            None => Ok(None),
            Some((ty, name)) => match String::from_utf8(name) {
                Ok(name) => Ok(Some(DirectoryEntry {
                    type_: descriptor_type(ty),
                    name,
                })),
                // A name that is not UTF-8: an error in the entry's place.
                Err(_) => Err(ErrorCode::IllegalByteSequence),
            },
        })
    }

    fn filesystem_error_code(
        &mut self,
        _: &mut Cx<'_>,
        err: Borrow<ErrorRes>,
    ) -> HostResult<Option<ErrorCode>> {
        match self.table.get(err.rep)? {
            Object::Error { code, .. } => Ok(code.map(error_code)),
            _ => Err(crate::table::wrong_type(err.rep, "error")),
        }
    }
}

impl wasi_filesystem_preopens::Host for WasiHost {
    fn get_directories(&mut self, _: &mut Cx<'_>) -> HostResult<Vec<(Own<DescriptorRes>, String)>> {
        let preopened = fs::preopens::preopened().map_err(|e| {
            HostTrap::Message(format!("cannot duplicate a preopened directory: {e}"))
        })?;
        preopened
            .into_iter()
            .map(|(d, name)| Ok((self.table.own(d)?, name)))
            .collect()
    }
}
