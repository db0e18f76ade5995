//! Calls into a component built as a library (`smelt build --emit
//! staticlib`) from native code: the arguments come in, and the result
//! goes out, in native memory, laid out as the Canonical ABI lays values
//! out in a linear memory but with 64-bit pointers and lengths
//! ([`Model::Native`]: the C header's structs).
//!
//! A call takes one of two paths:
//!
//! - **Direct** ([`Runtime::call_native`] by itself), when the callee is a
//!   synchronous function with UTF-8 strings in a component that uses no
//!   task built-ins: the arguments go from native memory straight into the
//!   callee's flat arguments and memory (its `realloc` allocating), the
//!   core function is called, the result comes from its flat result or its
//!   memory straight into native memory, then its `post-return` runs
//!   (CanonicalABI.md `canon lift`, with the host as the caller).
//! - **Through the adapter** otherwise, as every other call whose caller
//!   is the host: the arguments are copied from native memory into the
//!   host memory in the guest layout ([`Model::Guest`]), the export
//!   adapter lifts them from there into the callee and lowers the result
//!   back into it, and the result is copied out.
//!
//! Either way the result's strings and lists are copied into memory from
//! `malloc`, which the caller owns.

use smelt_abi::component::{
    Context, LibraryExport, MAX_FLAT_PARAMS, Model, ResourceIndex, StringEncoding, TrampolineKind,
    TrampolineRefs, TypeId, TypeTable, ValType, discriminant_size,
};

use smelt_abi::vm::ValRaw;

use super::canonical::{Dst, FlatIter, Side, Src, Transfer};
use super::handles::Slot;
use super::trap::ComponentTrap;
use super::{CoreFunc, Memory, Realloc, Runtime, TrampolineState};
use crate::traps::{self, Trap};

/// Where values in the guest layout are read from: a linear memory, or
/// the bytes of a flat result.
#[derive(Clone, Copy)]
enum GuestBytes<'a> {
    Memory(Memory),
    Local(&'a [u8]),
}

impl GuestBytes<'_> {
    /// The bytes `[at, at + size)`.
    #[inline]
    fn read(&self, at: u32, size: u32) -> Result<&[u8], Trap> {
        match *self {
            GuestBytes::Memory(mem) => {
                if !mem.contains(u64::from(at), u64::from(size)) {
                    return Err(runtime_trap(ComponentTrap::ListOutOfBounds { host: false }));
                }
                // SAFETY: in bounds; nothing writes the memory meanwhile.
                Ok(unsafe { mem.slice(at, size) })
            }
            GuestBytes::Local(bytes) => bytes
                .get(at as usize..(at as usize).saturating_add(size as usize))
                .ok_or_else(|| runtime_trap(ComponentTrap::ListOutOfBounds { host: false })),
        }
    }
}

/// Allocates guest memory for a lowered value: `(align, size)` to the
/// address, checked.
type Alloc<'a> = dyn FnMut(u32, u32) -> Result<u32, Trap> + 'a;

/// Flat arguments being built, on the stack (a trap in the callee skips
/// the frames that own them, so they must own nothing on the heap).
/// Left uninitialized but for the first `len` (and what
/// [`FlatArgs::slots`] clears): every call makes one. `repr(C)` with `len`
/// first, so that making one stores `len` alone (see `traps::TrapRecord`).
#[repr(C)]
struct FlatArgs {
    len: usize,
    values: [core::mem::MaybeUninit<ValRaw>; MAX_FLAT_PARAMS + 1],
}

impl FlatArgs {
    fn new() -> FlatArgs {
        FlatArgs {
            len: 0,
            values: [core::mem::MaybeUninit::uninit(); MAX_FLAT_PARAMS + 1],
        }
    }

    fn push(&mut self, v: u64) {
        self.values[self.len] = core::mem::MaybeUninit::new(ValRaw::from(v));
        self.len += 1;
    }

    /// The first `n` slots (at most `MAX_FLAT_PARAMS + 1`), those past the
    /// pushed values zeroed: the argument and result slots of a call.
    fn slots(&mut self, n: usize) -> &mut [ValRaw] {
        for slot in &mut self.values[self.len..n] {
            *slot = core::mem::MaybeUninit::new(0);
        }
        self.len = self.len.max(n);
        // SAFETY: the first `n` are initialized now.
        unsafe { core::slice::from_raw_parts_mut(self.values.as_mut_ptr().cast::<ValRaw>(), n) }
    }
}

