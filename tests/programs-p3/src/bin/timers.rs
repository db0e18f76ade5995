//! Three `wait-for`s of 300 ms at once, joined: they must overlap, so the
//! whole takes about 300 ms, well under their 900 ms sum. Prints what it
//! checked (true when it holds) and exits 1 if something did not.

use smelt_test_programs_p3::stdout;
use wasip3::clocks::monotonic_clock::{now, wait_for};

wasip3::cli::command::export!(Timers);

struct Timers;

const WAIT_NS: u64 = 300_000_000;

impl wasip3::exports::cli::run::Guest for Timers {
    async fn run() -> Result<(), ()> {
        let start = now();
        futures::join!(wait_for(WAIT_NS), wait_for(WAIT_NS), wait_for(WAIT_NS));
        let took = now() - start;
        let at_least = took >= WAIT_NS;
        let overlapped = took < 2 * WAIT_NS;
        stdout(
            format!(
                "3 joined waits of 300ms took >= 300ms: {at_least}\n\
                 3 joined waits of 300ms took < 600ms: {overlapped}\n"
            )
            .into_bytes(),
        )
        .await
        .map_err(drop)?;
        if at_least && overlapped { Ok(()) } else { Err(()) }
    }
}

fn main() {}
