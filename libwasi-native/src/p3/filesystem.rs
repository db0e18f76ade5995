//! `wasi:filesystem` of WASI 0.3: the `Host` traits on the filesystem core
//! ([`crate::fs`]), as WASI 0.2's are.
//!
//! A WASI 0.3 `descriptor` is the same host object as a WASI 0.2 one (a
//! [`Descriptor`]); each method converts WASI 0.3's types to the core's,
//! calls the core's operation, and converts the result, ready at once
//! (`Async::Ready`). File contents are `stream<u8>`s straight between the
//! file descriptor and the guest's memory ([`super::stream`]); a directory
//! listing is a `stream<directory-entry>`.

use std::os::fd::AsRawFd;

use smelt_rt::component::host::{
    self, Async, Borrow, Cx, FutureReader, HostResult, HostTrap, Own, StreamReader,
};

use super::stream::{Ended, FdSink, FdSource, OnEnd};
use crate::WasiHost;
use crate::bindings::p3::wasi_clocks_system_clock::Instant;
use crate::bindings::p3::wasi_filesystem_preopens;
use crate::bindings::p3::wasi_filesystem_types::{
    self as t3, Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use crate::fs::errno::error_code_of_errno;
use crate::fs::types::stat as st;
use crate::fs::{self, Descriptor, Errno, FileType, Flags, FsResult, SetTime, Time};

type DescriptorRes = t3::Descriptor;

/// The result of an `async` filesystem call, ready at once.
type FsAsync<T> = HostResult<Async<Result<T, ErrorCode>>>;

/// The outcome of a file's stream.
type Outcome = FutureReader<Result<(), ErrorCode>>;

/// The `error-code` of `errno` value `e` (`EAGAIN` has no case in WASI
/// 0.3: `other`).
pub fn error_code(e: Errno) -> ErrorCode {
    match e.0 {
        libc::EAGAIN => ErrorCode::Other(Some("would block".into())),
        n => error_code_of_errno!(ErrorCode, n, ErrorCode::Io),
    }
}

/// A core result as a ready call's result, its value converted by `f`.
fn ready<T, U>(r: FsResult<T>, f: impl FnOnce(T) -> U) -> FsAsync<U> {
    Ok(Async::Ready(r.map(f).map_err(error_code)))
}

/// The `descriptor-type` of a file type.
fn descriptor_type(t: FileType) -> DescriptorType {
    match t {
        FileType::Unknown => DescriptorType::Other(None),
        FileType::BlockDevice => DescriptorType::BlockDevice,
        FileType::CharacterDevice => DescriptorType::CharacterDevice,
        FileType::Directory => DescriptorType::Directory,
        FileType::Fifo => DescriptorType::Fifo,
        FileType::SymbolicLink => DescriptorType::SymbolicLink,
        FileType::RegularFile => DescriptorType::RegularFile,
        FileType::Socket => DescriptorType::Socket,
    }
}

fn instant(t: Time) -> Instant {
    Instant {
        seconds: t.seconds,
        nanoseconds: t.nanoseconds,
    }
}

/// The `descriptor-stat` of `s`.
fn descriptor_stat(s: libc::stat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(st::file_type(&s)),
        link_count: st::link_count(&s),
        size: st::size(&s),
        data_access_timestamp: Some(instant(st::accessed(&s))),
        data_modification_timestamp: Some(instant(st::modified(&s))),
        status_change_timestamp: Some(instant(st::changed(&s))),
    }
}

fn metadata_hash((lower, upper): (u64, u64)) -> MetadataHashValue {
    MetadataHashValue { lower, upper }
}

