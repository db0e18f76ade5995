//! Garbage-collected objects (WebAssembly GC and exception objects), the
//! type table the collector and casts read, and what the compiler tells
//! the collector about roots.
//!
//! # References
//!
//! Every reference is one 64-bit word, null being 0 (see [`crate::vm`]).
//! In the `any` and `extern` hierarchies the low bits tell what it is:
//!
//! ```text
//!  ...xxx1   an i31ref: the 31-bit value v is (v << 1) | 1 in the low 32 bits
//!  ...xx10   a host value (an externref the host passed in, or that value
//!            converted to anyref): the value n is (n << 2) | 2
//!  ...x000   an object in the GC heap (8-aligned), or null
//! ```
//!
//! `any.convert_extern` and `extern.convert_any` are the identity. A
//! `funcref` is a pointer to a `VMFuncRef`, an `exnref` a pointer to an
//! exception object in the GC heap.
//!
//! # Objects
//!
//! Every object starts with an 8-byte header: the low 32 bits hold the
//! canonical id of its type, bits 32..40 its [`ObjectKind`]. The collector
//! overwrites the header of an object it has moved with the new address
//! and [`HEADER_FORWARDED`].
//!
//! ```text
//!  struct     0 header   8.. fields in order, each at its natural
//!                        alignment (at most 8), size rounded up to 8
//!  array      0 header   8 length: u32   16.. elements
//!  exception  0 header (type: the tag's function type)   8 tag: *const VMTag
//!             16.. payload (see vm::VMException)
//! ```

/// Bit 63 of a header: the object has moved, and the rest of the header is
/// its new address.
pub const HEADER_FORWARDED: u64 = 1 << 63;
/// Shift of the [`ObjectKind`] in a header.
pub const HEADER_KIND_SHIFT: u32 = 32;

/// Offset of an array's length (`u32`), in bytes.
pub const ARRAY_LENGTH: u32 = 8;
/// Offset of an array's first element, in bytes.
pub const ARRAY_ELEMS: u32 = 16;
/// Offset of a struct's first field, in bytes.
pub const STRUCT_FIELDS: u32 = 8;
/// Alignment of every object, in bytes.
pub const OBJECT_ALIGN: u32 = 8;

/// What an object is, in its header (bits 32..40).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A struct.
    Struct = 1,
    /// An array.
    Array = 2,
    /// An exception.
    Exception = 3,
}

/// The header of a new object of type `type_id` and kind `kind`.
pub const fn header(type_id: u32, kind: ObjectKind) -> u64 {
    type_id as u64 | ((kind as u64) << HEADER_KIND_SHIFT)
}

/// What a [`VMTypeInfo`] describes.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    /// No type has this id in the program.
    None = 0,
    /// A function type (and the payload of the exceptions of tags of this
    /// type).
    Func = 1,
    /// A struct type.
    Struct = 2,
    /// An array type.
    Array = 3,
}

/// One canonical type of the program, at the index of its id in the type
/// table ([`crate::program::ProgramDesc::types`]).
///
/// # Layout (32 bytes)
///
/// ```text
///  0   kind: u8 (TypeKind)
///  1   elem_size_log2: u8, arrays: log2 of the element size in bytes
///  2   elem_is_ref: u8, arrays: 1 when elements are references the
///      collector follows
///  3   padding
///  4   depth: u32, number of strict supertypes
///  8   size: u32, structs: object size; functions: size of an exception
///      object of a tag of this type; arrays: 16 (the header)
///  12  n_refs: u32, structs and exceptions: number of reference fields
///  16  refs: *const u32, their offsets in the object
///  24  display: *const u32, depth + 1 type ids: the supertypes from the
///      root down to this type itself
/// ```
///
/// A type `t` of depth `d` is a subtype of `s` of depth `e` exactly when
/// `d >= e` and `display[e] == s`: casts test that.
#[repr(C)]
#[derive(Debug)]
pub struct VMTypeInfo {
    /// A [`TypeKind`] value.
    pub kind: u8,
    /// Arrays: log2 of the element size.
    pub elem_size_log2: u8,
    /// Arrays: 1 when the elements are references to follow.
    pub elem_is_ref: u8,
    /// Padding.
    pub padding: u8,
    /// Number of strict supertypes.
    pub depth: u32,
    /// Object size (see the layout).
    pub size: u32,
    /// Number of reference fields.
    pub n_refs: u32,
    /// Offsets of the reference fields.
    pub refs: *const u32,
    /// The supertypes, root first, this type last.
    pub display: *const u32,
}

/// Offset of [`VMTypeInfo::depth`], in bytes.
pub const TYPE_DEPTH: u32 = core::mem::offset_of!(VMTypeInfo, depth) as u32;
/// Offset of [`VMTypeInfo::display`], in bytes.
pub const TYPE_DISPLAY: u32 = core::mem::offset_of!(VMTypeInfo, display) as u32;
/// Size of a [`VMTypeInfo`], in bytes.
pub const TYPE_INFO_SIZE: u32 = core::mem::size_of::<VMTypeInfo>() as u32;

/// The roots one instance holds, for the collector: what a module's
/// instantiation registers with the `gc_register_roots` built-in.
///
/// # Layout (32 bytes)
///
/// ```text
///  0   slots: *const u32, offsets in the vmctx of words that hold
///      references (defined globals of reference types, evaluated element
///      segment items)
///  8   n_slots: u32
///  12  n_tables: u32
///  16  tables: *const u32, offsets in the vmctx of the VMTableDefinitions
///      of defined tables whose elements are references
///  24  reserved
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct GcRootsDesc {
    /// Offsets of reference words in the vmctx.
    pub slots: *const u32,
    /// Number of `slots`.
    pub n_slots: u32,
    /// Number of `tables`.
    pub n_tables: u32,
    /// Offsets of table definitions in the vmctx.
    pub tables: *const u32,
    /// Reserved; zero.
    pub reserved: u64,
}

/// A call site where compiled code holds references in its frame (a
/// Cranelift stack map), for the collector's walk of the stack.
///
/// # Layout (16 bytes)
///
/// At the return address `ret_offset` (from the function's start), the
/// frame's stack pointer is its frame pointer minus `frame_size`, and the
/// words at `sp + offset` for the `len` offsets starting at index `start`
/// of [`crate::program::ProgramDesc::stack_map_slots`] hold references.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StackMapSite {
    /// Offset of the return address.
    pub ret_offset: u32,
    /// Distance from the frame pointer down to the stack pointer.
    pub frame_size: u32,
    /// First slot offset.
    pub start: u32,
    /// Number of slot offsets.
    pub len: u32,
}
