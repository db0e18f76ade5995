//! `wasi:io` of WASI 0.2: errors, pollables and byte streams, on the I/O
//! core ([`crate::io`]).
//!
//! Output streams write through to the file descriptor (no buffering in
//! the host), so everything a guest wrote is out when the process ends,
//! whatever way it ends. `poll` blocks in [`crate::io::wait`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_io_error::{self, Error};
use crate::bindings::wasi_io_poll::{self, Pollable as PollableRes};
use crate::bindings::wasi_io_streams::{
    self, InputStream as InputRes, OutputStream as OutputRes, StreamError,
};
use crate::fs::Errno;
use crate::io::{CHUNK, Interest, read_fd, write_fd};
use crate::table::Object;

/// What a pollable waits for.
#[derive(Debug, Clone, Copy)]
pub enum Pollable {
    /// Always ready.
    Ready,
    /// Ready once the monotonic clock reaches this instant (ns).
    Deadline(u64),
    /// Ready once the descriptor is readable.
    Readable(i32),
}

impl Pollable {
    /// What waiting for it waits for.
    pub fn interest(self) -> Interest {
        match self {
            Pollable::Ready => Interest::Ready,
            Pollable::Deadline(t) => Interest::Deadline(t),
            Pollable::Readable(fd) => Interest::Readable(fd),
        }
    }
}

/// An `input-stream`.
#[derive(Debug)]
pub enum InputStream {
    /// The process's standard input (descriptor 0).
    Stdin,
    /// A file, read from `offset` on.
    File {
        /// The file.
        file: Arc<File>,
        /// The next byte to read.
        offset: u64,
    },
}

/// An `output-stream`.
#[derive(Debug)]
pub enum OutputStream {
    /// A descriptor written in order: standard output (1) or error (2).
    Fd(i32),
    /// A file, written at `offset` on, or appended to.
    File {
        /// The file.
        file: Arc<File>,
        /// Where the next write goes; `None` for append mode.
        offset: Option<u64>,
    },
}

impl WasiHost {
    /// An `error` resource for a failed operation.
    pub fn error(&mut self, e: std::io::Error) -> HostResult<StreamError> {
        let rep = self.table.push(Object::Error {
            message: e.to_string(),
            code: Some(Errno::of_io(&e)),
        })?;
        Ok(StreamError::LastOperationFailed(Own::new(rep)))
    }

    fn new_pollable(&mut self, p: Pollable) -> HostResult<Own<PollableRes>> {
        Ok(Own::new(self.table.push(Object::Pollable(p))?))
    }

    /// A new pollable resource.
    pub fn pollable(&mut self, p: Pollable) -> HostResult<Own<PollableRes>> {
        self.new_pollable(p)
    }
}

fn closed_on_pipe(host: &mut WasiHost, e: std::io::Error) -> HostResult<StreamError> {
    if e.raw_os_error() == Some(libc::EPIPE) {
        Ok(StreamError::Closed)
    } else {
        host.error(e)
    }
}

