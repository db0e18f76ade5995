//! The app half of smelt's async benchmark, a WASI 0.3 command:
//! `app tiny|full` times, with `wasi:clocks/monotonic-clock`,
//!
//! - `yield`: `thread.yield` in a loop (wit-bindgen's `yield_blocking`);
//!   in a task that may block, smelt suspends the task's coroutine to the
//!   event loop, which resumes it: two coroutine switches per yield;
//! - `yield_async`: wit-bindgen's `yield_async` in a loop, which returns
//!   `YIELD` to the host from the export's callback;
//! - `call`: `ping` of the provider component, awaited one after another;
//! - `stream`: `bytes` of the provider read to its end in 64 KiB reads;
//! - `stdout`: as many bytes written to stdout through a WASI 0.3 stream
//!   in 64 KiB writes (run it with stdout on /dev/null).
//!
//! It prints one line on stderr for bench/run.py:
//! `async-bench: yield_ns=… yield_async_ns=… call_ns=… stream_bps=… stdout_bps=…`.

use smelt_bench::pair::calls::{bytes, ping};
use wasip3::clocks::monotonic_clock::now;
use wasip3::wit_bindgen::StreamResult;

wit_bindgen::generate!({
    world: "app",
    path: "../wit",
});

/// Bytes per stream read and write.
const CHUNK: usize = 64 << 10;

/// How much of each thing one run does.
struct Size {
    yields: u32,
    calls: u32,
    stream_bytes: u64,
    stdout_bytes: u64,
}

const TINY: Size = Size {
    yields: 1000,
    calls: 1000,
    stream_bytes: 1 << 20,
    stdout_bytes: 1 << 20,
};
const FULL: Size = Size {
    yields: 2_000_000,
    // wasmtime 48 stops a run of 1M calls from one task with "resource
    // table has no free keys"; 500k both runtimes complete.
    calls: 500_000,
    stream_bytes: 1 << 30,
    stdout_bytes: 1 << 30,
};

wasip3::cli::command::export!(App);

struct App;

/// Nanoseconds since `start`, at least 1.
fn since(start: u64) -> u64 {
    now().saturating_sub(start).max(1)
}

/// Writes `text` to stderr through a WASI 0.3 stream.
async fn eprint(text: String) -> Result<(), ()> {
    let (mut tx, rx) = wasip3::wit_stream::new();
    let (written, ()) = futures::join!(
        async { wasip3::cli::stderr::write_via_stream(rx).await },
        async {
            tx.write_all(text.into_bytes()).await;
            drop(tx);
        }
    );
    written.map_err(drop)
}

/// Nanoseconds per `thread.yield`.
fn time_yields(n: u32) -> f64 {
    let start = now();
    for _ in 0..n {
        wit_bindgen::yield_blocking();
    }
    since(start) as f64 / f64::from(n)
}

/// Nanoseconds per `yield_async`.
async fn time_async_yields(n: u32) -> f64 {
    let start = now();
    for _ in 0..n {
        wit_bindgen::yield_async().await;
    }
    since(start) as f64 / f64::from(n)
}

/// Nanoseconds per async call of `ping`; checks the answers.
async fn time_calls(n: u32) -> Result<f64, ()> {
    let start = now();
    let mut x = 0;
    for _ in 0..n {
        x = ping(x).await;
    }
    let ns = since(start);
    if x != n {
        eprint(format!("async-bench: ping counted {x}, not {n}\n")).await?;
        return Err(());
    }
    Ok(ns as f64 / f64::from(n))
}

/// Bytes per second from the provider's `bytes` stream; checks the count.
async fn time_stream(len: u64) -> Result<f64, ()> {
    let start = now();
    let mut rx = bytes(len).await;
    let mut buf = Vec::with_capacity(CHUNK);
    let mut got = 0u64;
    loop {
        let (result, back) = rx.read(buf).await;
        buf = back;
        match result {
            StreamResult::Complete(n) => got += n as u64,
            StreamResult::Dropped | StreamResult::Cancelled => break,
        }
        buf.clear();
    }
    let ns = since(start);
    if got != len {
        eprint(format!(
            "async-bench: the stream gave {got} bytes, not {len}\n"
        ))
        .await?;
        return Err(());
    }
    Ok(len as f64 * 1e9 / ns as f64)
}

/// Bytes per second written to stdout.
async fn time_stdout(len: u64) -> Result<f64, ()> {
    let start = now();
    let (mut tx, rx) = wasip3::wit_stream::new();
    let (written, sent) = futures::join!(
        async { wasip3::cli::stdout::write_via_stream(rx).await },
        async {
            let mut buf = vec![b'x'; CHUNK];
            let mut left = len;
            while left > 0 {
                let n = CHUNK.min(usize::try_from(left).unwrap_or(CHUNK));
                // SAFETY: `buf`'s first CHUNK bytes were initialized above and
                // a write only reads them; `write_all` hands back the same
                // storage, emptied.
                unsafe { buf.set_len(n) };
                buf = tx.write_all(buf).await;
                if !buf.is_empty() {
                    break;
                }
                left -= n as u64;
            }
            drop(tx);
            len - left
        }
    );
    let ns = since(start);
    written.map_err(drop)?;
    if sent != len {
        eprint(format!(
            "async-bench: stdout took {sent} bytes, not {len}\n"
        ))
        .await?;
        return Err(());
    }
    Ok(len as f64 * 1e9 / ns as f64)
}

impl wasip3::exports::cli::run::Guest for App {
    async fn run() -> Result<(), ()> {
        let args = wasip3::cli::environment::get_arguments();
        let size = match args.get(1).map(String::as_str) {
            Some("tiny") => TINY,
            Some("full") => FULL,
            _ => {
                eprint("usage: app tiny|full\n".to_string()).await?;
                return Err(());
            }
        };
        let yield_ns = time_yields(size.yields);
        let yield_async_ns = time_async_yields(size.yields).await;
        let call_ns = time_calls(size.calls).await?;
        let stream_bps = time_stream(size.stream_bytes).await?;
        let stdout_bps = time_stdout(size.stdout_bytes).await?;
        eprint(format!(
            "async-bench: yield_ns={yield_ns:.2} yield_async_ns={yield_async_ns:.2} \
             call_ns={call_ns:.2} stream_bps={stream_bps:.0} stdout_bps={stdout_bps:.0}\n"
        ))
        .await
    }
}

fn main() {}
