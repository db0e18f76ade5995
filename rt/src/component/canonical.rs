//! The canonical ABI of a call from one component instance into a function
//! lifted by another (or from the host into a component): a fused adapter,
//! carried out by walking the function's types (CanonicalABI.md `canon
//! lower` of a `canon lift`).
//!
//! Values move directly from the caller's representation (flat values or
//! memory) to the callee's, without an intermediate tree: [`Transfer::value`]
//! reads from a [`Src`] and writes to a [`Dst`] in one pass, calling the
//! destination's `realloc` for strings and lists in the order the
//! specification does, and moving or lending handles between the two
//! instances' tables. The steps of a call, in [`call`]:
//!
//! 1. trap if the caller may not leave;
//! 2. move the arguments into the callee (through memory when they
//!    flatten to more than 16 values);
//! 3. call the callee's core function;
//! 4. move the result back into the caller (through memory when it
//!    flattens to more than one value);
//! 5. call the callee's `post-return`, during which it may not leave;
//! 6. end the call's borrow scope: trap if the callee kept borrows, end
//!    the lends of the caller's owned handles.

use std::rc::Rc;

use smelt_abi::component::{
    CanonOptions, Context, CoreSignature, FuncType, FuncTypeIndex, MAX_FLAT_PARAMS, SideRefs,
    StringEncoding, TrampolineKind, TrampolineRefs, TypeId, TypeTable, UTF16_TAG, ValType,
    discriminant_size, is_aligned,
};
use smelt_abi::vm::ValRaw;

use super::handles::Slot;
use super::task::{Event, Task, TaskId, TaskState, ThreadId, event};
use super::trap::ComponentTrap;
use super::waitable::{Kind, Pending, Subtask, SubtaskState};
use super::{
    CallScope, CoreFunc, HOST, InstanceState, Memory, Realloc, Resolved, Runtime, TrampolineState,
    runtime, status,
};

/// Longest string the canonical ABI allows, in bytes.
const MAX_STRING_BYTE_LENGTH: u64 = (1 << 31) - 1;

/// `n` rounded up to a multiple of `align` (a power of two), if it fits.
pub fn align_up(n: u32, align: u32) -> Option<u32> {
    debug_assert!(align.is_power_of_two());
    Some(n.checked_add(align - 1)? & !(align - 1))
}

/// Sizes, alignments, flat counts and offsets of every type of a table,
/// computed once.
#[derive(Debug, Default)]
pub struct Layouts {
    size: Vec<u32>,
    align: Vec<u32>,
    flat: Vec<u32>,
    offsets: Vec<Vec<u32>>,
    payload: Vec<u32>,
}

impl Layouts {
    /// The size of type `t` in memory, in bytes.
    pub fn size(&self, t: TypeId) -> u32 {
        self.size[t as usize]
    }

    /// The alignment of type `t` in memory, in bytes.
    pub fn align(&self, t: TypeId) -> u32 {
        self.align[t as usize]
    }

    /// The layouts of `types`.
    pub fn new(types: &TypeTable) -> Self {
        let mut l = Layouts::default();
        for (i, ty) in types.types.iter().enumerate() {
            let t = i as TypeId;
            l.size.push(types.size(t));
            l.align.push(types.alignment(t));
            l.flat.push(types.flat(t).len() as u32);
            l.offsets.push(match ty {
                ValType::Record(fields) => types.field_offsets(fields),
                _ => Vec::new(),
            });
            l.payload.push(match ty {
                ValType::Variant(cases) => types.payload_offset(cases),
                _ => 0,
            });
        }
        l
    }
}

/// One side of a call: whose instance, and its canonical options.
pub(super) struct Side<'a> {
    pub(super) instance: &'a InstanceState,
    pub(super) memory: Option<Memory>,
    pub(super) realloc: Option<Realloc>,
    pub(super) encoding: StringEncoding,
    /// Whether this side is the host.
    pub(super) host: bool,
}

impl Side<'_> {
    fn memory(&self) -> Memory {
        self.memory
            .expect("validated: functions passing memory have a memory option")
    }
}

/// Flat values being read, in order.
pub(super) struct FlatIter<'v> {
    values: &'v [ValRaw],
    pos: usize,
}

impl<'v> FlatIter<'v> {
    /// Reads `values` from the first.
    pub(super) fn new(values: &'v [ValRaw]) -> Self {
        FlatIter { values, pos: 0 }
    }

    fn next(&mut self) -> u64 {
        let v = self.values[self.pos];
        self.pos += 1;
        v as u64
    }

    fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }
}

/// Where a value is read from: flat values, or memory of the source side
/// at an address.
pub(super) enum Src<'a, 'v> {
    Flat(&'a mut FlatIter<'v>),
    Mem(u32),
}

impl<'v> Src<'_, 'v> {
    /// The source of a part at `offset` (memory) or next (flat).
    fn at(&mut self, offset: u32) -> Src<'_, 'v> {
        match self {
            Src::Flat(it) => Src::Flat(it),
            Src::Mem(addr) => Src::Mem(*addr + offset),
        }
    }
}

/// Where a value is written: flat values, or memory of the destination
/// side at an address.
pub(super) enum Dst<'a> {
    Flat(&'a mut Vec<ValRaw>),
    Mem(u32),
}

impl Dst<'_> {
    fn at(&mut self, offset: u32) -> Dst<'_> {
        match self {
            Dst::Flat(out) => Dst::Flat(out),
            Dst::Mem(addr) => Dst::Mem(*addr + offset),
        }
    }
}

/// What an allocation is for, to word its trap.
#[derive(Clone, Copy)]
enum Purpose {
    String,
    List,
}

/// A source string: its raw bytes, its encoding, and its code units.
pub(super) struct SourceString {
    /// The string.
    pub(super) text: String,
    /// The simple encoding of the bytes (utf8, utf16 or latin1).
    simple: Simple,
    /// The source option's encoding.
    option: StringEncoding,
    /// Code units in the source encoding.
    units: u32,
    /// The raw bytes.
    bytes: Vec<u8>,
}

