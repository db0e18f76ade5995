//! Shared helpers of the HTTP guest programs.

use wasip2::http::types::{Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// Answers with `status`, the given headers and `body`, written in one
/// piece.
pub fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])], body: &[u8]) {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value)
            .expect("a valid header the guest chose");
    }
    let response = OutgoingResponse::new(fields);
    response.set_status_code(status).expect("a valid status");
    let outgoing = response.body().expect("the body, taken once");
    ResponseOutparam::set(out, Ok(response));
    let stream = outgoing.write().expect("the body's stream, taken once");
    for chunk in body.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .expect("the body is written");
    }
    drop(stream);
    OutgoingBody::finish(outgoing, None).expect("the body ends");
}
