//! The byte streams of a connected TCP socket as WASI 0.2's
//! `input-stream` and `output-stream` use them: reads that never block
//! (or block on request), and writes that `check-write` budgets.
//!
//! `check-write` budgets the room the socket's send buffer has
//! (`SO_SNDBUF` less `SIOCOUTQ`; while the room last seen, less what was
//! written since, is large, that without asking again), so that a write
//! goes to the OS whole, as `send(2)` would take it: what the guest wrote is then out of the
//! process, sent even if it exits at once. What the OS does not take after
//! all (its accounting differs a little) waits in the stream, and
//! `check-write` answers 0 until it is out (the stream's pollable is ready
//! when the socket has room again). Dropping a stream with bytes still
//! waiting sends them first, blocking as a blocking socket's `send(2)`
//! would have.

use std::cell::Cell;
use std::rc::Rc;

use smelt_rt::component::host::ReadBytes;

use super::error::ErrorCode;
use super::os::{Socket, ready_now, wait_for};

/// How a stream operation failed (WASI 0.2's `stream-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFail {
    /// The stream is closed: the peer shut its side down (read), or the
    /// connection no longer takes data (write).
    Closed,
    /// The operation failed with this error (`last-operation-failed`).
    Failed(ErrorCode),
}

/// Most bytes one read returns and one `check-write` budgets.
pub const CHUNK: usize = 1 << 20;

/// The error of a failed read or write: a broken pipe closes the stream.
fn fail(e: std::io::Error) -> StreamFail {
    match e.raw_os_error() {
        Some(libc::EPIPE) => StreamFail::Closed,
        _ => StreamFail::Failed(ErrorCode::from_io(&e)),
    }
}

/// The receiving half of a connected TCP socket.
#[derive(Debug)]
pub struct TcpInput {
    socket: Rc<Socket>,
    /// Whether the last read emptied the socket (it took fewer bytes than
    /// it had room for), and no read has looked since.
    drained: Rc<Cell<bool>>,
}

impl TcpInput {
    /// The receiving half of `socket`.
    pub fn new(socket: Rc<Socket>) -> TcpInput {
        // What a wait found of another file of the same number is stale.
        crate::io::forget_has_bytes(socket.fd());
        TcpInput {
            socket,
            drained: Rc::new(Cell::new(false)),
        }
    }

    /// The descriptor, to wait for it to become readable.
    pub fn fd(&self) -> i32 {
        self.socket.fd()
    }

