//! The runtime built-ins called by generated code.
//!
//! Each function here is exported as `smelt_rt_<name>` and must match its
//! entry in [`smelt_abi::foreach_builtin!`]: the check at the bottom of this
//! file expands that list into one type assertion per built-in, so a
//! built-in that is missing here or whose signature differs from the list
//! is a compile error. Pointers are passed as `*mut u8` and cast to the
//! structure the list documents.

use smelt_abi::vm::{
    MEMORY_FLAG_64, MEMORY_FLAG_SHARED, VMMemoryDefinition, VMSegment, VMTableDefinition,
};

use crate::exceptions::throw;
use crate::gc::{gc_alloc, register_roots as gc_register_roots};
use crate::{atomics, memory, table};

/// Converts a "maximum" argument (`-1`: none) to an option.
fn maximum(max: i64) -> Option<u64> {
    (max != -1).then_some(max as u64)
}

/// Converts a success flag to a built-in status (0 ok, 1 failed).
fn status(ok: bool) -> i32 {
    i32::from(!ok)
}

/// `memory_new`.
///
/// # Safety
///
/// `def` must be valid for writing a `VMMemoryDefinition`.
#[unsafe(export_name = "smelt_rt_memory_new")]
pub unsafe extern "C" fn memory_new(
    def: *mut u8,
    min_pages: i64,
    max_pages: i64,
    reservation: i64,
    flags: i32,
) -> i32 {
    let memory64 = flags & MEMORY_FLAG_64 != 0;
    let shared = flags & MEMORY_FLAG_SHARED != 0;
    let create = if shared {
        memory::create_shared
    } else {
        memory::create
    };
    // SAFETY: forwarded from the caller.
    let r = unsafe {
        create(
            def.cast(),
            min_pages as u64,
            maximum(max_pages),
            reservation as u64,
            memory64,
        )
    };
    // The defining instance owns an unshared memory; a shared one lives
    // as long as the process (see `crate::memory`).
    match &r {
        Ok(()) if !shared => crate::instance::record_memory(def.cast()),
        Ok(()) => {}
        Err(memory::MemoryError::OverLimit(e)) => {
            crate::traps::set_pending(format!("failed to allocate a memory: {}", e.0));
        }
        Err(_) => {}
    }
    status(r.is_ok())
}

/// `memory_grow`.
///
/// # Safety
///
/// `def` must point to a live memory.
#[unsafe(export_name = "smelt_rt_memory_grow")]
pub unsafe extern "C" fn memory_grow(def: *mut u8, delta_pages: i64) -> i64 {
    // SAFETY: forwarded from the caller.
    unsafe { memory::grow(def.cast::<VMMemoryDefinition>(), delta_pages as u64) }
        .map_or(-1, |old| old as i64)
}

/// `memmove`: the copy of a `memory.copy` checked by the caller.
///
/// # Safety
///
/// `src..src + len` and `dst..dst + len` must be accessible bytes of live
/// memories.
#[unsafe(export_name = "smelt_rt_memmove")]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *mut u8, len: i64) -> *mut u8 {
    // SAFETY: forwarded from the caller; `copy` allows overlap.
    unsafe { core::ptr::copy(src, dst, len as usize) };
    dst
}

/// `memset`: the stores of a `memory.fill` checked by the caller.
///
/// # Safety
///
/// `dst..dst + len` must be accessible bytes of a live memory.
#[unsafe(export_name = "smelt_rt_memset")]
pub unsafe extern "C" fn memset(dst: *mut u8, value: i32, len: i64) -> *mut u8 {
    // SAFETY: forwarded from the caller.
    unsafe { core::ptr::write_bytes(dst, value as u8, len as usize) };
    dst
}

/// `memory_init`.
///
/// # Safety
///
/// `def` must point to a live memory and `segment` to a `VMSegment`.
#[unsafe(export_name = "smelt_rt_memory_init")]
pub unsafe extern "C" fn memory_init(
    def: *mut u8,
    dst: i64,
    segment: *mut u8,
    src: i64,
    len: i64,
) -> i32 {
    // SAFETY: forwarded from the caller.
    status(unsafe {
        memory::init(
            def.cast(),
            dst as u64,
            segment.cast::<VMSegment>(),
            src as u64,
            len as u64,
        )
    })
}

