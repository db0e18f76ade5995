//! HTTP/1.1 on the wire (RFC 9112): request and response heads, message
//! body framing, chunked transfer coding.
//!
//! Heads are parsed by `httparse`; this module decides what they mean for
//! the message that follows (RFC 9112 section 6.3, "Message Body Length"),
//! decodes chunked bodies with their trailers (section 7.1), and writes
//! heads and chunks. It is shared by the server (requests in, responses
//! out) and the client (requests out, responses in); it does no I/O.

use std::fmt::Write as _;

/// A field: its name as received or given, and its value's bytes.
pub type Field = (String, Vec<u8>);

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token (`GET`).
    pub method: String,
    /// The request target (`/path?query`, or an absolute URI).
    pub target: String,
    /// The HTTP minor version: 0 or 1.
    pub minor: u8,
    /// The header fields, in order.
    pub headers: Vec<Field>,
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The HTTP minor version: 0 or 1.
    pub minor: u8,
    /// The header fields, in order.
    pub headers: Vec<Field>,
}

/// How the body of a message is delimited (RFC 9112 section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Until the connection closes (a response only).
    UntilClose,
}

/// Why a message cannot be read. Each is a client error with a status
/// code, for a request ([`WireError::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The head is longer than the limit.
    HeadTooLarge,
    /// The head has more fields than the limit.
    TooManyFields,
    /// The head does not parse.
    MalformedHead,
    /// `Content-Length` is not a number, or appears twice with different
    /// values, or together with `Transfer-Encoding`.
    BadLength,
    /// A transfer coding other than a final `chunked`.
    UnsupportedCoding,
    /// A chunk size line, chunk end or trailer section that does not
    /// parse.
    MalformedChunk,
    /// The trailer section is longer than the limit.
    TrailersTooLarge,
    /// An HTTP/1.1 request without exactly one `Host` field.
    MissingHost,
    /// An HTTP version other than 1.0 and 1.1.
    Version,
}

impl WireError {
    /// The status code a server answers a request with this error with.
    pub fn status(self) -> u16 {
        match self {
            WireError::HeadTooLarge | WireError::TooManyFields => 431,
            WireError::UnsupportedCoding => 501,
            WireError::Version => 505,
            WireError::TrailersTooLarge => 431,
            _ => 400,
        }
    }
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WireError::HeadTooLarge => "the message head is too large",
            WireError::TooManyFields => "the message head has too many fields",
            WireError::MalformedHead => "the message head is malformed",
            WireError::BadLength => "the Content-Length is invalid",
            WireError::UnsupportedCoding => "the transfer coding is not supported",
            WireError::MalformedChunk => "the chunked body is malformed",
            WireError::TrailersTooLarge => "the trailer section is too large",
            WireError::MissingHost => "the request has no single Host field",
            WireError::Version => "the HTTP version is not supported",
        })
    }
}

