//! A panic on a spawned thread while the main thread waits for it. On
//! wasm32-wasip1-threads a panic aborts (a trap): the whole process ends
//! with status 134. Natively it unwinds and `join` reports it.

use std::thread;

fn main() {
    println!("main: spawning");
    let h = thread::spawn(|| {
        let v: Vec<u32> = Vec::new();
        let i = std::env::args().count() + 4;
        v[i]
    });
    let r = h.join();
    println!("main: joined, the thread panicked: {}", r.is_err());
}
