//! The garbage collector of GC objects (structs, arrays, exceptions).
//!
//! A copying collector, Cheney's, over two spaces. Generated code
//! allocates by bumping `gc_next` up to `gc_limit` in the store context
//! (`smelt_abi::vm::VMStoreContext`); when the area is full it calls
//! [`gc_alloc`], which collects: every live object is copied into the
//! other space, breadth-first from the roots, and that space has room for
//! as much again as survived (at least [`MIN_BUDGET`]) before the next
//! collection; the old space is kept for the next collection to copy into
//! (its pages resident: no page faults). So the heap's memory is bounded
//! by about four times the live data, however much a program allocates in
//! total, and a collection costs time in proportion to the live data
//! only.
//!
//! The roots ([`roots`]) are precise: the references that compiled code
//! holds in its frames at the call that collects, which Cranelift's stack
//! maps locate (every such reference lives in a stack slot across a call,
//! and is reloaded after it, so moving objects is safe), and the globals,
//! tables and element segments of reference type of every instance.
//!
//! A collection needs every guest frame between the allocation and the
//! host's entry into guest code; when the runtime itself sits between
//! guest frames (a component calling the host, which calls back into
//! guest code: more than one array-call trampoline running), the heap
//! grows by a new chunk instead, and the next allocation with only guest
//! frames below the entry collects every chunk.

mod roots;

use core::cell::RefCell;

use smelt_abi::gc::{
    ARRAY_ELEMS, ARRAY_LENGTH, HEADER_FORWARDED, HEADER_KIND_SHIFT, ObjectKind, VMTypeInfo,
};
use smelt_abi::vm::VMStoreContext;

pub use roots::{register_roots, unregister_roots};

use crate::traps;

/// Allocation allowed between two collections at least, in bytes.
pub const MIN_BUDGET: usize = 8 << 20;

/// One mapped region of the heap; objects are at `[base, used)`.
#[derive(Debug)]
struct Chunk {
    base: usize,
    size: usize,
}

/// The heap: its chunks (allocation happens in the last one, between the
/// store's `gc_next` and `gc_limit`) and statistics.
#[derive(Debug, Default)]
struct Heap {
    chunks: Vec<Chunk>,
    /// The space the last collection copied out of, kept (its pages
    /// resident) as the next collection's destination.
    spare: Option<Chunk>,
    /// Bytes used by the chunks before the last, when it was added.
    sealed: usize,
    /// Collections so far.
    collections: u64,
}

thread_local! {
    static HEAP: RefCell<Heap> = RefCell::new(Heap::default());
}

/// Statistics of the heap: collections so far, bytes in use now.
pub fn stats() -> (u64, usize) {
    HEAP.with(|h| {
        let h = h.borrow();
        // SAFETY: reading the store context of this thread.
        let store = unsafe { &*traps::store_context() };
        let in_last = h
            .chunks
            .last()
            .map_or(0, |c| store.gc_next.saturating_sub(c.base));
        (h.collections, h.sealed + in_last)
    })
}

/// Why the heap could not map more.
enum MapFailed {
    /// Past the program's memory limit or the machine's memory (the
    /// message says which).
    OverLimit(crate::limits::OverLimit),
    /// The system has no room.
    System,
}

/// The machine's physical memory, in bytes (`u64::MAX` when unknown).
fn physical_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    match u64::try_from(pages) {
        Ok(pages) if pages > 0 => pages.saturating_mul(crate::memory::host_page_size()),
        _ => u64::MAX,
    }
}

/// Maps `size` zeroed bytes, charged to the store's linear memory limit
/// (`smelt build --max-memory`, [`crate::limits::charge_memory`]). A
/// space larger than the machine's memory is refused whatever the limit:
/// its objects could only be written by meeting the OOM killer.
fn map(size: usize) -> Result<usize, MapFailed> {
    let machine = physical_memory();
    if size as u64 > machine {
        return Err(MapFailed::OverLimit(crate::limits::OverLimit(format!(
            "{size} bytes are more than this machine's memory ({machine} bytes)"
        ))));
    }
    crate::limits::charge_memory(size as u64).map_err(MapFailed::OverLimit)?;
    // SAFETY: an anonymous private mapping has no preconditions.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        crate::limits::refund_memory(size as u64);
        return Err(MapFailed::System);
    }
    Ok(p as usize)
}

