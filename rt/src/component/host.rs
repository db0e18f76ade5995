//! Calls from a component instance into the host (WASI): the canonical ABI
//! between guest values and Rust values.
//!
//! Every host function is a trampoline function (`smelt_abi::vm::
//! TrampolineFn`) generated from its WIT signature by `smelt-wit`; it calls
//! [`call`] with the Rust types of its parameters and result. [`call`]
//! lifts the parameters (from flat values, or from memory past the flat
//! limit) through their [`Lift`] implementations, calls the host, and
//! lowers the result through [`Lower`] (to a flat value, or to the
//! caller's return area). The implementations here, for primitives,
//! strings, lists, options, results, tuples and handles, and the ones
//! `smelt-wit` generates for WIT records, variants, enums and flags, are
//! all the marshalling there is (CanonicalABI.md "Lifting and Lowering
//! Values").
//!
//! WASI 0.3 adds three things. A guest may lower a host function `async`
//! (CanonicalABI.md `canon_lower` with `async`): parameters past 4 flat
//! values go through memory, the result always does, and the call returns
//! a subtask state. A host function whose type is `async` returns
//! [`Async`]: its result, or the host I/O to wait for first — then an
//! async lowering gets a subtask that the event loop resolves later, and a
//! synchronous lowering blocks. And `stream<T>`/`future<T>` values are
//! [`StreamReader`]/[`FutureReader`]: readable ends that move between a
//! guest's handle table and the host (see [`super::stream`]).

use core::marker::PhantomData;

use smelt_abi::component::{
    MAX_FLAT_ASYNC_PARAMS, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, ResourceIndex, StringEncoding,
    TrampolineKind, TrampolineRefs, TypeId, UTF16_TAG, ValType,
};
use smelt_abi::vm::ValRaw;

use super::handles::Slot;
use super::hostio::Wait;
use super::stream::{HostEnd, HostSink, HostSource, StoreFn};
use super::trap::ComponentTrap;
use super::waitable::{Kind, Pending, Subtask, SubtaskState};
use super::{CallScope, CoreFunc, InstanceState, Memory, TrampolineState, runtime, status};

/// Why a host call traps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTrap {
    /// A canonical ABI check failed.
    Abi(ComponentTrap),
    /// The host refuses the call, for this reason.
    Message(String),
}

impl From<ComponentTrap> for HostTrap {
    fn from(t: ComponentTrap) -> Self {
        HostTrap::Abi(t)
    }
}

impl core::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HostTrap::Abi(t) => t.fmt(f),
            HostTrap::Message(m) => f.write_str(m),
        }
    }
}

impl HostTrap {
    /// The trap of a host function smelt does not implement.
    pub fn unsupported(function: &str) -> HostTrap {
        HostTrap::Message(format!("{function} is not supported by smelt yet"))
    }
}

/// The result of a host function.
pub type HostResult<T> = Result<T, HostTrap>;

/// The caller of a host function: its instance (for handles) and canonical
/// options (for memory).
pub struct Cx<'a> {
    instance: &'a InstanceState,
    memory: Option<Memory>,
    realloc: Option<CoreFunc>,
    encoding: StringEncoding,
    /// The host function's result type, whose streams and futures
    /// [`Cx::next_async_type`] hands out.
    result_type: Option<TypeId>,
    /// The stream and future types of the result, in the order the
    /// result's values are lowered (found at the first one: most results
    /// have none, and walking the type on every call cost ~10% of a
    /// `stat`), and how many were used.
    async_types: Option<Vec<(bool, Option<TypeId>)>>,
    next_async: usize,
}

impl<'a> Cx<'a> {
    /// The context of lowering into `instance` with these options.
    pub(crate) fn new(
        instance: &'a InstanceState,
        memory: Option<Memory>,
        realloc: Option<CoreFunc>,
        encoding: StringEncoding,
    ) -> Self {
        Cx {
            instance,
            memory,
            realloc,
            encoding,
            result_type: None,
            async_types: None,
            next_async: 0,
        }
    }

    /// The element type of the next stream (or, with `future`, future)
    /// the result lowers.
    fn next_async_type(&mut self, future: bool) -> HostResult<Option<TypeId>> {
        let result_type = self.result_type;
        let types = self.async_types.get_or_insert_with(|| {
            let mut types = Vec::new();
            if let Some(r) = result_type {
                async_types(r, &mut types);
            }
            types
        });
        match types.get(self.next_async) {
            Some(&(f, elem)) if f == future => {
                self.next_async += 1;
                Ok(elem)
            }
            _ => Err(HostTrap::Message(
                "a host function lowered a stream or future its type does not have".into(),
            )),
        }
    }
}

/// The stream and future types in `ty`, in the order its values are
/// lowered (every case of a variant in turn: the host functions lowering
/// streams do not put them in variants).
fn async_types(ty: TypeId, out: &mut Vec<(bool, Option<TypeId>)>) {
    let types = &runtime().desc.types;
    match types.get(ty) {
        ValType::Stream(e) => out.push((false, *e)),
        ValType::Future(e) => out.push((true, *e)),
        ValType::List(t) => async_types(*t, out),
        ValType::Record(fields) => fields.iter().for_each(|t| async_types(*t, out)),
        ValType::Variant(cases) => cases.iter().flatten().for_each(|t| async_types(*t, out)),
        _ => {}
    }
}