impl SourceString {
    /// A string to store, held as UTF-8.
    pub(super) fn utf8(text: String) -> Self {
        SourceString {
            units: text.len() as u32,
            bytes: text.as_bytes().to_vec(),
            simple: Simple::Utf8,
            option: StringEncoding::Utf8,
            text,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Simple {
    Utf8,
    Utf16,
    Latin1,
}

/// Moving values between two sides of one call.
pub(super) struct Transfer<'a> {
    pub(super) rt: &'a Runtime,
    pub(super) from: &'a Side<'a>,
    pub(super) to: &'a Side<'a>,
    pub(super) scope: u32,
}

fn load(mem: Memory, addr: u32, size: u32) -> Result<u64, ComponentTrap> {
    if !mem.contains(u64::from(addr), u64::from(size)) {
        return Err(ComponentTrap::ListOutOfBounds { host: false });
    }
    // SAFETY: in bounds.
    let bytes = unsafe { mem.slice(addr, size) };
    let mut v = [0u8; 8];
    v[..size as usize].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(v))
}

fn store(mem: Memory, addr: u32, size: u32, v: u64) -> Result<(), ComponentTrap> {
    if !mem.contains(u64::from(addr), u64::from(size)) {
        return Err(ComponentTrap::ListOutOfBounds { host: false });
    }
    // SAFETY: in bounds.
    unsafe { mem.slice(addr, size) }.copy_from_slice(&v.to_le_bytes()[..size as usize]);
    Ok(())
}

fn canonical_f32(bits: u32) -> u32 {
    if bits & 0x7f80_0000 == 0x7f80_0000 && bits & 0x007f_ffff != 0 {
        0x7fc0_0000
    } else {
        bits
    }
}

fn canonical_f64(bits: u64) -> u64 {
    if bits & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000 && bits & 0x000f_ffff_ffff_ffff != 0 {
        0x7ff8_0000_0000_0000
    } else {
        bits
    }
}

impl Transfer<'_> {
    fn types(&self) -> &TypeTable {
        &self.rt.desc.types
    }

    /// Reads an integer of `size` bytes (memory) or one flat value.
    fn read(&self, src: &mut Src<'_, '_>, size: u32) -> Result<u64, ComponentTrap> {
        match src {
            Src::Flat(it) => Ok(it.next()),
            Src::Mem(addr) => load(self.from.memory(), *addr, size),
        }
    }

    /// Writes an integer of `size` bytes (memory) or one flat value.
    fn write(&self, dst: &mut Dst<'_>, size: u32, v: u64) -> Result<(), ComponentTrap> {
        match dst {
            Dst::Flat(out) => {
                out.push(ValRaw::from(v));
                Ok(())
            }
            Dst::Mem(addr) => store(self.to.memory(), *addr, size, v),
        }
    }

    /// Moves one value of type `ty`.
    pub(super) fn value(
        &self,
        ty: TypeId,
        src: &mut Src<'_, '_>,
        dst: &mut Dst<'_>,
    ) -> Result<(), ComponentTrap> {
        match self.types().get(ty) {
            ValType::Bool => {
                let v = self.read(src, 1)? as u32;
                self.write(dst, 1, u64::from(v != 0))
            }
            ValType::S8 => {
                let v = self.read(src, 1)? as i8;
                self.write(dst, 1, i64::from(v) as u32 as u64)
            }
            ValType::U8 => {
                let v = self.read(src, 1)? as u8;
                self.write(dst, 1, u64::from(v))
            }
            ValType::S16 => {
                let v = self.read(src, 2)? as i16;
                self.write(dst, 2, i64::from(v) as u32 as u64)
            }
            ValType::U16 => {
                let v = self.read(src, 2)? as u16;
                self.write(dst, 2, u64::from(v))
            }
            ValType::S32 | ValType::U32 => {
                let v = self.read(src, 4)? as u32;
                self.write(dst, 4, u64::from(v))
            }
            ValType::S64 | ValType::U64 => {
                let v = self.read(src, 8)?;
                self.write(dst, 8, v)
            }
            ValType::F32 => {
                let v = canonical_f32(self.read(src, 4)? as u32);
                self.write(dst, 4, u64::from(v))
            }
            ValType::F64 => {
                let v = canonical_f64(self.read(src, 8)?);
                self.write(dst, 8, v)
            }
            ValType::Char => {
                let v = self.read(src, 4)? as u32;
                if v >= 0x11_0000 || (0xd800..=0xdfff).contains(&v) {
                    return Err(ComponentTrap::InvalidChar);
                }
                self.write(dst, 4, u64::from(v))
            }
            ValType::String => self.string(src, dst),
            ValType::List(elem) => self.list(*elem, src, dst),
            ValType::Record(fields) => {
                let offsets = &self.rt.layouts.offsets[ty as usize];
                for (&f, &off) in fields.iter().zip(offsets) {
                    self.value(f, &mut src.at(off), &mut dst.at(off))?;
                }
                Ok(())
            }
            ValType::Variant(cases) => self.variant(ty, cases, src, dst),
            ValType::Flags(n) => {
                let n = *n;
                let words = n.div_ceil(32);
                let size = self.rt.layouts.size[ty as usize];
                for w in 0..words {
                    let bits = if w + 1 == words && n % 32 != 0 {
                        (1u64 << (n % 32)) - 1
                    } else {
                        u64::from(u32::MAX)
                    };
                    let word_size = size.min(4);
                    let v = self.read(&mut src.at(4 * w), word_size)? & bits;
                    self.write(&mut dst.at(4 * w), word_size, v)?;
                }
                Ok(())
            }
            ValType::Own(resource) => {
                let handle = self.read(src, 4)? as u32;
                let rep = {
                    let mut table = self.from.instance.table.borrow_mut();
                    let (slot, rep) = table.resource(handle, *resource)?;
                    match slot {
                        Slot::Own { lend_count: 0, .. } => {}
                        Slot::Own { .. } => return Err(ComponentTrap::OwnBorrowed),
                        _ => return Err(ComponentTrap::NotOwned(handle)),
                    }
                    table.remove(handle)?;
                    rep
                };
                let new = self.to.instance.table.borrow_mut().add(Slot::Own {
                    resource: *resource,
                    rep,
                    lend_count: 0,
                })?;
                self.write(dst, 4, u64::from(new))
            }
            ValType::Stream(_) | ValType::Future(_) => {
                let handle = self.read(src, 4)? as u32;
                let new = super::stream::transfer(
                    self.rt,
                    ty,
                    self.from.instance,
                    self.to.instance,
                    handle,
                )?;
                self.write(dst, 4, u64::from(new))
            }
            ValType::ErrorContext => {
                // The handle stays: the receiver gets a new one to the same
                // error context (CanonicalABI.md `lift_error_context`).
                let handle = self.read(src, 4)? as u32;
                let id = match self.from.instance.table.borrow().get(handle)? {
                    Slot::ErrorContext(id) => id,
                    _ => return Err(ComponentTrap::WrongHandleType(handle)),
                };
                let new = self
                    .to
                    .instance
                    .table
                    .borrow_mut()
                    .add(Slot::ErrorContext(id))?;
                self.write(dst, 4, u64::from(new))
            }
            ValType::Borrow(resource) => {
                let handle = self.read(src, 4)? as u32;
                let rep = {
                    let mut table = self.from.instance.table.borrow_mut();
                    let (slot, rep) = table.resource(handle, *resource)?;
                    if let Slot::Own { .. } = slot {
                        if let Slot::Own { lend_count, .. } = table.get_mut(handle)? {
                            *lend_count += 1;
                        }
                        self.rt
                            .scopes
                            .borrow_mut()
                            .get_mut(self.scope)
                            .lenders
                            .push((self.from.instance, handle));
                    }
                    rep
                };
                if self.rt.resource(*resource).instance == self.to.instance.index {
                    return self.write(dst, 4, u64::from(rep));
                }
                let new = self.to.instance.table.borrow_mut().add(Slot::Borrow {
                    resource: *resource,
                    rep,
                    scope: self.scope,
                })?;
                self.rt.scopes.borrow_mut().get_mut(self.scope).borrow_count += 1;
                self.write(dst, 4, u64::from(new))
            }
        }
    }