    /// Reads up to `len` bytes (at most [`CHUNK`]); with `blocking`, waits
    /// for at least one first. Without, returns none when none are there.
    ///
    /// # Errors
    ///
    /// `Closed` at the end of the stream (the peer shut its side down, or
    /// the guest shut down receiving), `Failed` with `connection-reset` and
    /// the like.
    pub fn read(&self, len: u64, blocking: bool) -> Result<Vec<u8>, StreamFail> {
        let len = (len as usize).min(CHUNK);
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut buf: Vec<u8> = Vec::with_capacity(len);
        loop {
            match self.socket.recv(&mut buf.spare_capacity_mut()[..len]) {
                Ok(0) => return Err(StreamFail::Closed),
                Ok(n) => {
                    // SAFETY: the OS filled the first `n` bytes.
                    unsafe { buf.set_len(n) };
                    return Ok(buf);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !blocking {
                        return Ok(Vec::new());
                    }
                    wait_for(self.socket.fd(), libc::POLLIN);
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }
}

impl TcpInput {
    /// Reads up to `len` bytes (at most [`CHUNK`]) as [`TcpInput::read`]
    /// does, but without a copy in the host: once bytes are known to wait
    /// in the socket, the list the guest gets is allocated for `len` of
    /// them, `recv(2)` writes straight into it, and it is shrunk to what
    /// came ([`ReadBytes::Fill`]).
    ///
    /// Bytes are known to wait when the guest's own wait on the stream's
    /// pollable just found the socket readable and not at its end
    /// ([`crate::io::take_has_bytes`]), or when this read's `poll(2)`
    /// does (one that does not wait, or with `blocking` one that waits).
    /// At the end of the stream or after a failure, what is still queued
    /// is counted (`FIONREAD`) and read the same way, and then a `recv(2)`
    /// into the host reports the end or the failure.
    ///
    /// A read that does not block, right after a read that emptied the
    /// socket (it got fewer bytes than it had room for), returns none
    /// without asking the OS: a guest that waits on the pollable next
    /// (wasi-libc's `recv`) saves a `poll(2)`. Only that one read: the
    /// next asks.
    ///
    /// # Errors
    ///
    /// As [`TcpInput::read`].
    pub fn read_in_place(&self, len: u64, blocking: bool) -> Result<ReadBytes, StreamFail> {
        let len = (len as usize).min(CHUNK);
        if len == 0 {
            return Ok(ReadBytes::Owned(Vec::new()));
        }
        let fd = self.socket.fd();
        let drained = self.drained.replace(false);
        if crate::io::take_has_bytes(fd) {
            return Ok(self.fill(len));
        }
        if drained && !blocking {
            // The last read emptied the socket: bytes that came since are
            // as if they came just after this read looked, and the
            // stream's pollable finds them at once (as an epoll-driven
            // runtime answers from the readiness its last read left).
            // Only once: the read after this one looks.
            return Ok(ReadBytes::Owned(Vec::new()));
        }
        loop {
            match poll_readable(fd, blocking) {
                0 if !blocking => return Ok(ReadBytes::Owned(Vec::new())),
                0 => {}
                libc::POLLIN => return Ok(self.fill(len)),
                _ => {
                    // At its end or failed, perhaps with bytes before that.
                    let queued = self.socket.queued().map_err(fail)?;
                    if queued > 0 {
                        return Ok(self.fill(queued.min(len)));
                    }
                    match self.read(len.min(SMALL) as u64, false) {
                        Ok(bytes) if bytes.is_empty() && blocking => {}
                        r => return r.map(ReadBytes::Owned),
                    }
                }
            }
        }
    }

    /// A list of at most `len` bytes that `recv(2)` writes into the
    /// guest's memory, for a socket known to have bytes waiting.
    fn fill(&self, len: usize) -> ReadBytes {
        let socket = self.socket.clone();
        let drained = self.drained.clone();
        ReadBytes::Fill {
            len,
            fill: Box::new(move |buf: &mut [u8]| {
                // SAFETY: initialized bytes are valid as
                // maybe-uninitialized ones; the OS only writes.
                let buf =
                    unsafe { core::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) };
                // A failure now (a reset since) leaves the list empty;
                // the next read reports it.
                let n = socket.recv(buf).unwrap_or(0);
                drained.set(n > 0 && n < buf.len());
                n
            }),
        }
    }
}

/// What `poll(2)` finds of `fd` asked for `POLLIN | POLLRDHUP`: its
/// `revents`, waiting for one of them (or an error or hang-up) with
/// `wait`; 0 when it found nothing (or was interrupted).
fn poll_readable(fd: i32, wait: bool) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, if wait { -1 } else { 0 }) };
    if n > 0 { p.revents } else { 0 }
}

/// The most bytes [`TcpInput::read_in_place`] reads into the host when the
/// socket had none before its end.
const SMALL: usize = 4096;

/// The sending half of a connected TCP socket.
#[derive(Debug)]
pub struct TcpOutput {
    socket: Rc<Socket>,
    /// Bytes written that the OS has not taken yet.
    pending: Vec<u8>,
    /// How a send failed, reported by the next operation, then `Closed`.
    failed: Option<StreamFail>,
    /// The size of the socket's send buffer (`SO_SNDBUF`), read again now
    /// and then: Linux grows it as the connection goes.
    send_buffer: usize,
    /// Looks at the send queue since `send_buffer` was read.
    checks: u32,
    /// Room the send buffer has at least: what the last look at the send
    /// queue found, less what was written since (the OS only makes room
    /// as the peer acknowledges). While it is large, `check-write`
    /// answers it without a system call.
    known_room: usize,
}

