//! `wasi:http/client` of WASI 0.3: outgoing requests, sent by the
//! version-neutral client ([`crate::http::client`]) to the authorities
//! `smelt build --allow-http` granted.
//!
//! `send` is an `async` host function of several steps: it returns once
//! the response head came (or the exchange failed), meanwhile sending the
//! request body as the guest writes it into its `stream<u8>` (a host sink
//! that makes the guest wait while the connection is behind). The
//! response's body is a `stream<u8>` the host writes as the body arrives,
//! its trailers a future resolved when it ends.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use smelt_rt::component::host::{Async, FutureWriter, HostResult, Own, Polled, StreamReader};
use smelt_rt::component::hostio::Wait;
use smelt_rt::component::stream::{HostSink, HostSource, SourceRead};
use smelt_rt::component::trap::ComponentTrap;

use super::http::{Body, Request, Response, TrailersFuture};
use crate::bindings::p3::wasi_http_types::{self as t, ErrorCode, Method, Scheme};
use crate::http::body::SharedBody;
use crate::http::client::{
    Allowed, BodyRead, ClientError, Exchange, MAX_BUFFERED, Outgoing, Timeouts,
};
use crate::http::fields::Fields;
use crate::p2::io::SharedExchange;
use crate::table::Object;

/// The WASI 0.3 `error-code` of a client failure.
pub fn error_code(e: &ClientError) -> ErrorCode {
    match e {
        ClientError::DnsError(info) => ErrorCode::DNSError(t::DNSErrorPayload {
            rcode: Some(info.clone()),
            info_code: None,
        }),
        ClientError::ConnectionRefused => ErrorCode::ConnectionRefused,
        ClientError::ConnectionTimeout => ErrorCode::ConnectionTimeout,
        ClientError::DestinationUnavailable => ErrorCode::DestinationUnavailable,
        ClientError::ConnectionTerminated => ErrorCode::ConnectionTerminated,
        ClientError::ResponseTimeout => ErrorCode::ConnectionReadTimeout,
        ClientError::ReadTimeout => ErrorCode::ConnectionReadTimeout,
        ClientError::TlsProtocolError => ErrorCode::TLSProtocolError,
        ClientError::TlsCertificateError => ErrorCode::TLSCertificateError,
        ClientError::TlsAlertReceived(id, message) => {
            ErrorCode::TLSAlertReceived(t::TLSAlertReceivedPayload {
                alert_id: *id,
                alert_message: message.clone(),
            })
        }
        ClientError::RequestDenied => ErrorCode::HTTPRequestDenied,
        ClientError::RequestUriInvalid => ErrorCode::HTTPRequestURIInvalid,
        ClientError::ResponseHeaderSectionSize => ErrorCode::HTTPResponseHeaderSectionSize(None),
        ClientError::ResponseTransferCoding(c) => ErrorCode::HTTPResponseTransferCoding(c.clone()),
        ClientError::ResponseIncomplete => ErrorCode::HTTPResponseIncomplete,
        ClientError::ProtocolError => ErrorCode::HTTPProtocolError,
        ClientError::Internal(m) => ErrorCode::InternalError(Some(m.clone())),
    }
}

