//! Core module instances: allocating a `vmctx`, running a module's compiled
//! `instantiate` function, reaching exports, calling exported functions.
//!
//! An instance owns its `vmctx` and the memories and tables its
//! instantiation defined (recorded while its `instantiate` function runs:
//! [`record_memory`], [`record_table`]). A command's instances live as long
//! as the process; a component runtime that is dropped (a request served
//! by a fresh instance) frees its instances with [`Instance::free`], after
//! which no pointer into them (function references in tables, imported
//! memories) may be used.

use core::cell::RefCell;
use std::alloc::Layout;

use smelt_abi::program::{ExportDesc, ExportKind, ModuleDesc};
use smelt_abi::vm::{VMContextHeader, VMGlobal, VMMemoryDefinition, VMTableDefinition, ValRaw};

use crate::traps::{self, Trap};

/// One instance of a compiled core module.
#[derive(Debug)]
pub struct Instance {
    vmctx: *mut u8,
    module: &'static ModuleDesc,
    /// The memories and tables its instantiation defined.
    owned: Vec<Owned>,
}

/// A memory or table an instance defined, by its definition in the
/// instance's `vmctx`.
#[derive(Debug, Clone, Copy)]
enum Owned {
    Memory(*mut VMMemoryDefinition),
    Table(*mut VMTableDefinition),
}

thread_local! {
    /// What the instantiation running on this thread has defined so far.
    static DEFINED: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
}

/// Records that the instantiation running on this thread defined the
/// memory at `def` (called by the `memory_new` built-in).
pub(crate) fn record_memory(def: *mut VMMemoryDefinition) {
    DEFINED.with(|d| d.borrow_mut().push(Owned::Memory(def)));
}

/// Records that the instantiation running on this thread defined the
/// table at `def` (called by the `table_new` built-in).
pub(crate) fn record_table(def: *mut VMTableDefinition) {
    DEFINED.with(|d| d.borrow_mut().push(Owned::Table(def)));
}

/// A resolved export: its kind and its pointer (see
/// [`smelt_abi::program::ExportKind`]).
#[derive(Debug, Clone, Copy)]
pub struct Export {
    /// What it is.
    pub kind: ExportKind,
    /// The pointer an importer receives.
    pub ptr: *mut u8,
    /// Its descriptor.
    pub desc: &'static ExportDesc,
}

fn export_kind(raw: u8) -> Option<ExportKind> {
    [
        ExportKind::Func,
        ExportKind::Table,
        ExportKind::Memory,
        ExportKind::Global,
        ExportKind::Tag,
    ]
    .into_iter()
    .find(|k| *k as u8 == raw)
}

impl Instance {
    /// Allocates a `vmctx` for `module` and runs its initialization with
    /// `imports` (one pointer per import, in import order). A trap during
    /// initialization (an out-of-bounds segment, a trapping start function)
    /// is returned; effects before it remain, as the core specification
    /// says.
    ///
    /// # Safety
    ///
    /// Each import pointer must be an export of the kind and type the
    /// module's import declares, and trap handling must be initialized.
    pub unsafe fn new(module: &'static ModuleDesc, imports: &[*mut u8]) -> Result<Instance, Trap> {
        let size = (module.vmctx_size as usize).max(16);
        let layout = Layout::from_size_align(size, 16).expect("vmctx layout");
        // SAFETY: non-zero size.
        let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
        if vmctx.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the vmctx starts with its header and is large enough.
        unsafe {
            vmctx.cast::<VMContextHeader>().write(VMContextHeader {
                store: traps::store_context(),
                reserved: 0,
            })
        };
        // The memories and tables the instantiation defines are recorded
        // in `DEFINED`, which starts empty for it.
        let outer = DEFINED.with(|d| core::mem::take(&mut *d.borrow_mut()));
        // SAFETY: the compiled instantiate function takes exactly this vmctx
        // and import array; the caller vouches for the imports.
        let result = unsafe { traps::catch(|| (module.instantiate)(vmctx, imports.as_ptr())) };
        let owned = DEFINED.with(|d| core::mem::replace(&mut *d.borrow_mut(), outer));
        let instance = Instance {
            vmctx,
            module,
            owned,
        };
        // An instance whose instantiation trapped is not freed: its
        // functions may already sit in another instance's table.
        result.map(|()| instance)
    }

