//! Preview1's arguments, environment, clocks, randomness, exit, signals,
//! scheduling and sockets, on the core ([`crate::cli`], [`crate::clocks`],
//! [`crate::random`]).

use super::bindings::{
    Preview1Args, Preview1Clock, Preview1Environ, Preview1Proc, Preview1Random, Preview1Sched,
    Preview1Sock, clockid,
};
use super::{Fault, Memory, P1Result, Preview1Host, errno};

/// Writes `items` as C strings into `buf` and their addresses into `ptrs`
/// (`args_get`, `environ_get`), byte for byte.
fn write_strings(mem: &Memory, items: &[Vec<u8>], ptrs: u32, buf: u32) -> P1Result<()> {
    let mut at = buf;
    for (i, item) in items.iter().enumerate() {
        let len = u32::try_from(item.len() + 1).map_err(|_| Fault::Errno(errno::OVERFLOW))?;
        let slot = ptrs
            .checked_add(4 * i as u32)
            .ok_or(Fault::Errno(errno::OVERFLOW))?;
        mem.store::<u32>(slot, at)?;
        let dst = mem.slice_mut(at, len)?;
        dst[..item.len()].copy_from_slice(item);
        dst[item.len()] = 0;
        at = at.checked_add(len).ok_or(Fault::Errno(errno::OVERFLOW))?;
    }
    Ok(())
}

/// The count of `items` and the bytes they take as C strings.
fn sizes(items: &[Vec<u8>]) -> P1Result<(u32, u32)> {
    let bytes: usize = items.iter().map(|i| i.len() + 1).sum();
    Ok((
        items.len() as u32,
        u32::try_from(bytes).map_err(|_| Fault::Errno(errno::OVERFLOW))?,
    ))
}

impl Preview1Args for Preview1Host {
    fn args_get(&self, mem: &Memory, argv: u32, argv_buf: u32) -> P1Result<()> {
        write_strings(mem, &self.args, argv, argv_buf)
    }

    fn args_sizes_get(&self, _: &Memory) -> P1Result<(u32, u32)> {
        sizes(&self.args)
    }
}

impl Preview1Environ for Preview1Host {
    fn environ_get(&self, mem: &Memory, environ: u32, environ_buf: u32) -> P1Result<()> {
        write_strings(mem, &self.env, environ, environ_buf)
    }

    fn environ_sizes_get(&self, _: &Memory) -> P1Result<(u32, u32)> {
        sizes(&self.env)
    }
}

/// The Linux clock of a preview1 `clockid`.
pub fn clock(id: u32) -> libc::clockid_t {
    match id {
        clockid::REALTIME => libc::CLOCK_REALTIME,
        clockid::MONOTONIC => libc::CLOCK_MONOTONIC,
        clockid::PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        _ => libc::CLOCK_THREAD_CPUTIME_ID,
    }
}

impl Preview1Clock for Preview1Host {
    fn clock_res_get(&self, _: &Memory, id: u32) -> P1Result<u64> {
        Ok(crate::clocks::nanos(crate::clocks::resolution(clock(id))).max(1))
    }

    fn clock_time_get(&self, _: &Memory, id: u32, _precision: u64) -> P1Result<u64> {
        Ok(crate::clocks::nanos(crate::clocks::clock(clock(id))))
    }
}

impl Preview1Proc for Preview1Host {
    /// Ends the process with `rval` as its exit status, whatever it is
    /// (the kernel keeps its low 8 bits: 33 is 33, 255 is 255).
    fn proc_exit(&self, _: &Memory, rval: u32) -> Fault {
        if super::threads::enabled() {
            // Other threads may be running: no exit handlers.
            super::threads::exit(rval as i32)
        }
        crate::cli::exit(rval as i32)
    }

    fn proc_raise(&self, _: &Memory, _sig: u8) -> P1Result<()> {
        Err(Fault::Errno(errno::NOTSUP))
    }
}

impl Preview1Random for Preview1Host {
    fn random_get(&self, mem: &Memory, buf: u32, buf_len: u32) -> P1Result<()> {
        let dst = mem.slice_mut(buf, buf_len)?;
        crate::random::fill(dst).map_err(|e| Fault::Trap(e.to_string()))
    }
}

impl Preview1Sched for Preview1Host {
    fn sched_yield(&self, _: &Memory) -> P1Result<()> {
        // SAFETY: no arguments.
        unsafe { libc::sched_yield() };
        Ok(())
    }
}

/// No preview1 descriptor is a socket (no socket is ever preopened):
/// `notsock` for an open descriptor, `badf` for another number.
fn not_a_socket(host: &Preview1Host, fd: u32) -> Fault {
    match host.fd(fd) {
        Ok(_) => Fault::Errno(errno::NOTSOCK),
        Err(e) => e,
    }
}

impl Preview1Sock for Preview1Host {
    fn sock_accept(&self, _: &Memory, fd: u32, _flags: u16) -> P1Result<u32> {
        Err(not_a_socket(self, fd))
    }

    fn sock_recv(
        &self,
        _: &Memory,
        fd: u32,
        _ri_data: u32,
        _ri_data_len: u32,
        _ri_flags: u16,
    ) -> P1Result<(u32, u16)> {
        Err(not_a_socket(self, fd))
    }

    fn sock_send(
        &self,
        _: &Memory,
        fd: u32,
        _si_data: u32,
        _si_data_len: u32,
        _si_flags: u16,
    ) -> P1Result<u32> {
        Err(not_a_socket(self, fd))
    }

    fn sock_shutdown(&self, _: &Memory, fd: u32, _how: u8) -> P1Result<()> {
        Err(not_a_socket(self, fd))
    }
}
