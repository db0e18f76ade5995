//! `wasi:io` of WASI 0.2: errors, pollables and byte streams, on the I/O
//! core ([`crate::io`]).
//!
//! Output streams write through to the file descriptor (no buffering in
//! the host), so everything a guest wrote is out when the process ends,
//! whatever way it ends. `poll` blocks in [`crate::io::wait`] over the
//! descriptors and the nearest monotonic deadline of the pollables it
//! waits for (an HTTP exchange's included).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Arc;

use smelt_rt::component::host::{Borrow, Cx, GuestBytes, HostResult, HostTrap, Own, ReadBytes};

use crate::WasiHost;
use crate::bindings::wasi_io_error::{self, Error};
use crate::bindings::wasi_io_poll::{self, Pollable as PollableRes};
use crate::bindings::wasi_io_streams::{
    self, InputStream as InputRes, OutputStream as OutputRes, StreamError,
};
use crate::clocks::monotonic_now;
use crate::fs::Errno;
use crate::io::{poll_fds, read_fd, write_fd};
use crate::table::Object;

pub use crate::io::CHUNK;

/// An outgoing HTTP request in progress, shared by the objects that
/// refer to it (its response future, the response's body stream).
pub type SharedExchange = Rc<core::cell::RefCell<crate::http::client::Exchange>>;

/// What a pollable waits for.
#[derive(Clone)]
pub enum Pollable {
    /// Always ready.
    Ready,
    /// Ready once the monotonic clock reaches this instant (ns).
    Deadline(u64),
    /// Ready once the descriptor is readable.
    Readable(i32),
    /// Ready once the exchange has its response head (or failed).
    HttpResponse(SharedExchange),
    /// Ready once the exchange has body bytes for the guest (or ended).
    HttpBody(SharedExchange),
    /// Ready once the descriptor is writable.
    Writable(i32),
    /// Ready as TCP socket `rep`'s operation in progress is
    /// ([`crate::p2::sockets::tcp_readiness`]): a pollable that follows
    /// the socket's state, as `tcp-socket.subscribe`'s must.
    TcpSocket(u32),
}

impl core::fmt::Debug for Pollable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Pollable::Ready => f.write_str("Ready"),
            Pollable::Deadline(t) => write!(f, "Deadline({t})"),
            Pollable::Readable(fd) => write!(f, "Readable({fd})"),
            Pollable::HttpResponse(_) => f.write_str("HttpResponse"),
            Pollable::HttpBody(_) => f.write_str("HttpBody"),
            Pollable::Writable(fd) => write!(f, "Writable({fd})"),
            Pollable::TcpSocket(rep) => write!(f, "TcpSocket({rep})"),
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
    /// The body of a response to an outgoing request, as it arrives.
    Http(SharedExchange),
    /// Bytes the host holds (a request body the server has read).
    Bytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The next byte to read.
        at: usize,
    },
    /// A connected TCP socket.
    Tcp(crate::net::stream::TcpInput),
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
    /// An HTTP body the guest writes (`outgoing-body.write`).
    Body(crate::http::body::SharedBody),
    /// A connected TCP socket.
    Tcp(crate::net::stream::TcpOutput),
}

