//! Tables of references: creation, growth and bulk operations.
//!
//! A table's elements are 64-bit references (a `*const VMFuncRef` or an
//! opaque `externref` value; null is 0) in a heap allocation that is
//! reallocated when the table grows past its capacity. Generated code
//! reads [`VMTableDefinition::base`] and `length` for `table.get`,
//! `table.set` and `call_indirect`; everything that changes a table's
//! size goes through the functions here (wrapped as built-ins in
//! [`crate::builtins`]). A table lives as long as the instance that
//! defined it ([`release`]); the allocations it outgrew are never freed.
//! Its elements count against the store's limit on table elements
//! ([`crate::limits`]).

use smelt_abi::vm::{VMSegment, VMTableDefinition};

use crate::memory::in_bounds;

/// Most elements a table may have; `table.grow` past it fails, as the core
/// specification allows, rather than exhausting the host's memory.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// Allocates `capacity` elements set to `init`, leaked.
fn allocate(capacity: u64, init: u64) -> *mut u64 {
    let elements = vec![init; capacity.max(1) as usize].into_boxed_slice();
    Box::leak(elements).as_mut_ptr()
}

/// Creates a table in `def` with `min` elements set to `init`, growable to
/// `max` elements (`None`: [`MAX_TABLE_ELEMENTS`]). Returns `false` when
/// `min` is larger than that, or than the program's limit on table
/// elements leaves room for (the reason is then the pending trap message,
/// [`crate::traps::set_pending`]).
///
/// # Safety
///
/// `def` must be valid for writes.
pub unsafe fn create(def: *mut VMTableDefinition, min: u64, max: Option<u64>, init: u64) -> bool {
    let maximum = max.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS);
    if min > maximum {
        return false;
    }
    if let Err(e) = crate::limits::charge_table(min) {
        crate::traps::set_pending(format!("failed to allocate a table: {}", e.0));
        return false;
    }
    // SAFETY: the caller guarantees `def` is writable.
    unsafe {
        def.write(VMTableDefinition {
            base: allocate(min, init),
            length: min,
            maximum,
            capacity: min.max(1),
        })
    };
    true
}

/// Frees the table's elements (the allocation it has now; those it had
/// before growing are never freed, see [`grow`]).
///
/// # Safety
///
/// `def` must point to a table made by [`create`], which nothing uses
/// afterwards.
pub unsafe fn release(def: *mut VMTableDefinition) {
    // SAFETY: the caller guarantees `def` is a live table.
    let t = unsafe { &mut *def };
    // SAFETY: `allocate` leaked a boxed slice of `capacity` elements.
    drop(unsafe {
        Box::from_raw(core::ptr::slice_from_raw_parts_mut(
            t.base,
            t.capacity.max(1) as usize,
        ))
    });
    crate::limits::refund_table(t.length);
    t.base = core::ptr::null_mut();
    t.length = 0;
}

/// Grows the table by `delta` elements set to `init`; returns the old
/// length, or `None` past the maximum or the program's limit on table
/// elements.
///
/// # Safety
///
/// `def` must point to a table made by [`create`].
pub unsafe fn grow(def: *mut VMTableDefinition, delta: u64, init: u64) -> Option<u64> {
    // SAFETY: the caller guarantees `def` is a live table.
    let t = unsafe { &mut *def };
    let old = t.length;
    let new = old.checked_add(delta).filter(|&n| n <= t.maximum)?;
    crate::limits::charge_table(delta).ok()?;
    if new > t.capacity {
        let capacity = new.max(t.capacity * 2).min(t.maximum);
        let base = allocate(capacity, init);
        // SAFETY: the old allocation holds `old` initialized elements and
        // the new one at least `new`; tables are never freed, so a stale
        // `base` in a frame that has not reloaded it still points to
        // readable memory.
        unsafe { core::ptr::copy_nonoverlapping(t.base, base, old as usize) };
        t.base = base;
        t.capacity = capacity;
    } else {
        // SAFETY: [old, new) lies within the capacity.
        unsafe {
            core::slice::from_raw_parts_mut(t.base.add(old as usize), delta as usize).fill(init)
        };
    }
    t.length = new;
    Some(old)
}

/// `table.fill`: sets `len` elements at `dst` to `value`; `false` when out
/// of bounds.
///
/// # Safety
///
/// `def` must point to a live table.
pub unsafe fn fill(def: *const VMTableDefinition, dst: u64, value: u64, len: u64) -> bool {
    // SAFETY: the caller guarantees `def` is a live table.
    let t = unsafe { &*def };
    if !in_bounds(dst, len, t.length) {
        return false;
    }
    // SAFETY: the range was checked against the length.
    unsafe { core::slice::from_raw_parts_mut(t.base.add(dst as usize), len as usize).fill(value) };
    true
}

