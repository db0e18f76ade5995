//! `wasi:http/types` and `wasi:http/client` of WASI 0.3.
//!
//! A message's body is a `stream<u8>` and its trailers a
//! `future<result<option<trailers>, error-code>>`. A request the server
//! read ([`Request::received`]) holds its body's bytes and trailers, which
//! `consume-body` hands the guest as a host-written stream and a resolved
//! future; a message a guest makes (`request.new`, `response.new`) holds
//! the guest's stream and future, which the server reads when the message
//! is the handler's response ([`super::http_serve`]). `fields` are the
//! version-neutral [`crate::http::fields::Fields`], shared with WASI 0.2.
//!
//! Outgoing requests (`wasi:http/client#send`) are in
//! [`super::http_client`].

use smelt_rt::component::host::{
    self, Async, Borrow, Cx, FutureReader, FutureWriter, HostResult, Own, StreamReader,
};
use smelt_rt::component::stream::{HostSource, SourceRead};

use super::stream::Ended;
use crate::WasiHost;
use crate::bindings::p3::wasi_http_client;
use crate::bindings::p3::wasi_http_types::{
    self as t, Duration, ErrorCode, FieldName, HeaderError, Method, RequestOptionsError, Scheme,
};
use crate::http::fields::{
    Fields, FieldsError, is_authority, is_final_status, is_path_with_query, is_scheme, is_token,
};
use crate::http::wire::Field;
use crate::table::Object;

/// The trailers future of a message's body.
pub type TrailersFuture = FutureReader<Result<Option<Own<t::Fields>>, ErrorCode>>;

/// A message's body.
pub enum Body {
    /// The bytes and trailers the host received.
    Received {
        /// The bytes.
        bytes: Vec<u8>,
        /// The trailers, if any came.
        trailers: Option<Vec<Field>>,
    },
    /// A guest's body: its stream (`None`: empty) and trailers future.
    Guest {
        /// The contents.
        contents: Option<StreamReader<u8>>,
        /// The trailers.
        trailers: TrailersFuture,
    },
    /// The body of the response to an outgoing request, as it arrives.
    Client(crate::p2::io::SharedExchange),
}

impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Body::Received { bytes, .. } => write!(f, "Received({} bytes)", bytes.len()),
            Body::Guest { .. } => f.write_str("Guest"),
            Body::Client(_) => f.write_str("Client"),
        }
    }
}

/// A `request-options`: timeouts in nanoseconds.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    connect_timeout: Option<Duration>,
    first_byte_timeout: Option<Duration>,
    between_bytes_timeout: Option<Duration>,
    /// Whether `set-*` fail (the options of a request).
    immutable: bool,
}

/// A `request`.
#[derive(Debug)]
pub struct Request {
    method: Method,
    path_with_query: Option<String>,
    scheme: Option<Scheme>,
    authority: Option<String>,
    /// The headers, immutable.
    headers: Fields,
    options: Option<RequestOptions>,
    /// The body, until `consume-body` takes it.
    body: Option<Body>,
}

/// A `response`.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, immutable.
    pub headers: Fields,
    /// The body, until `consume-body` (or the server) takes it.
    pub body: Option<Body>,
    /// Resolves the future `response.new` returned: the outcome of
    /// sending the response.
    pub sent: Option<FutureWriter<Result<(), ErrorCode>>>,
}

impl core::fmt::Debug for Response {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish_non_exhaustive()
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

fn header_error(e: FieldsError) -> HeaderError {
    match e {
        FieldsError::InvalidSyntax => HeaderError::InvalidSyntax,
        FieldsError::Forbidden => HeaderError::Forbidden,
        FieldsError::Immutable => HeaderError::Immutable,
    }
}

/// What `send` needs of a request besides its body.
pub struct RequestParts {
    /// The method.
    pub method: Method,
    /// The path with query.
    pub path_with_query: Option<String>,
    /// The headers.
    pub headers: Fields,
}

impl RequestOptions {
    /// The connect timeout, in nanoseconds.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The first-byte timeout, in nanoseconds.
    pub fn first_byte_timeout(&self) -> Option<Duration> {
        self.first_byte_timeout
    }

    /// The between-bytes timeout, in nanoseconds.
    pub fn between_bytes_timeout(&self) -> Option<Duration> {
        self.between_bytes_timeout
    }
}

impl Request {
    /// The scheme.
    pub fn scheme(&self) -> Option<&Scheme> {
        self.scheme.as_ref()
    }

    /// The authority.
    pub fn authority(&self) -> Option<&String> {
        self.authority.as_ref()
    }