/// Unmaps a chunk.
///
/// # Safety
///
/// Nothing may refer to the chunk any more.
unsafe fn unmap(chunk: &Chunk) {
    // SAFETY: guaranteed by the caller; the chunk was mapped by `map`.
    unsafe { libc::munmap(chunk.base as *mut libc::c_void, chunk.size) };
    crate::limits::refund_memory(chunk.size as u64);
}

fn round_to_pages(n: usize) -> usize {
    let page = crate::memory::host_page_size() as usize;
    n.next_multiple_of(page)
}

/// `gc_alloc`: `size` zeroed bytes in the heap, after a collection when
/// the guest's frames can be walked, else in a new chunk; null when the
/// heap cannot grow.
///
/// # Safety
///
/// Must be called by the `gc_alloc` exit stub (frame pointer `exit_fp`),
/// from guest code entered through `traps::catch`.
#[unsafe(export_name = "smelt_rt_gc_alloc")]
pub unsafe extern "C" fn gc_alloc(size: i64, exit_fp: *mut u8) -> *mut u8 {
    let size = size as usize;
    let store = traps::store_context();
    HEAP.with(|heap| {
        let mut heap = heap.borrow_mut();
        // SAFETY: the store context of this thread, and the caller's frames.
        unsafe {
            if !heap.chunks.is_empty() && (*store).entries <= 1 {
                heap.collect(&mut *store, exit_fp as usize, size);
            }
            if (*store).gc_next + size > (*store).gc_limit
                && let Err(failed) = heap.add_chunk(&mut *store, size)
            {
                if let MapFailed::OverLimit(over) = failed {
                    traps::set_pending(format!(
                        "out of memory: the GC heap cannot grow: {}",
                        over.0
                    ));
                }
                return core::ptr::null_mut();
            }
            let obj = (*store).gc_next;
            (*store).gc_next += size;
            obj as *mut u8
        }
    })
}

impl Heap {
    /// Starts a new chunk with room for `size` bytes and a budget.
    fn add_chunk(&mut self, store: &mut VMStoreContext, size: usize) -> Result<(), MapFailed> {
        let used = self.sealed + self.chunks.last().map_or(0, |c| store.gc_next - c.base);
        let chunk_size = round_to_pages(size + MIN_BUDGET.max(used / 2));
        let base = map(chunk_size)?;
        self.sealed = used;
        self.chunks.push(Chunk {
            base,
            size: chunk_size,
        });
        store.gc_next = base;
        store.gc_limit = base + chunk_size;
        Ok(())
    }

    /// Whether `addr` is in one of the heap's chunks.
    fn contains(&self, addr: usize) -> bool {
        self.chunks
            .iter()
            .any(|c| addr >= c.base && addr < c.base + c.size)
    }

    /// Copies every live object into a new space, leaving room for
    /// `requested` bytes and a budget.
    ///
    /// # Safety
    ///
    /// `exit_fp` must be the frame pointer of the exit stub called by the
    /// guest, with only guest frames between it and the innermost entry.
    unsafe fn collect(&mut self, store: &mut VMStoreContext, exit_fp: usize, requested: usize) {
        let used = self.sealed + self.chunks.last().map_or(0, |c| store.gc_next - c.base);
        let need = round_to_pages(2 * used + requested + MIN_BUDGET);
        // The space of the collection before last, if large enough: its
        // pages are resident, so copying and allocating there cost no page
        // faults (zeroing its allocation area afterwards is cheaper).
        let (to, fresh) = match self.spare.take() {
            Some(spare) if spare.size >= need => (spare, false),
            other => {
                if let Some(spare) = other {
                    // SAFETY: nothing refers to the spare space.
                    unsafe { unmap(&spare) };
                }
                // Without room for a new space, the heap grows by a
                // chunk instead (or cannot).
                let Ok(base) = map(need) else {
                    return;
                };
                (Chunk { base, size: need }, true)
            }
        };
        let mut copier = Copier {
            heap: self,
            types: crate::program::types(),
            free: to.base,
        };
        // SAFETY: the roots are live words holding references (the caller
        // vouches for the frames).
        unsafe {
            roots::visit(exit_fp, &mut |slot| copier.forward(slot));
            let mut scan = to.base;
            while scan < copier.free {
                scan += copier.scan(scan);
            }
        }
        let free = copier.free;
        let live = free - to.base;
        let budget = live.max(MIN_BUDGET) + requested;
        let limit = (free + budget).min(to.base + to.size);
        if !fresh {
            // SAFETY: the allocation area is part of the space, unused.
            unsafe { core::ptr::write_bytes(free as *mut u8, 0, limit - free) };
        }
        // Every live object was copied out and every reference updated:
        // the old space is garbage. One chunk is kept for the next
        // collection; more (grown while the guest's frames could not be
        // walked) are unmapped.
        if self.chunks.len() == 1 {
            self.spare = self.chunks.pop();
        }
        for chunk in self.chunks.drain(..) {
            // SAFETY: as said.
            unsafe { unmap(&chunk) };
        }
        self.chunks.push(to);
        self.sealed = 0;
        self.collections += 1;
        store.gc_next = free;
        store.gc_limit = limit;
    }
}

