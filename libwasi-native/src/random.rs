//! The randomness core: bytes from the kernel (`getrandom(2)`), for the
//! secure and the insecure interfaces of every WASI version alike.

use smelt_rt::component::host::{HostResult, HostTrap};

/// Most bytes one call returns (the guest asked for more than it can hold).
pub const MAX_BYTES: u64 = 1 << 26;

/// Fills `buf` from the kernel's random source.
///
/// # Errors
///
/// The kernel failing.
pub fn fill(buf: &mut [u8]) -> HostResult<()> {
    let mut at = 0;
    while at < buf.len() {
        // SAFETY: the rest of `buf` is valid for writes.
        let n = unsafe { libc::getrandom(buf[at..].as_mut_ptr().cast(), buf.len() - at, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(HostTrap::Message(format!("getrandom failed: {e}")));
        }
        at += n as usize;
    }
    Ok(())
}

/// `len` random bytes.
///
/// # Errors
///
/// More than 64 MiB asked for, or the kernel failing.
pub fn bytes(len: u64) -> HostResult<Vec<u8>> {
    if len > MAX_BYTES {
        return Err(HostTrap::Message(format!(
            "wasi:random: {len} random bytes asked for at once (at most {MAX_BYTES})"
        )));
    }
    let mut buf = vec![0u8; len as usize];
    fill(&mut buf)?;
    Ok(buf)
}

/// A random `u64`.
///
/// # Errors
///
/// The kernel failing.
pub fn u64_random() -> HostResult<u64> {
    let mut b = [0u8; 8];
    fill(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// The value of `insecure-seed`: random, and the same for every call of
/// the process (the WIT: "the same value within an instance"; a process
/// runs one root component).
///
/// # Errors
///
/// The kernel failing (on the first call).
pub fn insecure_seed() -> HostResult<(u64, u64)> {
    static SEED: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    if let Some(seed) = SEED.get() {
        return Ok(*seed);
    }
    let seed = (u64_random()?, u64_random()?);
    Ok(*SEED.get_or_init(|| seed))
}