fn fields(headers: &[httparse::Header<'_>]) -> Vec<Field> {
    headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

fn parse_error(e: httparse::Error) -> WireError {
    match e {
        httparse::Error::TooManyHeaders => WireError::TooManyFields,
        httparse::Error::Version => WireError::Version,
        _ => WireError::MalformedHead,
    }
}

/// Parses a request head at the start of `buf`: `Ok(None)` when more bytes
/// are needed, else the head and its length in bytes. `max_head` bounds
/// the head's length, `max_fields` its number of fields.
///
/// # Errors
///
/// A malformed or oversized head.
pub fn parse_request(
    buf: &[u8],
    max_head: usize,
    max_fields: usize,
) -> Result<Option<(RequestHead, usize)>, WireError> {
    let mut storage = vec![httparse::EMPTY_HEADER; max_fields];
    let mut req = httparse::Request::new(&mut storage);
    match req.parse(buf).map_err(parse_error)? {
        httparse::Status::Partial => {
            if buf.len() > max_head {
                Err(WireError::HeadTooLarge)
            } else {
                Ok(None)
            }
        }
        httparse::Status::Complete(n) => {
            if n > max_head {
                return Err(WireError::HeadTooLarge);
            }
            let head = RequestHead {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                minor: req.version.unwrap_or(1),
                headers: fields(req.headers),
            };
            Ok(Some((head, n)))
        }
    }
}

/// Parses a response head at the start of `buf`, as [`parse_request`]
/// does. Interim (1xx) responses are returned like final ones.
///
/// # Errors
///
/// A malformed or oversized head.
pub fn parse_response(
    buf: &[u8],
    max_head: usize,
    max_fields: usize,
) -> Result<Option<(ResponseHead, usize)>, WireError> {
    let mut storage = vec![httparse::EMPTY_HEADER; max_fields];
    let mut resp = httparse::Response::new(&mut storage);
    match resp.parse(buf).map_err(parse_error)? {
        httparse::Status::Partial => {
            if buf.len() > max_head {
                Err(WireError::HeadTooLarge)
            } else {
                Ok(None)
            }
        }
        httparse::Status::Complete(n) => {
            if n > max_head {
                return Err(WireError::HeadTooLarge);
            }
            let head = ResponseHead {
                status: resp.code.unwrap_or(0),
                minor: resp.version.unwrap_or(1),
                headers: fields(resp.headers),
            };
            Ok(Some((head, n)))
        }
    }
}

/// The values of the fields called `name` (case-insensitively), in order.
pub fn values<'a>(headers: &'a [Field], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// Whether a comma-separated list field `name` holds `token`
/// (case-insensitively), as `Connection: keep-alive, Upgrade`.
pub fn has_token(headers: &[Field], name: &str, token: &str) -> bool {
    values(headers, name).any(|v| {
        v.split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// The framing that `Transfer-Encoding` and `Content-Length` give a
/// message (RFC 9112 section 6.3, items 3 to 5); `None` when neither is
/// present.
fn declared_framing(headers: &[Field]) -> Result<Option<Framing>, WireError> {
    let mut codings = values(headers, "transfer-encoding").peekable();
    if codings.peek().is_some() {
        // Any Content-Length alongside is an error a server must refuse
        // (RFC 9112 section 6.3 item 3: "ought to be handled as an error").
        if values(headers, "content-length").next().is_some() {
            return Err(WireError::BadLength);
        }
        let all: Vec<&[u8]> = codings
            .flat_map(|v| v.split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|t| !t.is_empty())
            .collect();
        return match all.as_slice() {
            [only] if only.eq_ignore_ascii_case(b"chunked") => Ok(Some(Framing::Chunked)),
            _ => Err(WireError::UnsupportedCoding),
        };
    }
    let mut length: Option<u64> = None;
    for v in values(headers, "content-length") {
        // A list of identical values is accepted (section 6.3 item 5).
        for part in v.split(|&b| b == b',') {
            let part = part.trim_ascii();
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) || part.len() > 19 {
                return Err(WireError::BadLength);
            }
            let n: u64 = std::str::from_utf8(part)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(WireError::BadLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(WireError::BadLength);
            }
            length = Some(n);
        }
    }
    Ok(length.map(|n| {
        if n == 0 {
            Framing::Empty
        } else {
            Framing::Length(n)
        }
    }))
}

/// How the body of request `head` is delimited, after checking what a
/// server must: the version, a single `Host` field in HTTP/1.1.
///
/// # Errors
///
/// What makes the request unreadable ([`WireError::status`] says how to
/// answer).
pub fn request_framing(head: &RequestHead) -> Result<Framing, WireError> {
    if head.minor > 1 {
        return Err(WireError::Version);
    }
    if head.minor == 1 && values(&head.headers, "host").count() != 1 {
        return Err(WireError::MissingHost);
    }
    Ok(declared_framing(&head.headers)?.unwrap_or(Framing::Empty))
}

/// How the body of a response to a `method` request with `head` is
/// delimited (RFC 9112 section 6.3, items 1 and 2, then the fields, then
/// the connection's end).
///
/// # Errors
///
/// Invalid `Content-Length` or `Transfer-Encoding` fields.
pub fn response_framing(method: &str, head: &ResponseHead) -> Result<Framing, WireError> {
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&head.status)
        || head.status == 204
        || head.status == 304
    {
        return Ok(Framing::Empty);
    }
    Ok(declared_framing(&head.headers)?.unwrap_or(Framing::UntilClose))
}

/// Decodes a chunked body (RFC 9112 section 7.1) fed to it in pieces.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// The trailer section read so far.
    trailer_bytes: Vec<u8>,
    max_trailers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line.
    Size,
    /// Reading chunk data: this many bytes left.
    Data(u64),
    /// Reading the CRLF after chunk data.
    DataEnd,
    /// Reading the trailer section.
    Trailers,
    /// Done.
    Done,
}

/// What [`ChunkedDecoder::decode`] did with its input.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input consumed.
    pub consumed: usize,
    /// The trailer fields, once the body has ended.
    pub end: Option<Vec<Field>>,
}

impl ChunkedDecoder {
    /// A decoder whose trailer section may hold up to `max_trailers`
    /// bytes.
    pub fn new(max_trailers: usize) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            trailer_bytes: Vec::new(),
            max_trailers,
        }
    }

    /// Whether the body has ended.
    pub fn done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes what it can of `input`, appending chunk data to `out`.
    /// Input it does not consume (an incomplete size line) must be given
    /// again, with more after it.
    ///
    /// # Errors
    ///
    /// A malformed chunk or trailer section.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Decoded, WireError> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.state {
                ChunkState::Done => {
                    return Ok(Decoded {
                        consumed: at,
                        end: None,
                    });
                }
                ChunkState::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        at += n;
                        self.state = if size == 0 {
                            ChunkState::Trailers
                        } else {
                            ChunkState::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) => {
                        // A size line is short; a long partial one is not
                        // a chunk size.
                        if rest.len() > 1024 {
                            return Err(WireError::MalformedChunk);
                        }
                        return Ok(Decoded {
                            consumed: at,
                            end: None,
                        });
                    }
                    Err(_) => return Err(WireError::MalformedChunk),
                },
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(Decoded {
                            consumed: at,
                            end: None,
                        });
                    }
                    let n = (left.min(rest.len() as u64)) as usize;
                    out.extend_from_slice(&rest[..n]);
                    at += n;
                    self.state = if n as u64 == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - n as u64)
                    };
                }
                ChunkState::DataEnd => {
                    if rest.len() < 2 {
                        return Ok(Decoded {
                            consumed: at,
                            end: None,
                        });
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(WireError::MalformedChunk);
                    }
                    at += 2;
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    // The trailer section ends with an empty line; with no
                    // trailers it is just that line.
                    self.trailer_bytes.extend_from_slice(rest);
                    at = input.len();
                    let t = &self.trailer_bytes;
                    let end = if t.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        t.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
                    };
                    let Some(end) = end else {
                        if t.len() > self.max_trailers {
                            return Err(WireError::TrailersTooLarge);
                        }
                        return Ok(Decoded {
                            consumed: at,
                            end: None,
                        });
                    };
                    if end > self.max_trailers + 2 {
                        return Err(WireError::TrailersTooLarge);
                    }
                    let unused = t.len() - end;
                    let mut storage = vec![httparse::EMPTY_HEADER; 64];
                    let trailers = match httparse::parse_headers(&t[..end], &mut storage) {
                        Ok(httparse::Status::Complete((_, h))) => fields(h),
                        _ => return Err(WireError::MalformedChunk),
                    };
                    self.state = ChunkState::Done;
                    self.trailer_bytes = Vec::new();
                    return Ok(Decoded {
                        consumed: at - unused,
                        end: Some(trailers),
                    });
                }
            }
        }
    }
}

