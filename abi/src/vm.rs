//! Structures shared between generated code and the runtime.
//!
//! # Layout of an instance's `vmctx`
//!
//! Every core module instance owns one `vmctx`: a block of memory,
//! 16-byte aligned, whose address is passed as the first argument of every
//! compiled function. Its size and the offsets of everything after the
//! header are computed by the compiler for each module (they depend on how
//! many functions, tables, memories, globals and segments it has); the
//! runtime only knows the header.
//!
//! ```text
//!  offset   contents                                    element
//!  ------   ------------------------------------------  -----------------------------
//!  0        VMContextHeader                             store context pointer, spare
//!  16       imported functions      n × 8               *const VMFuncRef
//!           imported tables         n × 8               *mut VMTableDefinition
//!           imported memories       n × 8               *mut VMMemoryDefinition
//!           imported globals        n × 8               *mut VMGlobal
//!           imported tags           n × 8               *const VMTag
//!           defined tables          n × 32              VMTableDefinition
//!           defined memories        n × 32              VMMemoryDefinition
//!           defined globals         n × 16 (16-aligned) VMGlobal
//!           defined functions       n × 24              VMFuncRef
//!           defined tags            n × 8               VMTag
//!           data segments           n × 16              VMSegment (bytes)
//!           element segments        n × 16              VMSegment (u64 references)
//!           element storage         Σ items × 8         evaluated element references
//! ```
//!
//! Imported entities are reached through a pointer to the exporting
//! instance's definition, so that every instance sees the same memory,
//! table, global or function.
//!
//! # References
//!
//! A `funcref` is a `*const VMFuncRef` (null is 0). References of the
//! `any`, `extern` and `exn` hierarchies are described in `crate::gc`.
//! Table elements are these 64-bit values.

use core::mem::{offset_of, size_of};

/// Context shared by every instance of one program (one "store").
///
/// # Layout
///
/// ```text
///  0  stack_limit: usize   lowest stack pointer wasm code may run at
///  8  gc_next: usize       next free byte of the GC heap's allocation area
///  16 gc_limit: usize      end of the allocation area
///  24 entries: usize       array-call trampolines running (host-to-wasm
///                          entries): more than one means runtime frames
///                          between guest frames, which the collector
///                          cannot walk past
///  32 interrupt: usize     non-zero: guest code on this thread is to stop
///                          (its time limit passed)
/// ```
///
/// Every compiled function's prologue loads `stack_limit` (through the
/// `vmctx` header) and traps with [`crate::trap::TrapCode::StackOverflow`]
/// when its frame would go below it. Generated code allocates a GC object
/// of `n` bytes (a multiple of 8) by bumping `gc_next` when `gc_next + n <=
/// gc_limit` (the area is zeroed), and otherwise calls the `gc_alloc`
/// built-in, which may collect. Every loop header and function entry that
/// needs an explicit check (see `compiler/src/core/translate/interrupt.rs`)
/// loads `interrupt` and traps with
/// [`crate::trap::TrapCode::Interrupted`] when it is not zero; another
/// thread (the runtime's timer) sets it, and sets `stack_limit` to
/// [`STACK_LIMIT_INTERRUPTED`], which makes the prologue's stack check of
/// every function that makes calls trap (reported as an interruption).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VMStoreContext {
    /// Lowest address the stack pointer may reach in compiled code, in bytes.
    pub stack_limit: usize,
    /// Next free byte of the GC allocation area.
    pub gc_next: usize,
    /// End of the GC allocation area.
    pub gc_limit: usize,
    /// Number of array-call trampolines running.
    pub entries: usize,
    /// Non-zero when guest code on this thread must stop.
    pub interrupt: usize,
}

/// The first 16 bytes of every `vmctx`.
#[repr(C)]
#[derive(Debug)]
pub struct VMContextHeader {
    /// The store context of the program this instance belongs to.
    pub store: *mut VMStoreContext,
    /// Reserved; zero.
    pub reserved: usize,
}

/// Offset of [`VMContextHeader::store`] in a `vmctx`, in bytes.
pub const VMCTX_STORE: u32 = offset_of!(VMContextHeader, store) as u32;
/// Size of the `vmctx` header, in bytes.
pub const VMCTX_HEADER_SIZE: u32 = size_of::<VMContextHeader>() as u32;
/// Offset of [`VMStoreContext::stack_limit`], in bytes.
pub const STORE_STACK_LIMIT: u32 = offset_of!(VMStoreContext, stack_limit) as u32;
/// Offset of [`VMStoreContext::gc_next`], in bytes.
pub const STORE_GC_NEXT: u32 = offset_of!(VMStoreContext, gc_next) as u32;
/// Offset of [`VMStoreContext::gc_limit`], in bytes.
pub const STORE_GC_LIMIT: u32 = offset_of!(VMStoreContext, gc_limit) as u32;
/// Offset of [`VMStoreContext::entries`], in bytes.
pub const STORE_ENTRIES: u32 = offset_of!(VMStoreContext, entries) as u32;
/// Offset of [`VMStoreContext::interrupt`], in bytes.
pub const STORE_INTERRUPT: u32 = offset_of!(VMStoreContext, interrupt) as u32;
/// The [`VMStoreContext::stack_limit`] of a store whose `interrupt` is set:
/// above every stack address (user space ends below 2^57 on every target),
/// so the stack check in the prologue of every function that makes calls
/// traps, which is that function's interruption check; and far enough
/// below `usize::MAX` that adding a frame size (Cranelift adds frames below
/// 32 KiB to the limit before comparing) cannot wrap.
pub const STACK_LIMIT_INTERRUPTED: usize = usize::MAX >> 1;

