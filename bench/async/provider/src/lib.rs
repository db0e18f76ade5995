//! The provider half of smelt's async benchmark: implements
//! `smelt-bench:pair/calls` (`../wit/bench.wit`). `bytes` returns its
//! stream at once and fills it from a spawned task, one 64 KiB buffer per
//! `stream.write`, the same buffer every time.

use exports::smelt_bench::pair::calls::Guest;
use wit_bindgen::StreamReader;

wit_bindgen::generate!({
    world: "provider",
    path: "../wit",
});

struct Provider;

/// Bytes per `stream.write`.
const CHUNK: usize = 64 << 10;

impl Guest for Provider {
    async fn ping(x: u32) -> u32 {
        x.wrapping_add(1)
    }

    async fn bytes(len: u64) -> StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            let mut buf = vec![b'x'; CHUNK];
            let mut left = len;
            while left > 0 {
                let n = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
                // SAFETY: `buf`'s first CHUNK bytes were initialized above
                // and a write only reads them; `write_all` hands back the
                // same storage, emptied.
                unsafe { buf.set_len(n) };
                buf = tx.write_all(buf).await;
                if !buf.is_empty() {
                    return;
                }
                left -= n as u64;
            }
        });
        rx
    }
}

export!(Provider);
