//! What the WASI 0.3 test programs share: writing bytes to stdout and
//! stderr through `stream<u8>`s.

use wasip3::cli::types::ErrorCode;
use wasip3::wit_stream;

/// Writes `bytes` to stdout through a stream, waiting for the host to
/// report the stream's outcome.
pub async fn stdout(bytes: Vec<u8>) -> Result<(), ErrorCode> {
    let (mut tx, rx) = wit_stream::new();
    let (done, ()) = futures::join!(async { wasip3::cli::stdout::write_via_stream(rx).await }, async {
        let rest = tx.write_all(bytes).await;
        assert!(rest.is_empty(), "stdout closed early");
        drop(tx);
    });
    done
}

/// Writes `bytes` to stderr through a stream, as [`stdout`].
pub async fn stderr(bytes: Vec<u8>) -> Result<(), ErrorCode> {
    let (mut tx, rx) = wit_stream::new();
    let (done, ()) = futures::join!(async { wasip3::cli::stderr::write_via_stream(rx).await }, async {
        let rest = tx.write_all(bytes).await;
        assert!(rest.is_empty(), "stderr closed early");
        drop(tx);
    });
    done
}
