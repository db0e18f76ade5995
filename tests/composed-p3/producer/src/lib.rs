//! The producer half of smelt's WASI 0.3 composed test: implements
//! `smelt-test:streams/bytes` (`../wit/streams.wit`). `numbers` returns
//! a stream at once and keeps writing it from a spawned task, in chunks
//! of an odd size; `checksum` reads a stream to its end.

use exports::smelt_test::streams::bytes::Guest;
use wit_bindgen::StreamReader;

wit_bindgen::generate!({
    world: "producer",
    path: "../wit",
});

struct Producer;

/// Bytes written per `stream.write`.
const CHUNK: u32 = 7919;

impl Guest for Producer {
    async fn numbers(len: u32) -> StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            let mut at = 0;
            while at < len {
                let n = CHUNK.min(len - at);
                let chunk: Vec<u8> = (at..at + n).map(|i| (i % 251) as u8).collect();
                let rest = tx.write_all(chunk).await;
                if !rest.is_empty() {
                    return;
                }
                at += n;
            }
        });
        rx
    }

    async fn checksum(mut data: StreamReader<u8>) -> u64 {
        let mut sum = 0u64;
        while let Some(b) = data.next().await {
            sum += u64::from(b);
        }
        sum
    }
}

export!(Producer);
