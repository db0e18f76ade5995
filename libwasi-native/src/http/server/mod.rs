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

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

mod conn;
mod reply;

pub use reply::{HIGH_WATER, Reply};

use super::wire::{self, Field, RequestHead};

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
    /// Starts answering `request`: the response goes through `reply`, now
    /// or later.
    fn call(&mut self, request: Request, reply: Reply);

    /// Whether the service has work of its own to wait for (a WASI 0.3
    /// instance with tasks and host I/O in progress): then the worker
    /// blocks in [`Service::wait`] rather than in `epoll_wait` alone.
    fn has_waits(&self) -> bool {
        false
    }

    /// Blocks until `epoll` is readable, `deadline` passes, or some of the
    /// service's own work is ready, and does that work.
    fn wait(&mut self, epoll: RawFd, deadline: Instant) {
        let mut p = libc::pollfd {
            fd: epoll,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, ms) };
    }
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

pub(super) extern "C" fn on_shutdown_signal(_: libc::c_int) {
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

pub(super) fn os_error(what: &str) -> StartError {
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
                        conn::Worker::new(listener, shutdown, limits.clone(), service)
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

/// The [`Request`] of a parsed head, without its body.
pub(super) fn request_of(head: RequestHead) -> Request {
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
