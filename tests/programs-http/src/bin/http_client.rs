//! An HTTP client command for the client tests (WASI 0.2,
//! `wasi:http/outgoing-handler`):
//!
//! ```text
//! http_client METHOD URL [--body N] [--length] [--connect-timeout MS]
//!             [--first-byte-timeout MS] [--between-bytes-timeout MS]
//! ```
//!
//! sends METHOD to URL with a body of N pattern bytes (streamed in 64 KiB
//! writes, chunked, or with `content-length` given `--length`), and prints
//! `status N`, one `header NAME: VALUE` line per response header, `body N
//! bytes fnv1a X` and one `trailer NAME: VALUE` line per trailer; a failure
//! prints `error CODE` and exits 1.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::StreamError;

/// The bytes sent as a body of `n` bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn fail(e: ErrorCode) -> ! {
    println!("error {e:?}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let method = match args[1].as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let url = &args[2];
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut body_len = None;
    let mut with_length = false;
    let options = RequestOptions::new();
    let mut i = 3;
    while i < args.len() {
        let ms = || args[i + 1].parse::<u64>().expect("milliseconds") * 1_000_000;
        match args[i].as_str() {
            "--body" => body_len = Some(args[i + 1].parse::<usize>().expect("a size")),
            "--length" => {
                with_length = true;
                i += 1;
                continue;
            }
            "--connect-timeout" => options.set_connect_timeout(Some(ms())).unwrap(),
            "--first-byte-timeout" => options.set_first_byte_timeout(Some(ms())).unwrap(),
            "--between-bytes-timeout" => options.set_between_bytes_timeout(Some(ms())).unwrap(),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    let headers = Fields::new();
    if let (Some(n), true) = (body_len, with_length) {
        headers
            .append("content-length", n.to_string().as_bytes())
            .unwrap();
    }
    headers.append("x-client", b"smelt-test").unwrap();
    let request = OutgoingRequest::new(headers);
    request.set_method(&method).unwrap();
    request
        .set_scheme(Some(&if scheme == "https" {
            Scheme::Https
        } else {
            Scheme::Http
        }))
        .unwrap();
    request.set_authority(Some(authority)).unwrap();
    request.set_path_with_query(Some(path)).unwrap();
    let body = request.body().unwrap();
    let future = match outgoing_handler::handle(request, Some(options)) {
        Ok(f) => f,
        Err(e) => fail(e),
    };
    {
        let stream = body.write().unwrap();
        if let Some(n) = body_len {
            for chunk in pattern(n).chunks(65536) {
                stream.blocking_write_and_flush(chunk).unwrap();
            }
        }
    }
    OutgoingBody::finish(body, None).unwrap();
    let response = loop {
        match future.get() {
            Some(result) => break result.expect("the response, once"),
            None => future.subscribe().block(),
        }
    };
    let response = match response {
        Ok(r) => r,
        Err(e) => fail(e),
    };
    println!("status {}", response.status());
    for (name, value) in response.headers().entries() {
        if name == "date" {
            continue;
        }
        println!("header {name}: {}", String::from_utf8_lossy(&value));
    }
    let incoming = response.consume().unwrap();
    let (mut total, mut hash) = (0usize, 0xcbf2_9ce4_8422_2325u64);
    {
        let stream = incoming.stream().unwrap();
        loop {
            match stream.blocking_read(65536) {
                Ok(bytes) => {
                    total += bytes.len();
                    fnv1a(&mut hash, &bytes);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    match wasip2::http::types::http_error_code(&e) {
                        Some(code) => fail(code),
                        None => panic!("{}", e.to_debug_string()),
                    }
                }
            }
        }
    }
    println!("body {total} bytes fnv1a {hash:016x}");
    let trailers = IncomingBody::finish(incoming);
    let trailers = loop {
        match trailers.get() {
            Some(t) => break t.expect("the trailers, once"),
            None => trailers.subscribe().block(),
        }
    };
    match trailers {
        Ok(Some(fields)) => {
            for (name, value) in fields.entries() {
                println!("trailer {name}: {}", String::from_utf8_lossy(&value));
            }
        }
        Ok(None) => {}
        Err(e) => fail(e),
    }
}
