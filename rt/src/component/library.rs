//! Calls into a component built as a library (`smelt build --emit
//! staticlib`) from native code: the arguments come in, and the result
//! goes out, in native memory, laid out as the Canonical ABI lays values
//! out in a linear memory but with 64-bit pointers and lengths
//! ([`Model::Native`]: the C header's structs).
//!
//! A call passes through the host memory, as every call whose caller is
//! the host does: the arguments are copied from native memory into it in
//! the guest layout ([`Model::Guest`]), the export adapter lifts them from
//! there into the callee and lowers the result back into it, and the
//! result is copied out into memory from `malloc`, which the caller owns.

use smelt_abi::component::{
    Context, LibraryExport, Model, StringEncoding, TypeId, TypeTable, ValType, discriminant_size,
};
use smelt_abi::vm::ValRaw;

use super::canonical::{Dst, Side, Src, Transfer};
use super::trap::ComponentTrap;
use super::{Realloc, Runtime};
use crate::traps::Trap;

/// A trap of the runtime's own making (a value the callee's lifting or
/// the host memory rejects), as the call's error.
fn runtime_trap(e: ComponentTrap) -> Trap {
    Trap {
        code: smelt_abi::trap::TrapCode::Runtime,
        detail: Some(e.to_string()),
        frames: Vec::new(),
        total_frames: 0,
    }
}