impl WasiHost {
    /// An `error` resource for a failed operation.
    pub fn error(&mut self, e: std::io::Error) -> HostResult<StreamError> {
        let rep = self.table.push(Object::Error {
            message: e.to_string(),
            code: Some(Errno::of_io(&e)),
            http: None,
            net: None,
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

impl crate::io::Wait for Pollable {
    /// Whether it is ready now (an HTTP exchange makes what progress it
    /// can first).
    fn ready(&self) -> bool {
        match self {
            Pollable::Ready => true,
            Pollable::Deadline(t) => monotonic_now() >= *t,
            Pollable::Readable(fd) => poll_fds(&mut [(*fd, libc::POLLIN)], 0) > 0,
            Pollable::Writable(fd) => poll_fds(&mut [(*fd, libc::POLLOUT)], 0) > 0,
            Pollable::HttpResponse(ex) => {
                let mut ex = ex.borrow_mut();
                ex.advance();
                !matches!(ex.response(), Ok(None))
            }
            Pollable::HttpBody(ex) => {
                let mut ex = ex.borrow_mut();
                ex.advance();
                ex.body_ready()
            }
            // Resolved by `WasiHost::current_pollable` before it gets here.
            Pollable::TcpSocket(_) => true,
        }
    }

    fn interest(&self) -> (Option<(i32, i16)>, Option<u64>) {
        match self {
            Pollable::Ready | Pollable::TcpSocket(_) => (None, None),
            Pollable::Deadline(t) => (None, Some(*t)),
            Pollable::Readable(fd) => (Some((*fd, libc::POLLIN)), None),
            Pollable::Writable(fd) => (Some((*fd, libc::POLLOUT)), None),
            Pollable::HttpResponse(ex) | Pollable::HttpBody(ex) => match ex.borrow().interest() {
                Some((fd, events, deadline)) => {
                    let deadline = deadline.map(|d| {
                        let left = d.saturating_duration_since(std::time::Instant::now());
                        monotonic_now().saturating_add(left.as_nanos().min(u64::MAX as u128) as u64)
                    });
                    (Some((fd, events)), deadline)
                }
                None => (None, None),
            },
        }
    }

    fn direct(&self) -> bool {
        matches!(self, Pollable::Readable(_) | Pollable::Writable(_))
    }
}

/// Whether `p` is ready now.
fn ready(p: &Pollable) -> bool {
    crate::io::Wait::ready(p)
}

/// Blocks until at least one of `ps` is ready; returns the indices of the
/// ready ones, in order. Descriptors are asked once: one `poll(2)` over
/// them answers which are ready now and, when nothing else is, waits for
/// them (until the nearest deadline).
pub fn wait(ps: &[Pollable]) -> Vec<u32> {
    crate::io::wait(ps)
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
        if let InputStream::Tcp(tcp) = self.table.input_stream(rep)? {
            let result = tcp.read(len, blocking);
            return self.tcp_stream_result(result);
        }
        let len = len.min(CHUNK) as usize;
        let result = match self.table.input_stream(rep)? {
            InputStream::Stdin => {
                if len == 0 {
                    return Ok(Ok(Vec::new()));
                }
                if !blocking && !ready(&Pollable::Readable(0)) {
                    return Ok(Ok(Vec::new()));
                }
                read_fd(0, len)
            }
            InputStream::Http(ex) => {
                let ex = ex.clone();
                return self.read_http(&ex, len, blocking);
            }
            InputStream::Bytes { bytes, at } => {
                let n = len.min(bytes.len() - *at);
                let chunk = bytes[*at..*at + n].to_vec();
                *at += n;
                Ok(chunk)
            }
            InputStream::Tcp(_) => unreachable!("handled above"),
            InputStream::File { file, offset } => {
                use std::os::fd::AsRawFd;
                let (fd, at) = (file.as_raw_fd(), *offset as i64);
                let mut buf = Vec::new();
                // SAFETY: `ptr` has room for `n` bytes (`read_into`).
                let read = crate::io::read_into(&mut buf, len, |ptr, n| unsafe {
                    libc::pread(fd, ptr.cast(), n, at)
                });
                match read {
                    Ok(n) => {
                        *offset += n as u64;
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
            OutputStream::Tcp(tcp) => {
                let result = tcp.write(bytes);
                return self.tcp_stream_result(result);
            }
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
            OutputStream::Body(body) => {
                if body.borrow_mut().write(bytes) {
                    Ok(())
                } else {
                    return Ok(Err(StreamError::Closed));
                }
            }
        };
        Ok(match result {
            Ok(()) => Ok(()),
            Err(e) => Err(closed_on_pipe(self, e)?),
        })
    }
}

impl WasiHost {
    /// Reads up to `len` bytes of an HTTP response body: what has arrived,
    /// waiting for some when `blocking`; the end is `closed`, a failure
    /// an `error` whose `http-error-code` says what failed.
    fn read_http(
        &mut self,
        ex: &SharedExchange,
        len: usize,
        blocking: bool,
    ) -> HostResult<Result<Vec<u8>, StreamError>> {
        use crate::http::client::BodyRead;
        loop {
            let read = {
                let mut e = ex.borrow_mut();
                e.advance();
                e.read_body(len)
            };
            return Ok(match read {
                BodyRead::Data(bytes) => Ok(bytes),
                BodyRead::Pending if !blocking || len == 0 => Ok(Vec::new()),
                BodyRead::Pending => {
                    wait(&[Pollable::HttpBody(ex.clone())]);
                    continue;
                }
                BodyRead::End => Err(StreamError::Closed),
                BodyRead::Failed(e) => {
                    let rep = self.table.push(Object::Error {
                        message: format!("{e:?}"),
                        code: None,
                        http: Some(e),
                        net: None,
                    })?;
                    Err(StreamError::LastOperationFailed(Own::new(rep)))
                }
            });
        }
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
        Ok(ready(&self.current_pollable(this.rep)?))
    }

    fn method_pollable_block(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<PollableRes>,
    ) -> HostResult<()> {
        let p = self.current_pollable(this.rep)?;
        wait(&[p]);
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
            .map(|b| self.current_pollable(b.rep))
            .collect::<HostResult<Vec<_>>>()?;
        Ok(wait(&ps))
    }
}

impl wasi_io_streams::Host for WasiHost {
    fn method_input_stream_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<ReadBytes, StreamError>> {
        self.read_list(this.rep, len, false)
    }

    fn method_input_stream_blocking_read(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<InputRes>,
        len: u64,
    ) -> HostResult<Result<ReadBytes, StreamError>> {
        self.read_list(this.rep, len, true)
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
            InputStream::File { .. } | InputStream::Bytes { .. } => Pollable::Ready,
            InputStream::Http(ex) => Pollable::HttpBody(ex.clone()),
            InputStream::Tcp(tcp) => Pollable::Readable(tcp.fd()),
        };
        self.new_pollable(p)
    }

    fn method_output_stream_check_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<u64, StreamError>> {
        if let OutputStream::Tcp(tcp) = self.table.output_stream(this.rep)? {
            let result = tcp.check_write();
            return self.tcp_stream_result(result);
        }
        Ok(Ok(CHUNK))
    }

    fn method_output_stream_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        contents: GuestBytes,
    ) -> HostResult<Result<(), StreamError>> {
        self.write(this.rep, &contents)
    }

    fn method_output_stream_blocking_write_and_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
        contents: GuestBytes,
    ) -> HostResult<Result<(), StreamError>> {
        if let Err(e) = self.write(this.rep, &contents)? {
            return Ok(Err(e));
        }
        self.flush(this.rep, true)
    }

    fn method_output_stream_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<(), StreamError>> {
        self.flush(this.rep, false)
    }

    fn method_output_stream_blocking_flush(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Result<(), StreamError>> {
        self.flush(this.rep, true)
    }

    fn method_output_stream_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutputRes>,
    ) -> HostResult<Own<PollableRes>> {
        let p = match self.table.output_stream(this.rep)? {
            OutputStream::Tcp(tcp) => Pollable::Writable(tcp.fd()),
            _ => Pollable::Ready,
        };
        self.new_pollable(p)
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
        if let Err(e) = self.write(this.rep, &zeroes)? {
            return Ok(Err(e));
        }
        self.flush(this.rep, true)
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
    /// Reads from input stream `rep` into the list a guest gets: a TCP
    /// socket's bytes without a copy in the host.
    fn read_list(
        &mut self,
        rep: u32,
        len: u64,
        blocking: bool,
    ) -> HostResult<Result<ReadBytes, StreamError>> {
        if let InputStream::Tcp(tcp) = self.table.input_stream(rep)? {
            let result = tcp.read_in_place(len, blocking);
            return self.tcp_stream_result(result);
        }
        Ok(self.read(rep, len, blocking)?.map(ReadBytes::Owned))
    }

    /// Flushes output stream `rep` (only a TCP socket's holds bytes back),
    /// waiting for it with `blocking`.
    fn flush(&mut self, rep: u32, blocking: bool) -> HostResult<Result<(), StreamError>> {
        match self.table.output_stream(rep)? {
            OutputStream::Tcp(tcp) => {
                let result = tcp.flush(blocking);
                self.tcp_stream_result(result)
            }
            _ => Ok(Ok(())),
        }
    }

    /// Pollable `rep` as it is now: a TCP socket's follows its state.
    fn current_pollable(&mut self, rep: u32) -> HostResult<Pollable> {
        match self.table.pollable(rep)? {
            Pollable::TcpSocket(socket) => {
                let socket = *socket;
                Ok(crate::p2::sockets::tcp_readiness(self, socket))
            }
            p => Ok(p.clone()),
        }
    }

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
