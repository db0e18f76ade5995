//! One worker's event loop: accepting connections, reading and parsing
//! their requests, handing them to the service, and going on with the next
//! request once a response is out (see the module documentation of
//! [`super`] for the limits and what bad input gets).

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::super::wire::{self, ChunkedDecoder, Framing};
use super::reply::{Output, Reply, Stage};
use super::{Limits, Request, Response, Service, StartError, os_error, request_of};

/// The epoll token of the listening socket; connections have their own
/// numbers, from 2.
const LISTENER: u64 = 0;
/// The epoll token of the shutdown eventfd.
const SHUTDOWN_TOKEN: u64 = 1;

/// How often timeouts are checked.
const TICK: Duration = Duration::from_millis(500);

/// Where a connection is in its current request.
enum State {
    /// Reading a request head; `since`: when it started (the first byte
    /// or the connection).
    Head { since: Instant },
    /// Reading the body of `request`, delimited by `framing`.
    Body {
        request: Request,
        framing: BodyFraming,
    },
    /// The service has the request; its response goes out through the
    /// connection's output.
    Answering,
}

enum BodyFraming {
    /// This many bytes left.
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// One connection of a worker.
struct Conn {
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
    state: State,
    /// The socket and what goes out on it, shared with the reply.
    out: Rc<RefCell<Output>>,
    /// Whether the peer finished sending (read returned 0).
    read_closed: bool,
    /// When the last bytes were read (for the body timeout) or the last
    /// response went out (for the idle timeout).
    last_activity: Instant,
}

pub(super) struct Worker<S> {
    epoll: OwnedFd,
    listener: RawFd,
    shutdown: RawFd,
    limits: Limits,
    service: S,
    conns: HashMap<u64, Conn>,
    next_token: u64,
    draining: bool,
    accepting: bool,
    /// Connections whose output finished or failed, for the loop to look
    /// at.
    wake: Rc<RefCell<Vec<u64>>>,
    /// The `date` field, formatted once per second.
    date: (u64, Vec<u8>),
}

fn epoll_ctl(epoll: RawFd, op: i32, fd: RawFd, events: u32, token: u64) -> std::io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: a valid event structure for descriptors of ours.
    if unsafe { libc::epoll_ctl(epoll, op, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Watches the listening socket: `EPOLLEXCLUSIVE` so that one worker
/// wakes per connection, or, where the kernel (or emulator) lacks it,
/// every worker (one accepts).
fn watch_listener(epoll: RawFd, listener: RawFd) -> std::io::Result<()> {
    let exclusive = libc::EPOLLIN as u32 | libc::EPOLLEXCLUSIVE as u32;
    epoll_ctl(epoll, libc::EPOLL_CTL_ADD, listener, exclusive, LISTENER).or_else(|_| {
        epoll_ctl(
            epoll,
            libc::EPOLL_CTL_ADD,
            listener,
            libc::EPOLLIN as u32,
            LISTENER,
        )
    })
}

impl<S: Service> Worker<S> {
    pub(super) fn new(
        listener: RawFd,
        shutdown: RawFd,
        limits: Limits,
        service: S,
    ) -> Result<Self, StartError> {
        // SAFETY: a fresh epoll instance.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(os_error("cannot create an epoll instance"));
        }
        // SAFETY: just created, owned from here on.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        watch_listener(fd, listener)
            .map_err(|e| StartError(format!("cannot watch the listening socket: {e}")))?;
        epoll_ctl(
            fd,
            libc::EPOLL_CTL_ADD,
            shutdown,
            libc::EPOLLIN as u32,
            SHUTDOWN_TOKEN,
        )
        .map_err(|e| StartError(format!("cannot watch for shutdown: {e}")))?;
        Ok(Worker {
            epoll,
            listener,
            shutdown,
            limits,
            service,
            conns: HashMap::new(),
            next_token: 2,
            draining: false,
            accepting: true,
            wake: Rc::new(RefCell::new(Vec::new())),
            date: (0, Vec::new()),
        })
    }

    pub(super) fn run(mut self) -> Result<(), String> {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let mut next_tick = Instant::now() + TICK;
        loop {
            if self.draining && self.conns.is_empty() {
                return Ok(());
            }
            let timeout = if self.service.has_waits() {
                self.service.wait(self.epoll.as_raw_fd(), next_tick);
                0
            } else if self.wake.borrow().is_empty() {
                next_tick
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as i32
            } else {
                0
            };
            // SAFETY: `events` has room for its length.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    timeout,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(format!("epoll_wait: {e}"));
                }
            }
            for ev in &events[..n.max(0) as usize] {
                let (token, flags) = (ev.u64, ev.events);
                match token {
                    LISTENER => self.accept(),
                    SHUTDOWN_TOKEN => self.drain(),
                    _ => self.ready(token, flags),
                }
            }
            loop {
                let woken: Vec<u64> = core::mem::take(&mut *self.wake.borrow_mut());
                if woken.is_empty() {
                    break;
                }
                for token in woken {
                    self.output_done(token);
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                self.expire(now);
            }
        }
    }

    /// Stops accepting, closes idle connections; the rest close once their
    /// response is out.
    fn drain(&mut self) {
        if self.draining {
            return;
        }
        self.draining = true;
        self.stop_accepting();
        let _ = epoll_ctl(
            self.epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            self.shutdown,
            0,
            0,
        );
        let idle: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.state, State::Head { .. }) && c.input.is_empty())
            .map(|(t, _)| *t)
            .collect();
        for t in idle {
            self.close(t);
        }
    }

    fn stop_accepting(&mut self) {
        if self.accepting {
            self.accepting = false;
            let _ = epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                self.listener,
                0,
                0,
            );
        }
    }

    fn accept(&mut self) {
        loop {
            if self.conns.len() >= self.limits.max_connections {
                // Leave the rest in the queue for other workers; watch the
                // listener again once a connection closes.
                self.stop_accepting();
                return;
            }
            // SAFETY: accept4 on our listening socket, without an address.
            let fd = unsafe {
                libc::accept4(
                    self.listener,
                    core::ptr::null_mut(),
                    core::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                // EAGAIN: another worker took it, or none is left; other
                // errors (a connection reset while queued, no descriptors
                // left) are for this connection only.
                return;
            }
            // SAFETY: a new descriptor, owned from here on.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let one: libc::c_int = 1;
            // SAFETY: setting an int option on our socket.
            unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&one as *const libc::c_int).cast(),
                    core::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            let token = self.next_token;
            self.next_token += 1;
            let interest = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
            if epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                interest,
                token,
            )
            .is_err()
            {
                continue;
            }
            let now = Instant::now();
            let out = Output {
                fd: Some(fd),
                epoll: self.epoll.as_raw_fd(),
                token,
                buf: Vec::new(),
                written: 0,
                stage: Stage::Done,
                head_request: false,
                http10: false,
                close: false,
                broken: false,
                want_read: true,
                registered: interest,
                date: Vec::new(),
                wake: self.wake.clone(),
            };
            self.conns.insert(
                token,
                Conn {
                    input: Vec::new(),
                    state: State::Head { since: now },
                    out: Rc::new(RefCell::new(out)),
                    read_closed: false,
                    last_activity: now,
                },
            );
        }
    }

    fn close(&mut self, token: u64) {
        if let Some(conn) = self.conns.remove(&token) {
            let mut out = conn.out.borrow_mut();
            if let Some(fd) = out.fd.take() {
                let _ = epoll_ctl(
                    self.epoll.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    fd.as_raw_fd(),
                    0,
                    0,
                );
            }
            out.buf = Vec::new();
            out.written = 0;
        }
        if !self.accepting && !self.draining && self.conns.len() < self.limits.max_connections {
            self.accepting = watch_listener(self.epoll.as_raw_fd(), self.listener).is_ok();
        }
    }

    /// Times out connections: slow heads get 408, stalled bodies and idle
    /// connections are closed.
    fn expire(&mut self, now: Instant) {
        let mut late = Vec::new();
        for (&token, c) in &self.conns {
            let expired = match &c.state {
                State::Head { since } if c.input.is_empty() => {
                    now.duration_since(c.last_activity.max(*since)) > self.limits.idle_timeout
                }
                State::Head { since } => now.duration_since(*since) > self.limits.head_timeout,
                State::Body { .. } => {
                    now.duration_since(c.last_activity) > self.limits.read_timeout
                }
                // The guest takes its time; a client that stopped reading
                // a response is closed when its writes fail.
                State::Answering => false,
            };
            if expired {
                late.push((
                    token,
                    matches!(c.state, State::Head { .. }) && !c.input.is_empty(),
                ));
            }
        }
        for (token, slow_head) in late {
            if slow_head {
                self.fail(token, 408, "request head timeout");
            } else {
                self.close(token);
            }
        }
    }

    /// Answers a request that cannot be read with `status` and closes the
    /// connection once the answer is out.
    fn fail(&mut self, token: u64, status: u16, why: &str) {
        let date = self.date();
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        c.input.clear();
        c.state = State::Answering;
        {
            let mut out = c.out.borrow_mut();
            out.want_read = false;
            out.stage = Stage::Waiting;
            out.close = true;
            out.head_request = false;
            out.http10 = false;
            out.date = date;
        }
        Reply { out: c.out.clone() }.send(Response::text(status, &format!("{why}\n")));
    }

    /// The `date` field's value (RFC 9110 section 5.6.7), cached for a
    /// second.
    fn date(&mut self) -> Vec<u8> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.date.0 != now || self.date.1.is_empty() {
            self.date = (now, super::http_date(now).into_bytes());
        }
        self.date.1.clone()
    }

    /// Handles readiness of connection `token`.
    fn ready(&mut self, token: u64, flags: u32) {
        let Some(c) = self.conns.get(&token) else {
            return;
        };
        if flags & (libc::EPOLLERR as u32) != 0 {
            self.close(token);
            return;
        }
        if flags & (libc::EPOLLOUT as u32) != 0 {
            c.out.borrow_mut().flush();
        }
        if flags & ((libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP) as u32) != 0
            && !c.read_closed
        {
            self.read(token);
        }
    }

    /// Reads what the peer sent and makes progress with it.
    fn read(&mut self, token: u64) {
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        let mut buf = [0u8; 16384];
        let fd = match &c.out.borrow().fd {
            Some(fd) => fd.as_raw_fd(),
            None => return,
        };
        loop {
            // SAFETY: reading into a local buffer from our socket.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                c.input.extend_from_slice(&buf[..n as usize]);
                c.last_activity = Instant::now();
                if (n as usize) < buf.len() || c.input.len() > self.limits.max_head * 2 {
                    break;
                }
                continue;
            }
            if n == 0 {
                c.read_closed = true;
                break;
            }
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => break,
                _ => {
                    self.close(token);
                    return;
                }
            }
        }
        self.progress(token);
    }

    /// Tells epoll whether the connection reads now: while a request is
    /// with the service, a pipelined one waits in the socket once a head's
    /// worth of it has arrived.
    fn sync_reading(&mut self, token: u64) {
        let Some(c) = self.conns.get(&token) else {
            return;
        };
        let want = !c.read_closed
            && match c.state {
                State::Answering => c.input.len() <= self.limits.max_head,
                _ => true,
            };
        let mut out = c.out.borrow_mut();
        if out.want_read != want {
            out.want_read = want;
            out.sync_interest();
        }
    }

    /// A connection's output finished (or failed): close it, or go on
    /// with its next request.
    fn output_done(&mut self, token: u64) {
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        let (broken, done, close) = {
            let out = c.out.borrow();
            (
                out.broken,
                out.stage == Stage::Done && out.written == out.buf.len(),
                out.close,
            )
        };
        if broken {
            self.close(token);
            return;
        }
        if !done || !matches!(c.state, State::Answering) {
            return;
        }
        if close || self.draining {
            self.close(token);
            return;
        }
        let now = Instant::now();
        c.state = State::Head { since: now };
        c.last_activity = now;
        self.progress(token);
    }

    /// Parses and answers what has arrived, as far as it goes.
    fn progress(&mut self, token: u64) {
        loop {
            let Some(c) = self.conns.get_mut(&token) else {
                return;
            };
            match &mut c.state {
                State::Answering => break,
                State::Head { .. } => {
                    if c.input.is_empty() {
                        if c.read_closed {
                            self.close(token);
                            return;
                        }
                        break;
                    }
                    let parsed =
                        wire::parse_request(&c.input, self.limits.max_head, self.limits.max_fields);
                    let (head, n) = match parsed {
                        Ok(Some(h)) => h,
                        Ok(None) => {
                            if c.read_closed {
                                self.close(token);
                                return;
                            }
                            break;
                        }
                        Err(e) => return self.fail(token, e.status(), &e.to_string()),
                    };
                    c.input.drain(..n);
                    let framing = match wire::request_framing(&head) {
                        Ok(f) => f,
                        Err(e) => return self.fail(token, e.status(), &e.to_string()),
                    };
                    if let Framing::Length(len) = framing
                        && len > self.limits.max_body
                    {
                        return self.fail(token, 413, "the request body is too large");
                    }
                    let expects_continue = wire::has_token(&head.headers, "expect", "100-continue");
                    let request = request_of(head);
                    let framing = match framing {
                        Framing::Empty | Framing::UntilClose => {
                            self.dispatch(token, request);
                            continue;
                        }
                        Framing::Length(n) => BodyFraming::Length(n),
                        Framing::Chunked => {
                            BodyFraming::Chunked(ChunkedDecoder::new(self.limits.max_head))
                        }
                    };
                    if expects_continue && c.input.is_empty() {
                        let mut out = c.out.borrow_mut();
                        out.buf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                        out.flush();
                    }
                    c.state = State::Body { request, framing };
                }
                State::Body { request, framing } => {
                    let done = match framing {
                        BodyFraming::Length(left) => {
                            let n = (*left).min(c.input.len() as u64) as usize;
                            request.body.extend_from_slice(&c.input[..n]);
                            c.input.drain(..n);
                            *left -= n as u64;
                            *left == 0
                        }
                        BodyFraming::Chunked(decoder) => {
                            match decoder.decode(&c.input, &mut request.body) {
                                Ok(d) => {
                                    c.input.drain(..d.consumed);
                                    if let Some(t) = d.end {
                                        request.trailers = Some(t);
                                    }
                                    decoder.done()
                                }
                                Err(e) => {
                                    let status = e.status();
                                    return self.fail(token, status, &e.to_string());
                                }
                            }
                        }
                    };
                    if request.body.len() as u64 > self.limits.max_body {
                        return self.fail(token, 413, "the request body is too large");
                    }
                    if !done {
                        if c.read_closed {
                            // The client went away in the middle of the body.
                            self.close(token);
                            return;
                        }
                        break;
                    }
                    let State::Body { request, .. } =
                        core::mem::replace(&mut c.state, State::Answering)
                    else {
                        unreachable!("in the body state")
                    };
                    self.dispatch(token, request);
                }
            }
        }
        self.sync_reading(token);
    }

    /// Hands a complete request to the service.
    fn dispatch(&mut self, token: u64, request: Request) {
        let date = self.date();
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        c.state = State::Answering;
        {
            let mut out = c.out.borrow_mut();
            out.stage = Stage::Waiting;
            out.head_request = request.method.eq_ignore_ascii_case("HEAD");
            out.http10 = request.minor == 0;
            out.close = c.read_closed
                || self.draining
                || wire::has_token(&request.headers, "connection", "close")
                || (request.minor == 0
                    && !wire::has_token(&request.headers, "connection", "keep-alive"));
            out.date = date;
        }
        let reply = Reply { out: c.out.clone() };
        self.service.call(request, reply);
    }
}
