//! `wasi:http/outgoing-handler` of WASI 0.2: outgoing requests, sent by
//! the version-neutral client ([`crate::http::client`]) to the authorities
//! `smelt build --allow-http` granted.
//!
//! `handle` starts the exchange and returns a `future-incoming-response`
//! whose pollable is ready once the response head came (or the exchange
//! failed); the response's body is an `input-stream` fed as the body
//! arrives, its trailers a `future-trailers` ready when it ends. The
//! request's body is sent as the guest writes it, while the guest waits
//! for the response.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use smelt_rt::component::host::{HostResult, Own};

use super::http::{OutgoingRequest, RequestOptions};
use super::io::SharedExchange;
use crate::WasiHost;
use crate::bindings::wasi_http_types::{
    self as t, ErrorCode, FutureIncomingResponse as FutureRes,
    IncomingResponse as IncomingResponseRes, Method, Scheme, TLSAlertReceivedPayload,
};
use crate::http::client::{Allowed, ClientError, Exchange, Outgoing, Timeouts};
use crate::http::fields::Fields;
use crate::table::Object;

/// A `future-incoming-response`.
#[derive(Debug)]
pub struct FutureIncomingResponse {
    /// The exchange.
    pub exchange: SharedExchange,
    /// Whether `get` returned the response already.
    pub taken: bool,
}

/// An `incoming-response`.
#[derive(Debug)]
pub struct IncomingResponse {
    /// The status code.
    pub status: u16,
    /// The headers, immutable.
    pub headers: Fields,
    /// The exchange, until `consume` takes the body.
    pub exchange: Option<SharedExchange>,
}

/// The WASI 0.2 `error-code` of a client failure.
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
            ErrorCode::TLSAlertReceived(TLSAlertReceivedPayload {
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

/// The method token of `m`.
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

/// `outgoing-handler.handle`: starts sending `request`.
pub fn send(
    host: &mut WasiHost,
    request: OutgoingRequest,
    options: Option<RequestOptions>,
) -> HostResult<Result<Own<FutureRes>, ErrorCode>> {
    // Nothing granted: every request is denied, whatever it looks like.
    if crate::template().allow_http.is_empty() {
        return Ok(Err(ErrorCode::HTTPRequestDenied));
    }
    let https = match &request.scheme {
        None | Some(Scheme::HTTPS) => true,
        Some(Scheme::HTTP) => false,
        // Only HTTP and HTTPS are spoken.
        Some(Scheme::Other(_)) => return Ok(Err(ErrorCode::HTTPProtocolError)),
    };
    let Some(authority) = request.authority.clone() else {
        return Ok(Err(ErrorCode::HTTPRequestURIInvalid));
    };
    let ns = |d: Option<u64>| d.map(Duration::from_nanos);
    let timeouts = options.map_or_else(Timeouts::default, |o| Timeouts {
        connect: ns(o.connect_timeout),
        first_byte: ns(o.first_byte_timeout),
        between_bytes: ns(o.between_bytes_timeout),
    });
    let outgoing = Outgoing {
        method: method_token(&request.method),
        https,
        authority,
        path_with_query: request
            .path_with_query
            .clone()
            .unwrap_or_else(|| "/".into()),
        headers: request.headers.entries.clone(),
        body: request.body.clone(),
        timeouts,
    };
    let allowed = Allowed(crate::template().allow_http.clone());
    match Exchange::start(outgoing, &allowed) {
        Ok(mut ex) => {
            ex.advance();
            let future = FutureIncomingResponse {
                exchange: Rc::new(RefCell::new(ex)),
                taken: false,
            };
            let rep = host.table.push(Object::FutureIncomingResponse(future))?;
            Ok(Ok(Own::new(rep)))
        }
        Err(e) => Ok(Err(error_code(&e))),
    }
}

/// What `future-incoming-response.get` gives once the response is ready:
/// `Err(())` when it was already taken, else the response or its error.
pub type ResponseOutcome = Result<Result<Own<IncomingResponseRes>, ErrorCode>, ()>;

/// `future-incoming-response.get`.
pub fn get_response(host: &mut WasiHost, rep: u32) -> HostResult<Option<ResponseOutcome>> {
    let future = host.table.future_incoming_response(rep)?;
    if future.taken {
        return Ok(Some(Err(())));
    }
    let ex = future.exchange.clone();
    let head = {
        let mut e = ex.borrow_mut();
        e.advance();
        match e.response() {
            Ok(None) => return Ok(None),
            Ok(Some(head)) => Ok((head.status, head.headers.clone())),
            Err(err) => Err(error_code(&err)),
        }
    };
    host.table.future_incoming_response(rep)?.taken = true;
    let (status, headers) = match head {
        Ok(h) => h,
        Err(code) => return Ok(Some(Ok(Err(code)))),
    };
    let response = IncomingResponse {
        status,
        headers: Fields::received(headers),
        exchange: Some(ex),
    };
    let rep = host.table.push(Object::IncomingResponse(response))?;
    Ok(Some(Ok(Ok(Own::new(rep)))))
}