/// Rounds `n` up to a multiple of `align`, in native sizes.
fn align_usize(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

/// The layout of a parameter list as a tuple in memory model `m`: field
/// offsets, size and alignment, in bytes.
fn tuple_layout(types: &TypeTable, params: &[TypeId], m: Model) -> (Vec<u32>, u32, u32) {
    let offsets = types.field_offsets_in(params, m);
    let align = params
        .iter()
        .map(|&p| types.alignment_in(p, m))
        .max()
        .unwrap_or(1);
    let end = match (offsets.last(), params.last()) {
        (Some(&at), Some(&p)) => at + types.size_in(p, m),
        _ => 0,
    };
    (offsets, smelt_abi::component::align_to(end, align), align)
}

impl Runtime {
    /// Calls the library export `export` with its parameters at `args`
    /// (native memory: a struct of the parameter types in order, laid out
    /// by [`Model::Native`]) and writes its result at `ret` (the result
    /// type's native layout; its strings and lists in memory from
    /// `malloc`, owned by the caller; strings are also NUL-terminated).
    ///
    /// # Errors
    ///
    /// A trap in the callee, or an argument its lifting rejects (a string
    /// that is not UTF-8, a list too long for the host memory): nothing is
    /// written at `ret` then, and the instance is recovered for the next
    /// call.
    ///
    /// # Safety
    ///
    /// `args` must point to the parameters in the native layout (strings
    /// and lists pointing to as many valid elements as their lengths say),
    /// and `ret` to room for the result (or be null if there is none);
    /// this runtime must be current ([`Runtime::enter`]) with its
    /// initializers run.
    pub unsafe fn call_native(
        &self,
        export: &LibraryExport,
        args: *const u8,
        ret: *mut u8,
    ) -> Result<(), Trap> {
        self.host_bump.set(0);
        let f = &self.desc.funcs[export.func.index()];
        let types = &self.desc.types;
        let lower = types.core_signature_with(f, Context::Lower, false, false);
        let (guest_offsets, size, align) = tuple_layout(types, &f.params, Model::Guest);
        let (native_offsets, _, _) = tuple_layout(types, &f.params, Model::Native);
        let tuple = self.host_alloc(align, size)?;
        for (i, &p) in f.params.iter().enumerate() {
            // SAFETY: the caller's contract: the parameter is at its native
            // offset.
            unsafe {
                self.lower_native(
                    p,
                    args.add(native_offsets[i] as usize),
                    tuple + guest_offsets[i],
                )
            }?;
        }
        let mut values: Vec<ValRaw> = Vec::with_capacity(lower.params.len() + 1);
        if lower.params_indirect {
            values.push(ValRaw::from(tuple));
        } else {
            let host = self.host_side();
            let cx = Transfer {
                rt: self,
                from: &host,
                to: &host,
                scope: 0,
            };
            for (i, &p) in f.params.iter().enumerate() {
                cx.value(
                    p,
                    &mut Src::Mem(tuple + guest_offsets[i]),
                    &mut Dst::Flat(&mut values),
                )
                .map_err(runtime_trap)?;
            }
        }
        let out = match f.result {
            Some(r) if lower.results_indirect => {
                let out = self.host_alloc(types.alignment(r), types.size(r))?;
                values.push(ValRaw::from(out));
                Some(out)
            }
            _ => None,
        };
        values.resize(values.len().max(1), 0 as ValRaw);
        let mut results = [0 as ValRaw; 1];
        // SAFETY: the adapter reads the flat arguments (and the result
        // address) and writes at most one flat result (MAX_FLAT_RESULTS).
        unsafe { self.call_adapter(export.trampoline, &mut values, &mut results) }?;
        let Some(r) = f.result else {
            return Ok(());
        };
        let at = match out {
            Some(at) => at,
            None => {
                // One flat value: its low bytes are the value in memory
                // (little-endian), whatever its type.
                let size = types.size(r);
                let at = self.host_alloc(types.alignment(r), size.max(1))?;
                let bytes = (results[0] as u64).to_le_bytes();
                // SAFETY: just allocated, `size` ≤ 8 for a flat result.
                unsafe { self.host_memory.slice(at, size) }
                    .copy_from_slice(&bytes[..size as usize]);
                at
            }
        };
        // SAFETY: the caller's contract on `ret`.
        unsafe { self.lift_native(r, at, ret) }
    }

    /// The host as a side of a call, for moving values within the host
    /// memory.
    fn host_side(&self) -> Side<'_> {
        Side {
            instance: &self.host,
            memory: Some(self.host_memory),
            realloc: Some(Realloc::Host),
            encoding: StringEncoding::Utf8,
            host: true,
        }
    }

    /// Allocates `size` bytes aligned to `align` in the host memory.
    fn host_alloc(&self, align: u32, size: u32) -> Result<u32, Trap> {
        self.host_realloc(align, size)
            .ok_or_else(|| runtime_trap(ComponentTrap::ListOutOfBounds { host: true }))
    }

    /// Copies the value of type `ty` at native address `src` into the host
    /// memory at `dst`, in the guest layout.
    ///
    /// # Safety
    ///
    /// `src` must hold a value of type `ty` in the native layout.
    unsafe fn lower_native(&self, ty: TypeId, src: *const u8, dst: u32) -> Result<(), Trap> {
        let types = &self.desc.types;
        let mem = self.host_memory;
        match types.get(ty) {
            ValType::String | ValType::List(_) => {
                // SAFETY: a string or list is a pointer and a length.
                let (ptr, len) = unsafe {
                    (
                        src.cast::<*const u8>().read_unaligned(),
                        src.add(8).cast::<usize>().read_unaligned(),
                    )
                };
                let (elem, elem_native, elem_align) = match types.get(ty) {
                    ValType::List(e) => (
                        Some(*e),
                        types.size_in(*e, Model::Native) as usize,
                        types.alignment(*e),
                    ),
                    _ => (None, 1, 1),
                };
                let elem_guest = elem.map_or(1, |e| types.size(e));
                let bytes = u32::try_from(len)
                    .ok()
                    .and_then(|n| n.checked_mul(elem_guest))
                    .ok_or_else(|| runtime_trap(ComponentTrap::ListOutOfBounds { host: true }))?;
                let at = self.host_alloc(elem_align, bytes)?;
                match elem {
                    None if len > 0 => {
                        // SAFETY: the caller's contract: `len` bytes at `ptr`.
                        let text = unsafe { core::slice::from_raw_parts(ptr, len) };
                        // SAFETY: just allocated `len` bytes.
                        unsafe { mem.slice(at, bytes) }.copy_from_slice(text);
                    }
                    None => {}
                    Some(e) => {
                        for i in 0..len {
                            // SAFETY: element `i` of the caller's list.
                            unsafe {
                                self.lower_native(
                                    e,
                                    ptr.add(i * elem_native),
                                    at + i as u32 * elem_guest,
                                )
                            }?;
                        }
                    }
                }
                self.store_guest(dst, &at.to_le_bytes());
                self.store_guest(dst + 4, &(len as u32).to_le_bytes());
            }
            ValType::Record(fields) => {
                let guest = types.field_offsets_in(fields, Model::Guest);
                let native = types.field_offsets_in(fields, Model::Native);
                for (i, &field) in fields.iter().enumerate() {
                    // SAFETY: field `i` of the caller's record.
                    unsafe {
                        self.lower_native(field, src.add(native[i] as usize), dst + guest[i])
                    }?;
                }
            }
            ValType::Variant(cases) => {
                let n = discriminant_size(cases.len());
                let mut tag = [0u8; 4];
                // SAFETY: the discriminant comes first.
                unsafe { core::ptr::copy_nonoverlapping(src, tag.as_mut_ptr(), n as usize) };
                let case = u32::from_le_bytes(tag) as usize;
                let Some(payload) = cases.get(case) else {
                    return Err(runtime_trap(ComponentTrap::InvalidDiscriminant));
                };
                self.store_guest(dst, &tag[..n as usize]);
                if let Some(p) = payload {
                    let guest = types.payload_offset_in(cases, Model::Guest);
                    let native = types.payload_offset_in(cases, Model::Native);
                    // SAFETY: the case's payload follows.
                    unsafe { self.lower_native(*p, src.add(native as usize), dst + guest) }?;
                }
            }
            _ => {
                // Scalars, flags and handles: the same bytes in both.
                let size = types.size(ty);
                // SAFETY: the caller's value of this size.
                let bytes = unsafe { core::slice::from_raw_parts(src, size as usize) };
                self.store_guest(dst, bytes);
            }
        }
        Ok(())
    }

    /// Writes `bytes` into the host memory at `at`, allocated by
    /// [`Runtime::host_alloc`].
    fn store_guest(&self, at: u32, bytes: &[u8]) {
        // SAFETY: the callers write inside what they allocated.
        unsafe { self.host_memory.slice(at, bytes.len() as u32) }.copy_from_slice(bytes);
    }

    /// Copies the value of type `ty` at `src` in the host memory (the
    /// guest layout) to native address `dst`, in the native layout; its
    /// strings and lists go in memory from `malloc`.
    ///
    /// # Safety
    ///
    /// `dst` must have room for the value's native layout.
    unsafe fn lift_native(&self, ty: TypeId, src: u32, dst: *mut u8) -> Result<(), Trap> {
        let types = &self.desc.types;
        let mem = self.host_memory;
        let read = |at: u32, size: u32| -> Result<&[u8], Trap> {
            if !mem.contains(u64::from(at), u64::from(size)) {
                return Err(runtime_trap(ComponentTrap::ListOutOfBounds { host: true }));
            }
            // SAFETY: in bounds; nothing writes the host memory meanwhile.
            Ok(unsafe { mem.slice(at, size) })
        };
        match types.get(ty) {
            ValType::String | ValType::List(_) => {
                let pair = read(src, 8)?;
                let ptr = u32::from_le_bytes(pair[..4].try_into().expect("4 bytes"));
                let len = u32::from_le_bytes(pair[4..].try_into().expect("4 bytes"));
                let (elem, elem_native, elem_align) = match types.get(ty) {
                    ValType::List(e) => (
                        Some(*e),
                        types.size_in(*e, Model::Native) as usize,
                        types.alignment_in(*e, Model::Native) as usize,
                    ),
                    _ => (None, 1, 1),
                };
                let elem_guest = elem.map_or(1, |e| types.size(e));
                let bytes = len as usize * elem_native;
                // A string gets a NUL after it, for C; an empty list a
                // valid pointer all the same (`free` takes it).
                let alloc = align_usize(bytes + usize::from(elem.is_none()), elem_align).max(1);
                // SAFETY: plain allocation; checked for null below.
                let out = unsafe { libc::malloc(alloc) }.cast::<u8>();
                if out.is_null() {
                    return Err(runtime_trap(ComponentTrap::ListOutOfBounds { host: true }));
                }
                match elem {
                    None => {
                        let text = read(ptr, len)?;
                        // SAFETY: `out` has `len + 1` bytes.
                        unsafe {
                            core::ptr::copy_nonoverlapping(text.as_ptr(), out, text.len());
                            *out.add(text.len()) = 0;
                        }
                    }
                    Some(e) => {
                        for i in 0..len {
                            let at = elem_guest
                                .checked_mul(i)
                                .and_then(|o| ptr.checked_add(o))
                                .ok_or_else(|| {
                                    runtime_trap(ComponentTrap::ListOutOfBounds { host: true })
                                })?;
                            // SAFETY: element `i` of the new list.
                            let lifted = unsafe {
                                self.lift_native(e, at, out.add(i as usize * elem_native))
                            };
                            if let Err(trap) = lifted {
                                // SAFETY: allocated above; the elements lifted
                                // so far are lost (their own allocations too).
                                unsafe { libc::free(out.cast()) };
                                return Err(trap);
                            }
                        }
                    }
                }
                // SAFETY: `dst` has room for a pointer and a length.
                unsafe {
                    dst.cast::<*mut u8>().write_unaligned(out);
                    dst.add(8).cast::<usize>().write_unaligned(len as usize);
                }
            }
            ValType::Record(fields) => {
                let guest = types.field_offsets_in(fields, Model::Guest);
                let native = types.field_offsets_in(fields, Model::Native);
                for (i, &field) in fields.iter().enumerate() {
                    // SAFETY: field `i` of the native record.
                    unsafe {
                        self.lift_native(field, src + guest[i], dst.add(native[i] as usize))
                    }?;
                }
            }
            ValType::Variant(cases) => {
                let n = discriminant_size(cases.len());
                let tag = read(src, n)?;
                let mut padded = [0u8; 4];
                padded[..n as usize].copy_from_slice(tag);
                let case = u32::from_le_bytes(padded) as usize;
                let Some(payload) = cases.get(case) else {
                    return Err(runtime_trap(ComponentTrap::InvalidDiscriminant));
                };
                // SAFETY: the discriminant comes first.
                unsafe { core::ptr::copy_nonoverlapping(padded.as_ptr(), dst, n as usize) };
                if let Some(p) = payload {
                    let guest = types.payload_offset_in(cases, Model::Guest);
                    let native = types.payload_offset_in(cases, Model::Native);
                    // SAFETY: the case's payload follows.
                    unsafe { self.lift_native(*p, src + guest, dst.add(native as usize)) }?;
                }
            }
            _ => {
                let size = types.size(ty);
                let bytes = read(src, size)?;
                // SAFETY: `dst` has room for the value.
                unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_tuples_are_c_structs() {
        let mut t = TypeTable::default();
        let u8_ = t.intern(ValType::U8);
        let s = t.intern(ValType::String);
        let f64_ = t.intern(ValType::F64);
        // struct { uint8_t a; string s; double d; }: 0, 8, 24; 32 bytes.
        assert_eq!(
            tuple_layout(&t, &[u8_, s, f64_], Model::Native),
            (vec![0, 8, 24], 32, 8)
        );
        // The guest's: 0, 4, 16; 24 bytes.
        assert_eq!(
            tuple_layout(&t, &[u8_, s, f64_], Model::Guest),
            (vec![0, 4, 16], 24, 8)
        );
    }
}