/// A callable function: what a `funcref` points to.
///
/// # Layout (24 bytes)
///
/// ```text
///  0   wasm_call: code address, "tail" calling convention,
///      signature (vmctx, params...) -> results
///  8   vmctx: the instance the function belongs to
///  16  type_id: u32, the program-wide canonical id of its function type
///  20  padding
/// ```
///
/// `VMFuncRef`s live in their instance's `vmctx` and are never moved or
/// freed while the program runs, so pointers to them stay valid.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Address of the compiled function.
    pub wasm_call: *const u8,
    /// The `vmctx` to pass as the function's first argument.
    pub vmctx: *mut u8,
    /// Canonical function type id, compared by `call_indirect`.
    pub type_id: u32,
    /// Padding to 8-byte alignment.
    pub padding: u32,
}

/// Offset of [`VMFuncRef::wasm_call`], in bytes.
pub const FUNCREF_WASM_CALL: u32 = offset_of!(VMFuncRef, wasm_call) as u32;
/// Offset of [`VMFuncRef::vmctx`], in bytes.
pub const FUNCREF_VMCTX: u32 = offset_of!(VMFuncRef, vmctx) as u32;
/// Offset of [`VMFuncRef::type_id`], in bytes.
pub const FUNCREF_TYPE_ID: u32 = offset_of!(VMFuncRef, type_id) as u32;
/// Size of a [`VMFuncRef`], in bytes.
pub const FUNCREF_SIZE: u32 = size_of::<VMFuncRef>() as u32;

/// A linear memory.
///
/// # Layout (32 bytes)
///
/// ```text
///  0   base: start of the memory; never changes once created
///  8   length: current size in bytes (a multiple of the 64 KiB page)
///  16  maximum: size in bytes the memory may never grow past
///  24  reservation: bytes of address space reserved at `base`
/// ```
///
/// Generated code reads `base` (and may keep it in a register for a whole
/// function, since it never moves) and `length` (for explicit bounds
/// checks). Only the runtime writes any field.
///
/// Every byte in `[base, base + reservation)` past `length` is mapped with
/// no access, so an access there faults and becomes
/// [`crate::trap::TrapCode::MemoryOutOfBounds`]. The compiler omits the
/// bounds check of an access when `index + offset + size` can never reach
/// past `reservation`.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory.
    pub base: *mut u8,
    /// Current size, in bytes.
    pub length: u64,
    /// Largest size the memory may grow to, in bytes.
    pub maximum: u64,
    /// Address space reserved at `base`, in bytes.
    pub reservation: u64,
}

/// Offset of [`VMMemoryDefinition::base`], in bytes.
pub const MEMORY_BASE: u32 = offset_of!(VMMemoryDefinition, base) as u32;
/// Offset of [`VMMemoryDefinition::length`], in bytes.
pub const MEMORY_LENGTH: u32 = offset_of!(VMMemoryDefinition, length) as u32;
/// Size of a [`VMMemoryDefinition`], in bytes.
pub const MEMORY_SIZE: u32 = size_of::<VMMemoryDefinition>() as u32;

/// Size of a WebAssembly page, in bytes (the core spec's 64 KiB page).
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Address space reserved for each 32-bit linear memory: the whole 4 GiB
/// index space plus a 4 GiB guard region, so that `index + offset` (each
/// below 2^32) always lands inside the reservation and no access to a
/// 32-bit memory needs an explicit bounds check.
pub const MEMORY32_RESERVATION: u64 = 8 << 30;

/// Address space reserved for each 64-bit linear memory, in bytes. Accesses
/// to 64-bit memories are always bounds-checked explicitly; the reservation
/// only bounds how far such a memory can grow without moving.
pub const MEMORY64_RESERVATION: u64 = 8 << 30;

/// Flag bit of `memory_new`: the memory is a 64-bit memory (memory64).
pub const MEMORY_FLAG_64: i32 = 1;

/// Flag bit of `memory_new`: the memory is shared (threads proposal). A
/// shared memory is reached from several threads at once: its `length`
/// changes atomically under the runtime's grow lock, and it is never
/// unmapped (every thread that imports it may still use it).
pub const MEMORY_FLAG_SHARED: i32 = 2;

