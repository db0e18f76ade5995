//! The collector's roots: the references in guest frames (from Cranelift's
//! stack maps) and those every instance holds in its `vmctx` and tables
//! (registered by the instance's instantiation, see
//! `smelt_abi::gc::GcRootsDesc`).

use core::cell::RefCell;

use smelt_abi::gc::GcRootsDesc;
use smelt_abi::vm::VMTableDefinition;

use crate::program::CodeTables;
use crate::traps;

thread_local! {
    /// Registered instances: (vmctx, roots).
    static INSTANCES: RefCell<Vec<(usize, &'static GcRootsDesc)>> = const { RefCell::new(Vec::new()) };
}

/// `gc_register_roots`: makes the collector see the roots `roots`
/// describes in the instance at `vmctx`. Returns 0.
///
/// # Safety
///
/// `roots` must point to a static `GcRootsDesc` whose offsets are within
/// the `vmctx`, which must live until [`unregister_roots`].
#[unsafe(export_name = "smelt_rt_gc_register_roots")]
pub unsafe extern "C" fn register_roots(vmctx: *mut u8, roots: *mut u8) -> i32 {
    // SAFETY: guaranteed by the caller.
    let roots = unsafe { &*roots.cast::<GcRootsDesc>() };
    INSTANCES.with(|i| i.borrow_mut().push((vmctx as usize, roots)));
    0
}

/// Forgets the roots of the instance at `vmctx`, before it is freed.
pub fn unregister_roots(vmctx: *mut u8) {
    INSTANCES.with(|i| i.borrow_mut().retain(|&(v, _)| v != vmctx as usize));
}

/// Calls `visit` with the address of every word that holds a root.
///
/// # Safety
///
/// `exit_fp` must be the frame pointer of an exit stub called by guest
/// code, with only guest frames between it and the innermost entry into
/// guest code; registered instances must be alive.
pub(super) unsafe fn visit(exit_fp: usize, visit: &mut dyn FnMut(*mut u64)) {
    // SAFETY: forwarded from the caller.
    unsafe { visit_frames(exit_fp, visit) };
    INSTANCES.with(|instances| {
        for &(vmctx, roots) in instances.borrow().iter() {
            // SAFETY: the compiler emitted these offsets for this vmctx.
            unsafe {
                for i in 0..roots.n_slots as usize {
                    let offset = *roots.slots.add(i) as usize;
                    visit((vmctx + offset) as *mut u64);
                }
                for i in 0..roots.n_tables as usize {
                    let offset = *roots.tables.add(i) as usize;
                    let table = &*((vmctx + offset) as *const VMTableDefinition);
                    for e in 0..table.length as usize {
                        visit(table.base.add(e));
                    }
                }
            }
        }
    });
}

/// Visits the references in the guest frames from the exit stub at
/// `exit_fp` up to the innermost entry.
///
/// # Safety
///
/// As [`visit`].
unsafe fn visit_frames(exit_fp: usize, visit: &mut dyn FnMut(*mut u64)) {
    let tables = CodeTables::current();
    let entry_sp = traps::entry_sp().unwrap_or(0);
    let mut fp = exit_fp;
    loop {
        // SAFETY: `fp` is the frame pointer of a live frame below the entry,
        // whose record holds the caller's frame pointer and the return
        // address into the caller.
        let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if tables.func_at(ret.wrapping_sub(1)).is_none() {
            break;
        }
        if let Some((frame_size, slots)) = tables.stack_map_at(ret) {
            let sp = caller_fp - frame_size;
            for &offset in slots {
                visit((sp + offset as usize) as *mut u64);
            }
        }
        if caller_fp <= fp || caller_fp >= entry_sp || !caller_fp.is_multiple_of(8) {
            break;
        }
        fp = caller_fp;
    }
}
