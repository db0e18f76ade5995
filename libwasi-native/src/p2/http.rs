//! `wasi:http`: outgoing requests are not granted.
//!
//! A guest can build a request as the interfaces describe it (`fields`,
//! `outgoing-request`, `outgoing-body`, `request-options`) and hand it to
//! `wasi:http/outgoing-handler#handle`, which answers with the error the
//! interface defines for a request the host refuses,
//! `error-code.HTTP-request-denied`. Nothing is sent: a body's
//! `output-stream` writes to `/dev/null`.
//!
//! The incoming side (`incoming-request`, `response-outparam`,
//! `incoming-response`, `future-incoming-response`, ...) keeps the
//! generated behaviour, a trap naming the function: with nothing granted,
//! a guest cannot get hold of those objects.
//!
//! Field names are compared case-insensitively and kept as the guest
//! spelled them. A name must be an RFC 9110 token and a value may not hold
//! control characters other than tab (`header-error.invalid-syntax`); the
//! hop-by-hop and connection headers wasmtime refuses by default are
//! refused here too (`header-error.forbidden`). The `fields` of a request
//! are immutable once given to it (`header-error.immutable`).

use std::fs::File;
use std::sync::Arc;

use smelt_rt::component::host::{Borrow, Cx, HostResult, HostTrap, Own};

use crate::WasiHost;
use crate::bindings::wasi_http_types::{
    self, Duration, ErrorCode, FieldName, Fields as FieldsRes, HeaderError, Method,
    OutgoingBody as OutgoingBodyRes, OutgoingRequest as OutgoingRequestRes,
    RequestOptions as RequestOptionsRes, Scheme,
};
use crate::bindings::{wasi_http_outgoing_handler, wasi_io_error, wasi_io_streams};
use crate::p2::io::OutputStream;
use crate::table::Object;

/// Headers the host refuses in any `fields` (wasmtime's default list).
const FORBIDDEN: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
];

/// A `fields` resource: HTTP headers or trailers.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// Name and value of each field, in order; a name may repeat.
    entries: Vec<(String, Vec<u8>)>,
    /// Whether changes return `header-error.immutable` (the fields of a
    /// request, or a copy of them).
    immutable: bool,
}

/// An `outgoing-request`.
#[derive(Debug)]
pub struct OutgoingRequest {
    method: Method,
    path_with_query: Option<String>,
    scheme: Option<Scheme>,
    authority: Option<String>,
    /// The headers, immutable.
    headers: Fields,
    /// Whether `body` has been called.
    body_taken: bool,
}

/// An `outgoing-body`.
#[derive(Debug, Default)]
pub struct OutgoingBody {
    /// Whether `write` has been called.
    stream_taken: bool,
}

/// A `request-options`: timeouts in nanoseconds.
#[derive(Debug, Default)]
pub struct RequestOptions {
    connect_timeout: Option<Duration>,
    first_byte_timeout: Option<Duration>,
    between_bytes_timeout: Option<Duration>,
}

/// Whether `s` is an RFC 9110 token (a field name, or a method).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `v` may be a field value: no control characters but tab.
fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Checks that `name: value` may be added to a `fields`.
fn check_field(name: &str, value: &[u8]) -> Result<(), HeaderError> {
    check_name(name)?;
    if !is_field_value(value) {
        return Err(HeaderError::InvalidSyntax);
    }
    Ok(())
}

/// Checks that `name` may be set or deleted in a `fields`.
fn check_name(name: &str) -> Result<(), HeaderError> {
    if !is_token(name) {
        return Err(HeaderError::InvalidSyntax);
    }
    if FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name)) {
        return Err(HeaderError::Forbidden);
    }
    Ok(())
}