impl Cx<'_> {
    fn memory(&self) -> HostResult<Memory> {
        self.memory.ok_or_else(|| {
            HostTrap::Message("a host function passing memory was lowered without a memory".into())
        })
    }

    /// The caller's bytes `[addr, addr + len)`, copied.
    pub fn bytes(&self, addr: u32, len: u32) -> HostResult<Vec<u8>> {
        let mem = self.memory()?;
        if !mem.contains(u64::from(addr), u64::from(len)) {
            return Err(ComponentTrap::ListOutOfBounds { host: true }.into());
        }
        // SAFETY: checked above; copied out.
        Ok(unsafe { mem.slice(addr, len) }.to_vec())
    }

    /// Writes `bytes` at `addr` of the caller's memory.
    pub fn write(&self, addr: u32, bytes: &[u8]) -> HostResult<()> {
        let mem = self.memory()?;
        if !mem.contains(u64::from(addr), bytes.len() as u64) {
            return Err(ComponentTrap::ListOutOfBounds { host: true }.into());
        }
        // SAFETY: checked above.
        unsafe { mem.slice(addr, bytes.len() as u32) }.copy_from_slice(bytes);
        Ok(())
    }

    /// Reads an integer of `size` bytes at `addr`.
    pub fn load_int(&self, addr: u32, size: u32) -> HostResult<u64> {
        let bytes = self.bytes(addr, size)?;
        let mut v = [0u8; 8];
        v[..size as usize].copy_from_slice(&bytes);
        Ok(u64::from_le_bytes(v))
    }

    /// Writes an integer of `size` bytes at `addr`.
    pub fn store_int(&self, addr: u32, size: u32, v: u64) -> HostResult<()> {
        self.write(addr, &v.to_le_bytes()[..size as usize])
    }

    /// Allocates `size` bytes aligned to `align` in the caller's memory
    /// with its `realloc` (during which it may not leave).
    pub fn alloc(&mut self, align: u32, size: u32) -> HostResult<u32> {
        self.realloc(0, 0, align, size)
    }

    /// Calls the caller's `realloc(ptr, old_size, align, size)` (during
    /// which it may not leave): with `ptr` 0 it allocates, else it moves
    /// or resizes the block `ptr` of `old_size` bytes the host allocated
    /// in this lowering, as the Canonical ABI's string lowering shrinks
    /// its worst-case allocation (`CanonicalABI.md`, "Strings").
    ///
    /// # Errors
    ///
    /// A trap when the lowering has no `realloc`, when it traps, or when
    /// its block is misaligned or out of bounds.
    pub fn realloc(&mut self, ptr: u32, old_size: u32, align: u32, size: u32) -> HostResult<u32> {
        let Some(realloc) = self.realloc else {
            return Err(HostTrap::Message(
                "a host function returning memory was lowered without a realloc".into(),
            ));
        };
        let mut values = [
            ValRaw::from(ptr),
            ValRaw::from(old_size),
            ValRaw::from(align),
            ValRaw::from(size),
        ];
        self.instance.may_leave.set(false);
        // SAFETY: realloc has type (i32, i32, i32, i32) -> i32.
        unsafe { realloc.call(&mut values) }?;
        self.instance.may_leave.set(true);
        let ptr = values[0] as u32;
        if !smelt_abi::component::is_aligned(ptr, align) {
            return Err(ComponentTrap::ReallocUnaligned.into());
        }
        if !self.memory()?.contains(u64::from(ptr), u64::from(size)) {
            return Err(ComponentTrap::ReallocOutOfBounds.into());
        }
        Ok(ptr)
    }

    /// The caller's handle for an owned resource of runtime type
    /// `resource` with representation `rep`.
    fn add_own(&self, resource: ResourceIndex, rep: u32) -> HostResult<u32> {
        Ok(self.instance.table.borrow_mut().add(Slot::Own {
            resource,
            rep,
            lend_count: 0,
        })?)
    }
}

/// Canonical ABI layout of a type.
pub trait Layout {
    /// Number of flat values.
    const FLAT: usize;
    /// Size in memory, in bytes.
    const SIZE: u32;
    /// Alignment in memory, in bytes.
    const ALIGN: u32;
}

/// A value the host can receive from a guest.
pub trait Lift: Layout + Sized {
    /// Lifts the value from its `Self::FLAT` flat values.
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self>;
    /// Lifts the value from the caller's memory at `addr`.
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self>;
}

/// A value the host can give a guest.
pub trait Lower: Layout + Sized {
    /// Lowers the value into its `Self::FLAT` flat values.
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()>;
    /// Stores the value in the caller's memory at `addr`.
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()>;
}

/// Rounds `n` up to a multiple of `align` (a power of two).
pub const fn align_to(n: u32, align: u32) -> u32 {
    (n + (align - 1)) & !(align - 1)
}

/// The larger of two numbers.
pub const fn max(a: u32, b: u32) -> u32 {
    if a > b { a } else { b }
}

/// The larger of two counts.
pub const fn max_usize(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

macro_rules! int {
    ($t:ty, $size:expr, $flat:ident, $mem:ident) => {
        impl Layout for $t {
            const FLAT: usize = 1;
            const SIZE: u32 = $size;
            const ALIGN: u32 = $size;
        }
        impl Lift for $t {
            fn lift_flat(_: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
                Ok(src[0] as $t)
            }
            fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
                Ok(cx.load_int(addr, $size)? as $t)
            }
        }
        impl Lower for $t {
            fn lower_flat(self, _: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
                dst[0] = ValRaw::from(self as $flat as $mem);
                Ok(())
            }
            fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
                cx.store_int(addr, $size, self as $mem as u64)
            }
        }
    };
}

// Narrow signed values travel sign-extended to 32 bits in flat form.
int!(u8, 1, u32, u32);
int!(i8, 1, i32, u32);
int!(u16, 2, u32, u32);
int!(i16, 2, i32, u32);
int!(u32, 4, u32, u32);
int!(i32, 4, i32, u32);
int!(u64, 8, u64, u64);
int!(i64, 8, i64, u64);

impl Layout for bool {
    const FLAT: usize = 1;
    const SIZE: u32 = 1;
    const ALIGN: u32 = 1;
}

impl Lift for bool {
    fn lift_flat(_: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        Ok(src[0] as u32 != 0)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        Ok(cx.load_int(addr, 1)? != 0)
    }
}

impl Lower for bool {
    fn lower_flat(self, _: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        dst[0] = ValRaw::from(self);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        cx.store_int(addr, 1, u64::from(self))
    }
}

macro_rules! float {
    ($t:ty, $bits:ty, $size:expr) => {
        impl Layout for $t {
            const FLAT: usize = 1;
            const SIZE: u32 = $size;
            const ALIGN: u32 = $size;
        }
        impl Lift for $t {
            fn lift_flat(_: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
                Ok(<$t>::from_bits(src[0] as $bits))
            }
            fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
                Ok(<$t>::from_bits(cx.load_int(addr, $size)? as $bits))
            }
        }
        impl Lower for $t {
            fn lower_flat(self, _: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
                dst[0] = ValRaw::from(self.to_bits());
                Ok(())
            }
            fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
                cx.store_int(addr, $size, u64::from(self.to_bits()))
            }
        }
    };
}

