//! The HTTP/1.1 server of an executable built from a component that
//! exports a `wasi:http` handler.
//!
//! In: the listening address (from `smelt build --addr`, overridden by
//! the executable's own `--addr`), a number of workers, and a [`Service`]
//! per worker that answers requests (the WASI 0.2 or 0.3 face calling the
//! component's handler). Out: a process that listens, prints
//! `Serving HTTP on http://ADDR/` on stderr (the line `wasmtime serve`
//! prints), and answers every request until SIGINT or SIGTERM, after which
//! it stops accepting, finishes the requests in flight and exits 0.
//!
//! Every worker is an OS thread with its own `epoll(7)` event loop, its own
//! connections and its own component instances; the workers share the
//! listening socket (`EPOLLEXCLUSIVE`, so that one worker wakes per new
//! connection). A connection is read and written without blocking; its
//! requests are parsed as they arrive ([`super::wire`]), one at a time,
//! and the next is read once the response to the previous one is out.
//!
//! Bad input gets an answer, never a crash: a head that does not parse is
//! `400`, one past [`Limits::max_head`] or [`Limits::max_fields`] is
//! `431`, an unsupported transfer coding `501`, a body past
//! [`Limits::max_body`] `413`; each closes the connection. A client that
//! sends a head slower than [`Limits::head_timeout`] gets `408`; one that
//! stalls in the middle of a body for [`Limits::read_timeout`] is
//! disconnected; an idle keep-alive connection is closed after
//! [`Limits::idle_timeout`]; a client that disconnects in the middle of a
//! request is forgotten. A worker holds at most
//! [`Limits::max_connections`] connections and leaves further ones in the
//! listen queue (other workers take them).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::wire::{self, ChunkedDecoder, Field, Framing, RequestHead};

/// What the server accepts, and how long it waits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line and fields), in bytes: 64 KiB.
    pub max_head: usize,
    /// Most fields in a request head: 100.
    pub max_fields: usize,
    /// Largest request body, in bytes: 64 MiB.
    pub max_body: u64,
    /// Longest time to receive a request head once its first byte came,
    /// or once the connection opened: 10 s.
    pub head_timeout: Duration,
    /// Longest wait for the next bytes of a request body: 30 s.
    pub read_timeout: Duration,
    /// Longest time a connection may stay open between requests: 60 s.
    pub idle_timeout: Duration,
    /// Most connections one worker holds: 4096.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 << 10,
            max_fields: 100,
            max_body: 64 << 20,
            head_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// A request, read whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method token.
    pub method: String,
    /// The path and query (the request target of the origin form), or the
    /// whole target when it is another form.
    pub path_with_query: String,
    /// The HTTP minor version it came with: 0 or 1.
    pub minor: u8,
    /// The authority, from the `Host` field.
    pub authority: Option<String>,
    /// The header fields, in order.
    pub headers: Vec<Field>,
    /// The body.
    pub body: Vec<u8>,
    /// The trailer fields of a chunked body.
    pub trailers: Option<Vec<Field>>,
}

/// A response, whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<Field>,
    /// The body.
    pub body: Vec<u8>,
    /// Trailer fields (sent with a chunked body).
    pub trailers: Option<Vec<Field>>,
}

impl Response {
    /// A response with `status` and a short text body.
    pub fn text(status: u16, text: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), b"text/plain; charset=utf-8".to_vec())],
            body: text.as_bytes().to_vec(),
            trailers: None,
        }
    }
}

/// What answers the requests of one worker.
pub trait Service {
    /// Answers `request`.
    fn call(&mut self, request: Request) -> Response;
}

/// How the server runs: the listening address, workers, limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Limits.
    pub limits: Limits,
}

