//! `wasi:filesystem` of WASI 0.3: the WASI 0.2 host's descriptors and
//! sandbox (`crate::fs`, `openat2` with `RESOLVE_BENEATH`), with
//! WASI 0.3's types and shapes.
//!
//! A WASI 0.3 `descriptor` is the same host object as a WASI 0.2 one
//! ([`crate::table::Object::Descriptor`]); each operation here calls the
//! WASI 0.2 host's and converts the types (they differ only in the
//! `other` cases WASI 0.3 adds and the signed seconds of its `instant`).
//! File contents are `stream<u8>`s straight between the file descriptor
//! and the guest's memory ([`super::stream`]); a directory listing is a
//! `stream<directory-entry>`.

use std::os::fd::AsRawFd;

use smelt_rt::component::host::{
    self, Async, Borrow, Cx, FutureReader, HostResult, Own, StreamReader,
};

use super::stream::{Ended, FdSink, FdSource, OnEnd};
use crate::WasiHost;
use crate::bindings::p3::wasi_clocks_system_clock::Instant;
use crate::bindings::p3::wasi_filesystem_preopens;
use crate::bindings::p3::wasi_filesystem_types::{
    self as t3, Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use crate::bindings::wasi_filesystem_types as t2;

type DescriptorRes = t3::Descriptor;

/// The result of an `async` filesystem call, ready at once.
type FsAsync<T> = HostResult<Async<Result<T, ErrorCode>>>;

/// The outcome of a file's stream.
type Outcome = FutureReader<Result<(), ErrorCode>>;

/// Maps the cases of a WASI 0.2 enum to the WASI 0.3 type's same-named
/// ones.
macro_rules! same_cases {
    ($v:expr, $from:ident => $to:ident, [$($case:ident),* $(,)?] $(, $extra:pat => $e:expr)?) => {
        match $v {
            $($from::$case => $to::$case,)*
            $($extra => $e,)?
        }
    };
}

/// The WASI 0.3 `error-code` of a WASI 0.2 one.
fn error(e: t2::ErrorCode) -> ErrorCode {
    use t2::ErrorCode as E2;
    same_cases!(e, E2 => ErrorCode, [
        Access, Already, BadDescriptor, Busy, Deadlock, Quota, Exist, FileTooLarge,
        IllegalByteSequence, InProgress, Interrupted, Invalid, Io, IsDirectory, Loop,
        TooManyLinks, MessageSize, NameTooLong, NoDevice, NoEntry, NoLock, InsufficientMemory,
        InsufficientSpace, NotDirectory, NotEmpty, NotRecoverable, Unsupported, NoTty,
        NoSuchDevice, Overflow, NotPermitted, Pipe, ReadOnly, InvalidSeek, TextFileBusy,
        CrossDevice,
    ], E2::WouldBlock => ErrorCode::Other(Some("would block".into())))
}

/// The WASI 0.3 `descriptor-type` of a WASI 0.2 one.
fn descriptor_type(t: t2::DescriptorType) -> DescriptorType {
    use t2::DescriptorType as T2;
    same_cases!(t, T2 => DescriptorType, [
        BlockDevice, CharacterDevice, Directory, Fifo, SymbolicLink, RegularFile, Socket,
    ], T2::Unknown => DescriptorType::Other(None))
}

/// A WASI 0.2 `datetime` as a WASI 0.3 `instant`.
fn instant(d: t2::Datetime) -> Instant {
    Instant {
        seconds: d.seconds as i64,
        nanoseconds: d.nanoseconds,
    }
}

/// A WASI 0.3 `new-timestamp` as a WASI 0.2 one (`invalid` before 1970,
/// which WASI 0.2 cannot name).
fn new_timestamp(t: NewTimestamp) -> Result<t2::NewTimestamp, ErrorCode> {
    Ok(match t {
        NewTimestamp::NoChange => t2::NewTimestamp::NoChange,
        NewTimestamp::Now => t2::NewTimestamp::Now,
        NewTimestamp::Timestamp(i) => t2::NewTimestamp::Timestamp(t2::Datetime {
            seconds: u64::try_from(i.seconds).map_err(|_| ErrorCode::Invalid)?,
            nanoseconds: i.nanoseconds,
        }),
    })
}

fn stat(s: t2::DescriptorStat) -> DescriptorStat {
    DescriptorStat {
        type_: descriptor_type(s.type_),
        link_count: s.link_count,
        size: s.size,
        data_access_timestamp: s.data_access_timestamp.map(instant),
        data_modification_timestamp: s.data_modification_timestamp.map(instant),
        status_change_timestamp: s.status_change_timestamp.map(instant),
    }
}

fn hash(h: t2::MetadataHashValue) -> MetadataHashValue {
    MetadataHashValue {
        lower: h.lower,
        upper: h.upper,
    }
}

/// 0.3's path flags as 0.2's (the same bits).
fn path_flags_p2(f: PathFlags) -> t2::PathFlags {
    t2::PathFlags { bits: f.bits }
}

fn borrow(d: &Borrow<DescriptorRes>) -> Borrow<t2::Descriptor> {
    Borrow::new(d.rep)
}

/// A WASI 0.2 result as a ready WASI 0.3 one.
fn ready<A, B>(r: Result<A, t2::ErrorCode>, f: impl FnOnce(A) -> B) -> FsAsync<B> {
    Ok(Async::Ready(r.map(f).map_err(error)))
}

/// `?` for a WASI 0.3 `error-code` inside a `HostResult<Async<..>>`.
macro_rules! fs_try {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok(Async::Ready(Err(e))),
        }
    };
}