fn set_time(t: NewTimestamp) -> SetTime {
    match t {
        NewTimestamp::NoChange => SetTime::NoChange,
        NewTimestamp::Now => SetTime::Now,
        NewTimestamp::Timestamp(i) => SetTime::At(Time {
            seconds: i.seconds,
            nanoseconds: i.nanoseconds,
        }),
    }
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

/// The future for the outcome of a file's stream, and what resolves it.
fn outcome() -> (Outcome, OnEnd) {
    let (reader, writer) = host::future::<Result<(), ErrorCode>>();
    let on_end: OnEnd = Box::new(move |e: Option<std::io::Error>| {
        writer.resolve(match e {
            None => Ok(()),
            Some(e) => Err(error_code(Errno::of_io(&e))),
        })
    });
    (reader, on_end)
}

/// A future already resolved with `code`.
fn failed(code: ErrorCode) -> HostResult<Outcome> {
    let (reader, writer) = host::future::<Result<(), ErrorCode>>();
    writer.resolve(Err(code))?;
    Ok(reader)
}

impl WasiHost {
    fn descriptor_p3(&self, d: &Borrow<DescriptorRes>) -> HostResult<&Descriptor> {
        self.table.resource(d)
    }

    /// Makes the host the reader of `data`, writing to descriptor `this`
    /// (needs `write`) at `offset`, or appending when `None`.
    fn fs_write_stream(
        &mut self,
        this: &Borrow<DescriptorRes>,
        data: StreamReader<u8>,
        offset: Option<u64>,
    ) -> HostResult<Outcome> {
        let file = match self.descriptor_p3(this)?.file(Flags::WRITE) {
            Ok(f) => f.clone(),
            Err(e) => {
                // The guest's writes report the stream dropped.
                let code = error_code(e);
                let (reader, writer) = host::future::<Result<(), ErrorCode>>();
                data.attach_sink(Box::new(FdSink {
                    fd: -1,
                    offset: None,
                    on_end: Some(Box::new(move |_| writer.resolve(Err(code)))),
                    owner: None,
                }))?;
                return Ok(reader);
            }
        };
        let file = match offset {
            Some(_) => file,
            None => match fs::file::reopen_for_append(&file) {
                Ok(f) => f.into(),
                Err(e) => return failed(error_code(e)),
            },
        };
        let (reader, on_end) = outcome();
        data.attach_sink(Box::new(FdSink {
            fd: file.as_raw_fd(),
            offset,
            on_end: Some(on_end),
            owner: Some(file),
        }))?;
        Ok(reader)
    }
}

impl t3::Host for WasiHost {
    fn method_descriptor_read_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
    ) -> HostResult<(StreamReader<u8>, Outcome)> {
        let file = match self.descriptor_p3(&this)?.file(Flags::READ) {
            Ok(file) => file.clone(),
            Err(e) => {
                let code = error_code(e);
                return Ok((StreamReader::from_source(Box::new(Ended)), failed(code)?));
            }
        };
        let (reader, on_end) = outcome();
        let source = FdSource {
            fd: file.as_raw_fd(),
            offset: Some(offset),
            on_end: Some(on_end),
            owner: Some(file),
        };
        Ok((StreamReader::from_source(Box::new(source)), reader))
    }

    fn method_descriptor_write_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data: StreamReader<u8>,
        offset: u64,
    ) -> HostResult<Outcome> {
        self.fs_write_stream(&this, data, Some(offset))
    }

    fn method_descriptor_append_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data: StreamReader<u8>,
    ) -> HostResult<Outcome> {
        self.fs_write_stream(&this, data, None)
    }

    fn method_descriptor_advise(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
        length: u64,
        a: Advice,
    ) -> FsAsync<()> {
        ready(
            self.descriptor_p3(&this)?.advise(offset, length, advice(a)),
            |v| v,
        )
    }

    fn method_descriptor_sync_data(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<()> {
        ready(self.descriptor_p3(&this)?.sync(false), |v| v)
    }

    fn method_descriptor_get_flags(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorFlags> {
        let flags = self.descriptor_p3(&this)?.flags;
        Ok(Async::Ready(Ok(DescriptorFlags { bits: flags.bits() })))
    }

    fn method_descriptor_get_type(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorType> {
        ready(self.descriptor_p3(&this)?.get_type(), descriptor_type)
    }

    fn method_descriptor_set_size(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        size: u64,
    ) -> FsAsync<()> {
        ready(self.descriptor_p3(&this)?.set_size(size), |v| v)
    }

    fn method_descriptor_set_times(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsAsync<()> {
        let (a, m) = (
            set_time(data_access_timestamp),
            set_time(data_modification_timestamp),
        );
        ready(self.descriptor_p3(&this)?.set_times(a, m), |v| v)
    }

    fn method_descriptor_read_directory(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> HostResult<(StreamReader<DirectoryEntry>, Outcome)> {
        let entries = match self.descriptor_p3(&this)?.read_directory() {
            Ok(entries) => entries,
            Err(e) => {
                let end = failed(error_code(e))?;
                return Ok((StreamReader::from_values(Vec::new()), end));
            }
        };
        // The entries up to the first that cannot be listed (a name that
        // is not UTF-8), whose error is the listing's outcome.
        let mut values = Vec::new();
        let mut end = Ok(());
        for (ty, name) in entries.entries {
            match String::from_utf8(name) {
                Ok(name) => values.push(DirectoryEntry {
                    type_: descriptor_type(ty),
                    name,
                }),
                Err(_) => {
                    end = Err(ErrorCode::IllegalByteSequence);
                    break;
                }
            }
        }
        let (reader, writer) = host::future::<Result<(), ErrorCode>>();
        writer.resolve(end)?;
        Ok((StreamReader::from_values(values), reader))
    }

    fn method_descriptor_sync(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<()> {
        ready(self.descriptor_p3(&this)?.sync(true), |v| v)
    }

    fn method_descriptor_create_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            self.descriptor_p3(&this)?
                .create_directory_at(path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_stat(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorStat> {
        ready(self.descriptor_p3(&this)?.stat(), descriptor_stat)
    }

    fn method_descriptor_stat_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsAsync<DescriptorStat> {
        let st = self.stat_at_again(this.rep, path.into_bytes(), follow(path_flags))?;
        ready(st, descriptor_stat)
    }

    fn method_descriptor_set_times_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsAsync<()> {
        let (a, m) = (
            set_time(data_access_timestamp),
            set_time(data_modification_timestamp),
        );
        ready(
            self.descriptor_p3(&this)?
                .set_times_at(follow(path_flags), path.as_bytes(), a, m),
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
    ) -> FsAsync<()> {
        let old = self.descriptor_p3(&this)?;
        let new = self.descriptor_p3(&new_descriptor)?;
        ready(
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
    ) -> FsAsync<Own<DescriptorRes>> {
        let opened = self.descriptor_p3(&this)?.open_at(
            follow(path_flags),
            path.as_bytes(),
            fs::OpenFlags::from_bits(open_flags.bits),
            Flags::from_bits(flags.bits),
        );
        Ok(Async::Ready(match opened {
            Ok(d) => Ok(self.table.own(d)?),
            Err(e) => Err(error_code(e)),
        }))
    }

    fn method_descriptor_readlink_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<String> {
        let target = self.descriptor_p3(&this)?.readlink_at(path.as_bytes());
        Ok(Async::Ready(match target {
            Ok(t) => String::from_utf8(t).map_err(|_| ErrorCode::IllegalByteSequence),
            Err(e) => Err(error_code(e)),
        }))
    }

    fn method_descriptor_remove_directory_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            self.descriptor_p3(&this)?
                .remove_directory_at(path.as_bytes()),
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
    ) -> FsAsync<()> {
        let old = self.descriptor_p3(&this)?;
        let new = self.descriptor_p3(&new_descriptor)?;
        ready(
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
    ) -> FsAsync<()> {
        ready(
            self.descriptor_p3(&this)?
                .symlink_at(old_path.as_bytes(), new_path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_unlink_file_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            self.descriptor_p3(&this)?.unlink_file_at(path.as_bytes()),
            |v| v,
        )
    }

    fn method_descriptor_is_same_object(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        other: Borrow<DescriptorRes>,
    ) -> HostResult<Async<bool>> {
        let a = self.descriptor_p3(&this)?;
        let b = self.descriptor_p3(&other)?;
        Ok(Async::Ready(a.is_same_object(b)))
    }

    fn method_descriptor_metadata_hash(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<MetadataHashValue> {
        ready(self.descriptor_p3(&this)?.metadata_hash(), metadata_hash)
    }

    fn method_descriptor_metadata_hash_at(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsAsync<MetadataHashValue> {
        let st = self.stat_at_again(this.rep, path.into_bytes(), follow(path_flags))?;
        ready(st, |s| metadata_hash(fs::types::metadata_hash(&s)))
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