/// `table_new`.
///
/// # Safety
///
/// `def` must be valid for writing a `VMTableDefinition`.
#[unsafe(export_name = "smelt_rt_table_new")]
pub unsafe extern "C" fn table_new(def: *mut u8, min: i64, max: i64, init: i64) -> i32 {
    // SAFETY: forwarded from the caller.
    let created = unsafe { table::create(def.cast(), min as u64, maximum(max), init as u64) };
    if created {
        crate::instance::record_table(def.cast());
    }
    status(created)
}

/// `table_grow`.
///
/// # Safety
///
/// `def` must point to a live table.
#[unsafe(export_name = "smelt_rt_table_grow")]
pub unsafe extern "C" fn table_grow(def: *mut u8, delta: i64, init: i64) -> i64 {
    // SAFETY: forwarded from the caller.
    unsafe { table::grow(def.cast::<VMTableDefinition>(), delta as u64, init as u64) }
        .map_or(-1, |old| old as i64)
}

/// `table_fill`.
///
/// # Safety
///
/// `def` must point to a live table.
#[unsafe(export_name = "smelt_rt_table_fill")]
pub unsafe extern "C" fn table_fill(def: *mut u8, dst: i64, value: i64, len: i64) -> i32 {
    // SAFETY: forwarded from the caller.
    status(unsafe { table::fill(def.cast(), dst as u64, value as u64, len as u64) })
}

/// `table_copy`.
///
/// # Safety
///
/// Both pointers must point to live tables.
#[unsafe(export_name = "smelt_rt_table_copy")]
pub unsafe extern "C" fn table_copy(
    dst_table: *mut u8,
    dst: i64,
    src_table: *mut u8,
    src: i64,
    len: i64,
) -> i32 {
    // SAFETY: forwarded from the caller.
    status(unsafe {
        table::copy(
            dst_table.cast(),
            dst as u64,
            src_table.cast(),
            src as u64,
            len as u64,
        )
    })
}

/// `table_init`.
///
/// # Safety
///
/// `def` must point to a live table and `segment` to a `VMSegment` of
/// references.
#[unsafe(export_name = "smelt_rt_table_init")]
pub unsafe extern "C" fn table_init(
    def: *mut u8,
    dst: i64,
    segment: *mut u8,
    src: i64,
    len: i64,
) -> i32 {
    // SAFETY: forwarded from the caller.
    status(unsafe {
        table::init(
            def.cast(),
            dst as u64,
            segment.cast(),
            src as u64,
            len as u64,
        )
    })
}

/// `memory_atomic_notify`.
///
/// # Safety
///
/// `addr` must be a 4-byte-aligned address in a live shared memory.
#[unsafe(export_name = "smelt_rt_memory_atomic_notify")]
pub unsafe extern "C" fn memory_atomic_notify(addr: *mut u8, count: i32) -> i32 {
    atomics::notify(addr as usize, count as u32) as i32
}

/// `memory_atomic_wait32`.
///
/// # Safety
///
/// `addr` must be a 4-byte-aligned address in a live shared memory.
#[unsafe(export_name = "smelt_rt_memory_atomic_wait32")]
pub unsafe extern "C" fn memory_atomic_wait32(addr: *mut u8, expected: i32, timeout: i64) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { atomics::wait32(addr.cast(), expected as u32, timeout) as i32 }
}

/// `memory_atomic_wait64`.
///
/// # Safety
///
/// `addr` must be an 8-byte-aligned address in a live shared memory.
#[unsafe(export_name = "smelt_rt_memory_atomic_wait64")]
pub unsafe extern "C" fn memory_atomic_wait64(addr: *mut u8, expected: i64, timeout: i64) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { atomics::wait64(addr.cast(), expected as u64, timeout) as i32 }
}

macro_rules! rust_type {
    (pointer) => { *mut u8 };
    (i32) => { i32 };
    (i64) => { i64 };
}

macro_rules! check_signatures {
    ($( $(#[$attr:meta])* $name:ident($($pname:ident: $pty:ident),*) -> $rty:ident; )*) => {
        $(
            const _: unsafe extern "C" fn($(rust_type!($pty)),*) -> rust_type!($rty) = $name;
        )*
    };
}

smelt_abi::foreach_builtin!(check_signatures);