    /// The options.
    pub fn options(&self) -> Option<&RequestOptions> {
        self.options.as_ref()
    }

    /// The parts `send` needs, and the body.
    pub fn into_parts(self) -> (RequestParts, Option<Body>) {
        (
            RequestParts {
                method: self.method,
                path_with_query: self.path_with_query,
                headers: self.headers,
            },
            self.body,
        )
    }

    /// The `request` of a request the server read (over plain HTTP:
    /// scheme `http`).
    pub fn received(request: crate::http::server::Request) -> Self {
        Request {
            method: method_of(&request.method),
            path_with_query: Some(request.path_with_query),
            scheme: Some(Scheme::HTTP),
            authority: request.authority,
            headers: Fields::received(request.headers),
            options: None,
            body: Some(Body::Received {
                bytes: request.body,
                trailers: request.trailers,
            }),
        }
    }
}

/// The bytes of a received body, for the guest to read.
struct BytesSource {
    bytes: Vec<u8>,
    at: usize,
}

impl HostSource for BytesSource {
    fn read(&mut self, buf: &mut [u8]) -> SourceRead {
        let rest = &self.bytes[self.at..];
        if rest.is_empty() {
            return SourceRead::End;
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        SourceRead::Data(n)
    }
}

impl WasiHost {
    fn new_fields3(&mut self, fields: Fields) -> HostResult<Own<t::Fields>> {
        Ok(Own::new(self.table.push(Object::Fields(fields))?))
    }

    fn take_fields(&mut self, rep: u32) -> HostResult<Fields> {
        match self.table.remove(rep) {
            Some(Object::Fields(f)) => Ok(f),
            _ => Err(crate::table::wrong_type(rep, "fields")),
        }
    }

    fn request3(&mut self, rep: u32) -> HostResult<&mut Request> {
        match self.table.get(rep)? {
            Object::Request3(r) => Ok(r),
            _ => Err(crate::table::wrong_type(rep, "request")),
        }
    }

    fn response3(&mut self, rep: u32) -> HostResult<&mut Response> {
        match self.table.get(rep)? {
            Object::Response3(r) => Ok(r),
            _ => Err(crate::table::wrong_type(rep, "response")),
        }
    }

    fn options3(&mut self, rep: u32) -> HostResult<&mut RequestOptions> {
        match self.table.get(rep)? {
            Object::RequestOptions3(o) => Ok(o),
            _ => Err(crate::table::wrong_type(rep, "request-options")),
        }
    }

    /// The body's stream and trailers future for the guest that consumes
    /// it; `res` (the guest's report of how it handled the body) is read
    /// and ignored.
    fn consume(
        &mut self,
        body: Option<Body>,
        res: FutureReader<Result<(), ErrorCode>>,
    ) -> HostResult<(StreamReader<u8>, TrailersFuture)> {
        res.attach(|_| Ok(()))?;
        match body {
            Some(Body::Guest { contents, trailers }) => Ok((
                contents.unwrap_or_else(|| StreamReader::from_source(Box::new(Ended))),
                trailers,
            )),
            Some(Body::Client(ex)) => Ok(super::http_client::consume(ex)),
            Some(Body::Received { bytes, trailers }) => {
                let stream = StreamReader::from_source(Box::new(BytesSource { bytes, at: 0 }));
                let trailers = match trailers {
                    Some(list) => Some(self.new_fields3(Fields::received(list))?),
                    None => None,
                };
                let (reader, writer) = host::future();
                writer.resolve(Ok(trailers))?;
                Ok((stream, reader))
            }
            None => Err(host::HostTrap::Message(
                "wasi:http/types: the body was consumed already".into(),
            )),
        }
    }
}

impl t::Host for WasiHost {
    fn constructor_fields(&mut self, _: &mut Cx<'_>) -> HostResult<Own<t::Fields>> {
        self.new_fields3(Fields::default())
    }

    fn static_fields_from_list(
        &mut self,
        _: &mut Cx<'_>,
        entries: Vec<(FieldName, Vec<u8>)>,
    ) -> HostResult<Result<Own<t::Fields>, HeaderError>> {
        match Fields::from_list(entries) {
            Ok(f) => Ok(Ok(self.new_fields3(f)?)),
            Err(e) => Ok(Err(header_error(e))),
        }
    }

    fn method_fields_get(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
    ) -> HostResult<Vec<Vec<u8>>> {
        Ok(self.table.fields(this.rep)?.get(&name))
    }

    fn method_fields_has(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
    ) -> HostResult<bool> {
        Ok(self.table.fields(this.rep)?.has(&name))
    }

