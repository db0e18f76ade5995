//! The hello world of HTTP, WASI 0.3: every request gets `200` and a
//! short text.

use wasip3::http::types::{ErrorCode, Request, Response};

struct Hello;

impl wasip3::exports::http::handler::Guest for Hello {
    async fn handle(_request: Request) -> Result<Response, ErrorCode> {
        smelt_test_programs_http_p3::respond(
            200,
            &[("content-type", b"text/plain")],
            b"Hello from a smelt HTTP server\n".to_vec(),
            None,
        )
    }
}

wasip3::http::service::export!(Hello);
