//! rayon on wasi-threads: a parallel sum, a parallel map-reduce and a
//! parallel sort on a pool of `RAYON_THREADS` threads (argument 1, default
//! 4), each checked against its sequential result. With argument 2
//! `bench`, only a parallel sum over `0..N` (argument 3, default 10^9),
//! for timing (`bench/threads.py`).

use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(4, |a| a.parse().expect("a thread count"));
    let bench = args.next().as_deref() == Some("bench");
    let n: u64 = args.next().map_or(1_000_000_000, |a| a.parse().expect("a count"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("the thread pool starts");
    if bench {
        let sum: u64 = pool.install(|| {
            (0..n)
                .into_par_iter()
                .map(|x| x.wrapping_mul(x) % 7)
                .sum()
        });
        println!("sum {sum}");
        return;
    }
    let n = 1_000_000u64;
    let (sum, squares, sorted) = pool.install(|| {
        let sum: u64 = (0..n).into_par_iter().sum();
        let squares: u64 = (0..n).into_par_iter().map(|x| x * x % 1_000_003).sum();
        // A pseudo-random permutation of 0..n, sorted in parallel.
        let mut v: Vec<u64> = (0..n).map(|x| x * 7_919 % n).collect();
        v.par_sort_unstable();
        (sum, squares, v)
    });
    let seq_squares: u64 = (0..n).map(|x| x * x % 1_000_003).sum();
    println!("pool of {} threads", pool.current_num_threads());
    println!("sum: {sum} (sequential {})", n * (n - 1) / 2);
    println!("squares mod p: {squares} (sequential {seq_squares})");
    println!(
        "sorted: {} ({} elements, first {:?}, last {:?})",
        sorted.windows(2).all(|w| w[0] < w[1]),
        sorted.len(),
        sorted.first(),
        sorted.last()
    );
}