/// Looks at the send queue between two reads of `SO_SNDBUF`.
const RECHECK_SEND_BUFFER: u32 = 64;

/// The least known room `check-write` answers without looking at the
/// send queue again.
const ROOM_WITHOUT_LOOKING: usize = 64 << 10;

impl TcpOutput {
    /// The sending half of `socket`.
    pub fn new(socket: Rc<Socket>) -> TcpOutput {
        TcpOutput {
            socket,
            pending: Vec::new(),
            failed: None,
            send_buffer: 0,
            checks: 0,
            known_room: 0,
        }
    }

    /// The descriptor, to wait for it to become writable.
    pub fn fd(&self) -> i32 {
        self.socket.fd()
    }

    /// The error a send met, once (then the stream is closed).
    fn take_failure(&mut self) -> Result<(), StreamFail> {
        match self.failed {
            None => Ok(()),
            Some(f) => {
                self.failed = Some(StreamFail::Closed);
                Err(f)
            }
        }
    }

    /// Sends what waits, without blocking: returns whether all went.
    fn push(&mut self) -> bool {
        while !self.pending.is_empty() {
            match self.socket.send(&self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    self.pending.clear();
                    self.failed = Some(fail(e));
                }
            }
        }
        true
    }

    /// How many bytes the guest may write now (WIT `check-write`): 0
    /// while earlier bytes wait or the socket has no room, else the room
    /// of its send buffer (at most [`CHUNK`]; at least 4 KiB when the
    /// socket is writable, so that a pollable that is ready always lets a
    /// write through). While the room known from the last look is at
    /// least [`ROOM_WITHOUT_LOOKING`], that is the answer, without a
    /// system call.
    ///
    /// # Errors
    ///
    /// How an earlier send failed, then `Closed`.
    pub fn check_write(&mut self) -> Result<u64, StreamFail> {
        if self.known_room >= ROOM_WITHOUT_LOOKING && self.failed.is_none() {
            return Ok(self.known_room.min(CHUNK) as u64);
        }
        let sent = self.push();
        self.take_failure()?;
        if !sent {
            return Ok(0);
        }
        if self.checks.is_multiple_of(RECHECK_SEND_BUFFER) {
            self.read_send_buffer();
        }
        self.checks = self.checks.wrapping_add(1);
        let unsent = self.socket.unsent().unwrap_or(0);
        let mut room = self.send_buffer.saturating_sub(unsent);
        if room == 0 {
            self.read_send_buffer();
            room = self.send_buffer.saturating_sub(unsent);
        }
        self.known_room = room;
        if room > 0 {
            return Ok(room.min(CHUNK) as u64);
        }
        Ok(if ready_now(self.socket.fd(), libc::POLLOUT) {
            4096
        } else {
            0
        })
    }

    fn read_send_buffer(&mut self) {
        let size = self.socket.get_int(libc::SOL_SOCKET, libc::SO_SNDBUF);
        self.send_buffer = size.unwrap_or(0).max(0) as usize;
        self.checks = 0;
    }

    /// Writes `bytes` (WIT `write`): sent now as far as the OS takes
    /// them, the rest kept for later.
    ///
    /// # Errors
    ///
    /// How an earlier send failed, then `Closed`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StreamFail> {
        self.take_failure()?;
        self.known_room = self.known_room.saturating_sub(bytes.len());
        let mut bytes = bytes;
        if self.pending.is_empty() {
            while !bytes.is_empty() {
                match self.socket.send(bytes) {
                    Ok(n) => bytes = &bytes[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.failed = Some(fail(e));
                        return self.take_failure();
                    }
                }
            }
        }
        if !bytes.is_empty() {
            // The OS took less than the room said: look again next time.
            self.known_room = 0;
            self.pending.extend_from_slice(bytes);
        }
        Ok(())
    }

    /// Sends what waits (WIT `flush`, `blocking-flush`): without
    /// `blocking`, what the OS takes now; with it, all of it, waiting for
    /// room.
    ///
    /// # Errors
    ///
    /// How a send failed, then `Closed`.
    pub fn flush(&mut self, blocking: bool) -> Result<(), StreamFail> {
        while !self.push() && blocking {
            wait_for(self.socket.fd(), libc::POLLOUT);
        }
        self.take_failure()
    }
}

