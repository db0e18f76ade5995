//! The running program's descriptor and lookups in its code tables.
//!
//! The descriptor is registered once at start-up ([`set`]); the signal
//! handler then maps a program counter to the compiled function containing
//! it and to the trap code of the instruction there. Both lookups are
//! binary searches over tables the compiler emits sorted, and neither
//! allocates, so they are safe to run in a signal handler.

use core::sync::atomic::{AtomicPtr, Ordering};

use smelt_abi::gc::{StackMapSite, VMTypeInfo};
use smelt_abi::program::{FuncInfo, HandlerSite, InlineSite, ProgramDesc, TrapSite};
use smelt_abi::trap::TrapCode;

static PROGRAM: AtomicPtr<ProgramDesc> = AtomicPtr::new(core::ptr::null_mut());

/// Registers the program descriptor for lookups.
pub fn set(program: &'static ProgramDesc) {
    PROGRAM.store(
        (program as *const ProgramDesc).cast_mut(),
        Ordering::Release,
    );
}

/// The registered program, if any.
pub fn get() -> Option<&'static ProgramDesc> {
    // SAFETY: only ever set from a `&'static ProgramDesc`.
    unsafe { PROGRAM.load(Ordering::Acquire).as_ref() }
}

/// The type table of the registered program, indexed by canonical type id
/// (empty when none is registered).
pub fn types() -> &'static [VMTypeInfo] {
    match get() {
        // SAFETY: the compiler emits the table with this length, in static
        // data.
        Some(p) => unsafe { table(p.types, p.n_types) },
        None => &[],
    }
}

/// A view of a program's code tables.
#[derive(Clone, Copy)]
pub struct CodeTables {
    funcs: &'static [FuncInfo],
    trap_sites: &'static [TrapSite],
    handler_sites: &'static [HandlerSite],
    inline_sites: &'static [InlineSite],
    stack_map_sites: &'static [StackMapSite],
    stack_map_slots: &'static [u32],
    names: &'static [u8],
}

/// Builds a slice from a descriptor's pointer and length (empty for null).
///
/// # Safety
///
/// `ptr` must point to `len` valid elements that live forever.
unsafe fn table<T>(ptr: *const T, len: u64) -> &'static [T] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(ptr, len as usize) }
    }
}

impl CodeTables {
    /// The tables of `program`.
    pub fn of(program: &'static ProgramDesc) -> CodeTables {
        // SAFETY: the compiler emits these tables with these lengths, in
        // static data.
        unsafe {
            CodeTables {
                funcs: table(program.funcs, program.n_funcs),
                trap_sites: table(program.trap_sites, program.n_trap_sites),
                handler_sites: table(program.handler_sites, program.n_handler_sites),
                inline_sites: table(program.inline_sites, program.n_inline_sites),
                stack_map_sites: table(program.stack_map_sites, program.n_stack_map_sites),
                stack_map_slots: table(program.stack_map_slots, program.n_stack_map_slots),
                names: table(program.names, program.names_len),
            }
        }
    }

    /// The tables of the registered program (empty when none is).
    pub fn current() -> CodeTables {
        match get() {
            Some(p) => CodeTables::of(p),
            None => CodeTables {
                funcs: &[],
                trap_sites: &[],
                handler_sites: &[],
                inline_sites: &[],
                stack_map_sites: &[],
                stack_map_slots: &[],
                names: &[],
            },
        }
    }

    /// The function whose code contains `pc`, with its index.
    pub fn func_at(&self, pc: usize) -> Option<(usize, &'static FuncInfo)> {
        let i = self
            .funcs
            .partition_point(|f| (f.addr as usize) <= pc)
            .checked_sub(1)?;
        let f = &self.funcs[i];
        (pc < f.addr as usize + f.len as usize).then_some((i, f))
    }

    /// The trap code of the instruction at `pc`, if it is a trap site.
    pub fn trap_code_at(&self, pc: usize) -> Option<TrapCode> {
        let (_, f) = self.func_at(pc)?;
        let offset = (pc - f.addr as usize) as u32;
        let start = f.traps_start as usize;
        let sites = self.trap_sites.get(start..start + f.traps_len as usize)?;
        let i = sites.binary_search_by_key(&offset, |s| s.offset).ok()?;
        TrapCode::from_u8(sites[i].code)
    }

    /// The exception handler of the call whose return address is `ret`, if
    /// it has one: the handler's address and the distance from the frame
    /// pointer down to the stack pointer at the call
    /// ([`HandlerSite::frame_offset`]).
    pub fn handler_at(&self, ret: usize) -> Option<(usize, usize)> {
        // A call can be the last instruction of its function.
        let (_, f) = self.func_at(ret.checked_sub(1)?)?;
        let offset = (ret - f.addr as usize) as u32;
        let start = f.handlers_start as usize;
        let sites = self
            .handler_sites
            .get(start..start + f.handlers_len as usize)?;
        let i = sites.binary_search_by_key(&offset, |s| s.ret_offset).ok()?;
        Some((
            f.addr as usize + sites[i].handler_offset as usize,
            sites[i].frame_offset as usize,
        ))
    }