float!(f32, u32, 4);
float!(f64, u64, 8);

impl Layout for char {
    const FLAT: usize = 1;
    const SIZE: u32 = 4;
    const ALIGN: u32 = 4;
}

fn to_char(v: u32) -> HostResult<char> {
    char::from_u32(v).ok_or(HostTrap::Abi(ComponentTrap::InvalidChar))
}

impl Lift for char {
    fn lift_flat(_: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        to_char(src[0] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        to_char(cx.load_int(addr, 4)? as u32)
    }
}

impl Lower for char {
    fn lower_flat(self, _: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        dst[0] = ValRaw::from(self as u32);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        cx.store_int(addr, 4, u64::from(self as u32))
    }
}

impl Layout for () {
    const FLAT: usize = 0;
    const SIZE: u32 = 0;
    const ALIGN: u32 = 1;
}

impl Lift for () {
    fn lift_flat(_: &mut Cx<'_>, _: &[ValRaw]) -> HostResult<Self> {
        Ok(())
    }
    fn load(_: &mut Cx<'_>, _: u32) -> HostResult<Self> {
        Ok(())
    }
}

impl Lower for () {
    fn lower_flat(self, _: &mut Cx<'_>, _: &mut [ValRaw]) -> HostResult<()> {
        Ok(())
    }
    fn store(self, _: &mut Cx<'_>, _: u32) -> HostResult<()> {
        Ok(())
    }
}

impl Layout for String {
    const FLAT: usize = 2;
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
}

fn lift_string(cx: &mut Cx<'_>, ptr: u32, tagged: u32) -> HostResult<String> {
    let (utf16, units) = match cx.encoding {
        StringEncoding::Utf8 => (false, tagged),
        StringEncoding::Utf16 => (true, tagged),
        StringEncoding::Latin1Utf16 if tagged & UTF16_TAG != 0 => (true, tagged ^ UTF16_TAG),
        StringEncoding::Latin1Utf16 => {
            let bytes = cx.bytes(ptr, tagged)?;
            return Ok(bytes.iter().map(|&b| b as char).collect());
        }
    };
    if !utf16 {
        let bytes = cx.bytes(ptr, units)?;
        return String::from_utf8(bytes)
            .map_err(|e| HostTrap::Abi(ComponentTrap::InvalidUtf8(e.utf8_error().to_string())));
    }
    if !ptr.is_multiple_of(2) {
        return Err(ComponentTrap::UnalignedPointer.into());
    }
    let bytes = cx.bytes(ptr, units.checked_mul(2).ok_or(ComponentTrap::TooLarge)?)?;
    let code_units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&code_units).map_err(|_| ComponentTrap::InvalidUtf16.into())
}

fn lower_string(cx: &mut Cx<'_>, s: &str) -> HostResult<(u32, u32)> {
    match cx.encoding {
        StringEncoding::Utf8 => {
            let ptr = cx.alloc(1, s.len() as u32)?;
            cx.write(ptr, s.as_bytes())?;
            Ok((ptr, s.len() as u32))
        }
        StringEncoding::Latin1Utf16 if s.chars().all(|c| (c as u32) < 0x100) => {
            let bytes: Vec<u8> = s.chars().map(|c| c as u8).collect();
            let ptr = cx.alloc(2, bytes.len() as u32)?;
            cx.write(ptr, &bytes)?;
            Ok((ptr, bytes.len() as u32))
        }
        encoding => {
            let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let ptr = cx.alloc(2, units.len() as u32)?;
            cx.write(ptr, &units)?;
            let n = units.len() as u32 / 2;
            let tag = if encoding == StringEncoding::Latin1Utf16 {
                UTF16_TAG
            } else {
                0
            };
            Ok((ptr, n | tag))
        }
    }
}

impl Lift for String {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        lift_string(cx, src[0] as u32, src[1] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let ptr = cx.load_int(addr, 4)? as u32;
        let len = cx.load_int(addr + 4, 4)? as u32;
        lift_string(cx, ptr, len)
    }
}

impl Lower for String {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        let (ptr, len) = lower_string(cx, &self)?;
        dst[0] = ValRaw::from(ptr);
        dst[1] = ValRaw::from(len);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let (ptr, len) = lower_string(cx, &self)?;
        cx.store_int(addr, 4, u64::from(ptr))?;
        cx.store_int(addr + 4, 4, u64::from(len))
    }
}

/// Whether lists of `T` are byte-for-byte the same in Rust and in the
/// canonical ABI (little-endian integers), so they copy in one piece.
fn plain<T: 'static>() -> bool {
    use core::any::TypeId;
    [
        TypeId::of::<u8>(),
        TypeId::of::<i8>(),
        TypeId::of::<u16>(),
        TypeId::of::<i16>(),
        TypeId::of::<u32>(),
        TypeId::of::<i32>(),
        TypeId::of::<u64>(),
        TypeId::of::<i64>(),
    ]
    .contains(&TypeId::of::<T>())
}

impl<T: Layout> Layout for Vec<T> {
    const FLAT: usize = 2;
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
}

fn lift_list<T: Lift + 'static>(cx: &mut Cx<'_>, ptr: u32, len: u32) -> HostResult<Vec<T>> {
    if !ptr.is_multiple_of(T::ALIGN) {
        return Err(ComponentTrap::UnalignedPointer.into());
    }
    let bytes = u64::from(len) * u64::from(T::SIZE);
    if bytes > u64::from(u32::MAX) {
        return Err(ComponentTrap::ListOutOfBounds { host: true }.into());
    }
    let mem = cx.memory()?;
    if !mem.contains(u64::from(ptr), bytes) {
        return Err(ComponentTrap::ListOutOfBounds { host: true }.into());
    }
    if plain::<T>() {
        // Straight from the caller's memory into the vector: one copy.
        // SAFETY: checked above.
        let raw = unsafe { mem.slice(ptr, bytes as u32) };
        let mut v = Vec::<T>::with_capacity(len as usize);
        // SAFETY: T is a plain little-endian integer of size T::SIZE, and
        // `raw` holds exactly `len` of them.
        unsafe {
            core::ptr::copy_nonoverlapping(raw.as_ptr(), v.as_mut_ptr().cast::<u8>(), raw.len());
            v.set_len(len as usize);
        }
        return Ok(v);
    }
    (0..len).map(|i| T::load(cx, ptr + i * T::SIZE)).collect()
}