fn method_token(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

/// What an exchange waits for, as a host wait (a short timer when it
/// waits only for the guest, which the event loop then runs).
pub fn wait_of(ex: &Exchange) -> Wait {
    match ex.interest() {
        Some((fd, events, until)) => Wait::Io { fd, events, until },
        None => Wait::Until(smelt_rt::component::hostio::after(Duration::from_millis(1))),
    }
}

/// The result of `send`.
type Sent = Result<Own<t::Response>, ErrorCode>;

/// `wasi:http/client#send`: sends `request`, returning its response once
/// the head came.
pub fn send(request: Request) -> HostResult<Async<Sent>> {
    // Nothing granted: every request is denied, whatever it looks like.
    if crate::template().allow_http.is_empty() {
        return Ok(Async::Ready(Err(ErrorCode::HTTPRequestDenied)));
    }
    let https = match request.scheme() {
        None | Some(Scheme::HTTPS) => true,
        Some(Scheme::HTTP) => false,
        // Only HTTP and HTTPS are spoken.
        Some(Scheme::Other(_)) => return Ok(Async::Ready(Err(ErrorCode::HTTPProtocolError))),
    };
    let Some(authority) = request.authority().cloned() else {
        return Ok(Async::Ready(Err(ErrorCode::HTTPRequestURIInvalid)));
    };
    let ns = |d: Option<u64>| d.map(Duration::from_nanos);
    let timeouts = request
        .options()
        .map_or_else(Timeouts::default, |o| Timeouts {
            connect: ns(o.connect_timeout()),
            first_byte: ns(o.first_byte_timeout()),
            between_bytes: ns(o.between_bytes_timeout()),
        });
    let (parts, body) = request.into_parts();
    let shared_body = body.as_ref().map(|_| SharedBody::default());
    let outgoing = Outgoing {
        method: method_token(&parts.method),
        https,
        authority,
        path_with_query: parts.path_with_query.unwrap_or_else(|| "/".into()),
        headers: parts.headers.entries,
        body: shared_body.clone(),
        timeouts,
    };
    let allowed = Allowed(crate::template().allow_http.clone());
    let ex = match Exchange::start(outgoing, &allowed) {
        Ok(ex) => Rc::new(RefCell::new(ex)),
        Err(e) => return Ok(Async::Ready(Err(error_code(&e)))),
    };
    if let (Some(body), Some(shared)) = (body, shared_body) {
        feed(body, shared, ex.clone())?;
    }
    Ok(Async::Poll(Box::new(move || {
        let mut e = ex.borrow_mut();
        e.advance();
        let head = match e.response() {
            Ok(None) => return Polled::Wait(wait_of(&e)),
            Ok(Some(head)) => (head.status, head.headers.clone()),
            Err(err) => return Polled::Ready(Err(error_code(&err))),
        };
        drop(e);
        let response = Response {
            status: head.0,
            headers: Fields::received(head.1),
            body: Some(Body::Client(ex.clone())),
            sent: None,
        };
        match crate::host().table.push(Object::Response3(response)) {
            Ok(rep) => Polled::Ready(Ok(Own::new(rep))),
            Err(e) => Polled::Ready(Err(ErrorCode::InternalError(Some(e.to_string())))),
        }
    })))
}

/// Makes the request's body flow into `shared`, which the exchange sends.
fn feed(body: Body, shared: SharedBody, ex: SharedExchange) -> HostResult<()> {
    match body {
        Body::Guest { contents, trailers } => match contents {
            Some(stream) => stream.attach_sink(Box::new(RequestSink {
                body: shared,
                ex,
                trailers: Some(trailers),
            })),
            None => finish_with(trailers, shared, ex),
        },
        Body::Received { bytes, trailers } => {
            let mut b = shared.borrow_mut();
            b.write(&bytes);
            b.finished = true;
            b.trailers = trailers;
            Ok(())
        }
        Body::Client(_) => Err(smelt_rt::component::host::HostTrap::Message(
            "wasi:http/client#send: a response body sent as a request body is not supported".into(),
        )),
    }
}

/// Ends the request body once the guest's trailers future resolves.
fn finish_with(trailers: TrailersFuture, shared: SharedBody, ex: SharedExchange) -> HostResult<()> {
    trailers.attach(move |value: Result<Option<Own<t::Fields>>, ErrorCode>| {
        let trailers = match value {
            Ok(Some(own)) => match crate::host().table.remove(own.rep) {
                Some(Object::Fields(f)) => Some(f.entries),
                _ => None,
            },
            _ => None,
        };
        {
            let mut b = shared.borrow_mut();
            b.trailers = trailers;
            b.finished = true;
        }
        ex.borrow_mut().advance();
        Ok(())
    })
}

/// The host's reading end of a request body: what the guest writes goes
/// to the exchange.
struct RequestSink {
    body: SharedBody,
    ex: SharedExchange,
    trailers: Option<TrailersFuture>,
}

impl HostSink for RequestSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.body.borrow().bytes.len() >= MAX_BUFFERED {
            self.ex.borrow_mut().advance();
            if self.body.borrow().bytes.len() >= MAX_BUFFERED {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
        }
        self.body.borrow_mut().write(bytes);
        self.ex.borrow_mut().advance();
        Ok(bytes.len())
    }

    fn writable(&self) -> Wait {
        wait_of(&self.ex.borrow())
    }

    fn end(&mut self, _error: Option<std::io::Error>) -> Result<(), ComponentTrap> {
        match self.trailers.take() {
            Some(t) => finish_with(t, self.body.clone(), self.ex.clone()).map_err(|e| match e {
                smelt_rt::component::host::HostTrap::Abi(t) => t,
                smelt_rt::component::host::HostTrap::Message(m) => ComponentTrap::Pending(m),
            }),
            None => Ok(()),
        }
    }
}

/// The host's writing end of a response body the guest reads: the bytes
/// as they arrive; at the end, the trailers future resolves.
pub struct ResponseSource {
    /// The exchange.
    pub ex: SharedExchange,
    /// Resolves the guest's trailers future, if it has one.
    pub trailers: Option<FutureWriter<Result<Option<Own<t::Fields>>, ErrorCode>>>,
}

impl ResponseSource {
    fn resolve(&mut self) {
        let Some(writer) = self.trailers.take() else {
            return;
        };
        let value = match self.ex.borrow_mut().take_trailers() {
            Some(Ok(Some(list))) => {
                match crate::host()
                    .table
                    .push(Object::Fields(Fields::received(list)))
                {
                    Ok(rep) => Ok(Some(Own::new(rep))),
                    Err(e) => Err(ErrorCode::InternalError(Some(e.to_string()))),
                }
            }
            Some(Ok(None)) | None => Ok(None),
            Some(Err(e)) => Err(error_code(&e)),
        };
        // A trap lowering the value into a guest reading it now cannot be
        // raised from here; the guest then sees the future unresolved.
        let _ = writer.resolve(value);
    }
}

impl HostSource for ResponseSource {
    fn read(&mut self, buf: &mut [u8]) -> SourceRead {
        let read = {
            let mut e = self.ex.borrow_mut();
            e.advance();
            e.read_body(buf.len())
        };
        match read {
            BodyRead::Data(d) => {
                buf[..d.len()].copy_from_slice(&d);
                SourceRead::Data(d.len())
            }
            BodyRead::Pending => SourceRead::Wait(wait_of(&self.ex.borrow())),
            BodyRead::End | BodyRead::Failed(_) => {
                self.resolve();
                SourceRead::End
            }
        }
    }
}

/// The body stream and trailers future of a response to `send`.
pub fn consume(ex: SharedExchange) -> (StreamReader<u8>, TrailersFuture) {
    let (reader, writer) = smelt_rt::component::host::future();
    let source = ResponseSource {
        ex,
        trailers: Some(writer),
    };
    (StreamReader::from_source(Box::new(source)), reader)
}
