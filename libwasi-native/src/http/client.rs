//! The HTTP/1.1 client of `wasi:http/outgoing-handler` (WASI 0.2) and
//! `wasi:http/client` (WASI 0.3): one connection per request, over TCP or
//! TLS (rustls, certificates checked against the system's root store, or
//! the file `SSL_CERT_FILE` names).
//!
//! An [`Exchange`] is a state machine that never blocks: the WASI faces
//! call [`Exchange::advance`] when its socket is ready ([`Exchange::
//! interest`] says which descriptor, which events and until when), and
//! read the response head and body as they arrive. Every failure is one of
//! the `error-code` cases both versions define ([`ClientError`]): a name
//! that does not resolve, a refused or timed-out connection, a certificate
//! that does not verify, a response that does not parse or ends early.
//!
//! The request body comes from a [`SharedBody`] that the guest fills
//! (through a WASI 0.2 `output-stream`, or a host sink on a WASI 0.3
//! `stream<u8>`) while the request is sent: with the `content-length` the
//! guest gave, or chunked. The response body is kept until the guest reads
//! it, at most [`MAX_BUFFERED`] bytes ahead of it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::body::SharedBody;
use super::wire::{self, ChunkedDecoder, Field, Framing, ResponseHead};

/// Response body bytes the client reads ahead of the guest, at most.
pub const MAX_BUFFERED: usize = 1 << 20;

/// Largest response head, in bytes.
const MAX_HEAD: usize = 64 << 10;

/// Most fields in a response head.
const MAX_FIELDS: usize = 128;

/// Why an exchange failed, in the terms of `wasi:http`'s `error-code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The name did not resolve.
    DnsError(String),
    /// No address of the name accepts connections.
    ConnectionRefused,
    /// The connection could not be made in time.
    ConnectionTimeout,
    /// The destination is unreachable.
    DestinationUnavailable,
    /// The connection closed or failed in the middle of the exchange.
    ConnectionTerminated,
    /// No response head came in time (`first-byte-timeout`).
    ResponseTimeout,
    /// No body bytes came in time (`between-bytes-timeout`).
    ReadTimeout,
    /// The TLS handshake failed other than by the certificate.
    TlsProtocolError,
    /// The server's certificate does not verify.
    TlsCertificateError,
    /// The server sent a TLS alert.
    TlsAlertReceived(Option<u8>, Option<String>),
    /// The request is not allowed (`--allow-http`), or has no authority.
    RequestDenied,
    /// The request's URI is not usable (no authority, a bad port).
    RequestUriInvalid,
    /// The response head is larger than the limit.
    ResponseHeaderSectionSize,
    /// The response uses a transfer coding the client does not decode.
    ResponseTransferCoding(Option<String>),
    /// The response body ended before its length.
    ResponseIncomplete,
    /// The response does not parse.
    ProtocolError,
    /// Something else.
    Internal(String),
}

impl ClientError {
    fn of_io(e: &std::io::Error) -> ClientError {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => ClientError::ConnectionRefused,
            Some(libc::ETIMEDOUT) => ClientError::ConnectionTimeout,
            Some(libc::ENETUNREACH | libc::EHOSTUNREACH) => ClientError::DestinationUnavailable,
            _ => ClientError::ConnectionTerminated,
        }
    }

    fn of_tls(e: &rustls::Error) -> ClientError {
        match e {
            rustls::Error::InvalidCertificate(_) => ClientError::TlsCertificateError,
            rustls::Error::AlertReceived(a) => {
                ClientError::TlsAlertReceived(Some(u8::from(*a)), Some(format!("{a:?}")))
            }
            _ => ClientError::TlsProtocolError,
        }
    }
}

/// The timeouts of `request-options`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timeouts {
    /// For the connection (and the TLS handshake).
    pub connect: Option<Duration>,
    /// For the response head, from when the request is sent.
    pub first_byte: Option<Duration>,
    /// Between two reads of the response body.
    pub between_bytes: Option<Duration>,
}

/// What to send.
#[derive(Debug)]
pub struct Outgoing {
    /// The method token.
    pub method: String,
    /// Over TLS.
    pub https: bool,
    /// `host[:port]`.
    pub authority: String,
    /// The request target.
    pub path_with_query: String,
    /// The guest's header fields.
    pub headers: Vec<Field>,
    /// The body the guest writes, if any.
    pub body: Option<SharedBody>,
    /// Timeouts.
    pub timeouts: Timeouts,
}