fn lower_list<T: Lower + 'static>(cx: &mut Cx<'_>, v: Vec<T>) -> HostResult<(u32, u32)> {
    let len = v.len() as u32;
    let bytes = u64::from(len) * u64::from(T::SIZE);
    let bytes = u32::try_from(bytes).map_err(|_| ComponentTrap::TooLarge)?;
    let ptr = cx.alloc(T::ALIGN, bytes)?;
    if plain::<T>() {
        // SAFETY: T is a plain little-endian integer; the vector's bytes are
        // its canonical representation.
        let raw = unsafe { core::slice::from_raw_parts(v.as_ptr().cast::<u8>(), bytes as usize) };
        cx.write(ptr, raw)?;
        return Ok((ptr, len));
    }
    for (i, item) in v.into_iter().enumerate() {
        item.store(cx, ptr + i as u32 * T::SIZE)?;
    }
    Ok((ptr, len))
}

impl<T: Lift + 'static> Lift for Vec<T> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        lift_list(cx, src[0] as u32, src[1] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let ptr = cx.load_int(addr, 4)? as u32;
        let len = cx.load_int(addr + 4, 4)? as u32;
        lift_list(cx, ptr, len)
    }
}

impl<T: Lower + 'static> Lower for Vec<T> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        let (ptr, len) = lower_list(cx, self)?;
        dst[0] = ValRaw::from(ptr);
        dst[1] = ValRaw::from(len);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let (ptr, len) = lower_list(cx, self)?;
        cx.store_int(addr, 4, u64::from(ptr))?;
        cx.store_int(addr + 4, 4, u64::from(len))
    }
}

/// A `list<u8>` parameter read in place: the caller's bytes, not a copy
/// (the host functions that write a guest's bytes out, such as
/// `output-stream.write`, take it). The guest does not run while the host
/// call does, and its memory never moves, so the bytes stay valid for the
/// whole call; the value must not outlive it.
pub struct GuestBytes {
    ptr: *const u8,
    len: usize,
}

impl core::ops::Deref for GuestBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: checked to lie in the caller's memory when lifted, and
        // only used during the host call (see the type's documentation).
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl core::fmt::Debug for GuestBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GuestBytes({} bytes)", self.len)
    }
}

impl Layout for GuestBytes {
    const FLAT: usize = 2;
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
}

fn guest_bytes(cx: &mut Cx<'_>, ptr: u32, len: u32) -> HostResult<GuestBytes> {
    let mem = cx.memory()?;
    if !mem.contains(u64::from(ptr), u64::from(len)) {
        return Err(ComponentTrap::ListOutOfBounds { host: true }.into());
    }
    Ok(GuestBytes {
        ptr: mem.ptr(ptr),
        len: len as usize,
    })
}

impl Lift for GuestBytes {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        guest_bytes(cx, src[0] as u32, src[1] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let ptr = cx.load_int(addr, 4)? as u32;
        let len = cx.load_int(addr + 4, 4)? as u32;
        guest_bytes(cx, ptr, len)
    }
}

/// Fills a buffer in the caller's memory; returns how many bytes it wrote.
pub type FillFn = Box<dyn FnOnce(&mut [u8]) -> usize>;

/// A `list<u8>` result: bytes the host has, or bytes the host writes
/// straight into the caller's memory once it has allocated room for them
/// (`input-stream.read` of a socket: `recv(2)` into the guest's list, no
/// copy in between).
pub enum ReadBytes {
    /// Bytes the host has.
    Owned(Vec<u8>),
    /// At most `len` bytes that `fill` writes into a block of `len` bytes
    /// allocated for them: the list is what it says it wrote, its block
    /// shrunk to that with the caller's `realloc`. (A list of none keeps
    /// the whole block, which a guest may not free: `fill` should only
    /// come to write none in a race it cannot help.)
    Fill {
        /// The most bytes the list has (the block allocated).
        len: usize,
        /// Writes the bytes.
        fill: FillFn,
    },
}

impl From<Vec<u8>> for ReadBytes {
    fn from(v: Vec<u8>) -> Self {
        ReadBytes::Owned(v)
    }
}

impl core::fmt::Debug for ReadBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadBytes::Owned(v) => write!(f, "ReadBytes::Owned({} bytes)", v.len()),
            ReadBytes::Fill { len, .. } => write!(f, "ReadBytes::Fill({len} bytes)"),
        }
    }
}

impl ReadBytes {
    /// How many bytes the list has (at most).
    pub fn len(&self) -> usize {
        match self {
            ReadBytes::Owned(v) => v.len(),
            ReadBytes::Fill { len, .. } => *len,
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lower(self, cx: &mut Cx<'_>) -> HostResult<(u32, u32)> {
        let (len, fill) = match self {
            ReadBytes::Owned(v) => return lower_list(cx, v),
            ReadBytes::Fill { len, fill } => (len, fill),
        };
        let len = u32::try_from(len).map_err(|_| ComponentTrap::TooLarge)?;
        let ptr = cx.alloc(1, len)?;
        // SAFETY: `alloc` checked the range; nothing else refers to it.
        let buf = unsafe { cx.memory()?.slice(ptr, len) };
        let n = fill(buf).min(len as usize) as u32;
        if n == 0 || n == len {
            return Ok((ptr, n));
        }
        // Fewer than room was made for: the list's block is shrunk to its
        // length, as the guest frees it by that length.
        Ok((cx.realloc(ptr, len, 1, n)?, n))
    }
}

impl Layout for ReadBytes {
    const FLAT: usize = 2;
    const SIZE: u32 = 8;
    const ALIGN: u32 = 4;
}

impl Lower for ReadBytes {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        let (ptr, len) = self.lower(cx)?;
        dst[0] = ValRaw::from(ptr);
        dst[1] = ValRaw::from(len);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let (ptr, len) = self.lower(cx)?;
        cx.store_int(addr, 4, u64::from(ptr))?;
        cx.store_int(addr + 4, 4, u64::from(len))
    }
}

/// The layout constants of a two-case variant with payloads `A` and `B`
/// (options and results): discriminant `u8`, payload at the payloads'
/// alignment.
macro_rules! two_case_layout {
    ($a:ty, $b:ty) => {
        const FLAT: usize = 1 + max_usize(<$a>::FLAT, <$b>::FLAT);
        const ALIGN: u32 = max(1, max(<$a>::ALIGN, <$b>::ALIGN));
        const SIZE: u32 = align_to(
            align_to(1, max(<$a>::ALIGN, <$b>::ALIGN)) + max(<$a>::SIZE, <$b>::SIZE),
            Self::ALIGN,
        );
    };
}

/// Offset of a two-case variant's payload.
const fn payload_offset(a_align: u32, b_align: u32) -> u32 {
    align_to(1, max(a_align, b_align))
}

impl<T: Layout> Layout for Option<T> {
    two_case_layout!((), T);
}

impl<T: Lift> Lift for Option<T> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        match src[0] as u32 {
            0 => Ok(None),
            1 => Ok(Some(T::lift_flat(cx, &src[1..])?)),
            _ => Err(ComponentTrap::InvalidDiscriminant.into()),
        }
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        match cx.load_int(addr, 1)? {
            0 => Ok(None),
            1 => Ok(Some(T::load(cx, addr + payload_offset(1, T::ALIGN))?)),
            _ => Err(ComponentTrap::InvalidDiscriminant.into()),
        }
    }
}