    fn method_fields_set(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
        value: Vec<Vec<u8>>,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .set(&name, value)
            .map_err(header_error))
    }

    fn method_fields_delete(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .delete(&name)
            .map(drop)
            .map_err(header_error))
    }

    fn method_fields_get_and_delete(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
    ) -> HostResult<Result<Vec<Vec<u8>>, HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .delete(&name)
            .map_err(header_error))
    }

    fn method_fields_append(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
        name: FieldName,
        value: Vec<u8>,
    ) -> HostResult<Result<(), HeaderError>> {
        Ok(self
            .table
            .fields(this.rep)?
            .append(name, value)
            .map_err(header_error))
    }

    fn method_fields_copy_all(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
    ) -> HostResult<Vec<(FieldName, Vec<u8>)>> {
        Ok(self.table.fields(this.rep)?.entries.clone())
    }

    fn method_fields_clone(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Fields>,
    ) -> HostResult<Own<t::Fields>> {
        let copy = self.table.fields(this.rep)?.copy();
        self.new_fields3(copy)
    }

    fn static_request_new(
        &mut self,
        _: &mut Cx<'_>,
        headers: Own<t::Fields>,
        contents: Option<StreamReader<u8>>,
        trailers: TrailersFuture,
        options: Option<Own<t::RequestOptions>>,
    ) -> HostResult<(Own<t::Request>, FutureReader<Result<(), ErrorCode>>)> {
        let mut headers = self.take_fields(headers.rep)?;
        headers.immutable = true;
        let options = match options {
            Some(o) => match self.table.remove(o.rep) {
                Some(Object::RequestOptions3(mut o)) => {
                    o.immutable = true;
                    Some(o)
                }
                _ => return Err(crate::table::wrong_type(o.rep, "request-options")),
            },
            None => None,
        };
        let request = Request {
            method: Method::Get,
            path_with_query: None,
            scheme: None,
            authority: None,
            headers,
            options,
            body: Some(Body::Guest { contents, trailers }),
        };
        let rep = self.table.push(Object::Request3(request))?;
        // The outcome of the transmission: what `send` says when it sends
        // it (a response, or the error) tells the guest; this future
        // resolves at once.
        let (reader, writer) = host::future();
        writer.resolve(Ok(()))?;
        Ok((Own::new(rep), reader))
    }

    fn method_request_get_method(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Method> {
        Ok(copy_method(&self.request3(this.rep)?.method))
    }

    fn method_request_set_method(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
        method: Method,
    ) -> HostResult<Result<(), ()>> {
        if matches!(&method, Method::Other(m) if !is_token(m)) {
            return Ok(Err(()));
        }
        self.request3(this.rep)?.method = method;
        Ok(Ok(()))
    }

    fn method_request_get_path_with_query(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Option<String>> {
        Ok(self.request3(this.rep)?.path_with_query.clone())
    }

    fn method_request_set_path_with_query(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
        path_with_query: Option<String>,
    ) -> HostResult<Result<(), ()>> {
        if path_with_query
            .as_deref()
            .is_some_and(|p| !is_path_with_query(p))
        {
            return Ok(Err(()));
        }
        self.request3(this.rep)?.path_with_query = path_with_query;
        Ok(Ok(()))
    }

    fn method_request_get_scheme(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Option<Scheme>> {
        Ok(self.request3(this.rep)?.scheme.as_ref().map(copy_scheme))
    }

    fn method_request_set_scheme(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
        scheme: Option<Scheme>,
    ) -> HostResult<Result<(), ()>> {
        if matches!(&scheme, Some(Scheme::Other(s)) if !is_scheme(s)) {
            return Ok(Err(()));
        }
        self.request3(this.rep)?.scheme = scheme;
        Ok(Ok(()))
    }

    fn method_request_get_authority(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Option<String>> {
        Ok(self.request3(this.rep)?.authority.clone())
    }

    fn method_request_set_authority(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
        authority: Option<String>,
    ) -> HostResult<Result<(), ()>> {
        if authority.as_deref().is_some_and(|a| !is_authority(a)) {
            return Ok(Err(()));
        }
        self.request3(this.rep)?.authority = authority;
        Ok(Ok(()))
    }

    fn method_request_get_options(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Option<Own<t::RequestOptions>>> {
        let Some(options) = self.request3(this.rep)?.options.clone() else {
            return Ok(None);
        };
        Ok(Some(Own::new(
            self.table.push(Object::RequestOptions3(options))?,
        )))
    }

    fn method_request_get_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Request>,
    ) -> HostResult<Own<t::Fields>> {
        let headers = self.request3(this.rep)?.headers.clone();
        self.new_fields3(headers)
    }

    fn static_request_consume_body(
        &mut self,
        _: &mut Cx<'_>,
        this: Own<t::Request>,
        res: FutureReader<Result<(), ErrorCode>>,
    ) -> HostResult<(StreamReader<u8>, TrailersFuture)> {
        let body = match self.table.remove(this.rep) {
            Some(Object::Request3(r)) => r.body,
            _ => return Err(crate::table::wrong_type(this.rep, "request")),
        };
        self.consume(body, res)
    }

    fn constructor_request_options(
        &mut self,
        _: &mut Cx<'_>,
    ) -> HostResult<Own<t::RequestOptions>> {
        Ok(Own::new(self.table.push(Object::RequestOptions3(
            RequestOptions::default(),
        ))?))
    }

    fn method_request_options_get_connect_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.options3(this.rep)?.connect_timeout)
    }

    fn method_request_options_set_connect_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), RequestOptionsError>> {
        let o = self.options3(this.rep)?;
        if o.immutable {
            return Ok(Err(RequestOptionsError::Immutable));
        }
        o.connect_timeout = duration;
        Ok(Ok(()))
    }

    fn method_request_options_get_first_byte_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.options3(this.rep)?.first_byte_timeout)
    }

    fn method_request_options_set_first_byte_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), RequestOptionsError>> {
        let o = self.options3(this.rep)?;
        if o.immutable {
            return Ok(Err(RequestOptionsError::Immutable));
        }
        o.first_byte_timeout = duration;
        Ok(Ok(()))
    }

    fn method_request_options_get_between_bytes_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
    ) -> HostResult<Option<Duration>> {
        Ok(self.options3(this.rep)?.between_bytes_timeout)
    }

    fn method_request_options_set_between_bytes_timeout(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
        duration: Option<Duration>,
    ) -> HostResult<Result<(), RequestOptionsError>> {
        let o = self.options3(this.rep)?;
        if o.immutable {
            return Ok(Err(RequestOptionsError::Immutable));
        }
        o.between_bytes_timeout = duration;
        Ok(Ok(()))
    }

    fn method_request_options_clone(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::RequestOptions>,
    ) -> HostResult<Own<t::RequestOptions>> {
        let mut copy = self.options3(this.rep)?.clone();
        copy.immutable = false;
        Ok(Own::new(self.table.push(Object::RequestOptions3(copy))?))
    }

    fn static_response_new(
        &mut self,
        _: &mut Cx<'_>,
        headers: Own<t::Fields>,
        contents: Option<StreamReader<u8>>,
        trailers: TrailersFuture,
    ) -> HostResult<(Own<t::Response>, FutureReader<Result<(), ErrorCode>>)> {
        let mut headers = self.take_fields(headers.rep)?;
        headers.immutable = true;
        let (reader, writer) = host::future();
        let response = Response {
            status: 200,
            headers,
            body: Some(Body::Guest { contents, trailers }),
            sent: Some(writer),
        };
        Ok((
            Own::new(self.table.push(Object::Response3(response))?),
            reader,
        ))
    }

    fn method_response_get_status_code(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Response>,
    ) -> HostResult<u16> {
        Ok(self.response3(this.rep)?.status)
    }

    fn method_response_set_status_code(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Response>,
        status_code: u16,
    ) -> HostResult<Result<(), ()>> {
        if !is_final_status(status_code) {
            return Ok(Err(()));
        }
        self.response3(this.rep)?.status = status_code;
        Ok(Ok(()))
    }

    fn method_response_get_headers(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<t::Response>,
    ) -> HostResult<Own<t::Fields>> {
        let headers = self.response3(this.rep)?.headers.clone();
        self.new_fields3(headers)
    }

    fn static_response_consume_body(
        &mut self,
        _: &mut Cx<'_>,
        this: Own<t::Response>,
        res: FutureReader<Result<(), ErrorCode>>,
    ) -> HostResult<(StreamReader<u8>, TrailersFuture)> {
        let body = match self.table.remove(this.rep) {
            Some(Object::Response3(r)) => r.body,
            _ => return Err(crate::table::wrong_type(this.rep, "response")),
        };
        self.consume(body, res)
    }
}

impl wasi_http_client::Host for WasiHost {
    fn send(
        &mut self,
        _: &mut Cx<'_>,
        request: Own<t::Request>,
    ) -> HostResult<Async<Result<Own<t::Response>, ErrorCode>>> {
        let request = match self.table.remove(request.rep) {
            Some(Object::Request3(r)) => r,
            _ => return Err(crate::table::wrong_type(request.rep, "request")),
        };
        super::http_client::send(request)
    }
}