/// The descriptor SIGINT and SIGTERM make readable (an `eventfd`), which
/// every worker watches.
static SHUTDOWN: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_shutdown_signal(_: libc::c_int) {
    let fd = SHUTDOWN.load(Ordering::Relaxed);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: write(2) is async-signal-safe; 8 bytes from a local.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

fn os_error(what: &str) -> StartError {
    StartError(format!("{what}: {}", std::io::Error::last_os_error()))
}

/// Opens the listening socket: non-blocking, `SO_REUSEADDR`, backlog 1024.
fn listen(addr: SocketAddr) -> Result<OwnedFd, StartError> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| StartError(format!("cannot listen on {addr}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| StartError(format!("cannot listen on {addr}: {e}")))?;
    let fd = OwnedFd::from(listener);
    // A larger backlog than std's 128, for bursts of connections.
    // SAFETY: a listening socket of ours.
    unsafe { libc::listen(fd.as_raw_fd(), 1024) };
    Ok(fd)
}

/// The address a socket is bound to.
fn local_addr(fd: RawFd) -> Option<SocketAddr> {
    // SAFETY: the descriptor stays open while the borrowed listener lives;
    // `forget` keeps it from being closed here.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    let addr = listener.local_addr().ok();
    core::mem::forget(listener);
    addr
}

/// Runs the server: listens on `config.addr`, prints the line with the
/// address, and serves with one [`Service`] per worker (made by
/// `make_service` on its thread) until SIGINT or SIGTERM. Returns the
/// process's exit status.
///
/// # Errors
///
/// The address cannot be listened on, or a worker cannot start.
pub fn run<S: Service>(
    config: Config,
    make_service: impl Fn() -> Result<S, String> + Sync,
) -> Result<i32, StartError> {
    let listener = listen(config.addr)?;
    // SAFETY: a fresh eventfd; no flags that need checking.
    let shutdown = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if shutdown < 0 {
        return Err(os_error("cannot create an eventfd"));
    }
    SHUTDOWN.store(shutdown, Ordering::Relaxed);
    for signo in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installing a handler that only calls write(2).
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = on_shutdown_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signo, &action, core::ptr::null_mut());
        }
    }
    // A peer that goes away while we write must not kill the process.
    // SAFETY: ignoring SIGPIPE; writes then fail with EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let bound = local_addr(listener.as_raw_fd()).unwrap_or(config.addr);
    eprintln!("Serving HTTP on http://{bound}/");
    let failed = std::sync::Mutex::new(None::<String>);
    std::thread::scope(|scope| {
        for i in 0..config.workers.max(1) {
            let listener = listener.as_raw_fd();
            let limits = &config.limits;
            let make_service = &make_service;
            let failed = &failed;
            let spawned = std::thread::Builder::new()
                .name(format!("smelt-http-{i}"))
                .stack_size(smelt_rt::traps::thread_stack_size())
                .spawn_scoped(scope, move || {
                    smelt_rt::traps::init();
                    let result = make_service().and_then(|service| {
                        Worker::new(listener, shutdown, limits.clone(), service)
                            .map_err(|e| e.0)?
                            .run()
                            .map_err(|e| format!("worker {i}: {e}"))
                    });
                    if let Err(e) = result {
                        *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        on_shutdown_signal(0);
                    }
                });
            if let Err(e) = spawned {
                *failed.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("cannot start a worker thread: {e}"));
                on_shutdown_signal(0);
                break;
            }
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(StartError(e)),
        None => Ok(0),
    }
}

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
    /// Writing a response; then the next request, unless `close`.
    Writing { close: bool },
}

enum BodyFraming {
    /// This many bytes left.
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// One connection of a worker.
struct Conn {
    fd: OwnedFd,
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
    /// Bytes to write, from `written` on.
    output: Vec<u8>,
    written: usize,
    state: State,
    /// Whether the peer finished sending (read returned 0).
    read_closed: bool,
    /// When the last bytes were read (for the body timeout) or the last
    /// response went out (for the idle timeout).
    last_activity: Instant,
    /// Whether epoll is told to report writability.
    wants_write: bool,
}

struct Worker<S> {
    epoll: OwnedFd,
    listener: RawFd,
    shutdown: RawFd,
    limits: Limits,
    service: S,
    conns: HashMap<u64, Conn>,
    next_token: u64,
    draining: bool,
    accepting: bool,
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

impl<S: Service> Worker<S> {
    fn new(
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
        let exclusive = libc::EPOLLIN as u32 | libc::EPOLLEXCLUSIVE as u32;
        epoll_ctl(fd, libc::EPOLL_CTL_ADD, listener, exclusive, LISTENER)
            .or_else(|_| {
                // Kernels (or emulators) without EPOLLEXCLUSIVE: every
                // worker wakes, one accepts.
                epoll_ctl(
                    fd,
                    libc::EPOLL_CTL_ADD,
                    listener,
                    libc::EPOLLIN as u32,
                    LISTENER,
                )
            })
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
            date: (0, Vec::new()),
        })
    }