/// A table of references.
///
/// # Layout (32 bytes)
///
/// ```text
///  0   base: *mut u64, the elements (funcref or externref values)
///  8   length: current number of elements
///  16  maximum: number of elements the table may never grow past
///  24  capacity: elements allocated at base
/// ```
///
/// `base` moves when the table grows past its capacity, so generated code
/// reloads it after anything that may grow a table.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// The elements.
    pub base: *mut u64,
    /// Current number of elements.
    pub length: u64,
    /// Largest number of elements.
    pub maximum: u64,
    /// Number of elements allocated.
    pub capacity: u64,
}

/// Offset of [`VMTableDefinition::base`], in bytes.
pub const TABLE_BASE: u32 = offset_of!(VMTableDefinition, base) as u32;
/// Offset of [`VMTableDefinition::length`], in bytes.
pub const TABLE_LENGTH: u32 = offset_of!(VMTableDefinition, length) as u32;
/// Size of a [`VMTableDefinition`], in bytes.
pub const TABLE_SIZE: u32 = size_of::<VMTableDefinition>() as u32;

/// Storage of one global, 16 bytes, 16-aligned, value in its low bytes
/// (little-endian), for every value type including `v128`.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobal(pub [u8; 16]);

/// Size of a [`VMGlobal`], in bytes.
pub const GLOBAL_SIZE: u32 = size_of::<VMGlobal>() as u32;

/// A tag (exception handling): its identity is its address.
///
/// # Layout (8 bytes)
///
/// ```text
///  0   type_id: u32, canonical id of the tag's function type
///  4   padding
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct VMTag {
    /// Canonical function type id.
    pub type_id: u32,
    /// Padding.
    pub padding: u32,
}

/// Size of a [`VMTag`], in bytes.
pub const TAG_SIZE: u32 = size_of::<VMTag>() as u32;

/// An exception object (exception handling): what an `exnref` points to,
/// in the GC heap.
///
/// # Layout
///
/// ```text
///  0   header: the GC object header (see `crate::gc`), whose type is the
///      tag's function type
///  8   tag: *const VMTag, the tag it was thrown with (its identity)
///  16  payload: the tag's parameters in order, each at its natural
///      alignment (4 or 8 bytes, v128 16); references are 8 bytes
/// ```
///
/// Generated code allocates it like any GC object, stores the tag and the
/// payload, and a handler compares `tag` with the address of each tag it
/// catches, then loads the payload.
#[repr(C)]
#[derive(Debug)]
pub struct VMException {
    /// The GC object header.
    pub header: u64,
    /// The tag.
    pub tag: *const VMTag,
}

/// Offset of [`VMException::tag`], in bytes.
pub const EXN_TAG: u32 = offset_of!(VMException, tag) as u32;
/// Offset of an exception's payload, in bytes.
pub const EXN_PAYLOAD: u32 = size_of::<VMException>() as u32;

/// A data or element segment as an instance sees it.
///
/// # Layout (16 bytes)
///
/// ```text
///  0   ptr: *const u8 (data: bytes; element: u64 references)
///  8   len: number of bytes (data) or of references (element)
/// ```
///
/// `data.drop` and `elem.drop` (and instantiation, for active and
/// declarative segments) set `len` to 0.
#[repr(C)]
#[derive(Debug)]
pub struct VMSegment {
    /// First byte or reference.
    pub ptr: *const u8,
    /// Length in bytes (data) or references (element).
    pub len: u64,
}

/// Offset of [`VMSegment::ptr`], in bytes.
pub const SEGMENT_PTR: u32 = offset_of!(VMSegment, ptr) as u32;
/// Offset of [`VMSegment::len`], in bytes.
pub const SEGMENT_LEN: u32 = offset_of!(VMSegment, len) as u32;
/// Size of a [`VMSegment`], in bytes.
pub const SEGMENT_SIZE: u32 = size_of::<VMSegment>() as u32;

/// The start of every trampoline context (see `smelt_abi::component`): the
/// C function the compiled trampoline calls with `(context, args,
/// results)`; it returns 0, or non-zero when the call must trap (the
/// runtime has recorded why).
///
/// # Layout
///
/// ```text
///  0   call: unsafe extern "C" fn(*mut u8, *mut ValRaw, *mut ValRaw) -> u32
///  8   runtime-private data
/// ```
pub type TrampolineFn = unsafe extern "C" fn(*mut u8, *mut ValRaw, *mut ValRaw) -> u32;

/// Offset of the call field in a trampoline context, in bytes.
pub const TRAMPOLINE_CALL: u32 = 0;

/// One argument or result slot of an array call: 16 bytes, the value in its
/// low bytes, little-endian (`i32`, `f32` bit pattern, `i64`, `f64` bit
/// pattern, reference, `v128`).
pub type ValRaw = u128;

/// Size of a [`ValRaw`] slot, in bytes.
pub const VALRAW_SIZE: u32 = size_of::<ValRaw>() as u32;
