//! The monotonic and wall clocks: a 50 ms sleep measured with `Instant`
//! must take at least 50 ms and less than 5 s; `SystemTime::now()` must be
//! after 2024-01-01 and the monotonic clock must not go backwards. Prints
//! one `true`/`false` line per check.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(50));
    let elapsed = start.elapsed();
    println!(
        "sleep(50ms) took >= 50ms: {}",
        elapsed >= Duration::from_millis(50)
    );
    println!(
        "sleep(50ms) took < 5s: {}",
        elapsed < Duration::from_secs(5)
    );

    let mut last = Instant::now();
    let mut monotonic = true;
    for _ in 0..1000 {
        let now = Instant::now();
        monotonic &= now >= last;
        last = now;
    }
    println!("Instant never goes backwards: {monotonic}");

    // 2024-01-01T00:00:00Z.
    const JAN_1_2024: u64 = 1_704_067_200;
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    println!(
        "SystemTime::now() is after 2024-01-01: {}",
        since_epoch.as_secs() > JAN_1_2024
    );
    let t0 = SystemTime::now();
    std::thread::sleep(Duration::from_millis(20));
    let advanced = SystemTime::now()
        .duration_since(t0)
        .is_ok_and(|d| d >= Duration::from_millis(10));
    println!("SystemTime advances across a sleep: {advanced}");
}
