//! Spawns up to N threads (argument 1) that each wait until all spawning
//! is done, then joins them: prints how many started and, when a spawn
//! failed, the error's kind. Under a cap (`smelt build --max-threads`)
//! spawning fails past it, and the program goes on (and spawns no
//! more: a thread's slot under the cap is given back a moment after its
//! `join` returns).

use std::sync::{Arc, Condvar, Mutex};
use std::thread;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(64, |a| a.parse().expect("a thread count"));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let mut handles = Vec::new();
    let mut failure = None;
    for i in 0..n {
        let gate = Arc::clone(&gate);
        let spawned = thread::Builder::new().spawn(move || {
            let (open, cvar) = &*gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cvar.wait(open).unwrap();
            }
            i
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                failure = Some(e.kind());
                break;
            }
        }
    }
    println!("started: {}", handles.len());
    if let Some(kind) = failure {
        println!("spawn failed: {kind:?}");
    }
    {
        let (open, cvar) = &*gate;
        *open.lock().unwrap() = true;
        cvar.notify_all();
    }
    let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("joined, sum of indices: {sum}");
    // Under no cap, one more spawn after the others ended.
    if failure.is_none() {
        let again = thread::spawn(|| 42).join().unwrap();
        println!("after: {again}");
    }
}