/// `table.copy`: copies `len` elements (the ranges may overlap); `false`
/// when either range is out of bounds.
///
/// # Safety
///
/// Both definitions must point to live tables.
pub unsafe fn copy(
    d: *const VMTableDefinition,
    dst: u64,
    s: *const VMTableDefinition,
    src: u64,
    len: u64,
) -> bool {
    // SAFETY: the caller guarantees both are live tables.
    let (d, s) = unsafe { (&*d, &*s) };
    if !in_bounds(dst, len, d.length) || !in_bounds(src, len, s.length) {
        return false;
    }
    // SAFETY: both ranges checked; `copy` allows overlap.
    unsafe {
        core::ptr::copy(
            s.base.add(src as usize),
            d.base.add(dst as usize),
            len as usize,
        )
    };
    true
}

/// `table.init`: copies `len` references from `src` in the element
/// segment; `false` when out of bounds of the table or the segment.
///
/// # Safety
///
/// `def` must point to a live table and `segment` to a live element
/// segment.
pub unsafe fn init(
    def: *const VMTableDefinition,
    dst: u64,
    segment: *const VMSegment,
    src: u64,
    len: u64,
) -> bool {
    // SAFETY: the caller guarantees both are live.
    let (t, seg) = unsafe { (&*def, &*segment) };
    if !in_bounds(dst, len, t.length) || !in_bounds(src, len, seg.len) {
        return false;
    }
    if len > 0 {
        // SAFETY: both ranges checked; segments never overlap tables.
        unsafe {
            core::ptr::copy_nonoverlapping(
                seg.ptr.cast::<u64>().add(src as usize),
                t.base.add(dst as usize),
                len as usize,
            )
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_table(min: u64, max: Option<u64>, init: u64) -> VMTableDefinition {
        let mut def = core::mem::MaybeUninit::uninit();
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        assert!(unsafe { create(def.as_mut_ptr(), min, max, init) });
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe { def.assume_init() }
    }

    fn elements(t: &VMTableDefinition) -> Vec<u64> {
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe { core::slice::from_raw_parts(t.base, t.length as usize).to_vec() }
    }

    #[test]
    fn grow_keeps_elements_and_respects_maximum() {
        let mut t = new_table(2, Some(5), 7);
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            assert_eq!(grow(&mut t, 2, 9), Some(2));
            assert_eq!(elements(&t), [7, 7, 9, 9]);
            assert_eq!(grow(&mut t, 2, 9), None);
            assert_eq!(grow(&mut t, 1, 1), Some(4));
            assert_eq!(elements(&t), [7, 7, 9, 9, 1]);
            assert_eq!(grow(&mut t, 0, 1), Some(5));
        }
    }

    #[test]
    fn grow_from_empty_and_past_the_global_limit() {
        let mut t = new_table(0, None, 0);
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            assert_eq!(grow(&mut t, 3, 4), Some(0));
            assert_eq!(elements(&t), [4, 4, 4]);
            assert_eq!(grow(&mut t, MAX_TABLE_ELEMENTS, 0), None);
        }
        let mut def = core::mem::MaybeUninit::uninit();
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        assert!(!unsafe { create(def.as_mut_ptr(), MAX_TABLE_ELEMENTS + 1, None, 0) });
    }

    #[test]
    fn bulk_operations_check_bounds() {
        let t = new_table(4, None, 0);
        let p = &t as *const VMTableDefinition;
        // SAFETY: the definition is one this test created with `create` (or the place `create` initializes), used on this thread only.
        unsafe {
            assert!(fill(p, 1, 5, 2));
            assert_eq!(elements(&*p), [0, 5, 5, 0]);
            assert!(copy(p, 2, p, 1, 2));
            assert_eq!(elements(&*p), [0, 5, 5, 5]);
            assert!(!fill(p, 3, 1, 2));
            assert!(fill(p, 4, 1, 0));
            assert!(!fill(p, 5, 1, 0));
            let refs = [11u64, 12];
            let seg = VMSegment {
                ptr: refs.as_ptr().cast(),
                len: 2,
            };
            assert!(init(p, 0, &seg, 0, 2));
            assert_eq!(elements(&*p), [11, 12, 5, 5]);
            assert!(!init(p, 3, &seg, 0, 2));
            assert!(!init(p, 0, &seg, 1, 2));
        }
    }
}