/// A trap of the runtime's own making (a value the callee's lifting or
/// the host memory rejects), as the call's error.
#[cold]
fn runtime_trap(e: ComponentTrap) -> Trap {
    Trap {
        code: smelt_abi::trap::TrapCode::Runtime,
        detail: Some(e.to_string()),
        frames: Vec::new(),
        total_frames: 0,
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two), in native
/// sizes.
fn align_usize(n: usize, align: usize) -> usize {
    debug_assert!(align.is_power_of_two());
    (n + (align - 1)) & !(align - 1)
}

/// Whether a value of type `ty` holds resource handles (which only the
/// adapter moves between handle tables).
fn holds_handles(types: &TypeTable, ty: TypeId) -> bool {
    match types.get(ty) {
        ValType::Own(_) | ValType::Borrow(_) => true,
        ValType::List(e) => holds_handles(types, *e),
        ValType::Record(fields) => fields.iter().any(|&f| holds_handles(types, f)),
        ValType::Variant(cases) => cases.iter().flatten().any(|&c| holds_handles(types, c)),
        _ => false,
    }
}

/// The size and alignment of a parameter list as a tuple in memory model
/// `m`, in bytes (its field offsets: `TypeTable::field_offsets_iter`).
fn tuple_size(types: &TypeTable, params: &[TypeId], m: Model) -> (u32, u32) {
    let align = params
        .iter()
        .map(|&p| types.alignment_in(p, m))
        .max()
        .unwrap_or(1);
    let end = match (types.field_offsets_iter(params, m).last(), params.last()) {
        (Some(at), Some(&p)) => at + types.size_in(p, m),
        _ => 0,
    };
    (smelt_abi::component::align_to(end, align), align)
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
    /// that is not UTF-8, a list too long for the guest's memory): nothing
    /// is written at `ret` then, and the callee's instance is poisoned.
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
        let direct = {
            let mut cache = self.library_direct.borrow_mut();
            let at = export.trampoline.index();
            if cache.len() <= at {
                cache.resize_with(at + 1, || None);
            }
            cache[at]
                .get_or_insert_with(|| self.direct_callee(export).map(Box::new))
                .as_deref()
                .map(core::ptr::from_ref)
        };
        if let Some(direct) = direct {
            // SAFETY: forwarded from the caller; an entry of the cache is
            // set once and lives as long as the runtime, and its `Box`
            // does not move when the vector grows.
            return unsafe { self.call_direct(export, &*direct, args, ret) };
        }
        self.host_bump.set(0);
        let f = &self.desc.funcs[export.func.index()];
        let types = &self.desc.types;
        let lower = types.core_signature_with(f, Context::Lower, false, false);
        let host_memory = self.host_memory;
        let mut alloc = |align, size| self.host_alloc(align, size);
        // The flat arguments as the host passes them: in the host memory,
        // a handle as the host's index (which the adapter lifts).
        let mut values: Vec<ValRaw> = Vec::with_capacity(lower.params.len() + 1);
        if lower.params_indirect {
            let (size, align) = tuple_size(types, &f.params, Model::Guest);
            let tuple = self.host_alloc(align, size)?;
            let guest = types.field_offsets_iter(&f.params, Model::Guest);
            let native = types.field_offsets_iter(&f.params, Model::Native);
            for ((&p, g), n) in f.params.iter().zip(guest).zip(native) {
                // SAFETY: the caller's contract: the parameter is at its
                // native offset.
                unsafe {
                    self.lower_native(p, args.add(n as usize), tuple + g, host_memory, &mut alloc)
                }?;
            }
            values.push(ValRaw::from(tuple));
        } else {
            let mut flat = FlatArgs::new();
            let native = types.field_offsets_iter(&f.params, Model::Native);
            for (&p, n) in f.params.iter().zip(native) {
                // SAFETY: as above.
                unsafe {
                    self.flatten_native(
                        p,
                        args.add(n as usize),
                        &mut flat,
                        Some(host_memory),
                        &mut alloc,
                    )
                }?;
            }
            values.extend_from_slice(flat.slots(flat.len));
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
        let local = (results[0] as u64).to_le_bytes();
        let (src, at) = match out {
            Some(at) => (GuestBytes::Memory(host_memory), at),
            None => (GuestBytes::Local(&local), 0),
        };
        // SAFETY: the caller's contract on `ret`.
        unsafe { self.lift_native(r, src, at, ret) }
    }

    /// The callee of `export`, when a call may take the direct path (see
    /// the module documentation).
    ///
    /// `SMELT_LIBRARY_VIA_ADAPTER` set in the environment sends every call
    /// through the adapter (what the tests of that path use).
    fn direct_callee(&self, export: &LibraryExport) -> Option<Direct> {
        if self.has_builtins || std::env::var_os("SMELT_LIBRARY_VIA_ADAPTER").is_some() {
            return None;
        }
        let TrampolineKind::Adapter { func, callee, .. } =
            self.desc.trampolines[export.trampoline.index()]
        else {
            return None;
        };
        let f = &self.desc.funcs[func.index()];
        let types = &self.desc.types;
        if f.async_
            || callee.async_
            || callee.callback
            || callee.string_encoding != StringEncoding::Utf8
            || f.params
                .iter()
                .chain(&f.result)
                .any(|&t| holds_handles(types, t))
        {
            return None;
        }
        let trampolines = self.trampolines.borrow();
        let state = trampolines[export.trampoline.index()].as_deref()?;
        let TrampolineRefs::Adapter {
            callee: refs,
            func: core,
            post_return,
            ..
        } = state.refs
        else {
            return None;
        };
        let instance = refs.instance.instance();
        if instance.uses_threads.get() {
            return None;
        }
        let lift = &state.sigs.as_deref()?.lift;
        let (params_size, params_align) = tuple_size(types, &f.params, Model::Guest);
        Some(Direct {
            native_offsets: types.field_offsets_iter(&f.params, Model::Native).collect(),
            guest_offsets: types.field_offsets_iter(&f.params, Model::Guest).collect(),
            params_size,
            params_align,
            params_indirect: lift.params_indirect,
            results_indirect: lift.results_indirect,
            results: lift.results.len(),
            instance,
            func: core.func()?,
            post_return: post_return.func(),
            memory: self.host_option(refs.memory, true).memory(),
            realloc: self.host_option(refs.realloc, false).func(),
        })
    }

    /// The direct path of [`Runtime::call_native`].
    ///
    /// # Safety
    ///
    /// As [`Runtime::call_native`].
    unsafe fn call_direct(
        &self,
        export: &LibraryExport,
        direct: &Direct,
        args: *const u8,
        ret: *mut u8,
    ) -> Result<(), Trap> {
        let instance = direct.instance;
        if instance.poisoned.get() {
            return Err(runtime_trap(ComponentTrap::CannotEnter));
        }
        let f = &self.desc.funcs[export.func.index()];
        let mut flat = FlatArgs::new();
        // Lowering may fail without a trap (a string that is not UTF-8):
        // the reason is kept here, and the call is not made.
        let mut refused: Option<Trap> = None;
        let memory = direct.memory;
        let realloc = direct.realloc;
        let mut alloc = |align: u32, size: u32| -> Result<u32, Trap> {
            let (Some(f), Some(mem)) = (realloc, memory) else {
                return Err(runtime_trap(ComponentTrap::ReallocOutOfBounds));
            };
            let mut v = [0, 0, ValRaw::from(align), ValRaw::from(size)];
            instance.may_leave.set(false);
            // SAFETY: realloc has type (i32, i32, i32, i32) -> i32; a trap
            // in it is caught by the `catch` around the whole call.
            unsafe { f.call(&mut v) }.map_err(runtime_trap)?;
            instance.may_leave.set(true);
            let ptr = v[0] as u32;
            if !smelt_abi::component::is_aligned(ptr, align) {
                return Err(runtime_trap(ComponentTrap::ReallocUnaligned));
            }
            if !mem.contains(u64::from(ptr), u64::from(size)) {
                return Err(runtime_trap(ComponentTrap::ReallocOutOfBounds));
            }
            Ok(ptr)
        };
        // Whether the result was lifted to `ret` (to free it if the
        // post-return traps).
        let mut lifted = false;
        // One `catch` for the whole call: the frames it may skip own
        // nothing on the heap (the flat values are on the stack, the
        // offsets computed as they are read).
        // SAFETY: the callee's core function has the lifted signature; the
        // caller's contract on `args` and `ret`.
        let caught = unsafe {
            traps::catch(|| {
                let native = direct.native_offsets.iter();
                let lowered = if direct.params_indirect {
                    alloc(direct.params_align, direct.params_size).and_then(|tuple| {
                        let mem = memory.expect("validated: indirect parameters need a memory");
                        let guest = direct.guest_offsets.iter();
                        for ((&p, &g), &n) in f.params.iter().zip(guest).zip(native) {
                            self.lower_native(p, args.add(n as usize), tuple + g, mem, &mut alloc)?;
                        }
                        flat.push(u64::from(tuple));
                        Ok(())
                    })
                } else {
                    f.params.iter().zip(native).try_for_each(|(&p, &at)| {
                        self.flatten_native(p, args.add(at as usize), &mut flat, memory, &mut alloc)
                    })
                };
                if let Err(e) = lowered {
                    refused = Some(e);
                    return;
                }
                let n = flat.len.max(direct.results).max(1);
                let values = flat.slots(n);
                if let Err(e) = direct.func.call(values) {
                    refused = Some(runtime_trap(e));
                    return;
                }
                let results = &values[..direct.results];
                if let Some(r) = f.result {
                    let local = (results.first().copied().unwrap_or(0) as u64).to_le_bytes();
                    let (src, at) = if direct.results_indirect {
                        let mem = memory.expect("validated: indirect results need a memory");
                        (GuestBytes::Memory(mem), results[0] as u32)
                    } else {
                        (GuestBytes::Local(&local), 0)
                    };
                    match self.lift_native(r, src, at, ret) {
                        Ok(()) => lifted = true,
                        Err(e) => refused = Some(e),
                    }
                }
                if let Some(post) = direct.post_return {
                    // Its parameters are the flat results (at most one).
                    let mut values = [results.first().copied().unwrap_or(0 as ValRaw), 0];
                    instance.may_leave.set(false);
                    if let Err(e) = post.call(&mut values) {
                        refused.get_or_insert(runtime_trap(e));
                    }
                    instance.may_leave.set(true);
                }
            })
        };
        if let Err(trap) = caught.and_then(|()| refused.take().map_or(Ok(()), Err)) {
            if lifted && let Some(r) = f.result {
                // SAFETY: the result was lifted there.
                unsafe { self.free_native(r, ret) };
            }
            instance.may_leave.set(true);
            self.recover();
            instance.poisoned.set(true);
            return Err(trap);
        }
        Ok(())
    }

    /// Drops the host's owned handle `handle` of resource type `resource`
    /// (a library's `P_<resource>_drop`): removes it from the host's
    /// handle table and runs the resource's destructor, if it has one, in
    /// the component instance that implements it (CanonicalABI.md
    /// `canon resource.drop`, with the host as the caller).
    ///
    /// # Errors
    ///
    /// The outer error, a message, when nothing was dropped: a handle that
    /// is not an owned handle of `resource` in the host's table, or is lent
    /// to a call in progress; an implementing instance that may not be
    /// entered. The inner one when the destructor traps, which poisons the
    /// implementing instance.
    ///
    /// # Safety
    ///
    /// This runtime must be current ([`Runtime::enter`]) with its
    /// initializers run.
    pub unsafe fn drop_native(
        &self,
        resource: ResourceIndex,
        handle: u32,
    ) -> Result<Result<(), Trap>, String> {
        let ty = self.resource(resource);
        let implementer = (ty.dtor.is_some() && ty.instance != super::HOST)
            // SAFETY: instance states live as long as the runtime.
            .then(|| unsafe { &*self.instance(ty.instance) });
        if implementer.is_some_and(|i| i.poisoned.get()) {
            return Err(ComponentTrap::CannotEnter.to_string());
        }
        let rep = (|| {
            let mut table = self.host.table.borrow_mut();
            let (slot, rep) = table.resource(handle, resource)?;
            match slot {
                Slot::Own { lend_count: 0, .. } => {}
                Slot::Own { .. } => return Err(ComponentTrap::OwnBorrowed),
                _ => return Err(ComponentTrap::NotOwned(handle)),
            }
            table.remove(handle)?;
            Ok(rep)
        })()
        .map_err(|e| e.to_string())?;
        if let Some(drop) = ty.host_drop {
            drop(rep);
        }
        let (Some(dtor), Some(instance)) = (ty.dtor, implementer) else {
            return Ok(Ok(()));
        };
        let mut refused = None;
        let mut values = [ValRaw::from(rep)];
        // SAFETY: a destructor takes the i32 representation; a trap in it
        // unwinds to this `catch`, past frames that own nothing.
        let caught = unsafe {
            traps::catch(|| {
                if let Err(e) = dtor.call(&mut values) {
                    refused = Some(runtime_trap(e));
                }
            })
        };
        if let Err(trap) = caught.and_then(|()| refused.map_or(Ok(()), Err)) {
            self.recover();
            instance.poisoned.set(true);
            return Ok(Err(trap));
        }
        Ok(Ok(()))
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

    /// Appends the flat values of the value of type `ty` at native address
    /// `src` to `out` (CanonicalABI.md `lower_flat`), its strings and lists
    /// lowered into `memory` with `alloc`.
    ///
    /// # Safety
    ///
    /// `src` must hold a value of type `ty` in the native layout.
    unsafe fn flatten_native(
        &self,
        ty: TypeId,
        src: *const u8,
        out: &mut FlatArgs,
        memory: Option<Memory>,
        alloc: &mut Alloc<'_>,
    ) -> Result<(), Trap> {
        let types = &self.desc.types;
        // SAFETY: reads of the caller's value, by its type.
        unsafe {
            match types.get(ty) {
                ValType::Bool => out.push(u64::from(*src != 0)),
                ValType::S8 => out.push(u64::from(i32::from(*src.cast::<i8>()) as u32)),
                ValType::U8 => out.push(u64::from(*src)),
                ValType::S16 => out.push(u64::from(
                    i32::from(src.cast::<i16>().read_unaligned()) as u32
                )),
                ValType::U16 => out.push(u64::from(src.cast::<u16>().read_unaligned())),
                ValType::S32 | ValType::U32 | ValType::F32 | ValType::Char => {
                    out.push(u64::from(src.cast::<u32>().read_unaligned()))
                }
                ValType::S64 | ValType::U64 | ValType::F64 => {
                    out.push(src.cast::<u64>().read_unaligned())
                }
                ValType::Flags(n) => match n {
                    0 => {}
                    1..=8 => out.push(u64::from(*src)),
                    9..=16 => out.push(u64::from(src.cast::<u16>().read_unaligned())),
                    _ => out.push(u64::from(src.cast::<u32>().read_unaligned())),
                },
                ValType::String | ValType::List(_) => {
                    let mem = memory.expect("validated: strings and lists need a memory");
                    let (ptr, len) = self.lower_sequence(ty, src, mem, alloc)?;
                    out.push(u64::from(ptr));
                    out.push(u64::from(len));
                }
                ValType::Record(fields) => {
                    let native = types.field_offsets_iter(fields, Model::Native);
                    for (&field, at) in fields.iter().zip(native) {
                        self.flatten_native(field, src.add(at as usize), out, memory, alloc)?;
                    }
                }
                ValType::Variant(cases) => {
                    let n = discriminant_size(cases.len());
                    let mut tag = [0u8; 4];
                    core::ptr::copy_nonoverlapping(src, tag.as_mut_ptr(), n as usize);
                    let case = u32::from_le_bytes(tag);
                    let Some(payload) = cases.get(case as usize) else {
                        return Err(runtime_trap(ComponentTrap::InvalidDiscriminant));
                    };
                    out.push(u64::from(case));
                    // The joined payload slots: a case's values are raw
                    // bits, which need no conversion to a joined type
                    // (CanonicalABI.md `lower_flat_variant`); the slots
                    // it leaves are zero.
                    let end = out.len + types.flat_len(ty) - 1;
                    if let Some(p) = payload {
                        let native = types.payload_offset_in(cases, Model::Native);
                        self.flatten_native(*p, src.add(native as usize), out, memory, alloc)?;
                    }
                    while out.len < end {
                        out.push(0);
                    }
                }
                ValType::Own(_) | ValType::Borrow(_) => {
                    out.push(u64::from(src.cast::<u32>().read_unaligned()))
                }
                ValType::Stream(_) | ValType::Future(_) | ValType::ErrorContext => {
                    unreachable!("the compiler refuses streams and futures in library exports")
                }
            }
        }
        Ok(())
    }

    /// Lowers the string or list at native address `src` into `mem`:
    /// its address and length there.
    ///
    /// # Safety
    ///
    /// `src` must hold a string or list of type `ty` in the native layout.
    unsafe fn lower_sequence(
        &self,
        ty: TypeId,
        src: *const u8,
        mem: Memory,
        alloc: &mut Alloc<'_>,
    ) -> Result<(u32, u32), Trap> {
        let types = &self.desc.types;
        // SAFETY: a string or list is a pointer and a length.
        let (ptr, len) = unsafe {
            (
                src.cast::<*const u8>().read_unaligned(),
                src.add(8).cast::<usize>().read_unaligned(),
            )
        };
        let too_long = || runtime_trap(ComponentTrap::ListOutOfBounds { host: true });
        let len32 = u32::try_from(len).map_err(|_| too_long())?;
        match types.get(ty) {
            ValType::List(e) => {
                let e = *e;
                let (guest, native) = (types.size(e), types.size_in(e, Model::Native) as usize);
                let bytes = len32.checked_mul(guest).ok_or_else(too_long)?;
                let at = alloc(types.alignment(e), bytes)?;
                for i in 0..len {
                    // SAFETY: element `i` of the caller's list.
                    unsafe {
                        self.lower_native(e, ptr.add(i * native), at + i as u32 * guest, mem, alloc)
                    }?;
                }
                Ok((at, len32))
            }
            _ => {
                let text: &[u8] = if len == 0 {
                    &[]
                } else {
                    // SAFETY: the caller's contract: `len` bytes at `ptr`.
                    unsafe { core::slice::from_raw_parts(ptr, len) }
                };
                // Most strings are ASCII, which `is_ascii` checks a word at
                // a time; `from_utf8` costs more for short ones.
                if !text.is_ascii() && core::str::from_utf8(text).is_err() {
                    return Err(runtime_trap(ComponentTrap::Pending(
                        "a string is not UTF-8".into(),
                    )));
                }
                let at = alloc(1, len32)?;
                if len > 0 {
                    // SAFETY: just allocated and checked `len` bytes.
                    unsafe { mem.slice(at, len32) }.copy_from_slice(text);
                }
                Ok((at, len32))
            }
        }
    }

    /// Copies the value of type `ty` at native address `src` into `mem`
    /// at `dst`, in the guest layout, its strings and lists allocated with
    /// `alloc`.
    ///
    /// # Safety
    ///
    /// `src` must hold a value of type `ty` in the native layout, and
    /// `[dst, dst + size)` must be allocated in `mem`.
    unsafe fn lower_native(
        &self,
        ty: TypeId,
        src: *const u8,
        dst: u32,
        mem: Memory,
        alloc: &mut Alloc<'_>,
    ) -> Result<(), Trap> {
        let types = &self.desc.types;
        let store = |at: u32, bytes: &[u8]| {
            // SAFETY: the callers write inside what they allocated.
            unsafe { mem.slice(at, bytes.len() as u32) }.copy_from_slice(bytes);
        };
        match types.get(ty) {
            ValType::String | ValType::List(_) => {
                // SAFETY: forwarded from the caller.
                let (at, len) = unsafe { self.lower_sequence(ty, src, mem, alloc) }?;
                store(dst, &at.to_le_bytes());
                store(dst + 4, &len.to_le_bytes());
            }
            ValType::Record(fields) => {
                let guest = types.field_offsets_iter(fields, Model::Guest);
                let native = types.field_offsets_iter(fields, Model::Native);
                for ((&field, g), n) in fields.iter().zip(guest).zip(native) {
                    // SAFETY: a field of the caller's record.
                    unsafe { self.lower_native(field, src.add(n as usize), dst + g, mem, alloc) }?;
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
                store(dst, &tag[..n as usize]);
                if let Some(p) = payload {
                    let guest = types.payload_offset_in(cases, Model::Guest);
                    let native = types.payload_offset_in(cases, Model::Native);
                    // SAFETY: the case's payload follows.
                    unsafe {
                        self.lower_native(*p, src.add(native as usize), dst + guest, mem, alloc)
                    }?;
                }
            }
            ValType::Bool => {
                // SAFETY: a bool is one byte.
                store(dst, &[u8::from(unsafe { *src } != 0)]);
            }
            ValType::Own(r) if self.resource(*r).instance == super::HOST => {
                // A new resource of the native code that implements its
                // type (a native import's result): its representation
                // gets an owned handle in the host's table, which the
                // result then moves to the caller.
                // SAFETY: a handle is a `uint32_t`.
                let rep = unsafe { src.cast::<u32>().read_unaligned() };
                let handle = self
                    .host
                    .table
                    .borrow_mut()
                    .add(Slot::Own {
                        resource: *r,
                        rep,
                        lend_count: 0,
                    })
                    .map_err(runtime_trap)?;
                store(dst, &handle.to_le_bytes());
            }
            _ => {
                // Numbers, chars and flags: the same bytes in both.
                let size = types.size(ty);
                // SAFETY: the caller's value of this size.
                store(dst, unsafe {
                    core::slice::from_raw_parts(src, size as usize)
                });
            }
        }
        Ok(())
    }

    /// Copies the value of type `ty` at `at` in `src` (the guest layout)
    /// to native address `dst`, in the native layout; its strings and
    /// lists go in memory from `malloc`. On an error nothing is left
    /// allocated.
    ///
    /// # Safety
    ///
    /// `dst` must have room for the value's native layout.
    unsafe fn lift_native(
        &self,
        ty: TypeId,
        src: GuestBytes<'_>,
        at: u32,
        dst: *mut u8,
    ) -> Result<(), Trap> {
        let types = &self.desc.types;
        match types.get(ty) {
            ValType::String => {
                let pair = src.read(at, 8)?;
                let ptr = u32::from_le_bytes(pair[..4].try_into().expect("4 bytes"));
                let len = u32::from_le_bytes(pair[4..].try_into().expect("4 bytes"));
                let text = src.read(ptr, len)?;
                // CanonicalABI.md `load_string_from_range`: a string that
                // is not UTF-8 traps (`is_ascii` first: cheaper for short
                // strings, which are mostly ASCII).
                if !text.is_ascii()
                    && let Err(e) = core::str::from_utf8(text)
                {
                    return Err(runtime_trap(ComponentTrap::InvalidUtf8(e.to_string())));
                }
                // A string gets a NUL after it, for C.
                // SAFETY: plain allocation; checked for null below.
                let out = unsafe { libc::malloc(text.len() + 1) }.cast::<u8>();
                if out.is_null() {
                    return Err(runtime_trap(ComponentTrap::ListOutOfBounds { host: true }));
                }
                // SAFETY: `out` has `len + 1` bytes; `dst` has room for a
                // pointer and a length.
                unsafe {
                    core::ptr::copy_nonoverlapping(text.as_ptr(), out, text.len());
                    *out.add(text.len()) = 0;
                    dst.cast::<*mut u8>().write_unaligned(out);
                    dst.add(8).cast::<usize>().write_unaligned(text.len());
                }
            }
            &ValType::List(e) => {
                let pair = src.read(at, 8)?;
                let ptr = u32::from_le_bytes(pair[..4].try_into().expect("4 bytes"));
                let len = u32::from_le_bytes(pair[4..].try_into().expect("4 bytes"));
                let elem_native = types.size_in(e, Model::Native) as usize;
                let elem_align = types.alignment_in(e, Model::Native) as usize;
                let elem_guest = types.size(e);
                // An empty list gets a valid pointer all the same (`free`
                // takes it).
                let alloc = align_usize(len as usize * elem_native, elem_align).max(1);
                // SAFETY: plain allocation; checked for null below.
                let out = unsafe { libc::malloc(alloc) }.cast::<u8>();
                if out.is_null() {
                    return Err(runtime_trap(ComponentTrap::ListOutOfBounds { host: true }));
                }
                for i in 0..len {
                    let lifted = elem_guest
                        .checked_mul(i)
                        .and_then(|o| ptr.checked_add(o))
                        .ok_or_else(|| runtime_trap(ComponentTrap::ListOutOfBounds { host: false }))
                        .and_then(|at| {
                            // SAFETY: element `i` of the new list.
                            unsafe {
                                self.lift_native(e, src, at, out.add(i as usize * elem_native))
                            }
                        });
                    if let Err(trap) = lifted {
                        for j in 0..i {
                            // SAFETY: the elements lifted so far.
                            unsafe { self.free_native(e, out.add(j as usize * elem_native)) };
                        }
                        // SAFETY: allocated above.
                        unsafe { libc::free(out.cast()) };
                        return Err(trap);
                    }
                }
                // SAFETY: `dst` has room for a pointer and a length.
                unsafe {
                    dst.cast::<*mut u8>().write_unaligned(out);
                    dst.add(8).cast::<usize>().write_unaligned(len as usize);
                }
            }
            ValType::Record(fields) => {
                let guest = types.field_offsets_iter(fields, Model::Guest);
                let native = types.field_offsets_iter(fields, Model::Native);
                for (i, ((&field, g), n)) in fields.iter().zip(guest).zip(native).enumerate() {
                    // SAFETY: a field of the native record.
                    let lifted =
                        unsafe { self.lift_native(field, src, at + g, dst.add(n as usize)) };
                    if let Err(trap) = lifted {
                        let done = types.field_offsets_iter(fields, Model::Native);
                        for (&field, n) in fields[..i].iter().zip(done) {
                            // SAFETY: the fields lifted so far.
                            unsafe { self.free_native(field, dst.add(n as usize)) };
                        }
                        return Err(trap);
                    }
                }
            }
            ValType::Variant(cases) => {
                let n = discriminant_size(cases.len());
                let tag = src.read(at, n)?;
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
                    unsafe { self.lift_native(*p, src, at + guest, dst.add(native as usize)) }?;
                }
            }
            ValType::Own(r) if self.resource(*r).instance == super::HOST => {
                // A resource that native code implements, given to it (a
                // native import's parameter): the implementation takes
                // its representation and owns it from then on, and the
                // host's handle goes without a destructor call. (A
                // `borrow` of one comes as its representation already:
                // CanonicalABI.md `lift_borrow` for the implementer.)
                let bytes = src.read(at, 4)?;
                let handle = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
                let rep = {
                    let mut table = self.host.table.borrow_mut();
                    let (_, rep) = table.resource(handle, *r).map_err(runtime_trap)?;
                    table.remove(handle).map_err(runtime_trap)?;
                    rep
                };
                // SAFETY: `dst` has room for a handle.
                unsafe { dst.cast::<u32>().write_unaligned(rep) };
            }
            ValType::Bool => {
                let b = src.read(at, 1)?[0];
                // SAFETY: `dst` has room for a bool.
                unsafe { *dst = u8::from(b != 0) };
            }
            ValType::Char => {
                let bytes = src.read(at, 4)?;
                let c = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
                if char::from_u32(c).is_none() {
                    return Err(runtime_trap(ComponentTrap::InvalidChar));
                }
                // SAFETY: `dst` has room for a char.
                unsafe { dst.cast::<u32>().write_unaligned(c) };
            }
            _ => {
                let size = types.size(ty);
                let bytes = src.read(at, size)?;
                // SAFETY: `dst` has room for the value.
                unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
            }
        }
        Ok(())
    }

    /// Frees what [`Runtime::lift_native`] allocated for the value of type
    /// `ty` at `at`.
    ///
    /// # Safety
    ///
    /// `at` must hold such a value, not freed yet.
    unsafe fn free_native(&self, ty: TypeId, at: *mut u8) {
        let types = &self.desc.types;
        // SAFETY: the caller's contract.
        unsafe {
            match types.get(ty) {
                ValType::String => libc::free(at.cast::<*mut libc::c_void>().read_unaligned()),
                ValType::List(e) => {
                    let ptr = at.cast::<*mut u8>().read_unaligned();
                    let len = at.add(8).cast::<usize>().read_unaligned();
                    let size = types.size_in(*e, Model::Native) as usize;
                    for i in 0..len {
                        self.free_native(*e, ptr.add(i * size));
                    }
                    libc::free(ptr.cast());
                }
                ValType::Record(fields) => {
                    let native = types.field_offsets_iter(fields, Model::Native);
                    for (&field, n) in fields.iter().zip(native) {
                        self.free_native(field, at.add(n as usize));
                    }
                }
                ValType::Variant(cases) => {
                    let n = discriminant_size(cases.len());
                    let mut tag = [0u8; 4];
                    core::ptr::copy_nonoverlapping(at, tag.as_mut_ptr(), n as usize);
                    if let Some(Some(p)) = cases.get(u32::from_le_bytes(tag) as usize) {
                        let native = types.payload_offset_in(cases, Model::Native);
                        self.free_native(*p, at.add(native as usize));
                    }
                }
                _ => {}
            }
        }
    }
}

/// The trampoline function of native imports (see
/// `smelt_abi::vm::TrampolineFn` and [`Runtime::call_native_import`]).
///
/// # Safety
///
/// `ctx` must be a native import's trampoline state; `args` must hold its
/// flat arguments and `results` room for its flat result.
pub(super) unsafe extern "C" fn native_import_trampoline(
    ctx: *mut u8,
    args: *mut ValRaw,
    results: *mut ValRaw,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let state = unsafe { &*ctx.cast::<TrampolineState>() };
    // SAFETY: forwarded from the caller.
    match unsafe { super::runtime().call_native_import(state, args, results) } {
        Ok(()) => 0,
        Err(trap) => {
            traps::set_pending(trap.to_string());
            1
        }
    }
}

/// Memory from `malloc` for a native value, freed on drop.
struct NativeBuffer(*mut u8);

impl NativeBuffer {
    /// `size` bytes (at least one), aligned for any native value.
    fn new(size: u32) -> Result<Self, ComponentTrap> {
        // SAFETY: plain allocation; checked for null below.
        let ptr = unsafe { libc::calloc(1, (size as usize).max(1)) }.cast::<u8>();
        if ptr.is_null() {
            return Err(ComponentTrap::ListOutOfBounds { host: true });
        }
        Ok(NativeBuffer(ptr))
    }
}

impl Drop for NativeBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated by `new`.
        unsafe { libc::free(self.0.cast()) };
    }
}