impl<T: Lower> Lower for Option<T> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        dst[..Self::FLAT].fill(0);
        if let Some(v) = self {
            dst[0] = 1;
            v.lower_flat(cx, &mut dst[1..])?;
        }
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        match self {
            None => cx.store_int(addr, 1, 0),
            Some(v) => {
                cx.store_int(addr, 1, 1)?;
                v.store(cx, addr + payload_offset(1, T::ALIGN))
            }
        }
    }
}

impl<T: Layout, E: Layout> Layout for Result<T, E> {
    two_case_layout!(T, E);
}

impl<T: Lift, E: Lift> Lift for Result<T, E> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        match src[0] as u32 {
            0 => Ok(Ok(T::lift_flat(cx, &src[1..])?)),
            1 => Ok(Err(E::lift_flat(cx, &src[1..])?)),
            _ => Err(ComponentTrap::InvalidDiscriminant.into()),
        }
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let at = addr + payload_offset(T::ALIGN, E::ALIGN);
        match cx.load_int(addr, 1)? {
            0 => Ok(Ok(T::load(cx, at)?)),
            1 => Ok(Err(E::load(cx, at)?)),
            _ => Err(ComponentTrap::InvalidDiscriminant.into()),
        }
    }
}

impl<T: Lower, E: Lower> Lower for Result<T, E> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        dst[..Self::FLAT].fill(0);
        match self {
            Ok(v) => v.lower_flat(cx, &mut dst[1..]),
            Err(e) => {
                dst[0] = 1;
                e.lower_flat(cx, &mut dst[1..])
            }
        }
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let at = addr + payload_offset(T::ALIGN, E::ALIGN);
        match self {
            Ok(v) => {
                cx.store_int(addr, 1, 0)?;
                v.store(cx, at)
            }
            Err(e) => {
                cx.store_int(addr, 1, 1)?;
                e.store(cx, at)
            }
        }
    }
}

macro_rules! tuple {
    ($($t:ident $v:ident),+) => {
        impl<$($t: Layout),+> Layout for ($($t,)+) {
            const FLAT: usize = 0 $(+ $t::FLAT)+;
            const ALIGN: u32 = {
                let mut a = 1;
                $(a = max(a, $t::ALIGN);)+
                a
            };
            const SIZE: u32 = {
                let mut s = 0;
                $(s = align_to(s, $t::ALIGN) + $t::SIZE;)+
                align_to(s, Self::ALIGN)
            };
        }
        impl<$($t: Lift),+> Lift for ($($t,)+) {
            fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
                let mut _i = 0;
                $(
                    let $v = $t::lift_flat(cx, &src[_i..])?;
                    _i += $t::FLAT;
                )+
                Ok(($($v,)+))
            }
            fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
                let mut _at = 0;
                $(
                    _at = align_to(_at, $t::ALIGN);
                    let $v = $t::load(cx, addr + _at)?;
                    _at += $t::SIZE;
                )+
                Ok(($($v,)+))
            }
        }
        impl<$($t: Lower),+> Lower for ($($t,)+) {
            fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
                let ($($v,)+) = self;
                let mut _i = 0;
                $(
                    $v.lower_flat(cx, &mut dst[_i..])?;
                    _i += $t::FLAT;
                )+
                Ok(())
            }
            fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
                let ($($v,)+) = self;
                let mut _at = 0;
                $(
                    _at = align_to(_at, $t::ALIGN);
                    $v.store(cx, addr + _at)?;
                    _at += $t::SIZE;
                )+
                Ok(())
            }
        }
    };
}

tuple!(A a);
tuple!(A a, B b);
tuple!(A a, B b, C c);
tuple!(A a, B b, C c, D d);
tuple!(A a, B b, C c, D d, E e);
tuple!(A a, B b, C c, D d, E e, F f);
tuple!(A a, B b, C c, D d, E e, F f, G g);
tuple!(A a, B b, C c, D d, E e, F f, G g, H h);

/// A host resource type: its runtime resource type number.
pub trait HostResource {
    /// The runtime resource type (host resource types come first).
    const TYPE: ResourceIndex;
}

/// An owned handle to a host resource: its representation (the host's
/// object number), taken out of or put into the caller's table.
#[derive(Debug)]
pub struct Own<R> {
    /// The representation.
    pub rep: u32,
    _type: PhantomData<R>,
}

impl<R> Own<R> {
    /// An owned handle to the host object `rep`.
    pub fn new(rep: u32) -> Self {
        Own {
            rep,
            _type: PhantomData,
        }
    }
}

/// A borrowed handle to a host resource, for the duration of a call.
#[derive(Debug)]
pub struct Borrow<R> {
    /// The representation.
    pub rep: u32,
    _type: PhantomData<R>,
}