    /// The stack map of the call whose return address is `ret`, if the
    /// caller holds references there: the caller's frame size (its stack
    /// pointer is its frame pointer minus that) and the offsets from its
    /// stack pointer of the words that hold references.
    pub fn stack_map_at(&self, ret: usize) -> Option<(usize, &'static [u32])> {
        let (_, f) = self.func_at(ret.checked_sub(1)?)?;
        let offset = (ret - f.addr as usize) as u32;
        let start = f.stack_maps_start as usize;
        let sites = self
            .stack_map_sites
            .get(start..start + f.stack_maps_len as usize)?;
        let i = sites.binary_search_by_key(&offset, |s| s.ret_offset).ok()?;
        let site = sites[i];
        let slots = self
            .stack_map_slots
            .get(site.start as usize..(site.start + site.len) as usize)?;
        Some((site.frame_size as usize, slots))
    }

    /// The function inlined into `f` whose code holds offset `offset` of
    /// `f`, if any ([`InlineSite`]), with its index.
    pub fn inlined_at(&self, f: &FuncInfo, offset: u32) -> Option<(usize, &'static FuncInfo)> {
        let start = f.inlines_start as usize;
        let sites = self
            .inline_sites
            .get(start..start + f.inlines_len as usize)?;
        let i = sites
            .partition_point(|s| s.start <= offset)
            .checked_sub(1)?;
        let site = sites[i];
        let callee = site.callee as usize;
        (offset < site.end)
            .then(|| self.funcs.get(callee).map(|f| (callee, f)))
            .flatten()
    }

    /// The name of function `f` (from the name section; may be empty).
    pub fn name(&self, f: &FuncInfo) -> &'static str {
        let start = f.name_start as usize;
        self.names
            .get(start..start + f.name_len as usize)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak<T>(v: Vec<T>) -> &'static [T] {
        Box::leak(v.into_boxed_slice())
    }

    #[test]
    fn lookups_find_functions_and_trap_sites() {
        let code = leak(vec![0u8; 64]);
        let base = code.as_ptr();
        let func =
            |off: usize, len: u32, traps_start: u32, traps_len: u32, name: (u32, u32)| FuncInfo {
                addr: base.wrapping_add(off),
                len,
                name_start: name.0,
                name_len: name.1,
                traps_start,
                traps_len,
                kind: 0,
                handlers_start: 0,
                handlers_len: 0,
                stack_maps_start: 0,
                stack_maps_len: 0,
                inlines_start: 0,
                inlines_len: u32::from(off == 0),
            };
        let tables = CodeTables {
            funcs: leak(vec![func(0, 16, 0, 2, (0, 3)), func(32, 8, 2, 1, (3, 0))]),
            trap_sites: leak(vec![
                TrapSite {
                    offset: 4,
                    code: TrapCode::IntegerDivisionByZero as u8,
                },
                TrapSite {
                    offset: 9,
                    code: TrapCode::MemoryOutOfBounds as u8,
                },
                TrapSite {
                    offset: 0,
                    code: TrapCode::StackOverflow as u8,
                },
            ]),
            handler_sites: &[],
            inline_sites: leak(vec![InlineSite {
                start: 8,
                end: 12,
                callee: 1,
            }]),
            stack_map_sites: &[],
            stack_map_slots: &[],
            names: b"fac",
        };
        let pc = |off: usize| base as usize + off;
        assert_eq!(tables.func_at(pc(0)).map(|f| f.0), Some(0));
        assert_eq!(tables.func_at(pc(15)).map(|f| f.0), Some(0));
        assert!(tables.func_at(pc(16)).is_none(), "gap between functions");
        assert_eq!(tables.func_at(pc(39)).map(|f| f.0), Some(1));
        assert!(tables.func_at(pc(40)).is_none());
        assert!(tables.func_at(base as usize - 1).is_none());
        assert_eq!(
            tables.trap_code_at(pc(4)),
            Some(TrapCode::IntegerDivisionByZero)
        );
        assert_eq!(
            tables.trap_code_at(pc(9)),
            Some(TrapCode::MemoryOutOfBounds)
        );
        assert_eq!(tables.trap_code_at(pc(5)), None);
        assert_eq!(tables.trap_code_at(pc(32)), Some(TrapCode::StackOverflow));
        assert_eq!(tables.name(&tables.funcs[0]), "fac");
        assert_eq!(tables.name(&tables.funcs[1]), "");
        let inlined = |off| {
            tables
                .inlined_at(&tables.funcs[0], off)
                .map(|(i, f)| (i, f.addr as usize - base as usize))
        };
        assert_eq!(inlined(7), None);
        assert_eq!(inlined(8), Some((1, 32)));
        assert_eq!(inlined(11), Some((1, 32)));
        assert_eq!(inlined(12), None);
        assert!(tables.inlined_at(&tables.funcs[1], 8).is_none());
    }
}