    fn variant(
        &self,
        ty: TypeId,
        cases: &[Option<TypeId>],
        src: &mut Src<'_, '_>,
        dst: &mut Dst<'_>,
    ) -> Result<(), ComponentTrap> {
        let disc_size = discriminant_size(cases.len());
        let disc = self.read(src, disc_size)? as u32;
        let case = *cases
            .get(disc as usize)
            .ok_or(ComponentTrap::InvalidDiscriminant)?;
        self.write(dst, disc_size, u64::from(disc))?;
        // Flat payload slots: the joined types of all cases.
        let joined = self.rt.layouts.flat[ty as usize] - 1;
        let used = case.map_or(0, |c| self.rt.layouts.flat[c as usize]);
        let payload = self.rt.layouts.payload[ty as usize];
        if let Some(c) = case {
            self.value(c, &mut src.at(payload), &mut dst.at(payload))?;
        }
        if let Src::Flat(it) = src {
            it.skip(joined - used);
        }
        if let Dst::Flat(out) = dst {
            out.extend(core::iter::repeat_n(0 as ValRaw, (joined - used) as usize));
        }
        Ok(())
    }

    /// Reads a (pointer, length) pair.
    fn pair(&self, src: &mut Src<'_, '_>) -> Result<(u32, u32), ComponentTrap> {
        let ptr = self.read(&mut src.at(0), 4)? as u32;
        let len = self.read(&mut src.at(4), 4)? as u32;
        Ok((ptr, len))
    }

    fn write_pair(&self, dst: &mut Dst<'_>, ptr: u32, len: u32) -> Result<(), ComponentTrap> {
        self.write(&mut dst.at(0), 4, u64::from(ptr))?;
        self.write(&mut dst.at(4), 4, u64::from(len))
    }

    /// Calls the destination's `realloc` (during which it may not leave).
    fn realloc(
        &self,
        old: u32,
        old_size: u32,
        align: u32,
        size: u32,
    ) -> Result<u32, ComponentTrap> {
        match self.to.realloc.expect("validated: a realloc option") {
            Realloc::Host => {
                let ptr = self
                    .rt
                    .host_realloc(align, size)
                    .ok_or(ComponentTrap::ReallocOutOfBounds)?;
                if old_size > 0 && size > 0 {
                    let mem = self.rt.host_memory;
                    let n = old_size.min(size);
                    // SAFETY: both ranges are host allocations.
                    unsafe { core::ptr::copy(mem.ptr(old), mem.ptr(ptr), n as usize) };
                }
                Ok(ptr)
            }
            Realloc::Core(f) => {
                let mut values = [
                    ValRaw::from(old),
                    ValRaw::from(old_size),
                    ValRaw::from(align),
                    ValRaw::from(size),
                ];
                self.to.instance.may_leave.set(false);
                // SAFETY: realloc has type (i32, i32, i32, i32) -> i32.
                unsafe { f.call(&mut values) }?;
                self.to.instance.may_leave.set(true);
                Ok(values[0] as u32)
            }
        }
    }

    /// Checks an allocation's alignment and bounds in the destination.
    fn check_alloc(
        &self,
        ptr: u32,
        align: u32,
        size: u64,
        purpose: Purpose,
    ) -> Result<(), ComponentTrap> {
        let host = self.from.host;
        if !is_aligned(ptr, align) {
            return Err(if host {
                ComponentTrap::ReallocUnaligned
            } else {
                ComponentTrap::UnalignedPointer
            });
        }
        if !self.to.memory().contains(u64::from(ptr), size) {
            return Err(match (host, purpose) {
                (true, _) => ComponentTrap::ReallocOutOfBounds,
                (false, Purpose::String) => ComponentTrap::StringOutOfBounds { host: false },
                (false, Purpose::List) => ComponentTrap::ListOutOfBounds { host: false },
            });
        }
        Ok(())
    }

    /// Allocates `size` bytes aligned to `align` in the destination.
    fn alloc(&self, align: u32, size: u32, purpose: Purpose) -> Result<u32, ComponentTrap> {
        let ptr = self.realloc(0, 0, align, size)?;
        self.check_alloc(ptr, align, u64::from(size), purpose)?;
        Ok(ptr)
    }

    /// Writes `bytes` into the destination memory at `addr` (checked).
    fn put(&self, addr: u32, bytes: &[u8]) {
        // SAFETY: every caller checked the allocation's bounds.
        unsafe { self.to.memory().slice(addr, bytes.len() as u32) }.copy_from_slice(bytes);
    }

    fn list(
        &self,
        elem: TypeId,
        src: &mut Src<'_, '_>,
        dst: &mut Dst<'_>,
    ) -> Result<(), ComponentTrap> {
        let (ptr, len) = self.pair(src)?;
        let size = self.rt.layouts.size[elem as usize];
        let align = self.rt.layouts.align[elem as usize];
        let byte_len = u64::from(len) * u64::from(size);
        if !is_aligned(ptr, align) {
            return Err(ComponentTrap::UnalignedPointer);
        }
        if !self.from.memory().contains(u64::from(ptr), byte_len) {
            return Err(ComponentTrap::ListOutOfBounds { host: self.to.host });
        }
        if byte_len >= 1 << 32 {
            return Err(ComponentTrap::TooLarge);
        }
        let dptr = self.alloc(align, byte_len as u32, Purpose::List)?;
        let plain = matches!(
            self.types().get(elem),
            ValType::U8
                | ValType::S8
                | ValType::U16
                | ValType::S16
                | ValType::U32
                | ValType::S32
                | ValType::U64
                | ValType::S64
        );
        if plain {
            // SAFETY: both ranges were checked; `copy` allows the two sides
            // to share a memory.
            unsafe {
                core::ptr::copy(
                    self.from.memory().ptr(ptr),
                    self.to.memory().ptr(dptr),
                    byte_len as usize,
                )
            };
        } else {
            for i in 0..len {
                self.value(
                    elem,
                    &mut Src::Mem(ptr + i * size),
                    &mut Dst::Mem(dptr + i * size),
                )?;
            }
        }
        self.write_pair(dst, dptr, len)
    }