impl<R> Borrow<R> {
    /// A borrow of the host object `rep`.
    pub fn new(rep: u32) -> Self {
        Borrow {
            rep,
            _type: PhantomData,
        }
    }
}

impl<R> Layout for Own<R> {
    const FLAT: usize = 1;
    const SIZE: u32 = 4;
    const ALIGN: u32 = 4;
}

impl<R> Layout for Borrow<R> {
    const FLAT: usize = 1;
    const SIZE: u32 = 4;
    const ALIGN: u32 = 4;
}

fn lift_own<R: HostResource>(cx: &mut Cx<'_>, handle: u32) -> HostResult<Own<R>> {
    let mut table = cx.instance.table.borrow_mut();
    let (slot, rep) = table.resource(handle, R::TYPE)?;
    match slot {
        Slot::Own { lend_count: 0, .. } => {}
        Slot::Own { .. } => return Err(ComponentTrap::OwnBorrowed.into()),
        _ => return Err(ComponentTrap::NotOwned(handle).into()),
    }
    table.remove(handle)?;
    Ok(Own::new(rep))
}

fn lift_borrow<R: HostResource>(cx: &mut Cx<'_>, handle: u32) -> HostResult<Borrow<R>> {
    let (_, rep) = cx.instance.table.borrow().resource(handle, R::TYPE)?;
    Ok(Borrow::new(rep))
}

impl<R: HostResource> Lift for Own<R> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        lift_own(cx, src[0] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let handle = cx.load_int(addr, 4)? as u32;
        lift_own(cx, handle)
    }
}

impl<R: HostResource> Lower for Own<R> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        dst[0] = ValRaw::from(cx.add_own(R::TYPE, self.rep)?);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let handle = cx.add_own(R::TYPE, self.rep)?;
        cx.store_int(addr, 4, u64::from(handle))
    }
}

impl<R: HostResource> Lift for Borrow<R> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        lift_borrow(cx, src[0] as u32)
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let handle = cx.load_int(addr, 4)? as u32;
        lift_borrow(cx, handle)
    }
}

/// What a host function whose type is `async` returns.
pub enum Async<R> {
    /// The result, at once.
    Ready(R),
    /// The result once `wait` is over, from `then`.
    Pending {
        /// What to wait for.
        wait: Wait,
        /// Makes the result.
        then: Box<dyn FnOnce() -> R>,
    },
    /// The result of an operation of several steps: called now and after
    /// each wait it asks for, until it is ready.
    Poll(Box<dyn FnMut() -> Polled<R>>),
}

/// What one step of an [`Async::Poll`] operation gives.
pub enum Polled<R> {
    /// The result.
    Ready(R),
    /// Not yet: call again once this wait is over.
    Wait(Wait),
}

impl<R: 'static> Async<R> {
    /// The operation as steps: [`Async::Pending`]'s wait, then its result.
    fn into_poll(self) -> Box<dyn FnMut() -> Polled<R>> {
        match self {
            Async::Poll(p) => p,
            Async::Ready(r) => {
                let mut r = Some(r);
                Box::new(move || Polled::Ready(r.take().expect("polled once more after ready")))
            }
            Async::Pending { wait, then } => {
                let (mut wait, mut then) = (Some(wait), Some(then));
                Box::new(move || match wait.take() {
                    Some(w) => Polled::Wait(w),
                    None => Polled::Ready((then.take().expect("polled once more after ready"))()),
                })
            }
        }
    }
}

/// The readable end of a `stream<T>` on its way between a guest and the
/// host: lifted from a guest's parameter (the host reads it: [`Self::
/// attach_sink`]) or made by the host ([`StreamReader::from_source`]) and
/// lowered into a guest's result. Its value is the stream's shared state.
pub struct StreamReader<T> {
    shared: u32,
    _type: PhantomData<T>,
}

impl<T> core::fmt::Debug for StreamReader<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StreamReader({})", self.shared)
    }
}

impl StreamReader<u8> {
    /// A byte stream the host writes from `source`, for a guest to read.
    pub fn from_source(source: Box<dyn HostSource>) -> Self {
        StreamReader {
            shared: super::stream::host_shared(false, HostEnd::Source(source)),
            _type: PhantomData,
        }
    }

    /// Makes the host the reader of this stream: what the guest writes
    /// goes to `sink`.
    ///
    /// # Errors
    ///
    /// A trap from a copy that goes on now, or from the sink's end.
    pub fn attach_sink(self, sink: Box<dyn HostSink>) -> HostResult<()> {
        Ok(super::stream::attach_sink(self.shared, sink)?)
    }
}

impl<T: Lower + 'static> StreamReader<T> {
    /// A stream whose values the host lowers from `values` as a guest
    /// reads them (waiting, when `values` says so, for values to come).
    pub fn from_host_values(values: Box<dyn super::stream::HostValues>) -> Self {
        StreamReader {
            shared: super::stream::host_shared(false, HostEnd::Values(values)),
            _type: PhantomData,
        }
    }

    /// A stream the host writes `values` into, for a guest to read; it
    /// ends after the last.
    pub fn from_values(values: Vec<T>) -> Self {
        StreamReader {
            shared: super::stream::host_shared(
                false,
                HostEnd::Values(Box::new(ValueSource(values.into_iter()))),
            ),
            _type: PhantomData,
        }
    }
}

/// The values of a [`StreamReader::from_values`] stream not read yet.
struct ValueSource<T>(std::vec::IntoIter<T>);

impl<T: Lower> super::stream::HostValues for ValueSource<T> {
    fn fill(
        &mut self,
        cx: &mut Cx<'_>,
        ptr: u32,
        n: u32,
    ) -> Result<super::stream::SourceRead, ComponentTrap> {
        let mut done = 0;
        while done < n {
            let Some(v) = self.0.next() else { break };
            v.store(cx, ptr + done * T::SIZE).map_err(|e| match e {
                HostTrap::Abi(t) => t,
                HostTrap::Message(m) => ComponentTrap::Pending(m),
            })?;
            done += 1;
        }
        Ok(if done == 0 {
            super::stream::SourceRead::End
        } else {
            super::stream::SourceRead::Data(done as usize)
        })
    }
}

