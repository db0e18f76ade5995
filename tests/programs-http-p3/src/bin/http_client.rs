//! The WASI 0.3 twin of tests/programs-http's `http_client` (same
//! arguments, same output), on `wasi:http/client#send`:
//!
//! ```text
//! http_client METHOD URL [--body N] [--length] [--connect-timeout MS]
//!             [--first-byte-timeout MS] [--between-bytes-timeout MS]
//! ```

use wasip3::http::client;
use wasip3::http::types::{ErrorCode, Fields, Method, Request, RequestOptions, Response, Scheme};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::cli::command::export!(Client);

struct Client;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn fail(e: ErrorCode) -> Result<(), ()> {
    println!("error {e:?}");
    Err(())
}

impl wasip3::exports::cli::run::Guest for Client {
    async fn run() -> Result<(), ()> {
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
        let (mut body_tx, body_rx) = wit_stream::new();
        let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
        let (request, _sent) = Request::new(headers, Some(body_rx), trailers_rx, Some(options));
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
        wit_bindgen::spawn_local(async move {
            if let Some(n) = body_len {
                let rest = body_tx.write_all(pattern(n)).await;
                assert!(rest.is_empty());
            }
            drop(body_tx);
            let _ = trailers_tx.write(Ok(None)).await;
        });
        let response = match client::send(request).await {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        println!("status {}", response.get_status_code());
        for (name, value) in response.get_headers().copy_all() {
            if name.eq_ignore_ascii_case("date") {
                continue;
            }
            println!("header {name}: {}", String::from_utf8_lossy(&value));
        }
        let (_res_tx, res_rx) = wit_future::new(|| Ok(()));
        let (mut body, trailers) = Response::consume_body(response, res_rx);
        let (mut total, mut hash) = (0usize, 0xcbf2_9ce4_8422_2325u64);
        loop {
            let (status, chunk) = body.read(Vec::with_capacity(65536)).await;
            if chunk.is_empty() {
                if matches!(status, wit_bindgen::StreamResult::Complete(_)) {
                    continue;
                }
                break;
            }
            total += chunk.len();
            fnv1a(&mut hash, &chunk);
        }
        match trailers.await {
            Ok(trailers) => {
                println!("body {total} bytes fnv1a {hash:016x}");
                if let Some(fields) = trailers {
                    for (name, value) in fields.copy_all() {
                        println!("trailer {name}: {}", String::from_utf8_lossy(&value));
                    }
                }
                Ok(())
            }
            Err(e) => {
                println!("body {total} bytes fnv1a {hash:016x}");
                fail(e)
            }
        }
    }
}

fn main() {}
