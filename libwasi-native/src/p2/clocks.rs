//! `wasi:clocks` of WASI 0.2: the monotonic clock (with timers) and the
//! wall clock, on the clock core ([`crate::clocks`]).

use smelt_rt::component::host::{Cx, HostResult, Own};

use crate::WasiHost;
use crate::bindings::wasi_clocks_monotonic_clock::{self, Duration, Instant};
use crate::bindings::wasi_clocks_timezone::{self, TimezoneDisplay};
use crate::bindings::wasi_clocks_wall_clock::{self, Datetime};
use crate::bindings::wasi_io_poll::Pollable as PollableRes;
use crate::clocks::{clock, monotonic_now, monotonic_resolution, resolution};
use crate::p2::io::Pollable;

impl wasi_clocks_monotonic_clock::Host for WasiHost {
    fn now(&mut self, _: &mut Cx<'_>) -> HostResult<Instant> {
        Ok(monotonic_now())
    }

    fn resolution(&mut self, _: &mut Cx<'_>) -> HostResult<Duration> {
        Ok(monotonic_resolution())
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

/// smelt exposes no time zone: the WIT's answers for that case (UTC,
/// offset 0, no daylight saving time).
impl wasi_clocks_timezone::Host for WasiHost {
    fn display(&mut self, _: &mut Cx<'_>, _when: Datetime) -> HostResult<TimezoneDisplay> {
        Ok(TimezoneDisplay {
            utc_offset: 0,
            name: "UTC".into(),
            in_daylight_saving_time: false,
        })
    }

    fn utc_offset(&mut self, _: &mut Cx<'_>, _when: Datetime) -> HostResult<i32> {
        Ok(0)
    }
}