/// Which authorities a program may send requests to (`smelt build
/// --allow-http`): `host` or `host:port`, `*` for any; none by default.
#[derive(Debug, Clone, Default)]
pub struct Allowed(pub Vec<String>);

impl Allowed {
    /// Whether requests to `host:port` may be sent.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.0.iter().any(|a| {
            a == "*"
                || a.eq_ignore_ascii_case(host)
                || a.rsplit_once(':').is_some_and(|(h, p)| {
                    h.trim_start_matches('[')
                        .trim_end_matches(']')
                        .eq_ignore_ascii_case(host)
                        && p.parse::<u16>().is_ok_and(|p| p == port)
                })
        })
    }
}

/// Splits `host[:port]` (with `[v6]` hosts) and applies the default port.
fn host_port(authority: &str, https: bool) -> Result<(String, u16), ClientError> {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default = if https { 443 } else { 80 };
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(ClientError::RequestUriInvalid)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| ClientError::RequestUriInvalid)?,
            None if after.is_empty() => default,
            None => return Err(ClientError::RequestUriInvalid),
        };
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse().map_err(|_| ClientError::RequestUriInvalid)?,
            ),
            None => (authority.to_string(), default),
        }
    };
    if host.is_empty() {
        return Err(ClientError::RequestUriInvalid);
    }
    Ok((host, port))
}

/// The TLS client configuration: the system's root certificates (or
/// `SSL_CERT_FILE`'s), the pure-Rust RustCrypto provider (no C toolchain
/// is needed to build it for any target). Loaded once per process.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ClientError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no root certificates (set SSL_CERT_FILE)".into());
            }
            let provider = Arc::new(rustls_rustcrypto::provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(ClientError::Internal)
}

/// The connection: plain TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(TcpStream, Box<rustls::ClientConnection>),
}

impl Conn {
    fn socket(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) | Conn::Tls(s, _) => s,
        }
    }
}

/// How far the exchange is.
#[derive(Debug)]
enum Phase {
    /// Connecting to `addrs[at]`.
    Connecting {
        addrs: Vec<SocketAddr>,
        at: usize,
        deadline: Option<Instant>,
    },
    /// Sending the request (and reading what comes meanwhile).
    Sending,
    /// Waiting for the response head.
    Head,
    /// Reading the body.
    Body,
    /// Done: the body ended.
    Done,
    /// Failed.
    Failed(ClientError),
}

/// What [`Exchange::read_body`] gives.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyRead {
    /// Bytes of the body.
    Data(Vec<u8>),
    /// None yet.
    Pending,
    /// The body ended ([`Exchange::take_trailers`] has its trailers).
    End,
    /// The exchange failed.
    Failed(ClientError),
}

/// One request and its response, on a connection of its own.
pub struct Exchange {
    phase: Phase,
    conn: Option<Conn>,
    host: String,
    https: bool,
    /// The request head, then body bytes, not written yet.
    out: Vec<u8>,
    head_written: bool,
    /// The request body and how it is framed.
    body: Option<SharedBody>,
    chunked_request: bool,
    request_done: bool,
    /// Whether the request was `HEAD`.
    head_request: bool,
    timeouts: Timeouts,
    /// When the response head or the next body bytes are due.
    read_deadline: Option<Instant>,
    /// Bytes received and not yet parsed.
    input: Vec<u8>,
    response: Option<ResponseHead>,
    framing: Framing,
    /// Body bytes left (with a length).
    left: u64,
    decoder: Option<ChunkedDecoder>,
    /// Decoded body bytes the guest has not read.
    body_in: Vec<u8>,
    trailers: Option<Vec<Field>>,
    eof: bool,
}

impl core::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Exchange")
            .field("phase", &self.phase)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

fn later(d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| Instant::now().checked_add(d))
}