    /// Lifts a string from the source side.
    pub(super) fn lift_string(&self, ptr: u32, tagged: u32) -> Result<SourceString, ComponentTrap> {
        let option = self.from.encoding;
        let (simple, units, byte_len, align) = match option {
            StringEncoding::Utf8 => (Simple::Utf8, tagged, u64::from(tagged), 1),
            StringEncoding::Utf16 => (Simple::Utf16, tagged, 2 * u64::from(tagged), 2),
            StringEncoding::Latin1Utf16 if tagged & UTF16_TAG != 0 => {
                let units = tagged ^ UTF16_TAG;
                (Simple::Utf16, units, 2 * u64::from(units), 2)
            }
            StringEncoding::Latin1Utf16 => (Simple::Latin1, tagged, u64::from(tagged), 2),
        };
        if !is_aligned(ptr, align) {
            return Err(ComponentTrap::UnalignedPointer);
        }
        if !self.from.memory().contains(u64::from(ptr), byte_len) {
            return Err(ComponentTrap::StringOutOfBounds { host: self.to.host });
        }
        // SAFETY: checked above; copied, since the destination's realloc
        // may change the source memory.
        let bytes = unsafe { self.from.memory().slice(ptr, byte_len as u32) }.to_vec();
        let text = match simple {
            Simple::Utf8 => std::str::from_utf8(&bytes)
                .map_err(|e| ComponentTrap::InvalidUtf8(e.to_string()))?
                .to_string(),
            Simple::Utf16 => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).map_err(|_| ComponentTrap::InvalidUtf16)?
            }
            Simple::Latin1 => bytes.iter().map(|&b| b as char).collect(),
        };
        Ok(SourceString {
            text,
            simple,
            option,
            units,
            bytes,
        })
    }

    fn string(&self, src: &mut Src<'_, '_>, dst: &mut Dst<'_>) -> Result<(), ComponentTrap> {
        let (ptr, tagged) = self.pair(src)?;
        let s = self.lift_string(ptr, tagged)?;
        let (dptr, dtagged) = self.store_string(&s)?;
        self.write_pair(dst, dptr, dtagged)
    }

    /// Stores a string in the destination (CanonicalABI.md
    /// `store_string_into_range`).
    pub(super) fn store_string(&self, s: &SourceString) -> Result<(u32, u32), ComponentTrap> {
        match (self.to.encoding, s.simple) {
            (StringEncoding::Utf8, Simple::Utf8) => self.copy_string(s, s.bytes.clone(), 1, 1),
            (StringEncoding::Utf8, Simple::Utf16) => self.to_utf8(s, 3 * u64::from(s.units)),
            (StringEncoding::Utf8, Simple::Latin1) => self.to_utf8(s, 2 * u64::from(s.units)),
            (StringEncoding::Utf16, Simple::Utf8) => self.utf8_to_utf16(s),
            (StringEncoding::Utf16, Simple::Utf16 | Simple::Latin1) => {
                self.copy_string(s, utf16_bytes(&s.text), 2, 2)
            }
            (StringEncoding::Latin1Utf16, _) => match (s.option, s.simple) {
                (StringEncoding::Latin1Utf16, Simple::Latin1) => {
                    self.copy_string(s, s.bytes.clone(), 1, 2)
                }
                (StringEncoding::Latin1Utf16, _) => self.probably_utf16_to_latin1_or_utf16(s),
                _ => self.to_latin1_or_utf16(s),
            },
        }
    }

    fn copy_string(
        &self,
        s: &SourceString,
        encoded: Vec<u8>,
        unit_size: u32,
        align: u32,
    ) -> Result<(u32, u32), ComponentTrap> {
        let byte_len = u64::from(unit_size) * u64::from(s.units);
        if byte_len > MAX_STRING_BYTE_LENGTH {
            return Err(ComponentTrap::TooLarge);
        }
        let ptr = self.alloc(align, byte_len as u32, Purpose::String)?;
        self.put(ptr, &encoded);
        Ok((ptr, s.units))
    }

    fn to_utf8(&self, s: &SourceString, worst: u64) -> Result<(u32, u32), ComponentTrap> {
        let units = s.units;
        let mut ptr = self.realloc(0, 0, 1, units)?;
        self.check_alloc(ptr, 1, u64::from(units), Purpose::String)?;
        for (i, c) in s.text.chars().enumerate() {
            if c.is_ascii() {
                self.put(ptr + i as u32, &[c as u8]);
                continue;
            }
            if worst > MAX_STRING_BYTE_LENGTH {
                return Err(ComponentTrap::TooLarge);
            }
            let worst = worst as u32;
            ptr = self.realloc(ptr, units, 1, worst)?;
            self.check_alloc(ptr, 1, u64::from(worst), Purpose::String)?;
            let encoded = s.text.as_bytes();
            self.put(ptr + i as u32, &encoded[i..]);
            let len = encoded.len() as u32;
            if worst > len {
                ptr = self.realloc(ptr, worst, 1, len)?;
                self.check_alloc(ptr, 1, u64::from(len), Purpose::String)?;
            }
            return Ok((ptr, len));
        }
        Ok((ptr, units))
    }

    fn utf8_to_utf16(&self, s: &SourceString) -> Result<(u32, u32), ComponentTrap> {
        let worst = 2 * u64::from(s.units);
        if worst > MAX_STRING_BYTE_LENGTH {
            return Err(ComponentTrap::TooLarge);
        }
        let worst = worst as u32;
        let mut ptr = self.alloc(2, worst, Purpose::String)?;
        let encoded = utf16_bytes(&s.text);
        self.put(ptr, &encoded);
        let len = encoded.len() as u32;
        if len < worst {
            ptr = self.realloc(ptr, worst, 2, len)?;
            self.check_alloc(ptr, 2, u64::from(len), Purpose::String)?;
        }
        Ok((ptr, len / 2))
    }

    fn to_latin1_or_utf16(&self, s: &SourceString) -> Result<(u32, u32), ComponentTrap> {
        let units = s.units;
        let mut ptr = self.alloc(2, units, Purpose::String)?;
        let mut len = 0u32;
        for c in s.text.chars() {
            if (c as u32) < 0x100 {
                self.put(ptr + len, &[c as u8]);
                len += 1;
                continue;
            }
            let worst = 2 * u64::from(units);
            if worst > MAX_STRING_BYTE_LENGTH {
                return Err(ComponentTrap::TooLarge);
            }
            let worst = worst as u32;
            ptr = self.realloc(ptr, units, 2, worst)?;
            self.check_alloc(ptr, 2, u64::from(worst), Purpose::String)?;
            // Widen the Latin-1 prefix in place, from the end.
            // SAFETY: within the checked allocation.
            let mem = unsafe { self.to.memory().slice(ptr, worst) };
            for j in (0..len as usize).rev() {
                mem[2 * j] = mem[j];
                mem[2 * j + 1] = 0;
            }
            let encoded = utf16_bytes(&s.text);
            self.put(ptr + 2 * len, &encoded[2 * len as usize..]);
            let elen = encoded.len() as u32;
            if worst > elen {
                ptr = self.realloc(ptr, worst, 2, elen)?;
                self.check_alloc(ptr, 2, u64::from(elen), Purpose::String)?;
            }
            return Ok((ptr, (elen / 2) | UTF16_TAG));
        }
        if len < units {
            ptr = self.realloc(ptr, units, 2, len)?;
            self.check_alloc(ptr, 2, u64::from(len), Purpose::String)?;
        }
        Ok((ptr, len))
    }

    fn probably_utf16_to_latin1_or_utf16(
        &self,
        s: &SourceString,
    ) -> Result<(u32, u32), ComponentTrap> {
        let byte_len = 2 * u64::from(s.units);
        if byte_len > MAX_STRING_BYTE_LENGTH {
            return Err(ComponentTrap::TooLarge);
        }
        let byte_len = byte_len as u32;
        let mut ptr = self.alloc(2, byte_len, Purpose::String)?;
        let encoded = utf16_bytes(&s.text);
        self.put(ptr, &encoded);
        let elen = encoded.len() as u32;
        if s.text.chars().any(|c| c as u32 >= 0x100) {
            return Ok((ptr, (elen / 2) | UTF16_TAG));
        }
        let latin1 = elen / 2;
        // SAFETY: within the checked allocation.
        let mem = unsafe { self.to.memory().slice(ptr, byte_len) };
        for i in 0..latin1 as usize {
            mem[i] = mem[2 * i];
        }
        ptr = self.realloc(ptr, byte_len, 1, latin1)?;
        self.check_alloc(ptr, 1, u64::from(latin1), Purpose::String)?;
        Ok((ptr, latin1))
    }
}

