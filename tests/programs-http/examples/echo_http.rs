//! An HTTP handler for the serving tests, by path:
//!
//! - `/echo`: `200`, the request's body streamed back as it is read, with
//!   `x-method`, `x-path` and `x-body-length` (sent as trailers, since the
//!   length is known only at the end) describing the request;
//! - `/headers`: `200`, one line `name: value` per request header, in order;
//! - `/big/N`: `200`, N bytes of a repeating pattern (`0123456789`);
//! - `/status/N`: status N, empty body;
//! - `/trailers`: `200`, body `body`, trailer `x-trailer: yes`;
//! - `/trap`: the guest traps (the server answers 500);
//! - `/exit`: the guest calls `wasi:cli/exit` (the server answers 500);
//! - `/no-response`: returns without a response (the server answers 500);
//! - anything else: `404`.

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::StreamError;

struct Echo;

fn method_name(m: &Method) -> String {
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

/// Streams the request's body into the response's, chunk by chunk.
fn echo(request: IncomingRequest, out: ResponseOutparam) {
    let headers = Fields::new();
    let method = method_name(&request.method());
    let path = request.path_with_query().unwrap_or_default();
    headers.append("x-method", method.as_bytes()).unwrap();
    headers.append("x-path", path.as_bytes()).unwrap();
    let response = OutgoingResponse::new(headers);
    let outgoing = response.body().unwrap();
    ResponseOutparam::set(out, Ok(response));
    let sink = outgoing.write().unwrap();
    let incoming = request.consume().unwrap();
    let source = incoming.stream().unwrap();
    let mut total = 0u64;
    loop {
        match source.blocking_read(65536) {
            Ok(bytes) => {
                total += bytes.len() as u64;
                sink.blocking_write_and_flush(&bytes).unwrap();
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                panic!("reading the request body: {}", e.to_debug_string())
            }
        }
    }
    drop(source);
    let _ = IncomingBody::finish(incoming);
    drop(sink);
    let trailers = Fields::new();
    trailers
        .append("x-body-length", total.to_string().as_bytes())
        .unwrap();
    OutgoingBody::finish(outgoing, Some(trailers)).unwrap();
}

impl wasip2::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_string();
        let respond = smelt_test_programs_http::respond;
        if path == "/echo" {
            echo(request, out);
        } else if path == "/headers" {
            let mut text = String::new();
            for (name, value) in request.headers().entries() {
                text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(&value)));
            }
            respond(out, 200, &[], text.as_bytes());
        } else if let Some(n) = path.strip_prefix("/big/") {
            let n: usize = n.parse().unwrap_or(0);
            let body: Vec<u8> = (0..n).map(|i| b'0' + (i % 10) as u8).collect();
            respond(out, 200, &[], &body);
        } else if let Some(code) = path.strip_prefix("/status/") {
            respond(out, code.parse().unwrap_or(500), &[], b"");
        } else if path == "/trailers" {
            let response = OutgoingResponse::new(Fields::new());
            let outgoing = response.body().unwrap();
            ResponseOutparam::set(out, Ok(response));
            let sink = outgoing.write().unwrap();
            sink.blocking_write_and_flush(b"body").unwrap();
            drop(sink);
            let trailers = Fields::new();
            trailers.append("x-trailer", b"yes").unwrap();
            OutgoingBody::finish(outgoing, Some(trailers)).unwrap();
        } else if path == "/exit" {
            std::process::exit(3);
        } else if path == "/trap" {
            core::arch::wasm32::unreachable();
        } else if path == "/no-response" {
            drop(out);
        } else {
            respond(out, 404, &[], b"not found\n");
        }
    }
}

wasip2::http::proxy::export!(Echo);
