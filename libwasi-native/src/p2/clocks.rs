//! `wasi:clocks`: the monotonic clock (with timers) and the wall clock.

use smelt_rt::component::host::{Cx, HostResult, Own};

use crate::WasiHost;
use crate::bindings::wasi_clocks_monotonic_clock::{self, Duration, Instant};
use crate::bindings::wasi_clocks_wall_clock::{self, Datetime};
use crate::bindings::wasi_io_poll::Pollable as PollableRes;
use crate::p2::io::Pollable;

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

/// A clock reading in nanoseconds.
pub fn nanos(ts: libc::timespec) -> u64 {
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// The monotonic clock, in nanoseconds.
pub fn monotonic_now() -> u64 {
    nanos(clock(libc::CLOCK_MONOTONIC))
}

impl wasi_clocks_monotonic_clock::Host for WasiHost {
    fn now(&mut self, _: &mut Cx<'_>) -> HostResult<Instant> {
        Ok(monotonic_now())
    }

    fn resolution(&mut self, _: &mut Cx<'_>) -> HostResult<Duration> {
        Ok(nanos(resolution(libc::CLOCK_MONOTONIC)).max(1))
    }

    fn subscribe_instant(&mut self, _: &mut Cx<'_>, when: Instant) -> HostResult<Own<PollableRes>> {
        self.pollable(Pollable::Deadline(when))
    }

    fn subscribe_duration(
        &mut self,
        _: &mut Cx<'_>,
        when: Duration,
    ) -> HostResult<Own<PollableRes>> {
        self.pollable(Pollable::Deadline(monotonic_now().saturating_add(when)))
    }
}

impl wasi_clocks_wall_clock::Host for WasiHost {
    fn now(&mut self, _: &mut Cx<'_>) -> HostResult<Datetime> {
        let ts = clock(libc::CLOCK_REALTIME);
        Ok(Datetime {
            seconds: ts.tv_sec as u64,
            nanoseconds: ts.tv_nsec as u32,
        })
    }

    fn resolution(&mut self, _: &mut Cx<'_>) -> HostResult<Datetime> {
        let ts = resolution(libc::CLOCK_REALTIME);
        Ok(Datetime {
            seconds: ts.tv_sec as u64,
            nanoseconds: (ts.tv_nsec as u32).max(u32::from(ts.tv_sec == 0)),
        })
    }
}

impl crate::bindings::wasi_clocks_timezone::Host for WasiHost {}