fn utf16_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The layout of a function's parameters as a tuple in memory: field
/// offsets, size and alignment.
fn tuple_layout(types: &TypeTable, params: &[TypeId]) -> (Vec<u32>, u32, u32) {
    let offsets = types.field_offsets(params);
    let align = params
        .iter()
        .map(|&p| types.alignment(p))
        .max()
        .unwrap_or(1);
    let end = params
        .last()
        .map_or(0, |&p| offsets[offsets.len() - 1] + types.size(p));
    (offsets, smelt_abi::component::align_to(end, align), align)
}

/// The caller's and the callee's sides of adapter `state`.
fn adapter_sides(state: &TrampolineState) -> (SideRefs<Resolved>, SideRefs<Resolved>) {
    let TrampolineRefs::Adapter { caller, callee, .. } = state.refs else {
        unreachable!("an adapter's references")
    };
    (caller, callee)
}

/// The side of a call that `refs` and `options` describe.
pub(super) fn side<'a>(
    rt: &'a Runtime,
    refs: SideRefs<Resolved>,
    options: CanonOptions,
) -> Side<'a> {
    let instance = refs.instance.instance();
    let host = core::ptr::eq(instance, &*rt.host);
    let memory = rt.host_option(refs.memory, true).memory();
    let realloc = match rt.host_option(refs.realloc, false) {
        Resolved::Func(f) => Some(Realloc::Core(f)),
        Resolved::HostRealloc => Some(Realloc::Host),
        _ => None,
    };
    Side {
        instance,
        memory,
        realloc,
        encoding: options.string_encoding,
        host,
    }
}

/// The trampoline function of adapters (see `smelt_abi::vm::TrampolineFn`).
///
/// # Safety
///
/// `ctx` must be an adapter's trampoline state; `args` must hold its flat
/// arguments and `results` room for its flat result.
pub(super) unsafe extern "C" fn adapter_trampoline(
    ctx: *mut u8,
    args: *mut ValRaw,
    results: *mut ValRaw,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    status(unsafe { call(&*ctx.cast::<TrampolineState>(), args, results) })
}

/// The core signatures of an adapter's two sides (CanonicalABI.md
/// `flatten_functype`): the caller's lowering and the callee's lifting.
#[derive(Debug)]
pub struct Signatures {
    lower: CoreSignature,
    /// The callee's lifting (a library's direct calls read it).
    pub(super) lift: CoreSignature,
    /// The parameters as a tuple in memory: field offsets, size and
    /// alignment.
    params: (Vec<u32>, u32, u32),
}

impl Signatures {
    /// The signatures of an adapter of function type `func` with these
    /// options.
    pub fn new(
        desc: &smelt_abi::component::ComponentDesc,
        func: FuncTypeIndex,
        caller: CanonOptions,
        callee: CanonOptions,
    ) -> Self {
        let f = &desc.funcs[func.index()];
        Signatures {
            lower: desc
                .types
                .core_signature_with(f, Context::Lower, caller.async_, false),
            lift: desc
                .types
                .core_signature_with(f, Context::Lift, callee.async_, callee.callback),
            params: tuple_layout(&desc.types, &f.params),
        }
    }
}

/// One call from a component instance (or the host) into a lifted
/// function, while it is in progress: what lifting its arguments when the
/// callee starts and lowering its result when the callee returns need
/// (CanonicalABI.md `canon lower`'s `on_start` and `on_resolve`).
pub struct Call {
    state: *const TrampolineState,
    func: FuncTypeIndex,
    caller_opts: CanonOptions,
    callee_opts: CanonOptions,
    /// The caller's flat arguments.
    args: Vec<ValRaw>,
    /// Where a synchronous caller's flat result goes.
    results: *mut ValRaw,
    /// The caller's subtask (a waitable).
    pub subtask: u32,
    /// The call's borrow scope.
    pub scope: u32,
}

impl Call {
    fn state(&self) -> &TrampolineState {
        // SAFETY: trampoline states live as long as the program.
        unsafe { &*self.state }
    }

    fn sigs(&self) -> &Signatures {
        self.state()
            .sigs
            .as_deref()
            .expect("adapters have signatures")
    }

