//! `wasi:http/types` and `wasi:http/outgoing-handler` of WASI 0.2.
//!
//! The server side (`incoming-request`, `incoming-body`, `future-trailers`,
//! `response-outparam`, `outgoing-response`, `outgoing-body`) serves the
//! requests [`crate::http::server`] reads: a request comes whole (its
//! body read before the handler runs), and the response the handler sets
//! is sent once the handler returns ([`super::http_serve`]).
//!
//! Outgoing requests are not granted: a guest can build one as the
//! interfaces describe it (`fields`, `outgoing-request`, `outgoing-body`,
//! `request-options`) and hand it to `wasi:http/outgoing-handler#handle`,
//! which answers with the error the interface defines for a request the
//! host refuses, `error-code.HTTP-request-denied`. Nothing is sent.
//!
//! Field names are compared case-insensitively and kept as the guest
//! spelled them. A name must be an RFC 9110 token and a value may not hold
//! control characters other than tab (`header-error.invalid-syntax`); the
//! hop-by-hop and connection headers wasmtime refuses by default are
//! refused here too (`header-error.forbidden`). The `fields` of a request
//! are immutable once given to it (`header-error.immutable`).

use std::cell::RefCell;
use std::rc::Rc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_http_types::{
    self, Duration, ErrorCode, FieldName, Fields as FieldsRes,
    FutureIncomingResponse as FutureIncomingResponseRes, FutureTrailers as FutureTrailersRes,
    HeaderError, IncomingBody as IncomingBodyRes, IncomingRequest as IncomingRequestRes,
    IncomingResponse as IncomingResponseRes, Method, OutgoingBody as OutgoingBodyRes,
    OutgoingRequest as OutgoingRequestRes, OutgoingResponse as OutgoingResponseRes,
    RequestOptions as RequestOptionsRes, ResponseOutparam as ResponseOutparamRes, Scheme,
};
use crate::bindings::{wasi_http_outgoing_handler, wasi_io_error, wasi_io_poll, wasi_io_streams};
use crate::http::body::SharedBody;
use crate::http::fields::{is_authority, is_path_with_query, is_scheme, is_token};
use crate::http::server::Request;
use crate::http::wire::Field;
use crate::p2::io::{InputStream, OutputStream, Pollable, SharedExchange};
use crate::table::Object;

pub use crate::http::fields::Fields;
use crate::http::fields::FieldsError;

/// An `outgoing-request`.
#[derive(Debug)]
pub struct OutgoingRequest {
    pub(crate) method: Method,
    pub(crate) path_with_query: Option<String>,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) authority: Option<String>,
    /// The headers, immutable.
    pub(crate) headers: Fields,
    /// Whether `body` has been called.
    pub(crate) body_taken: bool,
    /// The body the guest writes, once it asked for it.
    pub(crate) body: Option<SharedBody>,
}

/// An `outgoing-body`.
#[derive(Debug, Default)]
pub struct OutgoingBody {
    /// Whether `write` has been called.
    stream_taken: bool,
    /// Where the bytes go.
    sink: SharedBody,
}

/// An `incoming-request`: a request the server read.
#[derive(Debug)]
pub struct IncomingRequest {
    method: Method,
    path_with_query: Option<String>,
    scheme: Option<Scheme>,
    authority: Option<String>,
    /// The headers, immutable.
    headers: Fields,
    /// The body, until `consume` takes it.
    body: Option<IncomingBody>,
}

/// An `incoming-body`: a body the host holds whole (a request the server
/// read), or one that arrives (the response to an outgoing request).
#[derive(Debug, Default)]
pub struct IncomingBody {
    /// The bytes, until `stream` takes them.
    pub(crate) bytes: Option<Vec<u8>>,
    /// The trailers that came with it.
    pub(crate) trailers: Option<Vec<Field>>,
    /// The exchange whose response body this is.
    pub(crate) exchange: Option<SharedExchange>,
    /// Whether `stream` was called.
    pub(crate) stream_taken: bool,
}

/// A `future-trailers`: the trailers of a body the host read whole (ready
/// at once), or of a response body (ready when it ends).
#[derive(Debug)]
pub struct FutureTrailers {
    /// The trailers, until `get` takes them (`None` inside: none came).
    trailers: Option<Option<Vec<Field>>>,
    /// The exchange whose response's trailers these are.
    exchange: Option<SharedExchange>,
}

