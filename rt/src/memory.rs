//! Linear memories: reservation, guard pages, growth, bulk operations.
//!
//! A memory is created by reserving [`VMMemoryDefinition::reservation`]
//! bytes of address space with no access, then making its first `length`
//! bytes readable and writable. Growing a memory changes protections in
//! place: the memory never moves, so generated code may keep its base in a
//! register. Whatever lies between `length` and the end of the reservation
//! stays inaccessible, and an access there faults; the trap handler turns
//! the fault into `out of bounds memory access` (see [`crate::traps`]).
//!
//! For a 32-bit memory the reservation ([`MEMORY32_RESERVATION`], 8 GiB)
//! covers every address `index + offset` can form, so the compiler emits no
//! bounds check at all. A memory lives as long as the instance that
//! defined it ([`release`]), except a shared one. Its accessible bytes
//! count against the store's limit on linear memory ([`crate::limits`]).
//!
//! # Shared memories
//!
//! A shared memory (threads proposal, [`create_shared`]) is reached by
//! several threads at once, through instances of its own or imported. Its
//! base never moves and it is never unmapped (the instance that defines it
//! does not own it: `memory_new` does not record it for [`release`]), so a
//! thread may keep using it as long as the process lives. Growth is serialized by one lock for
//! every memory (so two threads growing one memory at once each get their
//! own pages), and `length` is published with a release store after the
//! new pages are accessible: a thread that reads the new length (acquire,
//! here; compiled code reads it with an atomic load for `memory.size` of a
//! shared memory) can use the pages.
//!
//! The built-ins of [`smelt_abi::builtins`] that act on memories
//! ([`crate::builtins`]) are thin wrappers around the functions here.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use smelt_abi::vm::{
    MEMORY32_RESERVATION, MEMORY64_RESERVATION, VMMemoryDefinition, VMSegment, WASM_PAGE_SIZE,
};

/// Largest size of a 32-bit memory: 65536 pages, 4 GiB.
const MEMORY32_MAX_BYTES: u64 = 1 << 32;

/// Host page size, in bytes.
pub fn host_page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size <= 0 { 4096 } else { size as u64 }
}

/// Why a memory could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryError {
    /// The initial size is larger than the reservation or the index space.
    TooLarge,
    /// The operating system refused to reserve or commit the memory.
    MapFailed,
    /// A shared memory has no declared maximum (validation rejects that).
    SharedWithoutMaximum,
    /// The program's limit on linear memory does not leave room for it.
    OverLimit(crate::limits::OverLimit),
}

/// Creates a memory in `def`: `min_pages` accessible pages, growable to
/// `max_pages` (`None`: the index space's limit), reserving `reservation`
/// bytes (0: the default for the index type).
///
/// # Safety
///
/// `def` must be valid for writes.
pub unsafe fn create(
    def: *mut VMMemoryDefinition,
    min_pages: u64,
    max_pages: Option<u64>,
    reservation: u64,
    memory64: bool,
) -> Result<(), MemoryError> {
    let reservation = match reservation {
        0 if memory64 => MEMORY64_RESERVATION,
        0 => MEMORY32_RESERVATION,
        r => r,
    };
    let page = host_page_size();
    let reservation = reservation.next_multiple_of(page);
    let index_limit = if memory64 {
        u64::MAX
    } else {
        MEMORY32_MAX_BYTES
    };
    let declared = max_pages
        .and_then(|p| p.checked_mul(WASM_PAGE_SIZE))
        .unwrap_or(u64::MAX);
    let maximum = declared.min(index_limit).min(reservation);
    let length = min_pages
        .checked_mul(WASM_PAGE_SIZE)
        .filter(|&l| l <= maximum)
        .ok_or(MemoryError::TooLarge)?;
    crate::limits::charge_memory(length).map_err(MemoryError::OverLimit)?;
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let base = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            reservation as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        crate::limits::refund_memory(length);
        return Err(MemoryError::MapFailed);
    }
    if length > 0 {
        // SAFETY: the range lies inside the mapping just made.
        let rc =
            unsafe { libc::mprotect(base, length as usize, libc::PROT_READ | libc::PROT_WRITE) };
        if rc != 0 {
            // SAFETY: unmapping exactly what was mapped above.
            unsafe { libc::munmap(base, reservation as usize) };
            crate::limits::refund_memory(length);
            return Err(MemoryError::MapFailed);
        }
    }
    // SAFETY: the caller guarantees `def` is writable.
    unsafe {
        def.write(VMMemoryDefinition {
            base: base.cast(),
            length,
            maximum,
            reservation,
        })
    };
    Ok(())
}