    fn sides<'a>(&self, rt: &'a Runtime) -> (Side<'a>, Side<'a>) {
        let (caller, callee) = adapter_sides(self.state());
        (
            side(rt, caller, self.caller_opts),
            side(rt, callee, self.callee_opts),
        )
    }

    fn func<'a>(&self, rt: &'a Runtime) -> &'a FuncType {
        &rt.desc.funcs[self.func.index()]
    }

    /// The called function's result type.
    pub fn result_type(&self, rt: &Runtime) -> Option<TypeId> {
        self.func(rt).result
    }

    /// The callee's core function, post-return and callback.
    fn callee_funcs(&self) -> (CoreFunc, Option<CoreFunc>, Option<CoreFunc>) {
        let TrampolineRefs::Adapter {
            func,
            post_return,
            callback,
            ..
        } = self.state().refs
        else {
            unreachable!("an adapter's references")
        };
        let func = func.func().expect("adapters refer to the callee");
        (func, post_return.func(), callback.func())
    }

    /// Lifts the caller's arguments into the callee: its flat arguments.
    fn lift_args(&self, rt: &Runtime) -> Result<Vec<ValRaw>, ComponentTrap> {
        let f = self.func(rt);
        let (caller, callee) = self.sides(rt);
        let Signatures {
            lower,
            lift,
            params,
        } = self.sigs();
        let args = &self.args;
        let cx = Transfer {
            rt,
            from: &caller,
            to: &callee,
            scope: self.scope,
        };
        let (offsets, tuple_size, tuple_align) = (&params.0, params.1, params.2);
        let mut flat = FlatIter {
            values: args,
            pos: 0,
        };
        let caller_tuple = if lower.params_indirect {
            let ptr = args[0] as u32;
            if !is_aligned(ptr, tuple_align) {
                return Err(ComponentTrap::UnalignedPointer);
            }
            if !caller
                .memory()
                .contains(u64::from(ptr), u64::from(tuple_size))
            {
                return Err(ComponentTrap::ListOutOfBounds { host: false });
            }
            Some(ptr)
        } else {
            None
        };
        let mut callee_args = Vec::with_capacity(lift.params.len().max(lift.results.len()).max(1));
        let callee_tuple = if lift.params_indirect {
            Some(cx.alloc(tuple_align, tuple_size, Purpose::List)?)
        } else {
            None
        };
        for (i, &p) in f.params.iter().enumerate() {
            let mut src = match caller_tuple {
                Some(t) => Src::Mem(t + offsets[i]),
                None => Src::Flat(&mut flat),
            };
            let mut dst = match callee_tuple {
                Some(t) => Dst::Mem(t + offsets[i]),
                None => Dst::Flat(&mut callee_args),
            };
            cx.value(p, &mut src, &mut dst)?;
        }
        if let Some(t) = callee_tuple {
            callee_args.push(ValRaw::from(t));
        }
        Ok(callee_args)
    }

    /// Lowers the callee's result into the caller: `values` are the
    /// callee's flat values of it, or one pointer to it in the callee's
    /// memory when `indirect`.
    fn lower_result(
        &self,
        rt: &Runtime,
        values: &[ValRaw],
        indirect: bool,
    ) -> Result<(), ComponentTrap> {
        let f = self.func(rt);
        let Some(r) = f.result else { return Ok(()) };
        let (caller, callee) = self.sides(rt);
        let lower = &self.sigs().lower;
        let back = Transfer {
            rt,
            from: &callee,
            to: &caller,
            scope: self.scope,
        };
        let mut results_iter = FlatIter { values, pos: 0 };
        let mut src = if indirect {
            let ptr = values[0] as u32;
            if !is_aligned(ptr, rt.layouts.align(r)) {
                return Err(ComponentTrap::UnalignedPointer);
            }
            if !callee
                .memory()
                .contains(u64::from(ptr), u64::from(rt.layouts.size(r)))
            {
                return Err(ComponentTrap::ListOutOfBounds { host: caller.host });
            }
            Src::Mem(ptr)
        } else {
            Src::Flat(&mut results_iter)
        };
        let mut flat_out = Vec::new();
        let mut dst = if lower.results_indirect {
            let ptr = self.args[lower.params.len() - 1] as u32;
            if !is_aligned(ptr, rt.layouts.align(r)) {
                return Err(ComponentTrap::UnalignedPointer);
            }
            if !caller
                .memory()
                .contains(u64::from(ptr), u64::from(rt.layouts.size(r)))
            {
                return Err(ComponentTrap::ListOutOfBounds { host: false });
            }
            Dst::Mem(ptr)
        } else {
            Dst::Flat(&mut flat_out)
        };
        back.value(r, &mut src, &mut dst)?;
        for (i, v) in flat_out.into_iter().enumerate() {
            // SAFETY: a synchronous caller waits for the result with room
            // for its flat result.
            unsafe { *self.results.add(i) = v };
        }
        Ok(())
    }
}

/// Resolves `task` with a result (CanonicalABI.md `Task.return_`):
/// lowers it into the caller and marks the subtask returned.
pub(super) fn task_return(
    rt: &Runtime,
    task: TaskId,
    values: &[ValRaw],
    indirect: bool,
) -> Result<(), ComponentTrap> {
    let (state, scope, call) = {
        let tasks = rt.sched.tasks.borrow();
        let t = tasks.get(task);
        (t.state, t.scope, t.call.clone())
    };
    if state == TaskState::Resolved {
        return Err(ComponentTrap::AlreadyReturned);
    }
    if rt.scopes.borrow().get(scope).borrow_count != 0 {
        return Err(ComponentTrap::BorrowsRemain);
    }
    let call = call.expect("tasks of calls have their call");
    call.lower_result(rt, values, indirect)?;
    rt.sched.tasks.borrow_mut().get_mut(task).state = TaskState::Resolved;
    resolve_subtask(rt, call.subtask, SubtaskState::Returned);
    Ok(())
}

/// Resolves `task` without a result (CanonicalABI.md `Task.cancel`).
pub(super) fn task_cancel(rt: &Runtime, task: TaskId) -> Result<(), ComponentTrap> {
    let (state, scope, call) = {
        let tasks = rt.sched.tasks.borrow();
        let t = tasks.get(task);
        (t.state, t.scope, t.call.clone())
    };
    if state != TaskState::CancelDelivered {
        return Err(ComponentTrap::NotCancelled);
    }
    if rt.scopes.borrow().get(scope).borrow_count != 0 {
        return Err(ComponentTrap::BorrowsRemain);
    }
    rt.sched.tasks.borrow_mut().get_mut(task).state = TaskState::Resolved;
    let call = call.expect("tasks of calls have their call");
    let started = {
        let items = rt.sched.waitables.items.borrow();
        let s = items.get(call.subtask).subtask();
        s.state == SubtaskState::Started
    };
    let state = if started {
        SubtaskState::CancelledBeforeReturned
    } else {
        SubtaskState::CancelledBeforeStarted
    };
    resolve_subtask(rt, call.subtask, state);
    Ok(())
}

/// Moves subtask `w` to `state` and, if its caller holds it in its table,
/// records a progress event (CanonicalABI.md `on_progress`).
fn progress(rt: &Runtime, w: u32, state: SubtaskState) {
    let mut items = rt.sched.waitables.items.borrow_mut();
    let item = items.get_mut(w);
    let s = item.subtask_mut();
    s.state = state;
    if state.resolved() {
        s.task = None;
    }
    if item.index != 0 {
        item.pending = Some(Pending::Subtask);
    }
}

fn resolve_subtask(rt: &Runtime, w: u32, state: SubtaskState) {
    progress(rt, w, state);
}

/// Ends the lends of the call of a subtask whose resolution is delivered
/// (CanonicalABI.md `Subtask.deliver_resolve`).
pub(super) fn end_lends(rt: &Runtime, scope: u32) {
    let lenders = core::mem::take(&mut rt.scopes.borrow_mut().get_mut(scope).lenders);
    for (instance, handle) in lenders {
        // SAFETY: instance states live as long as the program.
        let instance = unsafe { &*instance };
        if let Ok(Slot::Own { lend_count, .. }) = instance.table.borrow_mut().get_mut(handle) {
            *lend_count -= 1;
        }
    }
}

/// Whether a call from `caller` (the calling task, if a component's)
/// into `callee` might re-enter an instance (CanonicalABI.md
/// `call_might_be_recursive`).
fn might_be_recursive(caller: &InstanceState, callee: &InstanceState) -> bool {
    let rt = runtime();
    if caller.index == HOST {
        return false;
    }
    rt.is_ancestor(caller.index, callee.index) || rt.is_ancestor(callee.index, caller.index)
}

