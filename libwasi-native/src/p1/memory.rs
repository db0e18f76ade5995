//! The guest's linear memory as preview1 functions see it: every access
//! bounds-checked, typed accesses through pointers the witx types
//! alignment-checked (a pointer out of bounds or misaligned traps,
//! witx-docs.md "Pointers"), integers little-endian.
//!
//! This is the one place where preview1 reads and writes guest memory; the
//! generated `load`/`store` of the witx records and the functions go
//! through it.

use super::{Fault, P1Result, errno};

/// An integer of a witx type, as stored in memory.
pub trait Int: Copy {
    /// Its size in bytes (and alignment).
    const SIZE: u32;
    /// Reads one from `bytes` (little-endian, `SIZE` of them).
    fn from_le(bytes: &[u8]) -> Self;
    /// Writes it into `bytes` (little-endian, `SIZE` of them).
    fn to_le(self, bytes: &mut [u8]);
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            const SIZE: u32 = core::mem::size_of::<$t>() as u32;
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("SIZE bytes"))
            }
            fn to_le(self, bytes: &mut [u8]) {
                bytes.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

int!(u8, u16, u32, u64, i64);

/// The most `iovec`s of one read or write that [`Memory::with_iovecs`]
/// gathers on the stack (wasi-libc and Rust's standard library pass one
/// or two); more are collected on the heap.
pub const INLINE_IOVECS: usize = 8;

/// The trap of a pointer `at` not aligned to `align` bytes.
#[cold]
#[inline(never)]
fn misaligned(at: u32, align: u32) -> Fault {
    Fault::Trap(format!("pointer {at:#x} is not aligned to {align} bytes"))
}

/// The guest's memory during one call: its base and current length.
#[derive(Debug)]
pub struct Memory {
    base: *mut u8,
    len: usize,
}

impl Memory {
    /// The memory of `len` bytes at `base`.
    ///
    /// # Safety
    ///
    /// `[base, base + len)` must be accessible for the whole call.
    pub unsafe fn new(base: *mut u8, len: usize) -> Self {
        Memory { base, len }
    }

    /// No memory: every access traps (a module that exports none).
    pub fn none() -> Self {
        Memory {
            base: core::ptr::null_mut(),
            len: 0,
        }
    }

    /// The memory over `bytes` (a scratch buffer laid out as guest memory).
    pub fn over(bytes: &mut [u8]) -> Self {
        Memory {
            base: bytes.as_mut_ptr(),
            len: bytes.len(),
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, at: u32, len: u64) -> Fault {
        if self.base.is_null() {
            return Fault::Trap(
                "the module exports no memory named `memory`, which preview1 functions use".into(),
            );
        }
        Fault::Trap(format!(
            "pointer out of bounds: {len} bytes at {at:#x}, past the memory's {} bytes",
            self.len
        ))
    }

    /// The address of `[at, at + len)`, checked to be inside the memory.
    ///
    /// # Errors
    ///
    /// A trap when it is not.
    #[inline]
    pub fn ptr(&self, at: u32, len: u64) -> P1Result<*mut u8> {
        if u64::from(at) + len > self.len as u64 {
            return Err(self.out_of_bounds(at, len));
        }
        // SAFETY: in bounds.
        Ok(unsafe { self.base.add(at as usize) })
    }

    /// Checks that `size` bytes at `at` are inside the memory and `at` is a
    /// multiple of `align`: a pointer the witx types.
    ///
    /// # Errors
    ///
    /// A trap when they are not.
    #[inline]
    pub fn check(&self, at: u32, size: u32, align: u32) -> P1Result<()> {
        if !at.is_multiple_of(align) {
            return Err(misaligned(at, align));
        }
        self.ptr(at, u64::from(size)).map(drop)
    }

    /// The bytes `[at, at + len)`.
    ///
    /// # Errors
    ///
    /// A trap when they are out of bounds.
    #[inline]
    pub fn slice(&self, at: u32, len: u32) -> P1Result<&[u8]> {
        let p = self.ptr(at, u64::from(len))?;
        // SAFETY: in bounds; the guest does not run during the call (and a
        // thread of it writing the same bytes is a race in the guest).
        Ok(unsafe { core::slice::from_raw_parts(p, len as usize) })
    }

    /// The bytes `[at, at + len)`, to write.
    ///
    /// # Errors
    ///
    /// A trap when they are out of bounds.
    #[inline]
    #[allow(clippy::mut_from_ref, reason = "guest memory, not Rust data")]
    pub fn slice_mut(&self, at: u32, len: u32) -> P1Result<&mut [u8]> {
        let p = self.ptr(at, u64::from(len))?;
        // SAFETY: as for `slice`.
        Ok(unsafe { core::slice::from_raw_parts_mut(p, len as usize) })
    }

    /// Writes `bytes` at `at`.
    ///
    /// # Errors
    ///
    /// A trap when they do not fit.
    pub fn write_bytes(&self, at: u32, bytes: &[u8]) -> P1Result<()> {
        let len = u32::try_from(bytes.len()).map_err(|_| self.out_of_bounds(at, u64::MAX))?;
        self.slice_mut(at, len)?.copy_from_slice(bytes);
        Ok(())
    }

    /// The UTF-8 string `[at, at + len)` (a witx `string`).
    ///
    /// # Errors
    ///
    /// A trap when out of bounds; `ilseq` when not UTF-8.
    pub fn string(&self, at: u32, len: u32) -> P1Result<&str> {
        std::str::from_utf8(self.slice(at, len)?).map_err(|_| Fault::Errno(errno::ILSEQ))
    }

    /// Reads an integer at `at` (bounds-checked; a field of a record whose
    /// pointer was checked).
    ///
    /// # Errors
    ///
    /// A trap when out of bounds.
    #[inline]
    pub fn read<T: Int>(&self, at: u32) -> P1Result<T> {
        Ok(T::from_le(self.slice(at, T::SIZE)?))
    }

    /// Writes an integer at `at` (bounds-checked).
    ///
    /// # Errors
    ///
    /// A trap when out of bounds.
    #[inline]
    pub fn write<T: Int>(&self, at: u32, v: T) -> P1Result<()> {
        v.to_le(self.slice_mut(at, T::SIZE)?);
        Ok(())
    }

    /// Reads an integer through pointer `at` (alignment- and
    /// bounds-checked).
    ///
    /// # Errors
    ///
    /// A trap when misaligned or out of bounds.
    #[inline]
    pub fn load<T: Int>(&self, at: u32) -> P1Result<T> {
        self.check(at, T::SIZE, T::SIZE)?;
        self.read(at)
    }

    /// Writes an integer through pointer `at` (alignment- and
    /// bounds-checked).
    ///
    /// # Errors
    ///
    /// A trap when misaligned or out of bounds.
    #[inline]
    pub fn store<T: Int>(&self, at: u32, v: T) -> P1Result<()> {
        self.check(at, T::SIZE, T::SIZE)?;
        self.write(at, v)
    }

    /// Runs `f` on the `(address, length)` of each of the `n` `iovec`s
    /// (or `ciovec`s) at `at`, for `readv`/`writev`: the buffers checked
    /// to be in bounds. Up to [`INLINE_IOVECS`] of them are gathered on
    /// the stack, more in a `Vec`.
    ///
    /// # Errors
    ///
    /// A trap when the array or a buffer is out of bounds or misaligned
    /// (the array first, then each buffer in order).
    pub fn with_iovecs<R>(
        &self,
        at: u32,
        n: u32,
        f: impl FnOnce(&[libc::iovec]) -> R,
    ) -> P1Result<R> {
        use super::bindings::Iovec;
        let size = n
            .checked_mul(Iovec::SIZE)
            .ok_or_else(|| self.out_of_bounds(at, u64::MAX))?;
        self.check(at, size, Iovec::ALIGN)?;
        let array = self.slice(at, size)?;
        let iovec = |raw: &[u8]| -> P1Result<libc::iovec> {
            let v = Iovec {
                buf: <u32 as Int>::from_le(&raw[..4]),
                buf_len: <u32 as Int>::from_le(&raw[4..8]),
            };
            Ok(libc::iovec {
                iov_base: self.ptr(v.buf, u64::from(v.buf_len))?.cast(),
                iov_len: v.buf_len as usize,
            })
        };
        let raw = array.chunks_exact(Iovec::SIZE as usize);
        if n as usize <= INLINE_IOVECS {
            let mut v = [libc::iovec {
                iov_base: core::ptr::null_mut(),
                iov_len: 0,
            }; INLINE_IOVECS];
            for (slot, raw) in v.iter_mut().zip(raw) {
                *slot = iovec(raw)?;
            }
            Ok(f(&v[..n as usize]))
        } else {
            let v = raw.map(iovec).collect::<P1Result<Vec<_>>>()?;
            Ok(f(&v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` `iovec`s at 0 of a memory of 256 bytes: buffer `i` at `64 + 8 * i`,
    /// `i` bytes long.
    fn memory_with_iovecs(bytes: &mut [u8; 256], n: u32) -> Memory {
        let mem = Memory::over(bytes);
        for i in 0..n {
            mem.write::<u32>(8 * i, 64 + 8 * i).unwrap();
            mem.write::<u32>(8 * i + 4, i).unwrap();
        }
        mem
    }

    /// Up to `INLINE_IOVECS` on the stack and more on the heap give the same
    /// `iovec`s.
    #[test]
    fn iovecs_on_the_stack_and_on_the_heap() {
        let mut bytes = [0u8; 256];
        let base = bytes.as_mut_ptr() as usize;
        for n in [0, 1, INLINE_IOVECS as u32, INLINE_IOVECS as u32 + 1, 20] {
            let mem = memory_with_iovecs(&mut bytes, n);
            let got = mem
                .with_iovecs(0, n, |v| {
                    v.iter()
                        .map(|v| (v.iov_base as usize - base, v.iov_len))
                        .collect::<Vec<_>>()
                })
                .unwrap();
            let want: Vec<_> = (0..n as usize).map(|i| (64 + 8 * i, i)).collect();
            assert_eq!(got, want, "{n} iovecs");
        }
    }

    /// A misaligned or out-of-bounds array, or a buffer out of bounds,
    /// traps, inline or not.
    #[test]
    fn iovecs_out_of_bounds_trap() {
        let mut bytes = [0u8; 256];
        for n in [2, INLINE_IOVECS as u32 + 2] {
            let mem = memory_with_iovecs(&mut bytes, n);
            mem.write::<u32>(8 * (n - 1) + 4, 1000).unwrap();
            let trap = |r: P1Result<()>| matches!(r, Err(Fault::Trap(_)));
            assert!(trap(mem.with_iovecs(0, n, |_| ())), "a buffer past the end");
            assert!(trap(mem.with_iovecs(2, 1, |_| ())), "a misaligned array");
            assert!(
                trap(mem.with_iovecs(0, 40, |_| ())),
                "an array past the end"
            );
            assert!(
                trap(mem.with_iovecs(0, u32::MAX, |_| ())),
                "an array too long"
            );
        }
    }
}