/// Creates a shared memory in `def` (see [`create`]); it must have a
/// declared maximum.
///
/// # Safety
///
/// `def` must be valid for writes.
pub unsafe fn create_shared(
    def: *mut VMMemoryDefinition,
    min_pages: u64,
    max_pages: Option<u64>,
    reservation: u64,
    memory64: bool,
) -> Result<(), MemoryError> {
    if max_pages.is_none() {
        return Err(MemoryError::SharedWithoutMaximum);
    }
    // SAFETY: forwarded from the caller.
    unsafe { create(def, min_pages, max_pages, reservation, memory64) }
}

/// The current length of the memory at `def`, in bytes, as another thread
/// that grew it last published it.
///
/// # Safety
///
/// `def` must point to a live memory.
pub unsafe fn length(def: *const VMMemoryDefinition) -> u64 {
    // SAFETY: a live, aligned definition; `length` is only written by
    // `grow` (atomically) once the memory exists.
    unsafe { AtomicU64::from_ptr(&raw const (*def).length as *mut u64) }.load(Ordering::Acquire)
}

/// Serializes growth: a shared memory may be grown by two threads at once.
static GROW: Mutex<()> = Mutex::new(());

/// Unmaps the memory's whole reservation.
///
/// # Safety
///
/// `def` must point to a memory made by [`create`] (never a shared one),
/// which nothing uses afterwards.
pub unsafe fn release(def: *mut VMMemoryDefinition) {
    // SAFETY: the caller guarantees `def` is a live memory.
    let def = unsafe { &mut *def };
    // SAFETY: the reservation mapped by `create`.
    unsafe { libc::munmap(def.base.cast(), def.reservation as usize) };
    crate::limits::refund_memory(def.length);
    def.base = core::ptr::null_mut();
    def.length = 0;
}

/// Grows the memory by `delta_pages` pages; returns the old size in pages,
/// or `None` when the new size would pass the maximum or the program's
/// limit on linear memory (the memory is then unchanged).
///
/// # Safety
///
/// `def` must point to a memory made by [`create`].
pub unsafe fn grow(def: *mut VMMemoryDefinition, delta_pages: u64) -> Option<u64> {
    let _serialized = GROW.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: the caller guarantees `def` is a live memory; no other thread
    // writes it while the lock is held.
    let (base, maximum, old) = unsafe { ((*def).base, (*def).maximum, length(def)) };
    let new = delta_pages
        .checked_mul(WASM_PAGE_SIZE)
        .and_then(|d| old.checked_add(d))
        .filter(|&n| n <= maximum)?;
    if new > old {
        crate::limits::charge_memory(new - old).ok()?;
        // SAFETY: [old, new) lies inside the reservation (maximum ≤
        // reservation), which this memory owns.
        let rc = unsafe {
            libc::mprotect(
                base.add(old as usize).cast(),
                (new - old) as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            crate::limits::refund_memory(new - old);
            return None;
        }
    }
    // SAFETY: as above; other threads read `length` concurrently.
    unsafe { AtomicU64::from_ptr(&raw mut (*def).length) }.store(new, Ordering::Release);
    Some(old / WASM_PAGE_SIZE)
}

/// Whether `[start, start + len)` lies within `limit`.
#[inline]
pub(crate) fn in_bounds(start: u64, len: u64, limit: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= limit)
}