/// A [`Trap`] the runtime made, as a [`ComponentTrap`].
fn component_trap(trap: Trap) -> ComponentTrap {
    ComponentTrap::Pending(trap.detail.unwrap_or_else(|| trap.code.to_string()))
}

impl Runtime {
    /// Carries out a call of a native import (`TrampolineKind::Native`):
    /// moves the caller's arguments into the host memory, lifts them from
    /// there into native memory ([`Model::Native`], strings and lists from
    /// `malloc`), calls the import's glue ([`smelt_abi::component::native_import_symbol`])
    /// with the parameters' struct and room for the result, frees the
    /// arguments, lowers the result (whose strings and lists the
    /// implementation allocated with `malloc`) into the host memory and
    /// frees it, then moves it into the caller (CanonicalABI.md `canon
    /// lower`, with the native code as the callee).
    ///
    /// The caller's `realloc`, which may trap, runs last, when nothing of
    /// this call is left on the heap.
    ///
    /// # Errors
    ///
    /// A trap of the Canonical ABI (a call while the caller may not leave,
    /// an argument out of the caller's memory, a result that is not valid:
    /// a string that is not UTF-8, a discriminant out of range).
    ///
    /// # Safety
    ///
    /// `state` must be a native import's trampoline state, `args` its flat
    /// arguments and `results` room for its flat result; the glue must
    /// have the C signature `void (const void *args, void *ret)`.
    unsafe fn call_native_import(
        &self,
        state: &TrampolineState,
        args: *mut ValRaw,
        results: *mut ValRaw,
    ) -> Result<(), ComponentTrap> {
        let TrampolineKind::Native { key, ty, options } =
            &self.desc.trampolines[state.index.index()]
        else {
            unreachable!("a native import's trampoline");
        };
        let smelt_abi::component::TrampolineRefs::Host(caller) = state.refs else {
            unreachable!("a native import's references");
        };
        let caller = super::canonical::side(self, caller, *options);
        if !caller.instance.may_leave.get() {
            return Err(ComponentTrap::CannotLeave);
        }
        let types = &self.desc.types;
        let f = &self.desc.funcs[ty.index()];
        let lower = types.core_signature_with(f, Context::Lower, false, false);
        // The flat parameters end with the result's address when the
        // result is returned in memory.
        let n_params = lower.params.len() - usize::from(lower.results_indirect);
        // SAFETY: the caller passes this many flat arguments.
        let args = unsafe { core::slice::from_raw_parts(args, lower.params.len()) };
        let host = self.host_side();
        let mark = self.host_bump.get();
        // The call's borrow scope: the caller's own handles lent to it
        // (CanonicalABI.md `lift_borrow`) are lent until it returns.
        let scope = self.scopes.borrow_mut().add(super::CallScope::default());
        let into_host = Transfer {
            rt: self,
            from: &caller,
            to: &host,
            scope,
        };
        // The result, lowered into the host memory (the guest layout).
        let out = self
            .call_native_glue(state, f, &into_host, args, lower.params_indirect)
            .map_err(|e| match e {
                ComponentTrap::Pending(m) => {
                    ComponentTrap::Pending(format!("native import `{key}`: {m}"))
                }
                e => e,
            });
        super::canonical::end_lends(self, scope);
        self.scopes.borrow_mut().remove(scope);
        let moved = out.and_then(|out| {
            let (Some(r), Some(out)) = (f.result, out) else {
                return Ok(());
            };
            let back = Transfer {
                rt: self,
                from: &host,
                to: &caller,
                scope: 0,
            };
            if lower.results_indirect {
                let ptr = args[n_params] as u32;
                if !smelt_abi::component::is_aligned(ptr, types.alignment(r)) {
                    return Err(ComponentTrap::UnalignedPointer);
                }
                back.value(r, &mut Src::Mem(out), &mut Dst::Mem(ptr))
            } else {
                let mut flat = Vec::with_capacity(1);
                back.value(r, &mut Src::Mem(out), &mut Dst::Flat(&mut flat))?;
                if let Some(&v) = flat.first() {
                    // SAFETY: room for one flat result.
                    unsafe { *results = v };
                }
                Ok(())
            }
        });
        self.host_bump.set(mark);
        moved
    }

