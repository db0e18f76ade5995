//! `wasi:clocks` of WASI 0.3: the monotonic clock with its `async` waits,
//! the system clock, the time zone, on the clock core ([`crate::clocks`]).

use std::time::{Duration, Instant};

use smelt_rt::component::host::{Async, Cx, HostResult};
use smelt_rt::component::hostio::{Wait, after};

use crate::WasiHost;
use crate::bindings::p3::*;
use crate::clocks::{monotonic_now, monotonic_resolution, realtime_now, realtime_resolution};

/// A wait until the monotonic clock reads `mark` nanoseconds.
fn until(mark: u64) -> Async<()> {
    let now = monotonic_now();
    if mark <= now {
        return Async::Ready(());
    }
    Async::Pending {
        wait: Wait::Until(after(Duration::from_nanos(mark - now))),
        then: Box::new(|| ()),
    }
}

impl wasi_clocks_types::Host for WasiHost {}

impl wasi_clocks_monotonic_clock::Host for WasiHost {
    fn now(&mut self, _: &mut Cx<'_>) -> HostResult<u64> {
        Ok(monotonic_now())
    }

    fn get_resolution(&mut self, _: &mut Cx<'_>) -> HostResult<u64> {
        Ok(monotonic_resolution())
    }

    fn wait_until(&mut self, _: &mut Cx<'_>, when: u64) -> HostResult<Async<()>> {
        Ok(until(when))
    }

    fn wait_for(&mut self, _: &mut Cx<'_>, how_long: u64) -> HostResult<Async<()>> {
        if how_long == 0 {
            return Ok(Async::Ready(()));
        }
        Ok(Async::Pending {
            wait: Wait::Until(
                Instant::now()
                    .checked_add(Duration::from_nanos(how_long))
                    .unwrap_or_else(|| after(Duration::MAX)),
            ),
            then: Box::new(|| ()),
        })
    }
}

impl wasi_clocks_system_clock::Host for WasiHost {
    fn now(&mut self, _: &mut Cx<'_>) -> HostResult<wasi_clocks_system_clock::Instant> {
        let (seconds, nanoseconds) = realtime_now();
        Ok(wasi_clocks_system_clock::Instant {
            seconds,
            nanoseconds,
        })
    }

    fn get_resolution(&mut self, _: &mut Cx<'_>) -> HostResult<u64> {
        Ok(realtime_resolution())
    }
}

/// smelt exposes no time zone: the WIT's answers for that case (no IANA
/// identifier, no offset).
impl wasi_clocks_timezone::Host for WasiHost {
    fn iana_id(&mut self, _: &mut Cx<'_>) -> HostResult<Option<String>> {
        Ok(None)
    }

    fn utc_offset(
        &mut self,
        _: &mut Cx<'_>,
        _when: wasi_clocks_timezone::Instant,
    ) -> HostResult<Option<i64>> {
        Ok(None)
    }

    fn to_debug_string(&mut self, _: &mut Cx<'_>) -> HostResult<String> {
        Ok("no time zone (smelt exposes none)".into())
    }
}
