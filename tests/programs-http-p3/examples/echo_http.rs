//! An HTTP handler for the serving tests, WASI 0.3; the same paths and
//! answers as tests/programs-http's `echo_http`:
//!
//! - `/echo`: `200`, the request's body streamed back as it is read, with
//!   `x-method`, `x-path`, and the trailer `x-body-length`;
//! - `/headers`: `200`, one line `name: value` per request header, in order;
//! - `/big/N`: `200`, N bytes of a repeating pattern (`0123456789`);
//! - `/status/N`: status N, empty body;
//! - `/trailers`: `200`, body `body`, trailer `x-trailer: yes`;
//! - `/trap`: the guest traps (the server answers 500);
//! - `/exit`: the guest calls `wasi:cli/exit` (the server answers 500);
//! - `/no-response`: answers with an error (the server answers 500);
//! - anything else: `404`.

use smelt_test_programs_http_p3::respond;
use wasip3::http::types::{ErrorCode, Fields, Method, Request, Response};
use wasip3::{wit_bindgen, wit_future, wit_stream};

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
fn echo(request: Request) -> Result<Response, ErrorCode> {
    let headers = Fields::new();
    let method = method_name(&request.get_method());
    let path = request.get_path_with_query().unwrap_or_default();
    headers.append("x-method", method.as_bytes()).unwrap();
    headers.append("x-path", path.as_bytes()).unwrap();
    let (_res_tx, res_rx) = wit_future::new(|| Ok(()));
    let (mut body_in, _request_trailers) = Request::consume_body(request, res_rx);
    let (mut body_out, body_rx) = wit_stream::new();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(headers, Some(body_rx), trailers_rx);
    wit_bindgen::spawn_local(async move {
        let mut total = 0u64;
        loop {
            let (status, chunk) = body_in.read(Vec::with_capacity(65536)).await;
            if chunk.is_empty() {
                if matches!(status, wit_bindgen::StreamResult::Complete(_)) {
                    continue;
                }
                break;
            }
            total += chunk.len() as u64;
            let rest = body_out.write_all(chunk).await;
            assert!(rest.is_empty(), "the host read the whole chunk");
        }
        drop(body_out);
        let trailers = Fields::new();
        trailers
            .append("x-body-length", total.to_string().as_bytes())
            .unwrap();
        let _ = trailers_tx.write(Ok(Some(trailers))).await;
    });
    Ok(response)
}

impl wasip3::exports::http::handler::Guest for Echo {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let path = request.get_path_with_query().unwrap_or_default();
        let path = path.split('?').next().unwrap_or_default().to_string();
        if path == "/echo" {
            echo(request)
        } else if path == "/headers" {
            let mut text = String::new();
            for (name, value) in request.get_headers().copy_all() {
                text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(&value)));
            }
            respond(200, &[], text.into_bytes(), None)
        } else if let Some(n) = path.strip_prefix("/big/") {
            let n: usize = n.parse().unwrap_or(0);
            respond(
                200,
                &[],
                (0..n).map(|i| b'0' + (i % 10) as u8).collect(),
                None,
            )
        } else if let Some(code) = path.strip_prefix("/status/") {
            respond(code.parse().unwrap_or(500), &[], Vec::new(), None)
        } else if path == "/trailers" {
            respond(
                200,
                &[],
                b"body".to_vec(),
                Some(vec![("x-trailer".into(), b"yes".to_vec())]),
            )
        } else if path == "/exit" {
            std::process::exit(3);
        } else if path == "/trap" {
            core::arch::wasm32::unreachable();
        } else if path == "/no-response" {
            Err(ErrorCode::InternalError(Some("no response".into())))
        } else {
            respond(404, &[], b"not found\n".to_vec(), None)
        }
    }
}

wasip3::http::service::export!(Echo);
