//! `std::thread` with the synchronization of `std::sync`: threads spawned
//! and joined with results, a `Mutex` shared through an `Arc`, a `Condvar`
//! hand-off in both directions, an `mpsc` channel with several senders, a
//! `Barrier`, scoped threads borrowing the stack, thread names and
//! thread-locals. Everything printed is independent of scheduling.

use std::cell::Cell;
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;

thread_local! {
    static LOCAL: Cell<u32> = const { Cell::new(0) };
}

fn main() {
    // Spawn and join, each thread returning a value.
    let handles: Vec<_> = (1..=4u64)
        .map(|i| thread::spawn(move || (1..=i * 1000).sum::<u64>()))
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("join: {sums:?}");

    // A Mutex-protected vector filled by 4 threads.
    let shared = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for k in 0..250 {
                    shared.lock().unwrap().push(t * 1000 + k);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut v = shared.lock().unwrap().clone();
    let len = v.len();
    v.sort_unstable();
    v.dedup();
    println!(
        "mutex: {len} pushes, {} distinct, sum {}",
        v.len(),
        v.iter().map(|&x| u64::from(x)).sum::<u64>()
    );

    // A Condvar ping-pong: the main thread and a worker take turns 100
    // times on one counter.
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let worker = {
        let pair = Arc::clone(&pair);
        thread::spawn(move || {
            let (lock, cvar) = &*pair;
            let mut n = lock.lock().unwrap();
            while *n < 200 {
                while *n % 2 == 0 {
                    n = cvar.wait(n).unwrap();
                }
                *n += 1;
                cvar.notify_all();
            }
        })
    };
    {
        let (lock, cvar) = &*pair;
        let mut n = lock.lock().unwrap();
        while *n < 200 {
            *n += 1;
            cvar.notify_all();
            while *n % 2 == 1 {
                n = cvar.wait(n).unwrap();
            }
        }
        println!("condvar: counter at {}", *n);
    }
    worker.join().unwrap();

    // An mpsc channel with 3 senders; the receiver ends when all are gone.
    let (tx, rx) = mpsc::channel();
    for t in 0..3u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for k in 0..100 {
                tx.send((t, k)).unwrap();
            }
        });
    }
    drop(tx);
    let mut per_sender = [0u32; 3];
    let mut in_order = true;
    let mut last = [None::<u32>; 3];
    for (t, k) in rx {
        per_sender[t as usize] += 1;
        in_order &= last[t as usize].is_none_or(|l| l + 1 == k);
        last[t as usize] = Some(k);
    }
    println!("channel: {per_sender:?} messages, each sender's in order: {in_order}");

    // A sync_channel of capacity 1 as a pipeline.
    let (tx, rx) = mpsc::sync_channel::<u64>(1);
    let producer = thread::spawn(move || {
        for i in 0..50 {
            tx.send(i * i).unwrap();
        }
    });
    let total: u64 = rx.iter().sum();
    producer.join().unwrap();
    println!("sync_channel: sum of squares {total}");

    // A barrier: no thread passes before all arrive.
    let barrier = Arc::new(Barrier::new(5));
    let arrived = Arc::new(Mutex::new(0u32));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, arrived) = (Arc::clone(&barrier), Arc::clone(&arrived));
            thread::spawn(move || {
                *arrived.lock().unwrap() += 1;
                barrier.wait();
                *arrived.lock().unwrap()
            })
        })
        .collect();
    *arrived.lock().unwrap() += 1;
    barrier.wait();
    let seen: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("barrier: every thread saw {seen:?} arrivals");

    // Scoped threads borrowing the stack.
    let mut data = [1u64, 2, 3, 4, 5, 6, 7, 8];
    thread::scope(|s| {
        for chunk in data.chunks_mut(2) {
            s.spawn(move || {
                for x in chunk {
                    *x *= 10;
                }
            });
        }
    });
    println!("scope: {data:?}");

    // Names and thread-locals.
    LOCAL.with(|l| l.set(1));
    let name = thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| {
            LOCAL.with(|l| l.set(l.get() + 41));
            (
                thread::current().name().map(str::to_string),
                LOCAL.with(Cell::get),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    println!(
        "names and locals: {name:?}, main's local still {}",
        LOCAL.with(Cell::get)
    );
}