/// The future for the outcome of a file's stream, and what resolves it.
fn outcome() -> (Outcome, OnEnd) {
    let (reader, writer) = host::future::<Result<(), ErrorCode>>();
    let on_end: OnEnd = Box::new(move |e: Option<std::io::Error>| {
        writer.resolve(match e {
            None => Ok(()),
            Some(e) => Err(error(crate::fs::error_code(&e))),
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
    /// Makes the host the reader of `data`, writing to descriptor `rep`
    /// (needs `write`) at `offset`, or appending when `None`.
    fn fs_write_stream(
        &mut self,
        rep: u32,
        data: StreamReader<u8>,
        offset: Option<u64>,
    ) -> HostResult<Outcome> {
        let file = match self.fs_file(rep, t2::DescriptorFlags::WRITE)? {
            Ok(f) => f,
            Err(e) => {
                // The guest's writes report the stream dropped.
                let code = error(e);
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
            None => match crate::fs::reopen_for_append(&file) {
                Ok(f) => std::rc::Rc::new(f),
                Err(e) => return failed(error(e)),
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
        let (reader, on_end) = outcome();
        let source = match self.fs_file(this.rep, t2::DescriptorFlags::READ)? {
            Ok(file) => FdSource {
                fd: file.as_raw_fd(),
                offset: Some(offset),
                on_end: Some(on_end),
                owner: Some(file),
            },
            Err(e) => {
                let code = error(e);
                return Ok((StreamReader::from_source(Box::new(Ended)), failed(code)?));
            }
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
        self.fs_write_stream(this.rep, data, Some(offset))
    }

    fn method_descriptor_append_via_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data: StreamReader<u8>,
    ) -> HostResult<Outcome> {
        self.fs_write_stream(this.rep, data, None)
    }

    fn method_descriptor_advise(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        offset: u64,
        length: u64,
        advice: Advice,
    ) -> FsAsync<()> {
        use t2::Advice as A2;
        let advice = same_cases!(advice, Advice => A2, [
            Normal, Sequential, Random, WillNeed, DontNeed, NoReuse,
        ]);
        ready(
            t2::Host::method_descriptor_advise(self, cx, borrow(&this), offset, length, advice)?,
            |v| v,
        )
    }

    fn method_descriptor_sync_data(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_sync_data(self, cx, borrow(&this))?,
            |v| v,
        )
    }

    fn method_descriptor_get_flags(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorFlags> {
        ready(
            t2::Host::method_descriptor_get_flags(self, cx, borrow(&this))?,
            |f| DescriptorFlags { bits: f.bits },
        )
    }

    fn method_descriptor_get_type(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorType> {
        ready(
            t2::Host::method_descriptor_get_type(self, cx, borrow(&this))?,
            descriptor_type,
        )
    }

    fn method_descriptor_set_size(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        size: u64,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_set_size(self, cx, borrow(&this), size)?,
            |v| v,
        )
    }

    fn method_descriptor_set_times(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsAsync<()> {
        let a = fs_try!(new_timestamp(data_access_timestamp));
        let m = fs_try!(new_timestamp(data_modification_timestamp));
        ready(
            t2::Host::method_descriptor_set_times(self, cx, borrow(&this), a, m)?,
            |v| v,
        )
    }

    fn method_descriptor_read_directory(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> HostResult<(StreamReader<DirectoryEntry>, Outcome)> {
        let (file, _) = self.fs_descriptor(this.rep)?;
        let listing = crate::fs::read_directory(std::os::fd::AsFd::as_fd(&*file));
        let entries = match listing {
            Ok(entries) => entries,
            Err(e) => return Ok((StreamReader::from_values(Vec::new()), failed(error(e))?)),
        };
        // The entries up to the first that cannot be listed (a name that
        // is not UTF-8), whose error is the listing's outcome.
        let mut values = Vec::new();
        let mut end = Ok(());
        for entry in entries.entries {
            match entry {
                Ok((ty, name)) => values.push(DirectoryEntry {
                    type_: descriptor_type(ty),
                    name,
                }),
                Err(e) => {
                    end = Err(error(e));
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
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_sync(self, cx, borrow(&this))?,
            |v| v,
        )
    }

    fn method_descriptor_create_directory_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_create_directory_at(self, cx, borrow(&this), path)?,
            |v| v,
        )
    }

    fn method_descriptor_stat(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<DescriptorStat> {
        ready(
            t2::Host::method_descriptor_stat(self, cx, borrow(&this))?,
            stat,
        )
    }

    fn method_descriptor_stat_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsAsync<DescriptorStat> {
        let flags = path_flags_p2(path_flags);
        ready(
            t2::Host::method_descriptor_stat_at(self, cx, borrow(&this), flags, path)?,
            stat,
        )
    }

    fn method_descriptor_set_times_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        data_access_timestamp: NewTimestamp,
        data_modification_timestamp: NewTimestamp,
    ) -> FsAsync<()> {
        let a = fs_try!(new_timestamp(data_access_timestamp));
        let m = fs_try!(new_timestamp(data_modification_timestamp));
        let flags = path_flags_p2(path_flags);
        ready(
            t2::Host::method_descriptor_set_times_at(self, cx, borrow(&this), flags, path, a, m)?,
            |v| v,
        )
    }

    fn method_descriptor_link_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsAsync<()> {
        let flags = path_flags_p2(old_path_flags);
        ready(
            t2::Host::method_descriptor_link_at(
                self,
                cx,
                borrow(&this),
                flags,
                old_path,
                borrow(&new_descriptor),
                new_path,
            )?,
            |v| v,
        )
    }

    fn method_descriptor_open_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsAsync<Own<DescriptorRes>> {
        ready(
            t2::Host::method_descriptor_open_at(
                self,
                cx,
                borrow(&this),
                path_flags_p2(path_flags),
                path,
                t2::OpenFlags {
                    bits: open_flags.bits,
                },
                t2::DescriptorFlags { bits: flags.bits },
            )?,
            |d| Own::new(d.rep),
        )
    }

    fn method_descriptor_readlink_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<String> {
        ready(
            t2::Host::method_descriptor_readlink_at(self, cx, borrow(&this), path)?,
            |v| v,
        )
    }

    fn method_descriptor_remove_directory_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_remove_directory_at(self, cx, borrow(&this), path)?,
            |v| v,
        )
    }

    fn method_descriptor_rename_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_descriptor: Borrow<DescriptorRes>,
        new_path: String,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_rename_at(
                self,
                cx,
                borrow(&this),
                old_path,
                borrow(&new_descriptor),
                new_path,
            )?,
            |v| v,
        )
    }

    fn method_descriptor_symlink_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        old_path: String,
        new_path: String,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_symlink_at(self, cx, borrow(&this), old_path, new_path)?,
            |v| v,
        )
    }

    fn method_descriptor_unlink_file_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path: String,
    ) -> FsAsync<()> {
        ready(
            t2::Host::method_descriptor_unlink_file_at(self, cx, borrow(&this), path)?,
            |v| v,
        )
    }

    fn method_descriptor_is_same_object(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        other: Borrow<DescriptorRes>,
    ) -> HostResult<Async<bool>> {
        Ok(Async::Ready(t2::Host::method_descriptor_is_same_object(
            self,
            cx,
            borrow(&this),
            borrow(&other),
        )?))
    }

    fn method_descriptor_metadata_hash(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
    ) -> FsAsync<MetadataHashValue> {
        ready(
            t2::Host::method_descriptor_metadata_hash(self, cx, borrow(&this))?,
            hash,
        )
    }

    fn method_descriptor_metadata_hash_at(
        &mut self,
        cx: &mut Cx<'_>,
        this: Borrow<DescriptorRes>,
        path_flags: PathFlags,
        path: String,
    ) -> FsAsync<MetadataHashValue> {
        let flags = path_flags_p2(path_flags);
        ready(
            t2::Host::method_descriptor_metadata_hash_at(self, cx, borrow(&this), flags, path)?,
            hash,
        )
    }
}

impl wasi_filesystem_preopens::Host for WasiHost {
    fn get_directories(
        &mut self,
        cx: &mut Cx<'_>,
    ) -> HostResult<Vec<(Own<DescriptorRes>, String)>> {
        Ok(
            crate::bindings::wasi_filesystem_preopens::Host::get_directories(self, cx)?
                .into_iter()
                .map(|(d, name)| (Own::new(d.rep), name))
                .collect(),
        )
    }
}