/// Whether `s` is a URI scheme (RFC 3986: a letter, then letters, digits,
/// `+`, `-` or `.`).
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Whether `s` may be an authority (RFC 3986 `[userinfo@]host[:port]`,
/// checked by character only).
fn is_authority(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@[]%".contains(&b))
}

/// Whether `s` may be a path with query: visible ASCII, no fragment.
fn is_path_with_query(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
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

impl WasiHost {
    fn new_fields(&mut self, fields: Fields) -> HostResult<Own<FieldsRes>> {
        Ok(Own::new(self.table.push(Object::Fields(fields))?))
    }

    /// The fields `rep`, for a change: `header-error.immutable` when they
    /// may not change.
    fn mutable_fields(&mut self, rep: u32) -> HostResult<Result<&mut Fields, HeaderError>> {
        let fields = self.table.fields(rep)?;
        Ok(if fields.immutable {
            Err(HeaderError::Immutable)
        } else {
            Ok(fields)
        })
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
        for (name, value) in &entries {
            if let Err(e) = check_field(name, value) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(self.new_fields(Fields {
            entries,
            immutable: false,
        })?))
    }

    fn method_fields_get(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<Vec<Vec<u8>>> {
        Ok(self
            .table
            .fields(this.rep)?
            .entries
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.clone())
            .collect())
    }

    fn method_fields_has(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<bool> {
        Ok(self
            .table
            .fields(this.rep)?
            .entries
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&name)))
    }

    fn method_fields_set(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
        values: Vec<Vec<u8>>,
    ) -> HostResult<Result<(), HeaderError>> {
        let fields = match self.mutable_fields(this.rep)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_name(&name) {
            return Ok(Err(e));
        }
        if !values.iter().all(|v| is_field_value(v)) {
            return Ok(Err(HeaderError::InvalidSyntax));
        }
        fields
            .entries
            .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        fields
            .entries
            .extend(values.into_iter().map(|v| (name.clone(), v)));
        Ok(Ok(()))
    }

    fn method_fields_delete(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
    ) -> HostResult<Result<(), HeaderError>> {
        let fields = match self.mutable_fields(this.rep)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_name(&name) {
            return Ok(Err(e));
        }
        fields
            .entries
            .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        Ok(Ok(()))
    }

    fn method_fields_append(
        &mut self,
        _: &mut Cx<'_>,
        this: Borrow<FieldsRes>,
        name: FieldName,
        value: Vec<u8>,
    ) -> HostResult<Result<(), HeaderError>> {
        let fields = match self.mutable_fields(this.rep)? {
            Ok(f) => f,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_field(&name, &value) {
            return Ok(Err(e));
        }
        fields.entries.push((name, value));
        Ok(Ok(()))
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
        let entries = self.table.fields(this.rep)?.entries.clone();
        self.new_fields(Fields {
            entries,
            immutable: false,
        })
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
        let rep = self
            .table
            .push(Object::OutgoingBody(OutgoingBody::default()))?;
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
        let file = File::options().write(true).open("/dev/null").map_err(|e| {
            HostTrap::Message(format!(
                "wasi:http/types#[method]outgoing-body.write: cannot open /dev/null: {e}"
            ))
        })?;
        let stream = OutputStream::File {
            file: Arc::new(file),
            offset: None,
        };
        Ok(Ok(Own::new(self.table.push(Object::OutputStream(stream))?)))
    }

    fn static_outgoing_body_finish(
        &mut self,
        _: &mut Cx<'_>,
        this: Own<OutgoingBodyRes>,
        trailers: Option<Own<FieldsRes>>,
    ) -> HostResult<Result<(), ErrorCode>> {
        self.take(this.rep, "outgoing-body")?;
        if let Some(t) = trailers {
            self.take(t.rep, "fields")?;
        }
        Ok(Ok(()))
    }

    fn http_error_code(
        &mut self,
        _: &mut Cx<'_>,
        _err: Borrow<wasi_io_error::Error>,
    ) -> HostResult<Option<ErrorCode>> {
        Ok(None)
    }
}

impl wasi_http_outgoing_handler::Host for WasiHost {
    fn handle(
        &mut self,
        _: &mut Cx<'_>,
        request: Own<OutgoingRequestRes>,
        options: Option<Own<RequestOptionsRes>>,
    ) -> HostResult<Result<Own<wasi_http_types::FutureIncomingResponse>, ErrorCode>> {
        self.take(request.rep, "outgoing-request")?;
        if let Some(o) = options {
            self.take(o.rep, "request-options")?;
        }
        Ok(Err(ErrorCode::HTTPRequestDenied))
    }
}
