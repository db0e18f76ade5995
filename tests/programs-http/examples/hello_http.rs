//! The hello world of HTTP: every request gets `200` and a short text.

use wasip2::http::types::{IncomingRequest, ResponseOutparam};

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        smelt_test_programs_http::respond(
            out,
            200,
            &[("content-type", b"text/plain")],
            b"Hello from a smelt HTTP server\n",
        );
    }
}

wasip2::http::proxy::export!(Hello);
