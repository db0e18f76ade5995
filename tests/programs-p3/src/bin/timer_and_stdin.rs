//! Waits for a 200 ms timer and for all of stdin at once, and prints the
//! two events in the order they happened: `timer` and `stdin: N bytes`.
//! With stdin arriving late (after the timer), `timer` comes first — which
//! it only can if a read of stdin with no data yet does not block the
//! process.

use std::cell::RefCell;

use smelt_test_programs_p3::stdout;
use wasip3::wit_bindgen::StreamResult;

wasip3::cli::command::export!(TimerAndStdin);

struct TimerAndStdin;

impl wasip3::exports::cli::run::Guest for TimerAndStdin {
    async fn run() -> Result<(), ()> {
        let events = RefCell::new(String::new());
        let timer = async {
            wasip3::clocks::monotonic_clock::wait_for(200_000_000).await;
            events.borrow_mut().push_str("timer\n");
        };
        let input = async {
            let (mut rx, done) = wasip3::cli::stdin::read_via_stream();
            let mut total = 0;
            loop {
                let (result, buf) = rx.read(Vec::with_capacity(4096)).await;
                if !matches!(result, StreamResult::Complete(_)) {
                    break;
                }
                total += buf.len();
            }
            done.await.map_err(drop)?;
            events
                .borrow_mut()
                .push_str(&format!("stdin: {total} bytes\n"));
            Ok::<(), ()>(())
        };
        let ((), read) = futures::join!(timer, input);
        read?;
        stdout(events.into_inner().into_bytes()).await.map_err(drop)
    }
}

fn main() {}