/// Carries out one adapted call (CanonicalABI.md `canon lower` of a
/// `canon lift`).
///
/// # Safety
///
/// As [`adapter_trampoline`].
unsafe fn call(
    state: &TrampolineState,
    args: *mut ValRaw,
    results: *mut ValRaw,
) -> Result<(), ComponentTrap> {
    let rt = runtime();
    let TrampolineKind::Adapter {
        func,
        caller: caller_opts,
        callee: callee_opts,
    } = rt.desc.trampolines[state.index.index()]
    else {
        unreachable!("an adapter trampoline");
    };
    let f = &rt.desc.funcs[func.index()];
    let (caller, callee) = adapter_sides(state);
    let caller = side(rt, caller, caller_opts);
    let callee = side(rt, callee, callee_opts);
    // canon lower.
    if !caller.instance.may_leave.get() {
        return Err(ComponentTrap::CannotLeave);
    }
    let sched = &rt.sched;
    if !caller.host && f.async_ && !caller_opts.async_ && !sched.may_block() {
        return Err(ComponentTrap::CannotBlockSync);
    }
    // canon lift.
    if callee.instance.poisoned.get() || might_be_recursive(caller.instance, callee.instance) {
        return Err(ComponentTrap::CannotEnter);
    }
    let lower = &state
        .sigs
        .as_deref()
        .expect("adapters have signatures")
        .lower;
    // SAFETY: the caller passes its flat arguments.
    let args = unsafe { core::slice::from_raw_parts(args, lower.params.len()) }.to_vec();
    let scope = rt.scopes.borrow_mut().add(CallScope::default());
    let subtask = sched.waitables.add(Kind::Subtask(Subtask {
        state: SubtaskState::Starting,
        task: None,
        scope,
        delivered: false,
        cancel_requested: false,
    }));
    let call = Rc::new(Call {
        state,
        func,
        caller_opts,
        callee_opts,
        args,
        results,
        subtask,
        scope,
    });
    // This frame keeps no reference of its own to the call: a trap in the
    // callee skips it (`traps::catch`), and what it owned would leak; the
    // task owns the call, and frees it with itself.
    let call_ptr = Rc::as_ptr(&call);
    let task = sched.add_task(Task {
        inst: callee.instance,
        async_ft: f.async_,
        async_lift: callee_opts.async_,
        callback: callee_opts.callback,
        state: TaskState::Initial,
        scope,
        supertask: sched.current_task(),
        thread: None,
        threads: 0,
        waiting_to_enter: None,
        subtask,
        call: Some(call),
    });
    sched
        .waitables
        .items
        .borrow_mut()
        .get_mut(subtask)
        .subtask_mut()
        .task = Some(task);
    if f.async_ || callee.instance.uses_threads.get() {
        // A function that is not `async` runs on its own stack too when its
        // instance may switch threads (`thread.*` built-ins).
        let thread = sched.spawn(task, true, move |t| run_async_task(task, t))?;
        sched.resume(thread, false)?;
    } else {
        // A function that is not `async` cannot block: it runs here.
        let thread = sched.inline_thread(task);
        let prev = sched.enter(Some(thread));
        // SAFETY: the task owns the call until `finish_thread` below
        // removes it.
        let result = run_sync_task(rt, unsafe { &*call_ptr }, task);
        sched.enter(prev);
        sched.finish_thread(thread);
        result?;
    }
    let resolved = move |rt: &Runtime| {
        let items = rt.sched.waitables.items.borrow();
        let s = items.get(subtask).subtask();
        s.state.resolved()
    };
    if !caller_opts.async_ {
        if !resolved(rt) {
            match sched.current() {
                Some(me) if !caller.host && sched.has_stack(me) => {
                    sched.block_until(me, Rc::new(move || resolved(runtime())));
                }
                _ => {
                    // The host, or a caller on a stack it cannot leave (a
                    // function that is not `async`, whose callee switched
                    // threads), drives the event loop until the call
                    // resolves.
                    while !resolved(rt) {
                        if !sched.step()? {
                            return Err(ComponentTrap::Deadlock);
                        }
                    }
                }
            }
        }
        sched.waitables.remove(subtask);
        end_lends(rt, scope);
        rt.scopes.borrow_mut().remove(scope);
        return Ok(());
    }
    // An async lowering: the subtask's state, and its handle if it has not
    // resolved.
    if resolved(rt) {
        sched.waitables.remove(subtask);
        end_lends(rt, scope);
        rt.scopes.borrow_mut().remove(scope);
        // SAFETY: the caller has room for its i32 result.
        unsafe { *results = ValRaw::from(SubtaskState::Returned as u32) };
        return Ok(());
    }
    let index = caller
        .instance
        .table
        .borrow_mut()
        .add(Slot::Subtask(subtask))?;
    let state = {
        let mut items = sched.waitables.items.borrow_mut();
        let item = items.get_mut(subtask);
        item.index = index;
        let s = item.subtask();
        s.state as u32
    };
    // SAFETY: the caller has room for its i32 result.
    unsafe { *results = ValRaw::from(state | (index << 4)) };
    Ok(())
}

/// Runs a call of a function that is not `async` on the caller's stack.
fn run_sync_task(rt: &Runtime, call: &Call, task: TaskId) -> Result<(), ComponentTrap> {
    let (callee_func, post_return, _) = call.callee_funcs();
    let lift = &call.sigs().lift;
    progress(rt, call.subtask, SubtaskState::Started);
    // The flat values live in this frame, not on the heap: a trap in the
    // callee skips the frame, and would leak them.
    let mut values = [0 as ValRaw; MAX_FLAT_PARAMS + 1];
    let n_values = {
        let lifted = call.lift_args(rt)?;
        values[..lifted.len()].copy_from_slice(&lifted);
        lifted.len()
    };
    let n_results = lift.results.len();
    let values = &mut values[..n_values.max(n_results).max(1)];
    // SAFETY: the callee's core function has the lifted signature.
    unsafe { callee_func.call(values) }?;
    task_return(rt, task, &values[..n_results], lift.results_indirect)?;
    if let Some(post) = post_return {
        let mut values = values[..n_results].to_vec();
        values.resize(values.len().max(1), 0);
        let (_, callee) = call.sides(rt);
        callee.instance.may_leave.set(false);
        // SAFETY: post-return takes the callee's flat results.
        unsafe { post.call(&mut values) }?;
        callee.instance.may_leave.set(true);
    }
    Ok(())
}

