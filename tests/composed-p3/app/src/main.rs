//! The app half of smelt's WASI 0.3 composed test: reads the stream of
//! `numbers` from the producer component while forwarding each chunk
//! into a second stream, which the producer's `checksum` reads at the
//! same time; prints what both sides counted on stdout (through a WASI
//! 0.3 stream) and exits 0 when they agree.
//!
//! The output is fixed: `tests/tests/composed_p3.rs` compares it.

use smelt_test::streams::bytes::{checksum, numbers};
use wasip3::wit_bindgen::StreamResult;

wit_bindgen::generate!({
    world: "app",
    path: "../wit",
});

/// How many bytes `numbers` is asked for: 1 MiB and a bit.
const LEN: u32 = (1 << 20) + 17;

wasip3::cli::command::export!(App);

struct App;

impl wasip3::exports::cli::run::Guest for App {
    async fn run() -> Result<(), ()> {
        let mut rx = numbers(LEN).await;
        let (mut tx, forward) = wit_stream::new();
        let read = async {
            let (mut count, mut sum) = (0u64, 0u64);
            loop {
                let (result, buf) = rx.read(Vec::with_capacity(4096)).await;
                if !matches!(result, StreamResult::Complete(_)) {
                    break;
                }
                count += buf.len() as u64;
                sum += buf.iter().map(|&b| u64::from(b)).sum::<u64>();
                let rest = tx.write_all(buf).await;
                assert!(rest.is_empty(), "checksum stopped reading");
            }
            drop(tx);
            (count, sum)
        };
        let ((count, sum), checked) = futures::join!(read, checksum(forward));
        let expected: u64 = (0..u64::from(LEN)).map(|i| i % 251).sum();
        let text = format!(
            "numbers: {count} bytes, sum {sum}\nchecksum: {checked}\nexpected: {expected}\n"
        );
        let (mut out, out_rx) = wasip3::wit_stream::new();
        let (written, ()) = futures::join!(
            async { wasip3::cli::stdout::write_via_stream(out_rx).await },
            async {
                out.write_all(text.into_bytes()).await;
                drop(out);
            }
        );
        written.map_err(drop)?;
        if sum == expected && checked == expected && count == u64::from(LEN) {
            Ok(())
        } else {
            Err(())
        }
    }
}

fn main() {}