    fn run(mut self) -> Result<(), String> {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let mut next_tick = Instant::now() + TICK;
        loop {
            if self.draining && self.conns.is_empty() {
                return Ok(());
            }
            let timeout = next_tick
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32;
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
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("epoll_wait: {e}"));
            }
            for ev in &events[..n as usize] {
                let (token, flags) = (ev.u64, ev.events);
                match token {
                    LISTENER => self.accept(),
                    SHUTDOWN_TOKEN => self.drain(),
                    _ => self.ready(token, flags),
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
            if epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                (libc::EPOLLIN | libc::EPOLLRDHUP) as u32,
                token,
            )
            .is_err()
            {
                continue;
            }
            let now = Instant::now();
            self.conns.insert(
                token,
                Conn {
                    fd,
                    input: Vec::new(),
                    output: Vec::new(),
                    written: 0,
                    state: State::Head { since: now },
                    read_closed: false,
                    last_activity: now,
                    wants_write: false,
                },
            );
        }
    }

    fn close(&mut self, token: u64) {
        if let Some(conn) = self.conns.remove(&token) {
            let _ = epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                conn.fd.as_raw_fd(),
                0,
                0,
            );
        }
        if !self.accepting && !self.draining && self.conns.len() < self.limits.max_connections {
            let ok = epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                self.listener,
                libc::EPOLLIN as u32 | libc::EPOLLEXCLUSIVE as u32,
                LISTENER,
            )
            .or_else(|_| {
                epoll_ctl(
                    self.epoll.as_raw_fd(),
                    libc::EPOLL_CTL_ADD,
                    self.listener,
                    libc::EPOLLIN as u32,
                    LISTENER,
                )
            });
            self.accepting = ok.is_ok();
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
                State::Writing { .. } => {
                    now.duration_since(c.last_activity) > self.limits.idle_timeout
                }
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
        let body = format!("{why}\n");
        c.input.clear();
        c.output.truncate(c.written.min(c.output.len()));
        wire::write_response_head(
            &mut c.output,
            status,
            &[("date".into(), date)],
            &[("content-type".into(), b"text/plain; charset=utf-8".to_vec())],
            Framing::Length(body.len() as u64),
            true,
        );
        c.output.extend_from_slice(body.as_bytes());
        c.state = State::Writing { close: true };
        self.flush(token);
    }

    /// The `date` field's value (RFC 9110 section 5.6.7), cached for a
    /// second.
    fn date(&mut self) -> Vec<u8> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.date.0 != now || self.date.1.is_empty() {
            self.date = (now, http_date(now).into_bytes());
        }
        self.date.1.clone()
    }

    /// Handles readiness of connection `token`.
    fn ready(&mut self, token: u64, flags: u32) {
        if !self.conns.contains_key(&token) {
            return;
        }
        if flags & (libc::EPOLLERR as u32) != 0 {
            self.close(token);
            return;
        }
        if flags & (libc::EPOLLOUT as u32) != 0 {
            self.flush(token);
        }
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
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
        // While a response is being written, further input (a pipelined
        // request) waits in the socket, up to a bound.
        let mut buf = [0u8; 16384];
        loop {
            if matches!(c.state, State::Writing { .. }) && c.input.len() > self.limits.max_head {
                break;
            }
            // SAFETY: reading into a local buffer.
            let n = unsafe { libc::read(c.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                c.input.extend_from_slice(&buf[..n as usize]);
                c.last_activity = Instant::now();
                if (n as usize) < buf.len() {
                    break;
                }
                continue;
            }
            if n == 0 {
                c.read_closed = true;
                break;
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => break,
                _ => {
                    self.close(token);
                    return;
                }
            }
        }
        if c.read_closed {
            // Nothing more will come: stop watching for input.
            let events = if c.wants_write {
                libc::EPOLLOUT as u32
            } else {
                0
            };
            let _ = epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_MOD,
                c.fd.as_raw_fd(),
                events,
                token,
            );
        }
        self.progress(token);
    }

    /// Parses and answers what has arrived, as far as it goes.
    fn progress(&mut self, token: u64) {
        loop {
            let Some(c) = self.conns.get_mut(&token) else {
                return;
            };
            match &mut c.state {
                State::Writing { .. } => return,
                State::Head { .. } => {
                    if c.input.is_empty() {
                        if c.read_closed {
                            self.close(token);
                        }
                        return;
                    }
                    let parsed =
                        wire::parse_request(&c.input, self.limits.max_head, self.limits.max_fields);
                    let (head, n) = match parsed {
                        Ok(Some(h)) => h,
                        Ok(None) => {
                            if c.read_closed {
                                self.close(token);
                            }
                            return;
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
                        c.output.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                    c.state = State::Body { request, framing };
                    if !c.output.is_empty() {
                        self.flush(token);
                    }
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
                        }
                        return;
                    }
                    let State::Body { request, .. } =
                        core::mem::replace(&mut c.state, State::Writing { close: false })
                    else {
                        unreachable!("in the body state")
                    };
                    self.dispatch(token, request);
                }
            }
        }
    }

    /// Calls the service with a complete request and queues its response.
    fn dispatch(&mut self, token: u64, request: Request) {
        let close = {
            let Some(c) = self.conns.get(&token) else {
                return;
            };
            c.read_closed
                || self.draining
                || wire::has_token(&request.headers, "connection", "close")
                || (request.minor == 0
                    && !wire::has_token(&request.headers, "connection", "keep-alive"))
        };
        let head = request.method.eq_ignore_ascii_case("HEAD");
        let response = self.service.call(request);
        let date = self.date();
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        let framing = match (&response.trailers, head) {
            (Some(_), false) => Framing::Chunked,
            _ if response.body.is_empty() && !head => Framing::Empty,
            _ => Framing::Length(response.body.len() as u64),
        };
        wire::write_response_head(
            &mut c.output,
            response.status,
            &[("date".into(), date)],
            &response.headers,
            framing,
            close,
        );
        if !head {
            match framing {
                Framing::Chunked => {
                    wire::write_chunk(&mut c.output, &response.body);
                    wire::write_chunked_end(
                        &mut c.output,
                        response.trailers.as_deref().unwrap_or_default(),
                    );
                }
                _ => c.output.extend_from_slice(&response.body),
            }
        }
        c.state = State::Writing { close };
        self.flush(token);
    }

    /// Writes what is pending; once a response is out, goes on with the
    /// next request (or closes).
    fn flush(&mut self, token: u64) {
        let Some(c) = self.conns.get_mut(&token) else {
            return;
        };
        while c.written < c.output.len() {
            let rest = &c.output[c.written..];
            // SAFETY: writing from a live buffer.
            let n = unsafe { libc::write(c.fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
            if n >= 0 {
                c.written += n as usize;
                continue;
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => {
                    if !c.wants_write {
                        c.wants_write = true;
                        let events = if c.read_closed {
                            libc::EPOLLOUT as u32
                        } else {
                            (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLOUT) as u32
                        };
                        let _ = epoll_ctl(
                            self.epoll.as_raw_fd(),
                            libc::EPOLL_CTL_MOD,
                            c.fd.as_raw_fd(),
                            events,
                            token,
                        );
                    }
                    return;
                }
                _ => {
                    self.close(token);
                    return;
                }
            }
        }
        c.output.clear();
        c.written = 0;
        if c.wants_write {
            c.wants_write = false;
            let events = if c.read_closed {
                0
            } else {
                (libc::EPOLLIN | libc::EPOLLRDHUP) as u32
            };
            let _ = epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_MOD,
                c.fd.as_raw_fd(),
                events,
                token,
            );
        }
        if let State::Writing { close } = c.state {
            if close || self.draining {
                self.close(token);
                return;
            }
            let now = Instant::now();
            c.state = State::Head { since: now };
            c.last_activity = now;
            // A pipelined request may be waiting.
            self.progress(token);
        }
    }
}

/// The [`Request`] of a parsed head, without its body.
fn request_of(head: RequestHead) -> Request {
    let authority = wire::values(&head.headers, "host")
        .next()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    Request {
        method: head.method,
        path_with_query: head.target,
        minor: head.minor,
        authority,
        headers: head.headers,
        body: Vec::new(),
        trailers: None,
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for `secs` since the
/// Unix epoch.
pub fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86400;
    let (h, m, s) = ((secs % 86400) / 3600, (secs % 3600) / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {d:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
