//! Where a response goes: a connection's output, which the worker's event
//! loop and the service (a WASI 0.3 guest writing a body, long after the
//! request came) share.
//!
//! A [`Reply`] writes the response head, then body bytes, then the end
//! (with trailers), into the connection's output buffer and on to its
//! socket without blocking; when the socket is full it keeps up to
//! [`HIGH_WATER`] bytes and refuses more ([`Reply::write`] returns
//! `WouldBlock`), so that a slow client slows the guest down instead of
//! filling memory. A body of unknown length is sent chunked (or, to an
//! HTTP/1.0 client, delimited by closing the connection). When the
//! response is out, or the connection failed, the worker is told (its wake
//! list) and goes on with the connection's next request, or closes it.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;

use super::super::wire::{self, Field, Framing};
use super::Response;

/// Output a connection keeps before a writer is told to wait.
pub const HIGH_WATER: usize = 256 << 10;

/// How far the response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// No head yet.
    Waiting,
    /// The head is out; the body goes with this framing (`left`: bytes
    /// the announced length still expects).
    Body { chunked: bool, left: Option<u64> },
    /// The response is complete (once the buffer is written).
    Done,
}

/// A connection's output.
#[derive(Debug)]
pub(super) struct Output {
    /// The socket, until the connection closes.
    pub fd: Option<OwnedFd>,
    /// The worker's epoll instance and the connection's token in it.
    pub epoll: RawFd,
    pub token: u64,
    /// Bytes to write, from `written` on.
    pub buf: Vec<u8>,
    pub written: usize,
    pub stage: Stage,
    /// Whether the request was `HEAD` (no body bytes go out).
    pub head_request: bool,
    /// Whether the request was HTTP/1.0 (no chunked coding).
    pub http10: bool,
    /// Whether the connection closes after the response.
    pub close: bool,
    /// Whether a write failed (the peer is gone).
    pub broken: bool,
    /// Whether the worker wants to read from the socket.
    pub want_read: bool,
    /// The epoll interest registered now.
    pub registered: u32,
    /// The `date` field of the response.
    pub date: Vec<u8>,
    /// The tokens of connections whose output the worker must look at.
    pub wake: Rc<RefCell<Vec<u64>>>,
}

impl Output {
    /// Tells epoll what the connection waits for now.
    pub fn sync_interest(&mut self) {
        let Some(fd) = &self.fd else { return };
        let mut events = 0;
        if self.want_read {
            events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if self.written < self.buf.len() {
            events |= libc::EPOLLOUT as u32;
        }
        if events != self.registered {
            let mut ev = libc::epoll_event {
                events,
                u64: self.token,
            };
            // SAFETY: a valid event for a descriptor registered before.
            unsafe { libc::epoll_ctl(self.epoll, libc::EPOLL_CTL_MOD, fd.as_raw_fd(), &mut ev) };
            self.registered = events;
        }
    }

    /// Writes what the buffer holds without blocking.
    pub fn flush(&mut self) {
        let Some(fd) = &self.fd else {
            self.buf.clear();
            self.written = 0;
            return;
        };
        while self.written < self.buf.len() {
            let rest = &self.buf[self.written..];
            // SAFETY: writing from a live buffer to our socket.
            let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
            if n >= 0 {
                self.written += n as usize;
                continue;
            }
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => break,
                _ => {
                    self.broken = true;
                    self.wake.borrow_mut().push(self.token);
                    break;
                }
            }
        }
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
            if self.stage == Stage::Done {
                self.wake.borrow_mut().push(self.token);
            }
        }
        self.sync_interest();
    }

    fn pending(&self) -> usize {
        self.buf.len() - self.written
    }
}

/// The way to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub(super) out: Rc<RefCell<Output>>,
}

impl Reply {
    /// Sends a whole response.
    pub fn send(&self, response: Response) {
        let Response {
            status,
            headers,
            body,
            trailers,
        } = response;
        let length = if trailers.is_some() {
            None
        } else {
            Some(body.len() as u64)
        };
        self.start(status, &headers, length);
        if !body.is_empty() {
            let _ = self.write_all(&body);
        }
        self.finish(trailers);
    }

    /// Writes `bytes` whole, past the high-water mark (a response the
    /// host holds whole anyway).
    fn write_all(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = self.out.borrow_mut();
        Self::body_bytes(&mut out, bytes)?;
        out.flush();
        Ok(())
    }