    /// Frees the instance's memories, tables and `vmctx`.
    ///
    /// # Safety
    ///
    /// Nothing may use the instance afterwards: no call into its code, no
    /// access to its memories or tables through another instance that
    /// imported them, no function reference to it in a live table.
    pub unsafe fn free(self) {
        for owned in &self.owned {
            match *owned {
                // SAFETY: made by the memory_new built-in in this vmctx.
                Owned::Memory(def) => unsafe { crate::memory::release(def) },
                // SAFETY: made by the table_new built-in in this vmctx.
                Owned::Table(def) => unsafe { crate::table::release(def) },
            }
        }
        // The collector must not visit its globals and tables any more.
        crate::gc::unregister_roots(self.vmctx);
        let size = (self.module.vmctx_size as usize).max(16);
        let layout = Layout::from_size_align(size, 16).expect("vmctx layout");
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.vmctx, layout) };
    }

    /// The instance's `vmctx`.
    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx
    }

    /// Export number `index` (in the module's export order).
    pub fn export(&self, index: u32) -> Option<Export> {
        if index >= self.module.n_exports {
            return None;
        }
        // SAFETY: the descriptor holds `n_exports` entries.
        let desc = unsafe { &*self.module.exports.add(index as usize) };
        // SAFETY: the compiler placed the entity (or a pointer to it) at this
        // offset inside the vmctx.
        let ptr = unsafe {
            let at = self.vmctx.add(desc.vmctx_offset as usize);
            if desc.indirect != 0 {
                *at.cast::<*mut u8>()
            } else {
                at
            }
        };
        Some(Export {
            kind: export_kind(desc.kind)?,
            ptr,
            desc,
        })
    }

    /// Calls exported function `index` with `args`, returning its results.
    ///
    /// # Safety
    ///
    /// `args` must match the function's parameter types in number and
    /// type (raw values in their slots).
    pub unsafe fn call(&self, index: u32, args: &[ValRaw]) -> Result<Vec<ValRaw>, CallError> {
        let export = self.export(index).ok_or(CallError::NoSuchExport)?;
        let array_call = export.desc.array_call.ok_or(CallError::NotAFunction)?;
        if args.len() != export.desc.params as usize {
            return Err(CallError::WrongArgumentCount);
        }
        let slots = args.len().max(export.desc.results as usize).max(1);
        let mut values = vec![0 as ValRaw; slots];
        values[..args.len()].copy_from_slice(args);
        let vmctx = self.vmctx;
        let values_ptr = values.as_mut_ptr();
        // SAFETY: the trampoline reads the parameters and writes the results
        // within `values`, which has room for both.
        unsafe { traps::catch(|| array_call(vmctx, values_ptr)) }.map_err(CallError::Trap)?;
        values.truncate(export.desc.results as usize);
        Ok(values)
    }

    /// Reads exported global `index` (its raw 16 bytes).
    pub fn global(&self, index: u32) -> Option<ValRaw> {
        let export = self.export(index)?;
        (export.kind == ExportKind::Global).then(|| {
            // SAFETY: a global export points to its 16-byte storage.
            u128::from_le_bytes(unsafe { (*export.ptr.cast::<VMGlobal>()).0 })
        })
    }
}

/// Why [`Instance::call`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// There is no export with that index.
    NoSuchExport,
    /// The export is not a function.
    NotAFunction,
    /// The argument count differs from the function's.
    WrongArgumentCount,
    /// The function trapped.
    Trap(Trap),
}

/// Current size of an exported memory, in bytes.
///
/// # Safety
///
/// `ptr` must be a memory export.
pub unsafe fn memory_length(ptr: *mut u8) -> u64 {
    // SAFETY: guaranteed by the caller.
    unsafe { (*ptr.cast::<VMMemoryDefinition>()).length }
}

/// Current length of an exported table, in elements.
///
/// # Safety
///
/// `ptr` must be a table export.
pub unsafe fn table_length(ptr: *mut u8) -> u64 {
    // SAFETY: guaranteed by the caller.
    unsafe { (*ptr.cast::<VMTableDefinition>()).length }
}