/// `memory.init`: copies `len` bytes from `src` in the data segment to
/// `dst`; `false` when out of bounds of the memory or the segment.
///
/// # Safety
///
/// `def` must point to a live memory and `segment` to a live segment.
pub unsafe fn init(
    def: *const VMMemoryDefinition,
    dst: u64,
    segment: *const VMSegment,
    src: u64,
    len: u64,
) -> bool {
    // SAFETY: the caller guarantees both are live.
    let (d, d_len, seg) = unsafe { (&*def, length(def), &*segment) };
    if !in_bounds(dst, len, d_len) || !in_bounds(src, len, seg.len) {
        return false;
    }
    if len > 0 {
        // SAFETY: both ranges checked; a segment never overlaps a memory.
        unsafe {
            core::ptr::copy_nonoverlapping(
                seg.ptr.add(src as usize),
                d.base.add(dst as usize),
                len as usize,
            )
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_memory(min: u64, max: Option<u64>, memory64: bool) -> VMMemoryDefinition {
        let mut def = core::mem::MaybeUninit::uninit();
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe { create(def.as_mut_ptr(), min, max, 0, memory64).unwrap() };
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe { def.assume_init() }
    }

    /// Protection of the page holding `addr`, from /proc/self/maps.
    fn protection(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let (range, rest) = line.split_once(' ').unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            if (lo..hi).contains(&addr) {
                return rest[..4].to_string();
            }
        }
        panic!("{addr:#x} is not mapped");
    }

    #[test]
    fn memory32_reserves_index_space_and_guard() {
        let def = new_memory(1, None, false);
        assert_eq!(def.length, WASM_PAGE_SIZE);
        assert_eq!(def.reservation, MEMORY32_RESERVATION);
        assert_eq!(def.maximum, MEMORY32_MAX_BYTES);
        let base = def.base as usize;
        assert_eq!(protection(base), "rw-p");
        assert_eq!(protection(base + WASM_PAGE_SIZE as usize - 1), "rw-p");
        assert_eq!(protection(base + WASM_PAGE_SIZE as usize), "---p");
        // The far end of the guard region is still ours, inaccessible.
        assert_eq!(protection(base + MEMORY32_RESERVATION as usize - 1), "---p");
    }

    #[test]
    fn grow_changes_protection_in_place_and_respects_maximum() {
        let mut def = new_memory(1, Some(3), false);
        let base = def.base;
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            assert_eq!(grow(&mut def, 1), Some(1));
            assert_eq!(def.base, base, "memories never move");
            assert_eq!(def.length, 2 * WASM_PAGE_SIZE);
            assert_eq!(protection(base as usize + WASM_PAGE_SIZE as usize), "rw-p");
            // Writable after growth.
            base.add(2 * WASM_PAGE_SIZE as usize - 1).write(7);
            assert_eq!(grow(&mut def, 2), None, "past the declared maximum");
            assert_eq!(def.length, 2 * WASM_PAGE_SIZE);
            assert_eq!(grow(&mut def, 0), Some(2));
            assert_eq!(grow(&mut def, 1), Some(2));
            assert_eq!(grow(&mut def, 1), None);
            assert_eq!(grow(&mut def, u64::MAX), None, "overflowing delta");
        }
    }

    #[test]
    fn memory32_cannot_grow_past_4gib() {
        let mut def = new_memory(0, None, false);
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            assert_eq!(grow(&mut def, 65537), None);
            assert_eq!(grow(&mut def, 65536), Some(0));
            assert_eq!(def.length, 1 << 32);
            assert_eq!(grow(&mut def, 1), None);
        }
    }

    #[test]
    fn initial_size_past_maximum_is_an_error() {
        let mut def = core::mem::MaybeUninit::uninit();
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        let r = unsafe { create(def.as_mut_ptr(), 65537, None, 0, false) };
        assert_eq!(r, Err(MemoryError::TooLarge));
    }

    #[test]
    fn memory_init_checks_bounds() {
        let def = new_memory(1, None, false);
        let p = &def as *const VMMemoryDefinition;
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            let bytes = [1u8, 2, 3];
            let seg = VMSegment {
                ptr: bytes.as_ptr(),
                len: 3,
            };
            assert!(init(p, 0, &seg, 1, 2));
            assert_eq!((*def.base, *def.base.add(1)), (2, 3));
            assert!(!init(p, 0, &seg, 2, 2));
        }
    }
}