/// Copies `size` bytes (a multiple of 8) from `from` to `to`: word by word
/// for the small objects most programs are made of, where a call to
/// `memcpy` costs more than the copy.
///
/// # Safety
///
/// Both ranges must be valid, 8-aligned and disjoint.
unsafe fn copy_words(from: usize, to: usize, size: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if size <= 64 {
            for i in (0..size).step_by(8) {
                *((to + i) as *mut u64) = *((from + i) as *const u64);
            }
        } else {
            core::ptr::copy_nonoverlapping(from as *const u8, to as *mut u8, size);
        }
    }
}

/// The state of one collection.
struct Copier<'a> {
    heap: &'a Heap,
    types: &'static [VMTypeInfo],
    /// Next free byte of the new space.
    free: usize,
}

impl Copier<'_> {
    /// Size in bytes of the object at `obj`, whose header is `header`.
    ///
    /// # Safety
    ///
    /// `obj` must be an object.
    unsafe fn size(&self, obj: usize, header: u64) -> usize {
        let info = &self.types[(header as u32) as usize];
        if (header >> HEADER_KIND_SHIFT) as u8 == ObjectKind::Array as u8 {
            // SAFETY: an array has its length at this offset.
            let len = unsafe { *((obj + ARRAY_LENGTH as usize) as *const u32) } as usize;
            (ARRAY_ELEMS as usize + (len << info.elem_size_log2)).next_multiple_of(8)
        } else {
            info.size as usize
        }
    }

    /// Updates the reference in `slot` to its object's new copy, copying
    /// the object the first time.
    ///
    /// # Safety
    ///
    /// `slot` must hold a reference of the `any`, `extern` or `exn`
    /// hierarchies.
    unsafe fn forward(&mut self, slot: *mut u64) {
        // SAFETY: guaranteed by the caller; objects start with a header.
        unsafe {
            let r = *slot as usize;
            // Null, i31 and host values are not objects; anything outside
            // the heap is left alone.
            if r == 0 || r & 7 != 0 || !self.heap.contains(r) {
                return;
            }
            let header = *(r as *const u64);
            if header & HEADER_FORWARDED != 0 {
                *slot = header & !HEADER_FORWARDED;
                return;
            }
            let size = self.size(r, header);
            let new = self.free;
            copy_words(r, new, size);
            self.free += size;
            *(r as *mut u64) = new as u64 | HEADER_FORWARDED;
            *slot = new as u64;
        }
    }

    /// Forwards the references of the copied object at `obj`; returns its
    /// size.
    ///
    /// # Safety
    ///
    /// `obj` must be an object in the new space.
    unsafe fn scan(&mut self, obj: usize) -> usize {
        // SAFETY: guaranteed by the caller; the type table describes the
        // object's fields.
        unsafe {
            let header = *(obj as *const u64);
            let size = self.size(obj, header);
            let info = &self.types[(header as u32) as usize];
            if (header >> HEADER_KIND_SHIFT) as u8 == ObjectKind::Array as u8 {
                if info.elem_is_ref != 0 {
                    let len = *((obj + ARRAY_LENGTH as usize) as *const u32) as usize;
                    for i in 0..len {
                        self.forward((obj + ARRAY_ELEMS as usize + 8 * i) as *mut u64);
                    }
                }
            } else {
                for i in 0..info.n_refs as usize {
                    let offset = *info.refs.add(i) as usize;
                    self.forward((obj + offset) as *mut u64);
                }
            }
            size
        }
    }
}