/// The readable end of a `future<T>` on its way between a guest and the
/// host; the host makes one with [`future`] and resolves it through the
/// [`FutureWriter`].
pub struct FutureReader<T> {
    shared: u32,
    _type: PhantomData<T>,
}

impl<T> core::fmt::Debug for FutureReader<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FutureReader({})", self.shared)
    }
}

/// The host's writable end of a future it made.
pub struct FutureWriter<T> {
    shared: u32,
    _type: PhantomData<T>,
}

/// A future the host resolves later: its readable end, to give a guest,
/// and its writable end.
pub fn future<T>() -> (FutureReader<T>, FutureWriter<T>) {
    let shared = super::stream::host_shared(true, HostEnd::Future(None));
    (
        FutureReader {
            shared,
            _type: PhantomData,
        },
        FutureWriter {
            shared,
            _type: PhantomData,
        },
    )
}

impl<T: Lower + 'static> FutureWriter<T> {
    /// Resolves the future with `value` (CanonicalABI.md `future.write`
    /// by the host): a guest waiting to read it gets it now.
    ///
    /// # Errors
    ///
    /// A trap from lowering the value into the reader.
    pub fn resolve(self, value: T) -> Result<(), ComponentTrap> {
        let store: StoreFn = Box::new(move |cx, addr| {
            value.store(cx, addr).map_err(|e| match e {
                HostTrap::Abi(t) => t,
                HostTrap::Message(m) => ComponentTrap::Pending(m),
            })
        });
        super::stream::resolve_future(self.shared, store)
    }
}

impl<T: Lift + 'static> FutureReader<T> {
    /// Makes the host the reader of this future, which a guest writes:
    /// `f` gets the value once it does (CanonicalABI.md `future.write`
    /// with the host as the reader).
    ///
    /// # Errors
    ///
    /// A trap from lifting a value the guest has already written.
    pub fn attach(
        self,
        f: impl FnOnce(T) -> Result<(), ComponentTrap> + 'static,
    ) -> HostResult<()> {
        let load: super::stream::LoadFn = Box::new(move |cx, addr| {
            let value = T::load(cx, addr).map_err(|e| match e {
                HostTrap::Abi(t) => t,
                HostTrap::Message(m) => ComponentTrap::Pending(m),
            })?;
            f(value)
        });
        Ok(super::stream::attach_future_sink(self.shared, load)?)
    }
}

impl<T> Layout for StreamReader<T> {
    const FLAT: usize = 1;
    const SIZE: u32 = 4;
    const ALIGN: u32 = 4;
}

impl<T> Layout for FutureReader<T> {
    const FLAT: usize = 1;
    const SIZE: u32 = 4;
    const ALIGN: u32 = 4;
}

impl<T: Layout> Lift for StreamReader<T> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        let shared = super::stream::take_readable(cx.instance, src[0] as u32, false, T::SIZE)?;
        Ok(StreamReader {
            shared,
            _type: PhantomData,
        })
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let handle = cx.load_int(addr, 4)?;
        Self::lift_flat(cx, &[ValRaw::from(handle)])
    }
}

impl<T> Lower for StreamReader<T> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        let elem = cx.next_async_type(false)?;
        let h = super::stream::give_readable(cx.instance, self.shared, elem, false)?;
        dst[0] = ValRaw::from(h);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let mut v = [0 as ValRaw];
        self.lower_flat(cx, &mut v)?;
        cx.store_int(addr, 4, v[0] as u32 as u64)
    }
}

impl<T: Layout> Lift for FutureReader<T> {
    fn lift_flat(cx: &mut Cx<'_>, src: &[ValRaw]) -> HostResult<Self> {
        let shared = super::stream::take_readable(cx.instance, src[0] as u32, true, T::SIZE)?;
        Ok(FutureReader {
            shared,
            _type: PhantomData,
        })
    }
    fn load(cx: &mut Cx<'_>, addr: u32) -> HostResult<Self> {
        let handle = cx.load_int(addr, 4)?;
        Self::lift_flat(cx, &[ValRaw::from(handle)])
    }
}

impl<T> Lower for FutureReader<T> {
    fn lower_flat(self, cx: &mut Cx<'_>, dst: &mut [ValRaw]) -> HostResult<()> {
        let elem = cx.next_async_type(true)?;
        let h = super::stream::give_readable(cx.instance, self.shared, elem, true)?;
        dst[0] = ValRaw::from(h);
        Ok(())
    }
    fn store(self, cx: &mut Cx<'_>, addr: u32) -> HostResult<()> {
        let mut v = [0 as ValRaw];
        self.lower_flat(cx, &mut v)?;
        cx.store_int(addr, 4, v[0] as u32 as u64)
    }
}