/// What the handler answered, through its `response-outparam`.
#[derive(Debug)]
pub enum ResponseSet {
    /// A response: status, headers and the body it writes.
    Response {
        /// The status code.
        status: u16,
        /// The headers.
        headers: Vec<Field>,
        /// The body.
        body: SharedBody,
    },
    /// An error instead of a response.
    Error(ErrorCode),
}

/// A `response-outparam`: where the handler's answer goes.
#[derive(Debug, Default)]
pub struct ResponseOutparam {
    /// The answer, once `set`.
    pub slot: Rc<RefCell<Option<ResponseSet>>>,
}

/// An `outgoing-response`.
#[derive(Debug)]
pub struct OutgoingResponse {
    status: u16,
    /// The headers, immutable.
    headers: Fields,
    /// Whether `body` has been called.
    body_taken: bool,
    /// Where the body's bytes go.
    body: SharedBody,
}

/// A `request-options`: timeouts in nanoseconds.
#[derive(Debug, Default)]
pub struct RequestOptions {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) first_byte_timeout: Option<Duration>,
    pub(crate) between_bytes_timeout: Option<Duration>,
}

/// The `header-error` of a refused change.
fn header_error(e: FieldsError) -> HeaderError {
    match e {
        FieldsError::InvalidSyntax => HeaderError::InvalidSyntax,
        FieldsError::Forbidden => HeaderError::Forbidden,
        FieldsError::Immutable => HeaderError::Immutable,
    }
}

fn copy_method(m: &Method) -> Method {
    match m {
        Method::Get => Method::Get,
        Method::Head => Method::Head,
        Method::Post => Method::Post,
        Method::Put => Method::Put,
        Method::Delete => Method::Delete,
        Method::Connect => Method::Connect,
        Method::Options => Method::Options,
        Method::Trace => Method::Trace,
        Method::Patch => Method::Patch,
        Method::Other(s) => Method::Other(s.clone()),
    }
}

fn copy_scheme(s: &Scheme) -> Scheme {
    match s {
        Scheme::HTTP => Scheme::HTTP,
        Scheme::HTTPS => Scheme::HTTPS,
        Scheme::Other(s) => Scheme::Other(s.clone()),
    }
}