impl Exchange {
    /// Starts sending `request` (resolving its host's name, which may
    /// block for a name that is not numeric), if `allowed`.
    ///
    /// # Errors
    ///
    /// A denied authority, one that does not parse or resolve.
    pub fn start(request: Outgoing, allowed: &Allowed) -> Result<Exchange, ClientError> {
        let (host, port) = host_port(&request.authority, request.https)?;
        if !allowed.allows(&host, port) {
            return Err(ClientError::RequestDenied);
        }
        let addrs: Vec<SocketAddr> = (host.trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()
            .map_err(|e| ClientError::DnsError(e.to_string()))?
            .collect();
        if addrs.is_empty() {
            return Err(ClientError::DnsError(format!("{host} has no address")));
        }
        let length = wire::values(&request.headers, "content-length")
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let chunked = request.body.is_some() && length.is_none();
        let framing = match (&request.body, length) {
            (_, Some(n)) => Framing::Length(n),
            (Some(_), None) => Framing::Chunked,
            (None, None) if matches!(request.method.as_str(), "POST" | "PUT" | "PATCH") => {
                Framing::Length(0)
            }
            (None, None) => Framing::Empty,
        };
        let mut out = Vec::with_capacity(512);
        wire::write_request_head(
            &mut out,
            &request.method,
            if request.path_with_query.is_empty() {
                "/"
            } else {
                &request.path_with_query
            },
            &request.authority,
            &request.headers,
            framing,
        );
        let mut exchange = Exchange {
            phase: Phase::Connecting {
                addrs,
                at: 0,
                deadline: later(request.timeouts.connect),
            },
            conn: None,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            https: request.https,
            out,
            head_written: false,
            request_done: request.body.is_none(),
            body: request.body,
            chunked_request: chunked,
            head_request: request.method.eq_ignore_ascii_case("HEAD"),
            timeouts: request.timeouts,
            read_deadline: None,
            input: Vec::new(),
            response: None,
            framing: Framing::Empty,
            left: 0,
            decoder: None,
            body_in: Vec::new(),
            trailers: None,
            eof: false,
        };
        exchange.connect_next();
        Ok(exchange)
    }

    fn fail(&mut self, e: ClientError) {
        if !matches!(self.phase, Phase::Failed(_) | Phase::Done) {
            self.phase = Phase::Failed(e);
        }
        self.conn = None;
    }

    /// Starts a non-blocking connection to the next address.
    fn connect_next(&mut self) {
        let Phase::Connecting { addrs, at, .. } = &mut self.phase else {
            return;
        };
        let Some(addr) = addrs.get(*at).copied() else {
            return self.fail(ClientError::ConnectionRefused);
        };
        *at += 1;
        let family = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: a new socket.
        let fd = unsafe {
            libc::socket(
                family,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return self.fail(ClientError::Internal(format!("socket: {e}")));
        }
        // SAFETY: owned from here on.
        let stream = unsafe { TcpStream::from_raw_fd(fd) };
        let (storage, len) = sockaddr(addr);
        // SAFETY: a valid address of `len` bytes.
        let rc =
            unsafe { libc::connect(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return self.next_address_or(ClientError::of_io(&e));
            }
        }
        let _ = stream.set_nodelay(true);
        self.conn = Some(Conn::Plain(stream));
    }

    /// Tries the next address, or fails with `e` when none is left.
    fn next_address_or(&mut self, e: ClientError) {
        if let Phase::Connecting { addrs, at, .. } = &self.phase
            && *at < addrs.len()
        {
            self.conn = None;
            return self.connect_next();
        }
        self.fail(e);
    }

    /// Makes all the progress that can be made without blocking.
    pub fn advance(&mut self) {
        loop {
            let before = self.progress_mark();
            self.step();
            if matches!(self.phase, Phase::Failed(_) | Phase::Done)
                || self.progress_mark() == before
            {
                return;
            }
        }
    }

    /// A summary of the state, to tell whether a step moved.
    fn progress_mark(&self) -> (u8, usize, usize, usize, bool) {
        let phase = match self.phase {
            Phase::Connecting { at, .. } => at as u8,
            Phase::Sending => 100,
            Phase::Head => 101,
            Phase::Body => 102,
            Phase::Done => 103,
            Phase::Failed(_) => 104,
        };
        (
            phase,
            self.out.len(),
            self.input.len(),
            self.body_in.len(),
            self.request_done,
        )
    }

    fn step(&mut self) {
        let now = Instant::now();
        match &self.phase {
            Phase::Connecting { deadline, .. } => {
                if deadline.is_some_and(|d| now >= d) {
                    return self.fail(ClientError::ConnectionTimeout);
                }
                let Some(Conn::Plain(s)) = &self.conn else {
                    return;
                };
                if !poll_now(s.as_raw_fd(), libc::POLLOUT) {
                    return;
                }
                match s.take_error() {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => return self.next_address_or(ClientError::of_io(&e)),
                }
                if self.https {
                    let config = match tls_config() {
                        Ok(c) => c,
                        Err(e) => return self.fail(e),
                    };
                    let name = match rustls::pki_types::ServerName::try_from(self.host.clone()) {
                        Ok(n) => n,
                        Err(_) => return self.fail(ClientError::RequestUriInvalid),
                    };
                    let tls = match rustls::ClientConnection::new(config, name) {
                        Ok(t) => t,
                        Err(e) => return self.fail(ClientError::of_tls(&e)),
                    };
                    let Some(Conn::Plain(s)) = self.conn.take() else {
                        unreachable!("connecting")
                    };
                    self.conn = Some(Conn::Tls(s, Box::new(tls)));
                }
                self.phase = Phase::Sending;
            }
            Phase::Sending => {
                self.fill_out();
                self.write_out();
                self.read_in();
                // (`read_in` may have failed the exchange: a TLS alert.)
                if matches!(self.phase, Phase::Sending)
                    && self.request_done
                    && self.out.is_empty()
                    && !self.tls_wants_write()
                {
                    self.phase = Phase::Head;
                    self.read_deadline = later(self.timeouts.first_byte);
                }
                self.parse_in();
            }
            Phase::Head | Phase::Body => {
                if self.read_deadline.is_some_and(|d| now >= d) {
                    let e = if self.response.is_none() {
                        ClientError::ResponseTimeout
                    } else {
                        ClientError::ReadTimeout
                    };
                    return self.fail(e);
                }
                self.write_out();
                if self.body_in.len() < MAX_BUFFERED {
                    self.read_in();
                }
                self.parse_in();
            }
            Phase::Done | Phase::Failed(_) => {}
        }
    }

    /// Moves what the guest wrote of the body into the output, framed.
    fn fill_out(&mut self) {
        let Some(body) = &self.body else {
            self.request_done = true;
            return;
        };
        if self.out.len() >= MAX_BUFFERED {
            return;
        }
        let mut b = body.borrow_mut();
        let bytes = core::mem::take(&mut b.bytes);
        if self.chunked_request {
            wire::write_chunk(&mut self.out, &bytes);
        } else {
            self.out.extend_from_slice(&bytes);
        }
        if b.finished && !self.request_done {
            if self.chunked_request {
                wire::write_chunked_end(&mut self.out, b.trailers.as_deref().unwrap_or_default());
            }
            self.request_done = true;
        }
    }

    fn tls_wants_write(&self) -> bool {
        matches!(&self.conn, Some(Conn::Tls(_, t)) if t.wants_write())
    }

    /// Writes pending output without blocking.
    fn write_out(&mut self) {
        let result = match &mut self.conn {
            None => return,
            Some(Conn::Plain(s)) => write_some(s, &mut self.out),
            Some(Conn::Tls(s, tls)) => {
                if !self.out.is_empty() {
                    let n = tls.writer().write(&self.out).unwrap_or(0);
                    self.out.drain(..n);
                }
                let mut r = Ok(());
                while tls.wants_write() {
                    match tls.write_tls(s) {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                r
            }
        };
        self.head_written = true;
        if let Err(e) = result {
            self.fail(ClientError::of_io(&e));
        }
    }

    /// Reads what has arrived without blocking.
    fn read_in(&mut self) {
        let mut buf = [0u8; 16384];
        loop {
            let n = match &mut self.conn {
                None => return,
                // Enough is buffered ahead of the guest: the socket waits.
                Some(Conn::Plain(_)) if self.input.len() > MAX_BUFFERED => return,
                Some(Conn::Plain(s)) => match s.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return self.fail(ClientError::of_io(&e)),
                },
                Some(Conn::Tls(s, tls)) => {
                    match tls.reader().read(&mut buf) {
                        Ok(n) => n,
                        // All that was decrypted is taken (what rustls holds
                        // would be lost to `poll`, the socket being drained).
                        // The socket waits if enough is buffered ahead.
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if self.input.len() > MAX_BUFFERED {
                                return;
                            }
                            match tls.read_tls(s) {
                                Ok(0) => 0,
                                Ok(_) => {
                                    if let Err(e) = tls.process_new_packets() {
                                        let e = ClientError::of_tls(&e);
                                        // Send the alert the error makes.
                                        let _ = tls.write_tls(s);
                                        return self.fail(e);
                                    }
                                    continue;
                                }
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                                    // The handshake may want to write.
                                    while tls.wants_write() {
                                        if tls.write_tls(s).is_err() {
                                            break;
                                        }
                                    }
                                    return;
                                }
                                Err(e) => return self.fail(ClientError::of_io(&e)),
                            }
                        }
                        // A peer that closes without close_notify.
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                        Err(e) => return self.fail(ClientError::of_io(&e)),
                    }
                }
            };
            if n == 0 {
                self.eof = true;
                return;
            }
            self.input.extend_from_slice(&buf[..n]);
            if self.read_deadline.is_some() {
                self.read_deadline = later(self.timeouts.between_bytes);
            }
        }
    }

    /// Parses the response head and body from what was read.
    fn parse_in(&mut self) {
        if matches!(self.phase, Phase::Failed(_) | Phase::Done) {
            return;
        }
        if self.response.is_none() {
            if self.input.is_empty() {
                if self.eof {
                    self.fail(ClientError::ConnectionTerminated);
                }
                return;
            }
            let (head, n) = match wire::parse_response(&self.input, MAX_HEAD, MAX_FIELDS) {
                Ok(Some(h)) => h,
                Ok(None) if self.eof => return self.fail(ClientError::ProtocolError),
                Ok(None) => return,
                Err(wire::WireError::HeadTooLarge | wire::WireError::TooManyFields) => {
                    return self.fail(ClientError::ResponseHeaderSectionSize);
                }
                Err(_) => return self.fail(ClientError::ProtocolError),
            };
            self.input.drain(..n);
            if (100..200).contains(&head.status) {
                // An interim response: the final one follows.
                return self.parse_in();
            }
            let method = if self.head_request { "HEAD" } else { "GET" };
            self.framing = match wire::response_framing(method, &head) {
                Ok(f) => f,
                Err(wire::WireError::UnsupportedCoding) => {
                    let coding = wire::values(&head.headers, "transfer-encoding")
                        .next()
                        .map(|v| String::from_utf8_lossy(v).into_owned());
                    return self.fail(ClientError::ResponseTransferCoding(coding));
                }
                Err(_) => return self.fail(ClientError::ProtocolError),
            };
            match self.framing {
                Framing::Length(n) => self.left = n,
                Framing::Chunked => self.decoder = Some(ChunkedDecoder::new(MAX_HEAD)),
                Framing::Empty | Framing::UntilClose => {}
            }
            self.response = Some(head);
            self.phase = Phase::Body;
            self.read_deadline = later(self.timeouts.between_bytes);
        }
        match self.framing {
            Framing::Empty => self.finish(),
            Framing::Length(_) => {
                let n = (self.left as usize).min(self.input.len());
                self.body_in.extend(self.input.drain(..n));
                self.left -= n as u64;
                if self.left == 0 {
                    self.finish();
                } else if self.eof {
                    self.fail(ClientError::ResponseIncomplete);
                }
            }
            Framing::Chunked => {
                let decoder = self.decoder.as_mut().expect("a chunked body has a decoder");
                match decoder.decode(&self.input, &mut self.body_in) {
                    Ok(d) => {
                        self.input.drain(..d.consumed);
                        if let Some(t) = d.end {
                            self.trailers = Some(t);
                            self.finish();
                        } else if self.eof {
                            self.fail(ClientError::ResponseIncomplete);
                        }
                    }
                    Err(_) => self.fail(ClientError::ProtocolError),
                }
            }
            Framing::UntilClose => {
                self.body_in.append(&mut self.input);
                if self.eof {
                    self.finish();
                }
            }
        }
    }

    fn finish(&mut self) {
        if matches!(self.phase, Phase::Body) {
            self.phase = Phase::Done;
            self.conn = None;
        }
    }

    /// What the exchange waits for: its socket with `poll` events, and
    /// the instant it gives up; `None` when it waits for nothing (done,
    /// failed, or waiting for the guest to read).
    pub fn interest(&self) -> Option<(RawFd, i16, Option<Instant>)> {
        let conn = self.conn.as_ref()?;
        let fd = conn.socket().as_raw_fd();
        match &self.phase {
            Phase::Connecting { deadline, .. } => Some((fd, libc::POLLOUT, *deadline)),
            Phase::Sending | Phase::Head | Phase::Body => {
                let mut events = 0;
                if !self.out.is_empty() || self.tls_wants_write() {
                    events |= libc::POLLOUT;
                }
                let reading = self.body_in.len() < MAX_BUFFERED;
                if reading {
                    events |= libc::POLLIN;
                }
                if events == 0 {
                    // Waiting for the guest: its body bytes, or its reads.
                    return None;
                }
                Some((fd, events, if reading { self.read_deadline } else { None }))
            }
            Phase::Done | Phase::Failed(_) => None,
        }
    }

    /// Whether the request body is still being written by the guest (the
    /// exchange then also waits for the guest's writes).
    pub fn wants_body(&self) -> bool {
        !self.request_done
    }

    /// The response head, once it came; the error, once it failed.
    pub fn response(&self) -> Result<Option<&ResponseHead>, ClientError> {
        match (&self.phase, &self.response) {
            (_, Some(r)) => Ok(Some(r)),
            (Phase::Failed(e), None) => Err(e.clone()),
            _ => Ok(None),
        }
    }

    /// Takes up to `max` body bytes the guest may read now.
    pub fn read_body(&mut self, max: usize) -> BodyRead {
        if !self.body_in.is_empty() {
            let n = max.min(self.body_in.len());
            let data: Vec<u8> = self.body_in.drain(..n).collect();
            return BodyRead::Data(data);
        }
        match &self.phase {
            Phase::Done => BodyRead::End,
            Phase::Failed(e) => BodyRead::Failed(e.clone()),
            _ => BodyRead::Pending,
        }
    }

    /// Whether [`Exchange::read_body`] has something other than
    /// `Pending` now.
    pub fn body_ready(&self) -> bool {
        !self.body_in.is_empty() || matches!(self.phase, Phase::Done | Phase::Failed(_))
    }

    /// The response's trailers once its body ended (taken: `Some(Ok(None))`
    /// after the first time), its failure if it failed, `None` before.
    pub fn take_trailers(&mut self) -> Option<Result<Option<Vec<Field>>, ClientError>> {
        match &self.phase {
            Phase::Done => Some(Ok(self.trailers.take())),
            Phase::Failed(e) => Some(Err(e.clone())),
            _ => None,
        }
    }
}

/// Writes from the front of `out` without blocking.
fn write_some(s: &mut TcpStream, out: &mut Vec<u8>) -> std::io::Result<()> {
    while !out.is_empty() {
        match s.write(out) {
            Ok(n) => {
                out.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `fd` has `events` now.
fn poll_now(fd: RawFd, events: i16) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// The C socket address of `addr`.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in.
            unsafe { core::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            core::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6.
            unsafe { core::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            core::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(host_port("a.b", false), Ok(("a.b".into(), 80)));
        assert_eq!(host_port("a.b", true), Ok(("a.b".into(), 443)));
        assert_eq!(host_port("u@a.b:81", false), Ok(("a.b".into(), 81)));
        assert_eq!(host_port("[::1]:8080", false), Ok(("::1".into(), 8080)));
        assert_eq!(host_port("[::1]", true), Ok(("::1".into(), 443)));
        assert_eq!(host_port("a:x", false), Err(ClientError::RequestUriInvalid));
        assert_eq!(host_port("", false), Err(ClientError::RequestUriInvalid));
    }

    #[test]
    fn allow_lists_match_hosts_and_ports() {
        let a = Allowed(vec![
            "example.com".into(),
            "127.0.0.1:8080".into(),
            "[::1]:9".into(),
        ]);
        assert!(a.allows("EXAMPLE.com", 443));
        assert!(a.allows("127.0.0.1", 8080));
        assert!(!a.allows("127.0.0.1", 8081));
        assert!(a.allows("::1", 9));
        assert!(!a.allows("other.com", 80));
        assert!(Allowed(vec!["*".into()]).allows("x", 1));
        assert!(!Allowed::default().allows("x", 1));
    }
}