impl Drop for TcpOutput {
    fn drop(&mut self) {
        let _ = self.flush(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    use crate::net::os::Family;

    /// A connected loopback pair: (the accepted end, the connecting end).
    fn pair() -> (Rc<Socket>, Socket) {
        let addr = "127.0.0.1:0".parse().unwrap();
        let listener = Socket::new(Family::V4, true).unwrap();
        listener.bind(&addr).unwrap();
        listener.listen(1).unwrap();
        let client = Socket::new(Family::V4, true).unwrap();
        let _ = client.connect(&listener.local_addr().unwrap());
        wait_for(listener.fd(), libc::POLLIN);
        let (server, _) = listener.accept().unwrap();
        wait_for(client.fd(), libc::POLLOUT);
        (Rc::new(server), client)
    }

    /// Runs a list's fill into a buffer of its length; the bytes written.
    fn filled(r: ReadBytes) -> Vec<u8> {
        match r {
            ReadBytes::Fill { len, fill } => {
                let mut buf = vec![0; len];
                let n = fill(&mut buf);
                buf.truncate(n);
                buf
            }
            ReadBytes::Owned(v) => panic!("read into the host: {v:?}"),
        }
    }

    #[test]
    fn reads_fill_the_guest_list_then_report_the_end() {
        let (server, client) = pair();
        let input = TcpInput::new(server);
        assert!(input.read_in_place(100, false).unwrap().is_empty());
        client.send(b"abc").unwrap();
        // Waits for the bytes; the list has room for all asked.
        let r = input.read_in_place(100, true).unwrap();
        assert_eq!(r.len(), 100);
        assert_eq!(filled(r), b"abc");
        // That read emptied the socket: the next, not blocking, answers
        // none without looking, once; the one after looks.
        client.send(b"de").unwrap();
        wait_for(input.fd(), libc::POLLIN);
        assert!(input.read_in_place(100, false).unwrap().is_empty());
        assert_eq!(filled(input.read_in_place(100, false).unwrap()), b"de");
        // Bytes then the end: the bytes (counted), then `Closed`.
        client.send(b"fgh").unwrap();
        client.shutdown(libc::SHUT_WR).unwrap();
        wait_for(input.fd(), libc::POLLRDHUP);
        let r = input.read_in_place(100, true).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(filled(r), b"fgh");
        assert_eq!(
            input.read_in_place(100, true).unwrap_err(),
            StreamFail::Closed
        );
    }

    #[test]
    fn a_wait_that_found_bytes_is_used_once_and_forgotten_on_recv() {
        let (server, client) = pair();
        let input = TcpInput::new(server.clone());
        client.send(b"xy").unwrap();
        wait_for(input.fd(), libc::POLLIN);
        crate::io::note_has_bytes(input.fd());
        assert!(crate::io::take_has_bytes(input.fd()));
        assert!(!crate::io::take_has_bytes(input.fd()));
        crate::io::note_has_bytes(input.fd());
        let mut buf = [MaybeUninit::uninit(); 1];
        server.recv(&mut buf).unwrap();
        assert!(!crate::io::take_has_bytes(input.fd()));
        // A note for the stream's descriptor lets the read allocate at
        // once, for what is asked.
        crate::io::note_has_bytes(input.fd());
        let r = input.read_in_place(10, false).unwrap();
        assert_eq!(r.len(), 10);
        assert_eq!(filled(r), b"y");
    }
}