    /// The part of [`Runtime::call_native_import`] that owns native memory:
    /// from the caller's arguments (moved into the host memory by `cx`) to
    /// the result in the host memory (its address there, if the function
    /// has a result).
    fn call_native_glue(
        &self,
        state: &TrampolineState,
        f: &smelt_abi::component::FuncType,
        cx: &Transfer<'_>,
        args: &[ValRaw],
        params_indirect: bool,
    ) -> Result<Option<u32>, ComponentTrap> {
        let types = &self.desc.types;
        let host_memory = self.host_memory;
        let (size, align) = tuple_size(types, &f.params, Model::Guest);
        let tuple = self
            .host_realloc(align, size)
            .ok_or(ComponentTrap::ListOutOfBounds { host: true })?;
        let mut flat = FlatIter::new(args);
        let caller_tuple = if params_indirect {
            let ptr = args[0] as u32;
            if !smelt_abi::component::is_aligned(ptr, align) {
                return Err(ComponentTrap::UnalignedPointer);
            }
            Some(ptr)
        } else {
            None
        };
        let guest = types.field_offsets_iter(&f.params, Model::Guest);
        for (&p, at) in f.params.iter().zip(guest) {
            let mut src = match caller_tuple {
                Some(t) => Src::Mem(t + at),
                None => Src::Flat(&mut flat),
            };
            cx.value(p, &mut src, &mut Dst::Mem(tuple + at))?;
        }
        let (native_size, _) = tuple_size(types, &f.params, Model::Native);
        let params = NativeBuffer::new(native_size)?;
        let guest = types.field_offsets_iter(&f.params, Model::Guest);
        let native = types.field_offsets_iter(&f.params, Model::Native);
        for (i, ((&p, g), n)) in f.params.iter().zip(guest).zip(native).enumerate() {
            // SAFETY: the parameters' struct has room for parameter `i`.
            let lifted = unsafe {
                self.lift_native(
                    p,
                    GuestBytes::Memory(host_memory),
                    tuple + g,
                    params.0.add(n as usize),
                )
            };
            if let Err(trap) = lifted {
                let done = types.field_offsets_iter(&f.params, Model::Native);
                for (&p, n) in f.params[..i].iter().zip(done) {
                    // SAFETY: the parameters lifted so far.
                    unsafe { self.free_native(p, params.0.add(n as usize)) };
                }
                return Err(component_trap(trap));
            }
        }
        let ret = NativeBuffer::new(f.result.map_or(0, |r| types.size_in(r, Model::Native)))?;
        let glue = self.code[state.index.index()].callee;
        assert!(!glue.is_null(), "a native import without its glue");
        // SAFETY: the compiler points a native import's `callee` at the
        // glue of the library's header, `void (const void *, void *)`.
        let glue = unsafe {
            core::mem::transmute::<*const u8, unsafe extern "C" fn(*const u8, *mut u8)>(glue)
        };
        // SAFETY: the parameters' struct and room for the result, as the
        // glue's contract says.
        unsafe { glue(params.0, ret.0) };
        let native = types.field_offsets_iter(&f.params, Model::Native);
        for (&p, n) in f.params.iter().zip(native) {
            // SAFETY: the arguments lifted above, which the implementation
            // borrowed.
            unsafe { self.free_native(p, params.0.add(n as usize)) };
        }
        let Some(r) = f.result else {
            return Ok(None);
        };
        let lowered = self
            .host_realloc(types.alignment(r), types.size(r))
            .ok_or(ComponentTrap::ListOutOfBounds { host: true })
            .and_then(|out| {
                let mut alloc = |align, size| self.host_alloc(align, size);
                // SAFETY: the implementation wrote the result at `ret`.
                unsafe { self.lower_native(r, ret.0, out, host_memory, &mut alloc) }
                    .map_err(component_trap)?;
                Ok(out)
            });
        // SAFETY: the implementation's result, whose strings and lists it
        // allocated with `malloc` for the runtime to free.
        unsafe { self.free_native(r, ret.0) };
        lowered.map(Some)
    }
}

