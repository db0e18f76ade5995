//! `std::process::exit` (WASI `proc_exit`) from a spawned thread, while
//! the main thread waits for a message that never comes: the process ends
//! with the thread's status, with what was printed before.

use std::sync::mpsc;
use std::thread;

fn main() {
    let (tx, rx) = mpsc::channel::<()>();
    println!("main: spawning");
    thread::spawn(move || {
        println!("thread: exiting with 17");
        let _keep = tx;
        std::process::exit(17);
    });
    let _ = rx.recv();
    // Reached only if the channel closes first: the thread's exit ends
    // the process before it drops its sender.
    println!("main: the thread did not exit the process");
}