    /// Sends the head: `status`, the server's and the guest's `headers`
    /// (hop-by-hop ones left out), and the framing of a body of `length`
    /// bytes (`None`: unknown, streamed). A second call does nothing.
    pub fn start(&self, status: u16, headers: &[Field], length: Option<u64>) {
        let mut out = self.out.borrow_mut();
        if out.stage != Stage::Waiting {
            return;
        }
        let no_body = (100..200).contains(&status) || status == 204 || status == 304;
        let (framing, stage) = match length {
            _ if no_body => (
                Framing::Empty,
                Stage::Body {
                    chunked: false,
                    left: Some(0),
                },
            ),
            Some(0) if !out.head_request => (
                Framing::Empty,
                Stage::Body {
                    chunked: false,
                    left: Some(0),
                },
            ),
            Some(n) => (
                Framing::Length(n),
                Stage::Body {
                    chunked: false,
                    left: Some(n),
                },
            ),
            None if out.http10 => {
                out.close = true;
                (
                    Framing::UntilClose,
                    Stage::Body {
                        chunked: false,
                        left: None,
                    },
                )
            }
            None => (
                Framing::Chunked,
                Stage::Body {
                    chunked: true,
                    left: None,
                },
            ),
        };
        let date = core::mem::take(&mut out.date);
        let close = out.close;
        let head_request = out.head_request;
        let mut head = Vec::with_capacity(256);
        wire::write_response_head(
            &mut head,
            status,
            &[("date".into(), date)],
            headers,
            if head_request && matches!(framing, Framing::Chunked | Framing::UntilClose) {
                Framing::UntilClose
            } else {
                framing
            },
            close,
        );
        out.buf.extend_from_slice(&head);
        out.stage = stage;
        if head_request || no_body {
            out.stage = Stage::Body {
                chunked: false,
                left: Some(0),
            };
        }
    }

    fn body_bytes(out: &mut Output, bytes: &[u8]) -> std::io::Result<usize> {
        if out.fd.is_none() || out.broken {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let Stage::Body { chunked, left } = out.stage else {
            return Err(std::io::ErrorKind::InvalidInput.into());
        };
        if out.head_request {
            return Ok(bytes.len());
        }
        let bytes = match left {
            // Past the announced length: the connection must close after
            // the body, which is cut there.
            Some(left) if (bytes.len() as u64) > left => {
                out.close = true;
                &bytes[..left as usize]
            }
            _ => bytes,
        };
        if chunked {
            wire::write_chunk(&mut out.buf, bytes);
        } else {
            out.buf.extend_from_slice(bytes);
        }
        if let Some(left) = left {
            out.stage = Stage::Body {
                chunked,
                left: Some(left - bytes.len() as u64),
            };
        }
        Ok(bytes.len())
    }

    /// Sends body bytes; returns how many it took: all, unless the
    /// connection already holds [`HIGH_WATER`] bytes it cannot write yet
    /// (`WouldBlock`: wait for [`Reply::fd`] to become writable).
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above; `BrokenPipe` when the connection is gone;
    /// `InvalidInput` before the head or after the end.
    pub fn write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut out = self.out.borrow_mut();
        if out.pending() >= HIGH_WATER {
            out.flush();
            if out.broken {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            if out.pending() >= HIGH_WATER {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
        }
        let n = Self::body_bytes(&mut out, bytes)?;
        out.flush();
        Ok(n)
    }

    /// The connection's socket, to wait for it to take more
    /// ([`Reply::write`]'s `WouldBlock`); `None` once it is closed.
    pub fn fd(&self) -> Option<RawFd> {
        self.out.borrow().fd.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Ends the body, with `trailers` (sent only with a chunked body).
    /// A body shorter than its announced length closes the connection
    /// after it.
    pub fn finish(&self, trailers: Option<Vec<Field>>) {
        let mut out = self.out.borrow_mut();
        match out.stage {
            Stage::Body { chunked, left } => {
                if chunked && !out.head_request {
                    wire::write_chunked_end(&mut out.buf, trailers.as_deref().unwrap_or_default());
                }
                if matches!(left, Some(l) if l > 0) || left.is_none() && !chunked {
                    out.close = true;
                }
                out.stage = Stage::Done;
                out.flush();
            }
            Stage::Waiting | Stage::Done => {}
        }
    }

    /// Gives up on the response: before the head, answers `500`; after
    /// it, closes the connection once what was written is out (the
    /// client sees a truncated response).
    pub fn fail(&self) {
        let waiting = self.out.borrow().stage == Stage::Waiting;
        if waiting {
            self.send(Response::text(500, "internal server error\n"));
        } else {
            let mut out = self.out.borrow_mut();
            out.close = true;
            out.stage = Stage::Done;
            out.flush();
        }
    }

    /// Whether `a` and `b` answer the same request.
    pub fn same(a: &Reply, b: &Reply) -> bool {
        Rc::ptr_eq(&a.out, &b.out)
    }

    /// Whether the client is gone (nothing written now reaches it).
    pub fn gone(&self) -> bool {
        let out = self.out.borrow();
        out.fd.is_none() || out.broken
    }
}