/// The body of the thread of a call of an `async` function
/// (CanonicalABI.md `canon lift`'s `thread_func`).
fn run_async_task(task: TaskId, thread: ThreadId) -> Result<(), ComponentTrap> {
    let rt = runtime();
    let sched = &rt.sched;
    let (inst, call, needs_exclusive) = {
        let tasks = sched.tasks.borrow();
        let t = tasks.get(task);
        // Only `async` functions wait for backpressure and take the
        // exclusive lock (CanonicalABI.md `Task.enter`).
        (
            t.instance(),
            t.call.clone().expect("a call"),
            t.async_ft && t.needs_exclusive(),
        )
    };
    // Task.enter: wait while the instance applies backpressure.
    let has_backpressure =
        move || inst.backpressure.get() > 0 || (needs_exclusive && inst.exclusive.get().is_some());
    let async_ft = sched.tasks.borrow().get(task).async_ft;
    if async_ft && (has_backpressure() || inst.num_waiting_to_enter.get() > 0) {
        inst.num_waiting_to_enter
            .set(inst.num_waiting_to_enter.get() + 1);
        sched.tasks.borrow_mut().get_mut(task).waiting_to_enter = Some(thread);
        let cancelled = sched.wait_until(thread, Rc::new(move || !has_backpressure()), true, true);
        sched.tasks.borrow_mut().get_mut(task).waiting_to_enter = None;
        inst.num_waiting_to_enter
            .set(inst.num_waiting_to_enter.get() - 1);
        if cancelled {
            return task_cancel(rt, task);
        }
    }
    if needs_exclusive {
        inst.exclusive.set(Some(task));
    }
    let (callee_func, post_return, callback) = call.callee_funcs();
    let lift = &call.sigs().lift;
    progress(rt, call.subtask, SubtaskState::Started);
    let mut values = call.lift_args(rt)?;
    let n_results = lift.results.len();
    values.resize(values.len().max(n_results).max(1), 0);
    if !call.callee_opts.async_ {
        // SAFETY: the callee's core function has the lifted signature.
        unsafe { callee_func.call(&mut values) }?;
        task_return(rt, task, &values[..n_results], lift.results_indirect)?;
        if let Some(post) = post_return {
            let mut values = values[..n_results].to_vec();
            values.resize(values.len().max(1), 0);
            inst.may_leave.set(false);
            // SAFETY: post-return takes the callee's flat results.
            unsafe { post.call(&mut values) }?;
            inst.may_leave.set(true);
        }
        return exit(rt, task, inst, needs_exclusive);
    }
    // SAFETY: as above.
    unsafe { callee_func.call(&mut values) }?;
    let Some(callback) = callback else {
        return exit(rt, task, inst, needs_exclusive);
    };
    let mut packed = values[0] as u32;
    loop {
        let (code, si) = (packed & 0xf, packed >> 4);
        let event = match code {
            callback_code::EXIT => break,
            callback_code::YIELD => {
                inst.exclusive.set(None);
                let ready = Rc::new(move || inst.exclusive.get().is_none());
                if sched.yield_until(thread, ready, true) {
                    (event::TASK_CANCELLED, 0, 0)
                } else {
                    (event::NONE, 0, 0)
                }
            }
            callback_code::WAIT => {
                inst.exclusive.set(None);
                let set = match inst.table.borrow().get(si)? {
                    Slot::WaitableSet(s) => s,
                    _ => return Err(ComponentTrap::NotAWaitableSet(si)),
                };
                wait_on_set(rt, thread, set, Some(inst), true)
            }
            _ => return Err(ComponentTrap::CallbackCode),
        };
        inst.exclusive.set(Some(task));
        let mut args = [
            ValRaw::from(event.0),
            ValRaw::from(event.1),
            ValRaw::from(event.2),
        ];
        // SAFETY: a callback has type (i32, i32, i32) -> i32.
        unsafe { callback.call(&mut args) }?;
        packed = args[0] as u32;
    }
    exit(rt, task, inst, needs_exclusive)
}

/// CanonicalABI.md `Task.exit`: a task must have resolved when its last
/// thread ends.
fn exit(
    rt: &Runtime,
    task: TaskId,
    inst: &InstanceState,
    needs_exclusive: bool,
) -> Result<(), ComponentTrap> {
    if needs_exclusive && inst.exclusive.get() == Some(task) {
        inst.exclusive.set(None);
    }
    let tasks = rt.sched.tasks.borrow();
    let t = tasks.get(task);
    // The task must have resolved when its last thread ends.
    if t.threads == 1 && t.state != TaskState::Resolved {
        return Err(ComponentTrap::NoResult);
    }
    Ok(())
}

/// Blocks `thread` until waitable set `set` has an event (and, for a
/// callback, until `exclusive`'s instance is free); returns the event
/// (CanonicalABI.md `WaitableSet.wait_until`).
pub(super) fn wait_on_set(
    rt: &Runtime,
    thread: ThreadId,
    set: u32,
    exclusive: Option<&'static InstanceState>,
    cancellable: bool,
) -> Event {
    let sched = &rt.sched;
    sched.waitables.sets.borrow_mut().get_mut(set).num_waiting += 1;
    let ready = Rc::new(move || {
        exclusive.is_none_or(|i| i.exclusive.get().is_none())
            && runtime().sched.waitables.set_has_pending(set)
    });
    let event = if sched.wait_until(thread, ready, cancellable, false) {
        (event::TASK_CANCELLED, 0, 0)
    } else {
        take_set_event(rt, set).expect("ready: an event is pending")
    };
    sched.waitables.sets.borrow_mut().get_mut(set).num_waiting -= 1;
    event
}

/// Takes the next pending event of waitable set `set`, if any.
pub(super) fn take_set_event(rt: &Runtime, set: u32) -> Option<Event> {
    let w = rt.sched.waitables.set_pending(set)?;
    let (event, ended) = rt.sched.waitables.take_event(w);
    if let Some(scope) = ended {
        end_lends(rt, scope);
    }
    Some(event)
}

/// The codes a callback returns (CanonicalABI.md `CallbackCode`).
mod callback_code {
    pub const EXIT: u32 = 0;
    pub const YIELD: u32 = 1;
    pub const WAIT: u32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_canonicalization_keeps_other_values() {
        assert_eq!(canonical_f32(0x7fc0_0001), 0x7fc0_0000);
        assert_eq!(canonical_f32(0xff80_0001), 0x7fc0_0000);
        assert_eq!(canonical_f32(0x7f80_0000), 0x7f80_0000, "infinity");
        assert_eq!(canonical_f32(0x3f80_0000), 0x3f80_0000);
        assert_eq!(canonical_f64(0xfff8_0000_0000_0001), 0x7ff8_0000_0000_0000);
        assert_eq!(canonical_f64(0x7ff0_0000_0000_0000), 0x7ff0_0000_0000_0000);
    }

    #[test]
    fn tuple_layout_matches_a_record() {
        let mut t = TypeTable::default();
        let u8_ = t.intern(ValType::U8);
        let u64_ = t.intern(ValType::U64);
        assert_eq!(tuple_layout(&t, &[u8_, u64_, u8_]), (vec![0, 8, 16], 24, 8));
        assert_eq!(tuple_layout(&t, &[]), (vec![], 0, 1));
    }
}
