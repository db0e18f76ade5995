//! A stress test of atomics from 8 threads: `fetch_add` counters of every
//! width, a compare-exchange loop, a spin lock guarding a plain counter,
//! and `fetch_max`/`fetch_or`; each total is exact only if every atomic
//! is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::thread;

const THREADS: u64 = 8;
const ROUNDS: u64 = 20_000;

#[derive(Default)]
struct Counters {
    a8: AtomicU8,
    a16: AtomicU16,
    a32: AtomicU32,
    a64: AtomicU64,
    cas: AtomicU64,
    max: AtomicU64,
    bits: AtomicU64,
    lock: AtomicBool,
    guarded: std::cell::UnsafeCell<u64>,
}

// SAFETY: `guarded` is only touched while `lock` is held.
unsafe impl Sync for Counters {}

fn main() {
    let c = Arc::new(Counters::default());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for i in 0..ROUNDS {
                    c.a8.fetch_add(1, Ordering::Relaxed);
                    c.a16.fetch_add(1, Ordering::AcqRel);
                    c.a32.fetch_add(3, Ordering::SeqCst);
                    c.a64.fetch_add(t + 1, Ordering::SeqCst);
                    let mut cur = c.cas.load(Ordering::Relaxed);
                    loop {
                        match c.cas.compare_exchange_weak(
                            cur,
                            cur + 2,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        ) {
                            Ok(_) => break,
                            Err(seen) => cur = seen,
                        }
                    }
                    c.max.fetch_max(t * ROUNDS + i, Ordering::Relaxed);
                    c.bits.fetch_or(1 << (t * 8 + i % 8), Ordering::Relaxed);
                    if i % 4 == 0 {
                        while c
                            .lock
                            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                            .is_err()
                        {
                            std::hint::spin_loop();
                        }
                        // SAFETY: the spin lock is held.
                        unsafe { *c.guarded.get() += 1 };
                        c.lock.store(false, Ordering::Release);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!("threads: {THREADS}, rounds: {ROUNDS}");
    println!("u8: {}", c.a8.load(Ordering::SeqCst));
    println!("u16: {}", c.a16.load(Ordering::SeqCst));
    println!("u32: {}", c.a32.load(Ordering::SeqCst));
    println!("u64: {}", c.a64.load(Ordering::SeqCst));
    println!("cas: {}", c.cas.load(Ordering::SeqCst));
    println!("max: {}", c.max.load(Ordering::SeqCst));
    println!("bits: {:#x}", c.bits.load(Ordering::SeqCst));
    // SAFETY: every thread has ended.
    println!("spin-locked: {}", unsafe { *c.guarded.get() });
}
