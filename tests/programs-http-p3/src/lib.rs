//! Shared helpers of the WASI 0.3 HTTP guest programs.

use wasip3::http::types::{ErrorCode, Fields, Response};
use wasip3::{wit_bindgen, wit_future, wit_stream};

/// A response with `status`, the given headers and `body`, which a task
/// of the guest writes after the handler has returned; `trailers` are
/// sent after the body.
pub fn respond(
    status: u16,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
    trailers: Option<Vec<(String, Vec<u8>)>>,
) -> Result<Response, ErrorCode> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value)
            .map_err(|e| ErrorCode::InternalError(Some(format!("{e:?}"))))?;
    }
    let (mut body_tx, body_rx) = wit_stream::new();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(fields, Some(body_rx), trailers_rx);
    response
        .set_status_code(status)
        .map_err(|()| ErrorCode::InternalError(Some("bad status".into())))?;
    wit_bindgen::spawn_local(async move {
        let rest = body_tx.write_all(body).await;
        assert!(rest.is_empty(), "the host read the whole body");
        drop(body_tx);
        let trailers = trailers.map(|list| {
            let fields = Fields::new();
            for (name, value) in list {
                fields.append(&name, &value).expect("a valid trailer");
            }
            fields
        });
        let _ = trailers_tx.write(Ok(trailers)).await;
    });
    Ok(response)
}