impl WasiHost {
    fn read(
        &mut self,
        rep: u32,
        len: u64,
        blocking: bool,
    ) -> HostResult<Result<Vec<u8>, StreamError>> {
        let len = len.min(CHUNK) as usize;
        let result = match self.table.input_stream(rep)? {
            InputStream::Stdin => {
                if len == 0 {
                    return Ok(Ok(Vec::new()));
                }
                if !blocking && !Interest::Readable(0).ready() {
                    return Ok(Ok(Vec::new()));
                }
                read_fd(0, len)
            }
            InputStream::File { file, offset } => {
                let mut buf = vec![0u8; len];
                match file.read_at(&mut buf, *offset) {
                    Ok(n) => {
                        *offset += n as u64;
                        buf.truncate(n);
                        Ok(buf)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        Ok(match result {
            Ok(bytes) if bytes.is_empty() && len > 0 => Err(StreamError::Closed),
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(self.error(e)?),
        })
    }

    fn write(&mut self, rep: u32, bytes: &[u8]) -> HostResult<Result<(), StreamError>> {
        let result = match self.table.output_stream(rep)? {
            OutputStream::Fd(fd) => write_fd(*fd, bytes),
            OutputStream::File { file, offset } => match offset {
                Some(at) => file
                    .write_all_at(bytes, *at)
                    .map(|()| *at += bytes.len() as u64),
                None => {
                    use std::io::Write;
                    (&**file).write_all(bytes)
                }
            },
        };
        Ok(match result {
            Ok(()) => Ok(()),
            Err(e) => Err(closed_on_pipe(self, e)?),
        })
    }
}

impl wasi_io_error::Host for WasiHost {
    fn method_error_to_debug_string(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<Error>,
    ) -> HostResult<String> {
        match self.table.get(this.rep)? {
            Object::Error { message, .. } => Ok(message.clone()),
            _ => Err(crate::table::wrong_type(this.rep, "error")),
        }
    }
}

impl wasi_io_poll::Host for WasiHost {
    fn method_pollable_ready(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<PollableRes>,
    ) -> HostResult<bool> {
        Ok(self.table.pollable(this.rep)?.interest().ready())
    }

    fn method_pollable_block(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<PollableRes>,
    ) -> HostResult<()> {
        let p = self.table.pollable(this.rep)?.interest();
        crate::io::wait(&[p]);
        Ok(())
    }

    fn poll(&mut self, _: &mut Cx<'_>, list: Vec<Borrow<PollableRes>>) -> HostResult<Vec<u32>> {
        if list.is_empty() {
            return Err(HostTrap::Message(
                "wasi:io/poll#poll: the list of pollables is empty".into(),
            ));
        }
        let ps = list
            .iter()
            .map(|b| Ok(self.table.pollable(b.rep)?.interest()))
            .collect::<HostResult<Vec<_>>>()?;
        Ok(crate::io::wait(&ps))
    }
}

impl wasi_io_streams::Host for WasiHost {
    fn method_input_stream_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<Vec<u8>, StreamError>> {
        self.read(this.rep, len, false)
    }

    fn method_input_stream_blocking_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<Vec<u8>, StreamError>> {
        self.read(this.rep, len, true)
    }

    fn method_input_stream_skip(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<u64, StreamError>> {
        Ok(self.read(this.rep, len, false)?.map(|b| b.len() as u64))
    }

    fn method_input_stream_blocking_skip(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<u64, StreamError>> {
        Ok(self.read(this.rep, len, true)?.map(|b| b.len() as u64))
    }

    fn method_input_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
    ) -> HostResult<Own<PollableRes>> {
        let p = match self.table.input_stream(this.rep)? {
            InputStream::Stdin => Pollable::Readable(0),
            InputStream::File { .. } => Pollable::Ready,
        };
        self.new_pollable(p)
    }

    fn method_output_stream_check_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<u64, StreamError>> {
        self.table.output_stream(this.rep)?;
        Ok(Ok(CHUNK))
    }

    fn method_output_stream_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        contents: Vec<u8>,
    ) -> HostResult<Result<(), StreamError>> {
        self.write(this.rep, &contents)
    }

    fn method_output_stream_blocking_write_and_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        contents: Vec<u8>,
    ) -> HostResult<Result<(), StreamError>> {
        self.write(this.rep, &contents)
    }

    fn method_output_stream_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<(), StreamError>> {
        self.table.output_stream(this.rep)?;
        Ok(Ok(()))
    }

    fn method_output_stream_blocking_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<(), StreamError>> {
        self.table.output_stream(this.rep)?;
        Ok(Ok(()))
    }

    fn method_output_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Own<PollableRes>> {
        self.table.output_stream(this.rep)?;
        self.new_pollable(Pollable::Ready)
    }

    fn method_output_stream_write_zeroes(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        len: u64,
    ) -> HostResult<Result<(), StreamError>> {
        let zeroes = vec![0u8; len.min(CHUNK) as usize];
        self.write(this.rep, &zeroes)
    }

    fn method_output_stream_blocking_write_zeroes_and_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        len: u64,
    ) -> HostResult<Result<(), StreamError>> {
        let zeroes = vec![0u8; len.min(CHUNK) as usize];
        self.write(this.rep, &zeroes)
    }

    fn method_output_stream_splice(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        src: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<u64, StreamError>> {
        self.splice(this.rep, src.rep, len, false)
    }

    fn method_output_stream_blocking_splice(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        src: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<u64, StreamError>> {
        self.splice(this.rep, src.rep, len, true)
    }
}

impl WasiHost {
    fn splice(
        &mut self,
        dst: u32,
        src: u32,
        len: u64,
        blocking: bool,
    ) -> HostResult<Result<u64, StreamError>> {
        let bytes = match self.read(src, len, blocking)? {
            Ok(b) => b,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.write(dst, &bytes)?.map(|()| bytes.len() as u64))
    }
}