/// Carries out a host call: lifts `P` from the caller's arguments, calls
/// `f`, lowers its `R` to the caller (CanonicalABI.md `canon lower` of a
/// host function, with or without `async`).
///
/// # Safety
///
/// `ctx` must be a host trampoline's state, `args` the caller's flat
/// arguments and `results` room for its flat result, for a function whose
/// parameters and result are `P` and `R`.
pub unsafe fn call<P: Lift, R: Lower + 'static>(
    ctx: *mut u8,
    args: *mut ValRaw,
    results: *mut ValRaw,
    f: impl FnOnce(&mut Cx<'_>, P) -> HostResult<Async<R>>,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let state = unsafe { &*ctx.cast::<TrampolineState>() };
    let rt = runtime();
    let (ty, options) = match rt.desc.trampolines[state.index.index()] {
        TrampolineKind::Host { ty, options, .. } => (ty, options),
        _ => unreachable!("a host trampoline"),
    };
    let TrampolineRefs::Host(caller) = state.refs else {
        unreachable!("a host trampoline's references");
    };
    let instance = caller.instance.instance();
    let memory = caller.memory.memory();
    let realloc = caller.realloc.func();
    let mut cx = Cx::new(instance, memory, realloc, options.string_encoding);
    cx.result_type = rt.desc.funcs[ty.index()].result;
    let async_lower = options.async_;
    let result = (|| {
        if !instance.may_leave.get() {
            return Err(ComponentTrap::CannotLeave.into());
        }
        let max_params = if async_lower {
            MAX_FLAT_ASYNC_PARAMS
        } else {
            MAX_FLAT_PARAMS
        };
        let params_indirect = P::FLAT > max_params;
        let n_params = if params_indirect { 1 } else { P::FLAT };
        let results_indirect = if async_lower {
            R::FLAT > 0
        } else {
            R::FLAT > MAX_FLAT_RESULTS
        };
        // SAFETY: the caller passes this many flat arguments.
        let args =
            unsafe { core::slice::from_raw_parts(args, n_params + usize::from(results_indirect)) };
        let params = if params_indirect {
            let ptr = args[0] as u32;
            if !ptr.is_multiple_of(P::ALIGN) {
                return Err(ComponentTrap::UnalignedPointer.into());
            }
            P::load(&mut cx, ptr)?
        } else {
            P::lift_flat(&mut cx, args)?
        };
        let out_ptr = if results_indirect {
            let ptr = args[n_params] as u32;
            if !ptr.is_multiple_of(R::ALIGN) {
                return Err(ComponentTrap::UnalignedPointer.into());
            }
            Some(ptr)
        } else {
            None
        };
        let result = match f(&mut cx, params)? {
            Async::Ready(r) => r,
            pending if !async_lower => {
                let mut poll = pending.into_poll();
                loop {
                    match poll() {
                        Polled::Ready(r) => break r,
                        Polled::Wait(w) => super::hostio::block_on(w),
                    }
                }
            }
            pending => {
                let mut poll = pending.into_poll();
                match poll() {
                    Polled::Ready(r) => r,
                    Polled::Wait(wait) => {
                        let status = start_subtask(cx, out_ptr, wait, poll)?;
                        // SAFETY: an async lowering has an i32 result.
                        unsafe { *results = ValRaw::from(status) };
                        return Ok(());
                    }
                }
            }
        };
        match out_ptr {
            Some(ptr) => result.store(&mut cx, ptr)?,
            None => {
                let mut out = [0 as ValRaw; MAX_FLAT_RESULTS];
                result.lower_flat(&mut cx, &mut out[..R::FLAT])?;
                if R::FLAT == 1 {
                    // SAFETY: room for one flat result.
                    unsafe { *results = out[0] };
                }
            }
        }
        if async_lower {
            // SAFETY: an async lowering has an i32 result.
            unsafe { *results = ValRaw::from(SubtaskState::Returned as u32) };
        }
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(HostTrap::Abi(t)) => status(Err(t)),
        Err(HostTrap::Message(m)) => {
            crate::traps::set_pending(m);
            1
        }
    }
}

/// The subtask of an async-lowered host call that waits for `wait`: a
/// handle in the caller's table, resolved by the event loop once `poll`
/// gives the result (it is called again after each wait is over; the
/// result is lowered at `out_ptr`), unless the caller cancels it first
/// (`subtask.cancel` then abandons the wait). Returns the call's status:
/// `STARTED` with the subtask's handle (CanonicalABI.md `canon_lower`,
/// `Subtask.State`).
fn start_subtask<R: Lower + 'static>(
    cx: Cx<'static>,
    out_ptr: Option<u32>,
    wait: Wait,
    poll: Box<dyn FnMut() -> Polled<R>>,
) -> HostResult<u32> {
    let rt = runtime();
    let sched = &rt.sched;
    let scope = rt.scopes.borrow_mut().add(CallScope::default());
    let w = sched.waitables.add(Kind::Subtask(Subtask {
        state: SubtaskState::Started,
        task: None,
        scope,
        delivered: false,
        cancel_requested: false,
    }));
    let index = cx.instance.table.borrow_mut().add(Slot::Subtask(w))?;
    sched.waitables.items.borrow_mut().get_mut(w).index = index;
    let cancelled = std::rc::Rc::new(core::cell::Cell::new(false));
    sched
        .host_subtasks
        .borrow_mut()
        .insert(w, cancelled.clone());
    wait_step(HostStep {
        cx,
        out_ptr,
        poll,
        subtask: w,
        cancelled,
        wait,
    });
    Ok(SubtaskState::Started as u32 | (index << 4))
}

/// An async host call waiting for its next step.
struct HostStep<R> {
    cx: Cx<'static>,
    out_ptr: Option<u32>,
    poll: Box<dyn FnMut() -> Polled<R>>,
    subtask: u32,
    cancelled: std::rc::Rc<core::cell::Cell<bool>>,
    wait: Wait,
}

/// Registers `step`'s wait; when it is over, the next step runs.
fn wait_step<R: Lower + 'static>(step: HostStep<R>) {
    let cancelled = step.cancelled.clone();
    let wait = step.wait;
    runtime().sched.host.add(
        wait,
        Box::new(move || !cancelled.get()),
        Box::new(move || {
            let mut step = step;
            let r = match (step.poll)() {
                Polled::Wait(w) => {
                    step.wait = w;
                    wait_step(step);
                    return Ok(());
                }
                Polled::Ready(r) => r,
            };
            let w = step.subtask;
            runtime().sched.host_subtasks.borrow_mut().remove(&w);
            if let Some(ptr) = step.out_ptr {
                r.store(&mut step.cx, ptr).map_err(|e| match e {
                    HostTrap::Abi(t) => t,
                    HostTrap::Message(m) => ComponentTrap::Pending(m),
                })?;
            }
            let mut items = runtime().sched.waitables.items.borrow_mut();
            let item = items.get_mut(w);
            item.subtask_mut().state = SubtaskState::Returned;
            item.pending = Some(Pending::Subtask);
            Ok(())
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_canonical_abi() {
        assert_eq!(<Option<u64>>::SIZE, 16);
        assert_eq!(<Option<u64>>::ALIGN, 8);
        assert_eq!(<Option<u64>>::FLAT, 2);
        assert_eq!(<Result<(), u8>>::SIZE, 2);
        assert_eq!(<Result<Vec<u8>, u32>>::SIZE, 12);
        assert_eq!(<Result<Vec<u8>, u32>>::FLAT, 3);
        assert_eq!(<(u8, u64, String)>::SIZE, 24);
        assert_eq!(<(u8, u64, String)>::FLAT, 4);
        assert_eq!(<Option<(u32, u8)>>::SIZE, 12);
        assert!(plain::<u32>() && !plain::<char>() && !plain::<bool>());
    }
}