/// The reason phrase of a status code (RFC 9110 section 15), or `""`.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Fields that describe the connection or the framing, which the server
/// and the client write themselves and never copy from a guest's message.
pub fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

fn push_fields(out: &mut Vec<u8>, fields: &[Field]) {
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends a response head to `out`: the status line, `extra` fields the
/// server adds (`date`), the guest's fields except hop-by-hop ones, and
/// the framing fields of `framing` (`Framing::Length` for a `HEAD`
/// response announces the length a `GET` would have had).
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    extra: &[Field],
    fields: &[Field],
    framing: Framing,
    close: bool,
) {
    let _ = write!(Line(out), "HTTP/1.1 {status} {}\r\n", reason(status));
    push_fields(out, extra);
    for (name, value) in fields {
        if is_hop_by_hop(name) {
            continue;
        }
        push_fields(out, &[(name.clone(), value.clone())]);
    }
    match framing {
        Framing::Length(n) => {
            let _ = write!(Line(out), "content-length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty => {
            if !(100..200).contains(&status) && status != 204 && status != 304 {
                out.extend_from_slice(b"content-length: 0\r\n");
            }
        }
        Framing::UntilClose => {}
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a request head to `out`: request line, the guest's fields
/// except hop-by-hop ones, `host`, and the framing fields.
pub fn write_request_head(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    host: &str,
    fields: &[Field],
    framing: Framing,
) {
    let _ = write!(Line(out), "{method} {target} HTTP/1.1\r\nhost: {host}\r\n");
    for (name, value) in fields {
        if is_hop_by_hop(name) || name.eq_ignore_ascii_case("host") {
            continue;
        }
        push_fields(out, &[(name.clone(), value.clone())]);
    }
    match framing {
        Framing::Length(n) => {
            let _ = write!(Line(out), "content-length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Empty | Framing::UntilClose => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one chunk of a chunked body (nothing for empty data, which
/// would end the body).
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let _ = write!(Line(out), "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the end of a chunked body: the last chunk and the trailer
/// section.
pub fn write_chunked_end(out: &mut Vec<u8>, trailers: &[Field]) {
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        if is_hop_by_hop(name) {
            continue;
        }
        push_fields(out, &[(name.clone(), value.clone())]);
    }
    out.extend_from_slice(b"\r\n");
}

/// `fmt::Write` into a byte buffer.
struct Line<'a>(&'a mut Vec<u8>);

impl core::fmt::Write for Line<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<(RequestHead, usize)>, WireError> {
        parse_request(raw.as_bytes(), 1024, 16)
    }

    #[test]
    fn a_request_head_parses_once_complete() {
        assert_eq!(head("GET / HTTP/1.1\r\nHost: a\r\n"), Ok(None));
        let (h, n) = head("GET /x?y HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(n, 38);
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/x?y");
        assert_eq!(h.headers[1], ("X-A".to_string(), b"1".to_vec()));
        assert_eq!(request_framing(&h), Ok(Framing::Empty));
    }

    #[test]
    fn bad_heads_get_their_status() {
        assert_eq!(
            head("GET / HTTP/1.1 junk\r\n\r\n").unwrap_err().status(),
            400
        );
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(2000));
        assert_eq!(head(&long), Err(WireError::HeadTooLarge));
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(17));
        assert_eq!(head(&many), Err(WireError::TooManyFields));
        let (h, _) = head("GET / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!(request_framing(&h), Err(WireError::MissingHost));
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |fields: &str| {
            let raw = format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
            request_framing(&head(&raw).unwrap().unwrap().0)
        };
        assert_eq!(framing("Content-Length: 5\r\n"), Ok(Framing::Length(5)));
        assert_eq!(framing("Content-Length: 5, 5\r\n"), Ok(Framing::Length(5)));
        assert_eq!(
            framing("Content-Length: 5, 6\r\n"),
            Err(WireError::BadLength)
        );
        assert_eq!(framing("Content-Length: -1\r\n"), Err(WireError::BadLength));
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("Transfer-Encoding: gzip, chunked\r\n"),
            Err(WireError::UnsupportedCoding)
        );
        assert_eq!(
            framing("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"),
            Err(WireError::BadLength)
        );
    }

    #[test]
    fn chunked_bodies_decode_in_any_pieces() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for split in 0..body.len() {
            let mut d = ChunkedDecoder::new(1024);
            let mut out = Vec::new();
            let mut pending = body[..split].to_vec();
            let r = d.decode(&pending, &mut out).unwrap();
            pending.drain(..r.consumed);
            pending.extend_from_slice(&body[split..]);
            let r2 = d.decode(&pending, &mut out).unwrap();
            let trailers = r.end.or(r2.end).expect("the body ends");
            assert_eq!(out, b"hello world", "split at {split}");
            assert_eq!(trailers, vec![("X-T".to_string(), b"1".to_vec())]);
            assert_eq!(&pending[r2.consumed..], b"NEXT", "split at {split}");
        }
    }

    #[test]
    fn malformed_chunks_are_errors() {
        let mut out = Vec::new();
        assert!(ChunkedDecoder::new(64).decode(b"zz\r\n", &mut out).is_err());
        assert!(
            ChunkedDecoder::new(64)
                .decode(b"2\r\nabXY", &mut out)
                .is_err()
        );
        let big = format!("0\r\n{}\r\n", "A: b\r\n".repeat(40));
        assert_eq!(
            ChunkedDecoder::new(64).decode(big.as_bytes(), &mut out),
            Err(WireError::TrailersTooLarge)
        );
    }

    #[test]
    fn heads_are_written_without_hop_by_hop_fields() {
        let mut out = Vec::new();
        write_response_head(
            &mut out,
            200,
            &[],
            &[
                ("Content-Type".into(), b"text/plain".to_vec()),
                ("Connection".into(), b"upgrade".to_vec()),
            ],
            Framing::Length(3),
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 3\r\n\r\n"
        );
        let mut out = Vec::new();
        write_chunk(&mut out, b"hello");
        write_chunked_end(&mut out, &[("X-T".into(), b"1".to_vec())]);
        assert_eq!(out, b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n");
    }
}