/// The callee of a call that may take the direct path, with the layout of
/// its parameters computed once.
pub(super) struct Direct {
    /// The offset of each parameter in the native parameter struct, in
    /// bytes.
    native_offsets: Box<[u32]>,
    /// The offset of each parameter in the guest's parameter tuple (when
    /// they are passed in its memory), in bytes.
    guest_offsets: Box<[u32]>,
    /// The size and alignment of that tuple, in bytes.
    params_size: u32,
    params_align: u32,
    /// Its component instance.
    instance: &'static super::InstanceState,
    /// Whether its parameters are passed in its memory (one pointer).
    params_indirect: bool,
    /// Whether its result is returned in its memory (a pointer).
    results_indirect: bool,
    /// The number of its flat results (0 or 1).
    results: usize,
    /// The lifted core function.
    func: CoreFunc,
    /// Its `post-return`, if any.
    post_return: Option<CoreFunc>,
    /// The memory of its `memory` option.
    memory: Option<Memory>,
    /// The function of its `realloc` option.
    realloc: Option<CoreFunc>,
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
        let params = [u8_, s, f64_];
        let offsets = |m| t.field_offsets_iter(&params, m).collect::<Vec<_>>();
        // struct { uint8_t a; string s; double d; }: 0, 8, 24; 32 bytes.
        assert_eq!(offsets(Model::Native), [0, 8, 24]);
        assert_eq!(tuple_size(&t, &params, Model::Native), (32, 8));
        // The guest's: 0, 4, 16; 24 bytes.
        assert_eq!(offsets(Model::Guest), [0, 4, 16]);
        assert_eq!(tuple_size(&t, &params, Model::Guest), (24, 8));
    }
}
