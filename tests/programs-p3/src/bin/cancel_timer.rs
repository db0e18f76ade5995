//! Races a 100 ms `wait-for` against a 30 s one and drops the loser, which
//! cancels its subtask (`subtask.cancel` of a host call still waiting):
//! the program must end right after the short wait, not 30 s later.

use futures::FutureExt;
use smelt_test_programs_p3::stdout;
use wasip3::clocks::monotonic_clock::{now, wait_for};

wasip3::cli::command::export!(CancelTimer);

struct CancelTimer;

impl wasip3::exports::cli::run::Guest for CancelTimer {
    async fn run() -> Result<(), ()> {
        let start = now();
        let short_won = futures::select! {
            () = wait_for(100_000_000).fuse() => true,
            () = wait_for(30_000_000_000).fuse() => false,
        };
        let took = now() - start;
        let quick = took < 5_000_000_000;
        stdout(format!("short wait won: {short_won}\nended within 5s: {quick}\n").into_bytes())
            .await
            .map_err(drop)?;
        if short_won && quick { Ok(()) } else { Err(()) }
    }
}

fn main() {}