/// The `method` of a method token.
fn method_of(token: &str) -> Method {
    match token {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

impl IncomingRequest {
    /// The `incoming-request` of a request the server read (over plain
    /// HTTP: scheme `http`).
    pub fn new(request: Request) -> Self {
        IncomingRequest {
            method: method_of(&request.method),
            path_with_query: Some(request.path_with_query),
            scheme: Some(Scheme::HTTP),
            authority: request.authority,
            headers: Fields::received(request.headers),
            body: Some(IncomingBody {
                bytes: Some(request.body),
                trailers: request.trailers,
                exchange: None,
                stream_taken: false,
            }),
        }
    }
}

impl WasiHost {
    fn new_fields(&mut self, fields: Fields) -> HostResult<Own<FieldsRes>> {
        Ok(Own::new(self.table.push(Object::Fields(fields))?))
    }

    /// Takes the object behind an owned handle the guest gave the host.
    fn take(&mut self, rep: u32, what: &str) -> HostResult<Object> {
        self.table
            .remove(rep)
            .ok_or_else(|| HostTrap::Message(format!("smelt bug: no WASI host {what} {rep}")))
    }
}

impl wasi_http_types::Host for WasiHost {
    fn constructor_fields(&mut self, _: &mut Cx<'_>) -> HostResult<Own<FieldsRes>> {
        self.new_fields(Fields::default())
    }

    fn static_fields_from_list(
        &mut self,
        _: &mut Cx<'_>,
        entries: Vec<(FieldName, Vec<u8>)>,
    ) -> HostResult<Result<Own<FieldsRes>, HeaderError>> {
        match Fields::from_list(entries) {
            Ok(f) => Ok(Ok(self.new_fields(f)?)),
            Err(e) => Ok(Err(header_error(e))),
        }
    }

    fn method_fields_get(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<Vec<Vec<u8>>> {
        Ok(self.table.fields(this.rep)?.get(&name))
    }

    fn method_fields_has(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<bool> {
        Ok(self.table.fields(this.rep)?.has(&name))
    }

    fn method_fields_set(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
        values: Vec<Vec<u8>>,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .set(&name, values)
            .map_err(header_error))
    }

    fn method_fields_delete(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .delete(&name)
            .map(drop)
            .map_err(header_error))
    }

    fn method_fields_append(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
        value: Vec<u8>,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .append(name, value)
            .map_err(header_error))
    }

    fn method_fields_entries(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
    ) -> HostResult<Vec<(FieldName, Vec<u8>)>> {
        Ok(self.table.fields(this.rep)?.entries.clone())
    }

    fn method_fields_clone(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
    ) -> HostResult<Own<FieldsRes>> {
        let copy = self.table.fields(this.rep)?.copy();
        self.new_fields(copy)
    }

    fn constructor_outgoing_request(
        &mut self,
        _: &mut Cx<'_>,
        headers: Own<FieldsRes>,
    ) -> HostResult<Own<OutgoingRequestRes>> {
        let mut headers = match self.take(headers.rep, "fields")? {
            Object::Fields(f) => f,
            _ => return Err(crate::table::wrong_type(headers.rep, "fields")),
        };
        headers.immutable = true;
        let request = OutgoingRequest {
            method: Method::Get,
            path_with_query: None,
            scheme: None,
            authority: None,
            headers,
            body_taken: false,
            body: None,
        };
        Ok(Own::new(self.table.push(Object::OutgoingRequest(request))?))
    }

    fn method_outgoing_request_body(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Result<Own<OutgoingBodyRes>, ()>> {
        let request = self.table.outgoing_request(this.rep)?;
        if request.body_taken {
            return Ok(Err(()));
        }
        request.body_taken = true;
        let body = OutgoingBody::default();
        request.body = Some(body.sink.clone());
        let rep = self.table.push(Object::OutgoingBody(body))?;
        Ok(Ok(Own::new(rep)))
    }

    fn method_outgoing_request_method(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Method> {
        Ok(copy_method(&self.table.outgoing_request(this.rep)?.method))
    }

    fn method_outgoing_request_set_method(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
        method: Method,
    ) -> HostResult<Result<(), ()>> {
        let request = self.table.outgoing_request(this.rep)?;
        if matches!(&method, Method::Other(m) if !is_token(m)) {
            return Ok(Err(()));
        }
        request.method = method;
        Ok(Ok(()))
    }

    fn method_outgoing_request_path_with_query(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Option<String>> {
        Ok(self
            .table
            .outgoing_request(this.rep)?
            .path_with_query
            .clone())
    }

    fn method_outgoing_request_set_path_with_query(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
        path_with_query: Option<String>,
    ) -> HostResult<Result<(), ()>> {
        let request = self.table.outgoing_request(this.rep)?;
        if path_with_query
            .as_deref()
            .is_some_and(|p| !is_path_with_query(p))
        {
            return Ok(Err(()));
        }
        request.path_with_query = path_with_query;
        Ok(Ok(()))
    }

    fn method_outgoing_request_scheme(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Option<Scheme>> {
        Ok(self
            .table
            .outgoing_request(this.rep)?
            .scheme
            .as_ref()
            .map(copy_scheme))
    }

    fn method_outgoing_request_set_scheme(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
        scheme: Option<Scheme>,
    ) -> HostResult<Result<(), ()>> {
        let request = self.table.outgoing_request(this.rep)?;
        if matches!(&scheme, Some(Scheme::Other(s)) if !is_scheme(s)) {
            return Ok(Err(()));
        }
        request.scheme = scheme;
        Ok(Ok(()))
    }

    fn method_outgoing_request_authority(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Option<String>> {
        Ok(self.table.outgoing_request(this.rep)?.authority.clone())
    }

    fn method_outgoing_request_set_authority(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
        authority: Option<String>,
    ) -> HostResult<Result<(), ()>> {
        let request = self.table.outgoing_request(this.rep)?;
        if authority.as_deref().is_some_and(|a| !is_authority(a)) {
            return Ok(Err(()));
        }
        request.authority = authority;
        Ok(Ok(()))
    }

    fn method_outgoing_request_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingRequestRes>,
    ) -> HostResult<Own<FieldsRes>> {
        // A copy stands for the child resource of the spec: both are
        // immutable, so no guest can tell them apart.
        let headers = self.table.outgoing_request(this.rep)?.headers.clone();
        self.new_fields(headers)
    }

    fn constructor_request_options(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Own<RequestOptionsRes>> {
        Ok(Own::new(
            self.table
                .push(Object::RequestOptions(RequestOptions::default()))?,
        ))
    }

    fn method_request_options_connect_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.table.request_options(this.rep)?.connect_timeout)
    }

    fn method_request_options_set_connect_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), ()>> {
        self.table.request_options(this.rep)?.connect_timeout = duration;
        Ok(Ok(()))
    }

    fn method_request_options_first_byte_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.table.request_options(this.rep)?.first_byte_timeout)
    }

    fn method_request_options_set_first_byte_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), ()>> {
        self.table.request_options(this.rep)?.first_byte_timeout = duration;
        Ok(Ok(()))
    }

    fn method_request_options_between_bytes_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.table.request_options(this.rep)?.between_bytes_timeout)
    }

    fn method_request_options_set_between_bytes_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<RequestOptionsRes>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), ()>> {
        self.table.request_options(this.rep)?.between_bytes_timeout = duration;
        Ok(Ok(()))
    }

    fn method_outgoing_body_write(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingBodyRes>,
    ) -> HostResult<Result<Own<wasi_io_streams::OutputStream>, ()>> {
        let body = self.table.outgoing_body(this.rep)?;
        if body.stream_taken {
            return Ok(Err(()));
        }
        body.stream_taken = true;
        let stream = OutputStream::Body(body.sink.clone());
        Ok(Ok(Own::new(self.table.push(Object::OutputStream(stream))?)))
    }

    fn static_outgoing_body_finish(
        &mut self,
        _: &mut Cx<'_>,
        this: Own<OutgoingBodyRes>,
        trailers: Option<Own<FieldsRes>>,
    ) -> HostResult<Result<(), ErrorCode>> {
        let body = match self.take(this.rep, "outgoing-body")? {
            Object::OutgoingBody(b) => b,
            _ => return Err(crate::table::wrong_type(this.rep, "outgoing-body")),
        };
        let trailers = match trailers {
            Some(t) => match self.take(t.rep, "fields")? {
                Object::Fields(f) => Some(f.entries),
                _ => return Err(crate::table::wrong_type(t.rep, "fields")),
            },
            None => None,
        };
        let mut sink = body.sink.borrow_mut();
        sink.finished = true;
        sink.trailers = trailers;
        Ok(Ok(()))
    }

    fn method_incoming_request_method(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Method> {
        Ok(copy_method(&self.table.incoming_request(this.rep)?.method))
    }

    fn method_incoming_request_path_with_query(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Option<String>> {
        Ok(self
            .table
            .incoming_request(this.rep)?
            .path_with_query
            .clone())
    }

    fn method_incoming_request_scheme(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Option<Scheme>> {
        Ok(self
            .table
            .incoming_request(this.rep)?
            .scheme
            .as_ref()
            .map(copy_scheme))
    }

    fn method_incoming_request_authority(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Option<String>> {
        Ok(self.table.incoming_request(this.rep)?.authority.clone())
    }

    fn method_incoming_request_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Own<FieldsRes>> {
        // A copy stands for the child resource, immutable as it is.
        let headers = self.table.incoming_request(this.rep)?.headers.clone();
        self.new_fields(headers)
    }

    fn method_incoming_request_consume(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingRequestRes>,
    ) -> HostResult<Result<Own<IncomingBodyRes>, ()>> {
        let Some(body) = self.table.incoming_request(this.rep)?.body.take() else {
            return Ok(Err(()));
        };
        Ok(Ok(Own::new(self.table.push(Object::IncomingBody(body))?)))
    }

    fn method_incoming_body_stream(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingBodyRes>,
    ) -> HostResult<Result<Own<wasi_io_streams::InputStream>, ()>> {
        let body = self.table.incoming_body(this.rep)?;
        if body.stream_taken {
            return Ok(Err(()));
        }
        body.stream_taken = true;
        let stream = match (body.exchange.clone(), body.bytes.take()) {
            (Some(ex), _) => InputStream::Http(ex),
            (None, bytes) => InputStream::Bytes {
                bytes: bytes.unwrap_or_default(),
                at: 0,
            },
        };
        Ok(Ok(Own::new(self.table.push(Object::InputStream(stream))?)))
    }

    fn static_incoming_body_finish(
        &mut self,
        _: &mut Cx<'_>,
        this: Own<IncomingBodyRes>,
    ) -> HostResult<Own<FutureTrailersRes>> {
        let body = match self.take(this.rep, "incoming-body")? {
            Object::IncomingBody(b) => b,
            _ => return Err(crate::table::wrong_type(this.rep, "incoming-body")),
        };
        let future = FutureTrailers {
            trailers: body.exchange.is_none().then_some(body.trailers),
            exchange: body.exchange,
        };
        Ok(Own::new(self.table.push(Object::FutureTrailers(future))?))
    }

    fn method_future_trailers_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FutureTrailersRes>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        let p = match &self.table.future_trailers(this.rep)?.exchange {
            Some(ex) => Pollable::HttpBody(ex.clone()),
            None => Pollable::Ready,
        };
        self.pollable(p)
    }

    fn method_future_trailers_get(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FutureTrailersRes>,
    ) -> HostResult<Option<Result<Result<Option<Own<FieldsRes>>, ErrorCode>, ()>>> {
        let future = self.table.future_trailers(this.rep)?;
        let trailers = match future.exchange.clone() {
            Some(ex) => {
                let mut ex = ex.borrow_mut();
                ex.advance();
                // The body's unread bytes do not hold the trailers back.
                while let crate::http::client::BodyRead::Data(_) = ex.read_body(usize::MAX) {}
                let outcome = ex.take_trailers();
                if outcome.is_some() {
                    // Taken: a later `get` is an error.
                    future.exchange = None;
                    future.trailers = None;
                }
                match outcome {
                    None => return Ok(None),
                    Some(Err(e)) => return Ok(Some(Ok(Err(super::http_client::error_code(&e))))),
                    Some(Ok(t)) => t,
                }
            }
            None => match future.trailers.take() {
                Some(t) => t,
                None => return Ok(Some(Err(()))),
            },
        };
        let fields = match trailers {
            Some(entries) => Some(self.new_fields(Fields::received(entries))?),
            None => None,
        };
        Ok(Some(Ok(Ok(fields))))
    }

    fn static_response_outparam_set(
        &mut self,
        _: &mut Cx<'_>,
        param: Own<ResponseOutparamRes>,
        response: Result<Own<OutgoingResponseRes>, ErrorCode>,
    ) -> HostResult<()> {
        let param = match self.take(param.rep, "response-outparam")? {
            Object::ResponseOutparam(p) => p,
            _ => return Err(crate::table::wrong_type(param.rep, "response-outparam")),
        };
        let set = match response {
            Ok(r) => match self.take(r.rep, "outgoing-response")? {
                Object::OutgoingResponse(r) => ResponseSet::Response {
                    status: r.status,
                    headers: r.headers.entries,
                    body: r.body,
                },
                _ => return Err(crate::table::wrong_type(r.rep, "outgoing-response")),
            },
            Err(e) => ResponseSet::Error(e),
        };
        *param.slot.borrow_mut() = Some(set);
        Ok(())
    }

    fn method_response_outparam_send_informational(
        &mut self,
        _: &mut Cx<'_>,
        _: Borrow<ResponseOutparamRes>,
        status: u16,
        headers: Own<FieldsRes>,
    ) -> HostResult<Result<(), ErrorCode>> {
        self.take(headers.rep, "fields")?;
        // Interim responses are not sent: the response goes out whole when
        // the handler returns.
        Ok(if (100..200).contains(&status) {
            Ok(())
        } else {
            Err(ErrorCode::InternalError(Some(format!(
                "{status} is not an informational status"
            ))))
        })
    }

    fn constructor_outgoing_response(
        &mut self,
        _: &mut Cx<'_>,
        headers: Own<FieldsRes>,
    ) -> HostResult<Own<OutgoingResponseRes>> {
        let mut headers = match self.take(headers.rep, "fields")? {
            Object::Fields(f) => f,
            _ => return Err(crate::table::wrong_type(headers.rep, "fields")),
        };
        headers.immutable = true;
        let response = OutgoingResponse {
            status: 200,
            headers,
            body_taken: false,
            body: SharedBody::default(),
        };
        Ok(Own::new(
            self.table.push(Object::OutgoingResponse(response))?,
        ))
    }

    fn method_outgoing_response_status_code(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingResponseRes>,
    ) -> HostResult<u16> {
        Ok(self.table.outgoing_response(this.rep)?.status)
    }

    fn method_outgoing_response_set_status_code(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingResponseRes>,
        status: u16,
    ) -> HostResult<Result<(), ()>> {
        let response = self.table.outgoing_response(this.rep)?;
        if !crate::http::fields::is_final_status(status) {
            return Ok(Err(()));
        }
        response.status = status;
        Ok(Ok(()))
    }

    fn method_outgoing_response_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingResponseRes>,
    ) -> HostResult<Own<FieldsRes>> {
        let headers = self.table.outgoing_response(this.rep)?.headers.clone();
        self.new_fields(headers)
    }

    fn method_outgoing_response_body(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<OutgoingResponseRes>,
    ) -> HostResult<Result<Own<OutgoingBodyRes>, ()>> {
        let response = self.table.outgoing_response(this.rep)?;
        if response.body_taken {
            return Ok(Err(()));
        }
        response.body_taken = true;
        let body = OutgoingBody {
            stream_taken: false,
            sink: response.body.clone(),
        };
        Ok(Ok(Own::new(self.table.push(Object::OutgoingBody(body))?)))
    }

    fn method_incoming_response_status(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingResponseRes>,
    ) -> HostResult<u16> {
        Ok(self.table.incoming_response(this.rep)?.status)
    }

    fn method_incoming_response_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingResponseRes>,
    ) -> HostResult<Own<FieldsRes>> {
        let headers = self.table.incoming_response(this.rep)?.headers.clone();
        self.new_fields(headers)
    }

    fn method_incoming_response_consume(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<IncomingResponseRes>,
    ) -> HostResult<Result<Own<IncomingBodyRes>, ()>> {
        let Some(ex) = self.table.incoming_response(this.rep)?.exchange.take() else {
            return Ok(Err(()));
        };
        let body = IncomingBody {
            exchange: Some(ex),
            ..IncomingBody::default()
        };
        Ok(Ok(Own::new(self.table.push(Object::IncomingBody(body))?)))
    }

    fn method_future_incoming_response_subscribe(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FutureIncomingResponseRes>,
    ) -> HostResult<Own<wasi_io_poll::Pollable>> {
        let ex = self
            .table
            .future_incoming_response(this.rep)?
            .exchange
            .clone();
        self.pollable(Pollable::HttpResponse(ex))
    }

    fn method_future_incoming_response_get(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FutureIncomingResponseRes>,
    ) -> HostResult<Option<Result<Result<Own<IncomingResponseRes>, ErrorCode>, ()>>> {
        super::http_client::get_response(self, this.rep)
    }

    fn http_error_code(
        &mut self,
        _: &mut Cx<'_>,
        err: Borrow<wasi_io_error::Error>,
    ) -> HostResult<Option<ErrorCode>> {
        match self.table.get(err.rep)? {
            Object::Error { http: Some(e), .. } => Ok(Some(super::http_client::error_code(e))),
            _ => Ok(None),
        }
    }
}

impl wasi_http_outgoing_handler::Host for WasiHost {
    fn handle(
        &mut self,
        _: &mut Cx<'_>,
        request: Own<OutgoingRequestRes>,
        options: Option<Own<RequestOptionsRes>>,
    ) -> HostResult<Result<Own<wasi_http_types::FutureIncomingResponse>, ErrorCode>> {
        let request = match self.take(request.rep, "outgoing-request")? {
            Object::OutgoingRequest(r) => r,
            _ => return Err(crate::table::wrong_type(request.rep, "outgoing-request")),
        };
        let options = match options {
            Some(o) => match self.take(o.rep, "request-options")? {
                Object::RequestOptions(o) => Some(o),
                _ => return Err(crate::table::wrong_type(o.rep, "request-options")),
            },
            None => None,
        };
        super::http_client::send(self, request, options)
    }
}
