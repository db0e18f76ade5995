//! Writes 1 MiB (and a bit) to stdout, the i-th byte `i mod 251`, while a
//! 100 ms timer runs, whose firing it reports on stderr (`timer fired`).
//! When stdout is a pipe its reader is slow to drain, the write must wait
//! in the event loop, not block the process: the timer still fires on
//! time.

use smelt_test_programs_p3::{stderr, stdout};

wasip3::cli::command::export!(SlowReader);

struct SlowReader;

/// Bytes written to stdout.
const LEN: u32 = (1 << 20) + 17;

impl wasip3::exports::cli::run::Guest for SlowReader {
    async fn run() -> Result<(), ()> {
        let timer = async {
            wasip3::clocks::monotonic_clock::wait_for(100_000_000).await;
            stderr(b"timer fired\n".to_vec()).await
        };
        let bytes: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let (fired, written) = futures::join!(timer, stdout(bytes));
        fired.map_err(drop)?;
        written.map_err(drop)
    }
}

fn main() {}
