//! The clock core: the monotonic and the real-time clock of the system.
//!
//! WASI 0.2's `wasi:clocks` (`p2/clocks.rs`), WASI 0.3's (`p3/clocks.rs`)
//! and preview1's `clock_time_get`/`clock_res_get` read them here.

/// The current reading of clock `id`.
pub fn clock(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clocks used exist on Linux.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts
}

/// The resolution of clock `id`.
pub fn resolution(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as above.
    unsafe { libc::clock_getres(id, &mut ts) };
    ts
}

/// A clock reading in nanoseconds (0 for one before the epoch).
pub fn nanos(ts: libc::timespec) -> u64 {
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + ts.tv_nsec as u64
}

/// The monotonic clock, in nanoseconds.
pub fn monotonic_now() -> u64 {
    nanos(clock(libc::CLOCK_MONOTONIC))
}

/// The resolution of the monotonic clock, in nanoseconds (at least 1).
pub fn monotonic_resolution() -> u64 {
    nanos(resolution(libc::CLOCK_MONOTONIC)).max(1)
}

/// The real-time clock: seconds since the epoch and nanoseconds.
pub fn realtime_now() -> (i64, u32) {
    let ts = clock(libc::CLOCK_REALTIME);
    (ts.tv_sec, ts.tv_nsec as u32)
}

/// The resolution of the real-time clock, in nanoseconds (at least 1).
pub fn realtime_resolution() -> u64 {
    nanos(resolution(libc::CLOCK_REALTIME)).max(1)
}
