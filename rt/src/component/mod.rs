//! Components at run time.
//!
//! The compiler flattens a component into core modules, trampolines and an
//! ordered list of initializers ([`InitOp`]); this module runs the
//! initializers, owns the state the component model adds to core
//! instances (per component instance: the `may_leave` flag and the handle
//! table; per program: the runtime resource types and the borrow scopes of
//! calls in progress) and carries out what trampolines ask for: resource
//! built-ins here, calls between components (and from the host) in
//! [`canonical`].
//!
//! A compiled trampoline calls the function at the start of its context
//! ([`TrampolineState`]) with its flat arguments; a non-zero status makes
//! it trap with the message recorded by [`crate::traps::set_pending`].

pub mod builtins;
pub mod canonical;
pub mod handles;
pub mod host;
pub mod hostio;
pub mod library;
pub mod stream;
pub mod task;
pub mod trap;
pub mod waitable;

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use smelt_abi::codec;
use smelt_abi::component::{
    ComponentDesc, ComponentInstanceIndex, InitOp, Ref, ResourceIndex, TrampolineIndex,
    TrampolineKind, TrampolineRefs,
};
use smelt_abi::program::{ArrayCallFn, ExportKind, ModuleDesc, ProgramDesc, TrampolineCode};
use smelt_abi::vm::{VMFuncRef, VMMemoryDefinition, ValRaw};

use self::canonical::Layouts;
use self::handles::{HandleTable, Slot};
use self::trap::ComponentTrap;
use crate::instance::Instance;
use crate::traps::{self, Trap};

/// A core function the runtime can call: a module's function (its
/// array-call trampoline and its instance's `vmctx`), or a component
/// trampoline used directly as an option or a lifted function.
#[derive(Debug, Clone, Copy)]
pub enum CoreFunc {
    /// A function of a core instance.
    Array {
        /// Its array-call trampoline.
        array_call: ArrayCallFn,
        /// Its instance.
        vmctx: *mut u8,
    },
    /// A trampoline.
    Trampoline(*const TrampolineState),
}

impl CoreFunc {
    /// Calls the function with `values` as its argument and result slots;
    /// a trampoline's trap (a canonical ABI check) is returned.
    ///
    /// # Safety
    ///
    /// `values` must have room for the function's parameters and results,
    /// with the parameters of its type.
    #[inline]
    pub unsafe fn call(&self, values: &mut [ValRaw]) -> Result<(), ComponentTrap> {
        match *self {
            // SAFETY: guaranteed by the caller.
            CoreFunc::Array { array_call, vmctx } => unsafe {
                array_call(vmctx, values.as_mut_ptr());
                Ok(())
            },
            CoreFunc::Trampoline(state) => {
                let mut results = [0 as ValRaw; 4];
                // SAFETY: the trampoline reads its parameters from `values`
                // and writes at most a few results.
                let status = unsafe {
                    ((*state).call)(
                        state.cast_mut().cast(),
                        values.as_mut_ptr(),
                        results.as_mut_ptr(),
                    )
                };
                if status != 0 {
                    return Err(ComponentTrap::Pending(
                        traps::take_pending().unwrap_or_default(),
                    ));
                }
                let n = values.len().min(results.len());
                values[..n].copy_from_slice(&results[..n]);
                Ok(())
            }
        }
    }
}

/// A linear memory, as the canonical ABI reads and writes it.
#[derive(Debug, Clone, Copy)]
pub struct Memory(*mut VMMemoryDefinition);

impl Memory {
    /// The memory's current length in bytes.
    pub fn len(&self) -> u64 {
        // SAFETY: memories live as long as the program.
        unsafe { (*self.0).length }
    }

    /// Whether the memory is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `[addr, addr + len)` lies inside the memory.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len).is_some_and(|end| end <= self.len())
    }

    /// The address of byte `addr`, which must lie inside the memory.
    pub fn ptr(&self, addr: u32) -> *mut u8 {
        debug_assert!(u64::from(addr) <= self.len());
        // SAFETY: inside the memory's reservation.
        unsafe { (*self.0).base.add(addr as usize) }
    }

    /// The bytes `[addr, addr + len)`, which must lie inside the memory.
    ///
    /// # Safety
    ///
    /// No other reference to these bytes may be live while the slice is.
    pub unsafe fn slice<'a>(self, addr: u32, len: u32) -> &'a mut [u8] {
        debug_assert!(self.contains(u64::from(addr), u64::from(len)));
        // SAFETY: in bounds (checked by the caller, asserted above).
        unsafe { core::slice::from_raw_parts_mut((*self.0).base.add(addr as usize), len as usize) }
    }
}

/// A `realloc` option.
#[derive(Debug, Clone, Copy)]
pub enum Realloc {
    /// A core function of the instance.
    Core(CoreFunc),
    /// The host's allocator in the host memory.
    Host,
}

/// Runtime state of one component instance.
#[derive(Debug)]
pub struct InstanceState {
    /// Its index (`u32::MAX` for the host).
    pub index: ComponentInstanceIndex,
    /// Whether it may call out (false during its `realloc` and
    /// `post-return`).
    pub may_leave: Cell<bool>,
    /// Its handle table.
    pub table: RefCell<HandleTable>,
    /// The instance it was instantiated in, if any.
    pub parent: Option<ComponentInstanceIndex>,
    /// Whether a trap left it unusable.
    pub poisoned: Cell<bool>,
    /// Its backpressure counter (`backpressure.inc`/`dec`).
    pub backpressure: Cell<u32>,
    /// The task that has exclusive use of it (a synchronously lifted or
    /// callback task that is running).
    pub exclusive: Cell<Option<task::TaskId>>,
    /// Tasks waiting to enter it.
    pub num_waiting_to_enter: Cell<u32>,
    /// Whether it imports `thread.*` built-ins that switch threads: then
    /// every call into it runs on its own stack.
    pub uses_threads: Cell<bool>,
}

impl InstanceState {
    fn new(index: ComponentInstanceIndex, parent: Option<ComponentInstanceIndex>) -> Self {
        InstanceState {
            index,
            may_leave: Cell::new(true),
            table: RefCell::new(HandleTable::default()),
            parent,
            poisoned: Cell::new(false),
            backpressure: Cell::new(0),
            exclusive: Cell::new(None),
            num_waiting_to_enter: Cell::new(0),
            uses_threads: Cell::new(false),
        }
    }
}

/// A runtime resource type.
#[derive(Debug, Clone, Copy)]
pub struct ResourceType {
    /// The component instance that implements it ([`HOST`] for the
    /// host's).
    pub instance: ComponentInstanceIndex,
    /// Its destructor, a core function.
    pub dtor: Option<CoreFunc>,
    /// Its destructor, for a host resource.
    pub host_drop: Option<fn(u32)>,
}

/// The instance number standing for the host.
pub const HOST: ComponentInstanceIndex = smelt_abi::component::HOST_INSTANCE;

/// A host resource type.
#[derive(Debug)]
pub struct HostResourceType {
    /// Its name (`wasi:io/streams#output-stream`).
    pub name: &'static str,
    /// Frees the host object with this representation.
    pub drop: fn(u32),
}

/// What the host (WASI) provides, in the order `smelt-wit` numbers it.
///
/// Host functions are not listed here: a compiled program refers to each
/// one it imports by its symbol ([`TrampolineCode::callee`]), so that an
/// executable links only those.
#[derive(Debug)]
pub struct HostTable {
    /// Host resource types; they are the first runtime resource types.
    pub resources: &'static [HostResourceType],
}

/// A resolved [`Ref`].
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    /// An absent option.
    None,
    /// A core function.
    Func(CoreFunc),
    /// A memory.
    Memory(Memory),
    /// A component instance's state (or the host's).
    Instance(*const InstanceState),
    /// The host's realloc.
    HostRealloc,
}

impl Resolved {
    /// The instance state a [`Ref::ComponentInstance`] or [`Ref::Host`]
    /// resolved to.
    ///
    /// # Panics
    ///
    /// When it is not an instance: the compiler gives instances where the
    /// [`TrampolineRefs`] field is one.
    fn instance(self) -> &'static InstanceState {
        let Resolved::Instance(instance) = self else {
            unreachable!("a trampoline's instance reference is an instance")
        };
        // SAFETY: instance states live as long as the program.
        unsafe { &*instance }
    }

    /// The memory of a `memory` option, if given.
    fn memory(self) -> Option<Memory> {
        match self {
            Resolved::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The core function of a function option, if given.
    fn func(self) -> Option<CoreFunc> {
        match self {
            Resolved::Func(f) => Some(f),
            _ => None,
        }
    }
}

/// The context of one trampoline (see `smelt_abi::vm::TrampolineFn`).
#[repr(C)]
pub struct TrampolineState {
    /// What compiled code calls; first, as the layout requires.
    call: smelt_abi::vm::TrampolineFn,
    /// The trampoline's index.
    index: TrampolineIndex,
    /// Its references, resolved.
    refs: TrampolineRefs<Resolved>,
    /// The function reference core instances import it as.
    funcref: VMFuncRef,
    /// For an adapter, the core signatures of its lowering and lifting,
    /// computed once.
    sigs: Option<Box<canonical::Signatures>>,
}

/// An async call the host made into a guest ([`Runtime::start_host_call`]).
#[derive(Debug)]
pub struct HostCall {
    /// The call's subtask, handle and waitable, unless it returned at once.
    subtask: Option<(u32, u32)>,
    /// Where its result goes in the host memory.
    out: u32,
    /// The result's size in bytes.
    size: u32,
}

/// The result of an async call the host made, as lowered into the host
/// memory.
#[derive(Debug)]
pub struct HostResultBytes {
    /// The result's bytes.
    pub result: Vec<u8>,
    memory: Memory,
}

impl HostResultBytes {
    /// The little-endian `u32` at byte `at` of the result.
    pub fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.result[at..at + 4]);
        u32::from_le_bytes(b)
    }

    /// The string at `(ptr, len)` of the host memory (a string of the
    /// result), if valid UTF-8 and in bounds.
    pub fn string(&self, ptr: u32, len: u32) -> Option<String> {
        if !self.memory.contains(u64::from(ptr), u64::from(len)) {
            return None;
        }
        // SAFETY: checked above; copied out.
        let bytes = unsafe { self.memory.slice(ptr, len) }.to_vec();
        String::from_utf8(bytes).ok()
    }
}

/// The borrow scope of one call in progress (CanonicalABI.md
/// `borrow_scope`, `num_borrows`, and the lenders of its arguments).
#[derive(Debug, Default)]
pub(crate) struct CallScope {
    borrow_count: u32,
    lenders: Vec<(*const InstanceState, u32)>,
}

/// The program's component state: one instantiation of the program's
/// component, with its scheduler. A command has one for the whole process
/// ([`start`]); a server has one per worker thread, or one per request
/// ([`Runtime::new`], freed when dropped). Compiled code reaches the
/// runtime it runs in through [`runtime`], the current runtime of its OS
/// thread ([`Runtime::enter`]).
pub struct Runtime {
    desc: Rc<ComponentDesc>,
    layouts: Rc<Layouts>,
    code: &'static [TrampolineCode],
    modules: &'static [ModuleDesc],
    // Boxed: trampolines and adapters keep pointers to instance states, so
    // their addresses must not move when the list grows.
    #[allow(clippy::vec_box)]
    instances: RefCell<Vec<Box<InstanceState>>>,
    host: Box<InstanceState>,
    host_memory: Memory,
    /// The host memory's definition, which `host_memory` points to.
    host_memory_def: Box<VMMemoryDefinition>,
    host_bump: Cell<u32>,
    /// Async calls the host has made that have not finished
    /// ([`Runtime::start_host_call`]).
    host_calls: Cell<u32>,
    /// Result areas of finished async host calls, for reuse: address and
    /// size in the host memory.
    host_free: RefCell<Vec<(u32, u32)>>,
    core: RefCell<Vec<Option<Instance>>>,
    resources: RefCell<Vec<ResourceType>>,
    trampolines: RefCell<Vec<Option<Box<TrampolineState>>>>,
    scopes: RefCell<task::Slab<CallScope>>,
    /// Tasks, threads, waitables.
    pub sched: task::Sched,
    /// Whether the program has task built-ins (`context.get`, streams,
    /// waitable sets, ...), which need a current task: a library's calls
    /// then go through the adapter ([`library`]).
    has_builtins: bool,
    /// For each export adapter a library has called, by trampoline index:
    /// whether its calls take the direct path, and its callee's
    /// references then (worked out at the first call).
    library_direct: RefCell<Vec<Option<Option<Box<library::Direct>>>>>,
}

/// A program's descriptor (by address) with its decoded component
/// descriptor and layouts.
type Decoded = (*const ProgramDesc, Rc<ComponentDesc>, Rc<Layouts>);

thread_local! {
    /// The runtime whose code this OS thread runs ([`Runtime::enter`]).
    static CURRENT: Cell<*const Runtime> = const { Cell::new(core::ptr::null()) };
    /// The decoded descriptor and layouts of the program, shared by every
    /// runtime this thread creates for it.
    static DECODED: RefCell<Option<Decoded>> = const { RefCell::new(None) };
}

/// Why the component runtime could not start.
#[derive(Debug)]
pub enum StartError {
    /// The descriptor does not decode.
    Decode(codec::DecodeError),
    /// The host memory could not be created.
    HostMemory,
}

/// Builds the slice of a descriptor table.
///
/// # Safety
///
/// `ptr` must point to `len` valid elements that live forever.
unsafe fn table<T>(ptr: *const T, len: u64) -> &'static [T] {
    // SAFETY: forwarded from the caller.
    unsafe { crate::entry::slice(ptr, len) }
}

/// Creates the component runtime of `program`, with `host` as the
/// implementation of host imports, for the rest of the process, and makes
/// it this thread's current runtime.
///
/// # Safety
///
/// `program` must be the running executable's descriptor.
pub unsafe fn start(
    program: &'static ProgramDesc,
    host: &'static HostTable,
) -> Result<&'static Runtime, StartError> {
    // SAFETY: forwarded from the caller.
    let runtime: &'static Runtime = Box::leak(unsafe { Runtime::new(program, host) }?);
    CURRENT.with(|c| c.set(runtime));
    Ok(runtime)
}

/// The component runtime this thread runs ([`start`], [`Runtime::enter`]).
///
/// # Panics
///
/// When the thread runs none (a bug: compiled component code runs only
/// inside one).
pub fn runtime() -> &'static Runtime {
    let current = CURRENT.with(Cell::get);
    assert!(!current.is_null(), "a component runtime is current");
    // SAFETY: a runtime is current only while it lives (`start` leaks it;
    // `Entered` ends before the runtime it borrows can be dropped).
    unsafe { &*current }
}

/// Keeps a runtime current on this thread; the previous one is current
/// again when it is dropped.
pub struct Entered<'a> {
    previous: *const Runtime,
    _runtime: core::marker::PhantomData<&'a Runtime>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

impl Runtime {
    /// Creates a runtime of `program`'s component, with `host` as the
    /// implementation of host imports: nothing is instantiated until
    /// [`Runtime::run`] runs the program's initializers in it. The
    /// descriptor is decoded once per thread and shared by the runtimes
    /// the thread creates.
    ///
    /// # Errors
    ///
    /// A malformed descriptor, or no address space for the host memory.
    ///
    /// # Safety
    ///
    /// `program` must be the running executable's descriptor.
    pub unsafe fn new(
        program: &'static ProgramDesc,
        host: &'static HostTable,
    ) -> Result<Box<Runtime>, StartError> {
        // SAFETY: the compiler emits these tables with these lengths.
        let (bytes, code, modules) = unsafe {
            (
                table(program.component, program.component_len),
                table(program.trampolines, program.n_trampolines),
                table(program.modules, program.n_modules),
            )
        };
        let (desc, layouts) = DECODED.with(|d| {
            let mut d = d.borrow_mut();
            match &*d {
                Some((p, desc, layouts)) if core::ptr::eq(*p, program) => {
                    Ok((desc.clone(), layouts.clone()))
                }
                _ => {
                    let desc: ComponentDesc =
                        codec::from_bytes(bytes).map_err(StartError::Decode)?;
                    let layouts = Rc::new(Layouts::new(&desc.types));
                    let desc = Rc::new(desc);
                    *d = Some((program, desc.clone(), layouts.clone()));
                    Ok((desc, layouts))
                }
            }
        })?;
        let mut host_memory_def = Box::new(VMMemoryDefinition {
            base: core::ptr::null_mut(),
            length: 0,
            maximum: 0,
            reservation: 0,
        });
        // SAFETY: a fresh definition to create a memory in.
        unsafe { crate::memory::create(&mut *host_memory_def, 1, None, 0, false) }
            .map_err(|_| StartError::HostMemory)?;
        let trampolines = (0..desc.trampolines.len()).map(|_| None).collect();
        let resources = host
            .resources
            .iter()
            .map(|r| ResourceType {
                instance: HOST,
                dtor: None,
                host_drop: Some(r.drop),
            })
            .collect();
        let has_builtins = desc
            .trampolines
            .iter()
            .any(|t| matches!(t, TrampolineKind::Builtin(_)));
        Ok(Box::new(Runtime {
            has_builtins,
            library_direct: RefCell::new(Vec::new()),
            desc,
            layouts,
            code,
            modules,
            instances: RefCell::new(Vec::new()),
            host: Box::new(InstanceState::new(HOST, None)),
            host_memory: Memory(&mut *host_memory_def),
            host_memory_def,
            host_bump: Cell::new(0),
            host_calls: Cell::new(0),
            host_free: RefCell::new(Vec::new()),
            core: RefCell::new(Vec::new()),
            resources: RefCell::new(resources),
            trampolines: RefCell::new(trampolines),
            scopes: RefCell::new(task::Slab::default()),
            sched: task::Sched::default(),
        }))
    }

    /// Gives the host an owned handle to the host object `rep` of runtime
    /// resource type `resource` (a host resource type: `smelt-wit`'s
    /// numbering), to pass to a guest as an `own` argument of
    /// [`Runtime::call_from_host`] (CanonicalABI.md `lift_own` takes it
    /// out of the caller's table).
    ///
    /// # Errors
    ///
    /// The host's handle table is full.
    pub fn host_own(&self, resource: ResourceIndex, rep: u32) -> Result<u32, ComponentTrap> {
        self.host.table.borrow_mut().add(Slot::Own {
            resource,
            rep,
            lend_count: 0,
        })
    }

    /// Takes the host's owned handle `handle` to a resource of runtime
    /// type `resource` (one a guest returned to the host); returns its
    /// representation.
    ///
    /// # Errors
    ///
    /// `handle` is not an owned handle of that type in the host's table.
    pub fn take_host_own(
        &self,
        handle: u32,
        resource: ResourceIndex,
    ) -> Result<u32, ComponentTrap> {
        let mut table = self.host.table.borrow_mut();
        let (slot, rep) = table.resource(handle, resource)?;
        if !matches!(slot, Slot::Own { .. }) {
            return Err(ComponentTrap::Pending(format!(
                "handle {handle} of the host is not an owned handle"
            )));
        }
        table.remove(handle)?;
        Ok(rep)
    }

    /// Makes this runtime the current one of this thread (what [`runtime`]
    /// returns) until the guard is dropped.
    pub fn enter(&self) -> Entered<'_> {
        Entered {
            previous: CURRENT.with(|c| c.replace(self)),
            _runtime: core::marker::PhantomData,
        }
    }
}

impl Drop for Runtime {
    /// Frees the core instances (their memories, tables and `vmctx`s) and
    /// the host memory. Threads that a trap abandoned keep their stacks
    /// (never unwound, see [`task::Sched::reset`]).
    fn drop(&mut self) {
        for instance in self.core.get_mut().drain(..).flatten() {
            // SAFETY: the runtime is going away with everything that could
            // reach its instances (trampolines, handle tables, tasks).
            unsafe { instance.free() };
        }
        // SAFETY: made by `memory::create` in `new`; nothing uses it now.
        unsafe { crate::memory::release(&mut *self.host_memory_def) };
    }
}

/// A runtime function's result as a trampoline status: 0, or 1 after
/// recording the trap.
fn status(result: Result<(), ComponentTrap>) -> u32 {
    match result {
        Ok(()) => 0,
        Err(trap) => {
            traps::set_pending(trap.to_string());
            1
        }
    }
}

impl Runtime {
    /// The component descriptor.
    pub fn desc(&self) -> &ComponentDesc {
        &self.desc
    }

    fn instance(&self, index: ComponentInstanceIndex) -> *const InstanceState {
        &*self.instances.borrow()[index.index()] as *const InstanceState
    }

    /// Runs initializers. A trap (in a start function, an out-of-bounds
    /// segment) stops them and is returned.
    ///
    /// # Safety
    ///
    /// The initializers must come from the compiler for this program.
    pub unsafe fn run(&self, ops: &[InitOp]) -> Result<(), Trap> {
        for (at, op) in ops.iter().enumerate() {
            match op {
                InitOp::ComponentInstance { parent } => {
                    let mut instances = self.instances.borrow_mut();
                    let index = ComponentInstanceIndex::from_u32(instances.len() as u32);
                    instances.push(Box::new(InstanceState::new(index, *parent)));
                }
                InitOp::Resource { instance, dtor } => {
                    let dtor = match self.resolve(*dtor) {
                        Resolved::Func(f) => Some(f),
                        _ => None,
                    };
                    self.resources.borrow_mut().push(ResourceType {
                        instance: *instance,
                        dtor,
                        host_drop: None,
                    });
                }
                InitOp::CoreInstance { module, imports } => {
                    let imports: Vec<*mut u8> =
                        imports.iter().map(|r| self.import_pointer(*r)).collect();
                    let module = &self.modules[*module as usize];
                    // SAFETY: the compiler resolved the imports by type.
                    match unsafe { Instance::new(module, &imports) } {
                        Ok(instance) => self.core.borrow_mut().push(Some(instance)),
                        Err(trap) => {
                            self.abandon(&ops[at..]);
                            self.recover();
                            return Err(trap);
                        }
                    }
                }
                InitOp::Trampoline { trampoline, refs } => {
                    let index = *trampoline;
                    let refs = refs.map(|r| self.resolve(r));
                    if let TrampolineKind::Builtin(b) = &self.desc.trampolines[index.index()]
                        && builtins::switches_threads(b.op)
                        && let TrampolineRefs::Builtin { caller, .. } = refs
                    {
                        caller.instance.instance().uses_threads.set(true);
                    }
                    let call = match &self.desc.trampolines[index.index()] {
                        TrampolineKind::Adapter { .. } => canonical::adapter_trampoline,
                        TrampolineKind::Host { .. } | TrampolineKind::Builtin(_) => {
                            let callee = self.code[index.index()].callee;
                            assert!(!callee.is_null(), "a trampoline without its callee");
                            // SAFETY: the compiler points the `callee` of a
                            // host or built-in trampoline at a `TrampolineFn`
                            // (a host function's shim, or
                            // `builtins::builtin_trampoline`).
                            unsafe {
                                core::mem::transmute::<*const u8, smelt_abi::vm::TrampolineFn>(
                                    callee,
                                )
                            }
                        }
                        TrampolineKind::Native { .. } => library::native_import_trampoline,
                        TrampolineKind::ResourceNew { .. } => resource_new,
                        TrampolineKind::ResourceRep { .. } => resource_rep,
                        TrampolineKind::ResourceDrop { .. } => resource_drop,
                    };
                    let code = &self.code[index.index()];
                    let sigs = match self.desc.trampolines[index.index()] {
                        TrampolineKind::Adapter {
                            func,
                            caller,
                            callee,
                        } => Some(Box::new(canonical::Signatures::new(
                            &self.desc, func, caller, callee,
                        ))),
                        _ => None,
                    };
                    let mut state = Box::new(TrampolineState {
                        call,
                        index,
                        refs,
                        sigs,
                        funcref: VMFuncRef {
                            wasm_call: code.code,
                            vmctx: core::ptr::null_mut(),
                            type_id: code.type_id,
                            padding: 0,
                        },
                    });
                    state.funcref.vmctx = (&mut *state as *mut TrampolineState).cast();
                    self.trampolines.borrow_mut()[index.index()] = Some(state);
                }
            }
        }
        Ok(())
    }

    /// Keeps the numbering of instances and resource types after an
    /// instantiation trapped at the first of `ops`: the instances the rest
    /// would have created exist, unusable.
    fn abandon(&self, ops: &[InitOp]) {
        for op in ops {
            match op {
                InitOp::ComponentInstance { parent } => {
                    let mut instances = self.instances.borrow_mut();
                    let index = ComponentInstanceIndex::from_u32(instances.len() as u32);
                    let state = InstanceState::new(index, *parent);
                    state.poisoned.set(true);
                    instances.push(Box::new(state));
                }
                InitOp::Resource { instance, .. } => {
                    self.resources.borrow_mut().push(ResourceType {
                        instance: *instance,
                        dtor: None,
                        host_drop: None,
                    });
                }
                InitOp::CoreInstance { .. } => self.core.borrow_mut().push(None),
                InitOp::Trampoline { .. } => {}
            }
        }
    }

    /// The pointer an importing core instance receives for `r`.
    fn import_pointer(&self, r: Ref) -> *mut u8 {
        match r {
            Ref::CoreExport { instance, export } => {
                let core = self.core.borrow();
                core[instance.index()]
                    .as_ref()
                    .expect("instantiated")
                    .export(export)
                    .expect("compiler-resolved export")
                    .ptr
            }
            Ref::Trampoline(t) => {
                let trampolines = self.trampolines.borrow();
                let state = trampolines[t.index()]
                    .as_ref()
                    .expect("trampolines are initialized before use");
                (&state.funcref as *const VMFuncRef).cast_mut().cast()
            }
            other => unreachable!("{other:?} is not importable"),
        }
    }

    /// Resolves a trampoline or resource reference.
    fn resolve(&self, r: Ref) -> Resolved {
        match r {
            Ref::None => Resolved::None,
            Ref::Host => Resolved::Instance(&*self.host),
            Ref::ComponentInstance(c) => Resolved::Instance(self.instance(c)),
            Ref::Trampoline(t) => {
                let trampolines = self.trampolines.borrow();
                let state = trampolines[t.index()]
                    .as_ref()
                    .expect("trampolines are initialized before use");
                Resolved::Func(CoreFunc::Trampoline(&**state))
            }
            Ref::CoreExport { instance, export } => {
                let core = self.core.borrow();
                let export = core[instance.index()]
                    .as_ref()
                    .expect("instantiated")
                    .export(export)
                    .expect("compiler-resolved export");
                match export.kind {
                    ExportKind::Func => {
                        // SAFETY: a function export points to its VMFuncRef.
                        let funcref = unsafe { &*export.ptr.cast::<VMFuncRef>() };
                        let array_call = export
                            .desc
                            .array_call
                            .expect("exported functions have array-call trampolines");
                        debug_assert!(!funcref.wasm_call.is_null());
                        Resolved::Func(CoreFunc::Array {
                            array_call,
                            vmctx: core[instance.index()]
                                .as_ref()
                                .expect("instantiated")
                                .vmctx(),
                        })
                    }
                    ExportKind::Memory => Resolved::Memory(Memory(export.ptr.cast())),
                    _ => unreachable!("only functions and memories are options"),
                }
            }
        }
    }

    /// Resolves the host side of `r` for an adapter's options: the host
    /// stands for its own memory and realloc.
    fn host_option(&self, r: Resolved, memory: bool) -> Resolved {
        match (r, memory) {
            (Resolved::Instance(p), true) if core::ptr::eq(p, &*self.host) => {
                Resolved::Memory(self.host_memory)
            }
            (Resolved::Instance(p), false) if core::ptr::eq(p, &*self.host) => {
                Resolved::HostRealloc
            }
            (r, _) => r,
        }
    }

    /// The host's allocator: bump allocation in the host memory, which
    /// grows as needed.
    fn host_realloc(&self, align: u32, size: u32) -> Option<u32> {
        let start = canonical::align_up(self.host_bump.get(), align.max(1))?;
        let end = start.checked_add(size)?;
        while u64::from(end) > self.host_memory.len() {
            // SAFETY: the host memory was made by memory::create.
            unsafe { crate::memory::grow(self.host_memory.0, 1) }?;
        }
        self.host_bump.set(end);
        Some(start)
    }

    /// Calls the export adapter `trampoline` with the host as the caller:
    /// `args` are the host's flat arguments, pointing into host memory
    /// that starts with `image`. Returns the flat results and the host
    /// memory's contents up to its last allocation.
    ///
    /// # Safety
    ///
    /// `trampoline` must be an adapter whose caller is the host, and
    /// `args` its flat arguments.
    pub unsafe fn call_from_host(
        &self,
        trampoline: TrampolineIndex,
        args: &[ValRaw],
        image: &[u8],
    ) -> Result<(Vec<ValRaw>, Vec<u8>), Trap> {
        self.host_bump.set(0);
        let start = self
            .host_realloc(8, image.len() as u32)
            .expect("host memory grows");
        // SAFETY: just allocated.
        unsafe { self.host_memory.slice(start, image.len() as u32) }.copy_from_slice(image);
        let mut values = vec![0 as ValRaw; args.len().max(1)];
        values[..args.len()].copy_from_slice(args);
        let mut results = vec![0 as ValRaw; 1];
        // SAFETY: the adapter reads the arguments and writes at most one
        // flat result (MAX_FLAT_RESULTS).
        unsafe { self.call_adapter(trampoline, &mut values, &mut results) }?;
        let used = self.host_bump.get();
        // SAFETY: the host memory holds at least `used` bytes.
        let memory = unsafe { self.host_memory.slice(0, used) }.to_vec();
        Ok((results, memory))
    }

    /// Calls the export adapter `trampoline` with the flat values `args`,
    /// its results written to `results`; a trap in the call (or a failed
    /// status, whose message the adapter left pending) leaves the instance
    /// recovered for the next call.
    ///
    /// # Safety
    ///
    /// `trampoline` must be an initialized export adapter that reads no
    /// more of `args`, and writes no more of `results`, than they hold.
    unsafe fn call_adapter(
        &self,
        trampoline: TrampolineIndex,
        args: &mut [ValRaw],
        results: &mut [ValRaw],
    ) -> Result<(), Trap> {
        let state: *mut TrampolineState = {
            let mut trampolines = self.trampolines.borrow_mut();
            let state = trampolines[trampoline.index()]
                .as_mut()
                .expect("export adapters are initialized before calls");
            &mut **state
        };
        let (args, results) = (args.as_mut_ptr(), results.as_mut_ptr());
        let mut status = 0;
        // SAFETY: the caller's contract.
        let result =
            unsafe { traps::catch(|| status = ((*state).call)(state.cast(), args, results)) };
        let result = result.and_then(|()| match status {
            0 => Ok(()),
            _ => Err(Trap {
                code: smelt_abi::trap::TrapCode::Runtime,
                detail: traps::take_pending(),
                frames: Vec::new(),
                total_frames: 0,
            }),
        });
        if result.is_err() {
            self.recover();
        }
        result
    }

    /// Starts a call of the export adapter `trampoline`, whose host side
    /// is lowered `async` (CanonicalABI.md `canon lower` with `async`), with
    /// the flat arguments `args` (at most `MAX_FLAT_ASYNC_PARAMS`). The
    /// result is lowered into an area of the host memory reserved for the
    /// call. The call runs until it returns or blocks; the event loop
    /// (the scheduler, [`task::Sched::tick`], and the host waits) carries
    /// it on. Several may be in progress at once.
    ///
    /// # Errors
    ///
    /// A trap during the call's first part.
    ///
    /// # Safety
    ///
    /// `trampoline` must be an adapter whose caller is the host, lowered
    /// `async`, and `args` its flat arguments.
    pub unsafe fn start_host_call(
        &self,
        trampoline: TrampolineIndex,
        args: &[ValRaw],
    ) -> Result<HostCall, Trap> {
        let func = match self.desc.trampolines[trampoline.index()] {
            TrampolineKind::Adapter { func, .. } => func,
            _ => unreachable!("an export adapter"),
        };
        let (size, align) = match self.desc.funcs[func.index()].result {
            Some(r) => (self.layouts.size(r), self.layouts.align(r)),
            None => (0, 1),
        };
        let reused = {
            let mut free = self.host_free.borrow_mut();
            free.iter()
                .position(|&(_, s)| s == size)
                .map(|i| free.swap_remove(i).0)
        };
        let out = match reused {
            Some(out) => out,
            None => self
                .host_realloc(align.max(8), size.max(1))
                .expect("host memory grows"),
        };
        let mut values = args.to_vec();
        values.push(ValRaw::from(out));
        let mut results = [0 as ValRaw; 1];
        self.host_calls.set(self.host_calls.get() + 1);
        // SAFETY: the adapter reads the arguments and the result address
        // and writes its i32 status.
        unsafe { self.call_adapter(trampoline, &mut values, &mut results) }?;
        let packed = results[0] as u32;
        let subtask = if packed & 0xf == waitable::SubtaskState::Returned as u32 {
            None
        } else {
            let handle = packed >> 4;
            match self.host.table.borrow().get(handle) {
                Ok(Slot::Subtask(w)) => Some((handle, w)),
                _ => unreachable!("an async call that has not returned has a subtask"),
            }
        };
        Ok(HostCall { subtask, out, size })
    }

    /// Whether the call `call` has returned (its result is in place).
    pub fn host_call_returned(&self, call: &HostCall) -> bool {
        match call.subtask {
            None => true,
            Some((_, w)) => {
                let items = self.sched.waitables.items.borrow();
                items.get(w).subtask().state == waitable::SubtaskState::Returned
            }
        }
    }

    /// Ends the call `call`, which has returned: its result's bytes, as
    /// lowered into the host memory (the canonical ABI layout of the
    /// function's result type), with the host memory they may point into.
    /// The result area is reused by later calls.
    pub fn finish_host_call(&self, call: HostCall) -> HostResultBytes {
        if let Some((handle, w)) = call.subtask {
            let _ = self.host.table.borrow_mut().remove(handle);
            let removed = self.sched.waitables.remove(w);
            let scope = removed.subtask().scope;
            canonical::end_lends(self, scope);
            self.scopes.borrow_mut().remove(scope);
        }
        // SAFETY: the area was reserved for the call in the host memory.
        let result = unsafe { self.host_memory.slice(call.out, call.size) }.to_vec();
        self.host_free.borrow_mut().push((call.out, call.size));
        let left = self.host_calls.get() - 1;
        self.host_calls.set(left);
        HostResultBytes {
            result,
            memory: self.host_memory,
        }
    }

    /// Ends the call `call`, which has returned, lifting its result into
    /// the host's Rust value (own handles the guest returned come out of
    /// the host's table; strings and lists out of the host memory).
    ///
    /// # Errors
    ///
    /// What lifting the result finds invalid.
    pub fn finish_host_call_as<T: host::Lift>(&self, call: HostCall) -> host::HostResult<T> {
        let out = call.out;
        let value = {
            let mut cx = host::Cx::new(
                &self.host,
                Some(self.host_memory),
                None,
                smelt_abi::component::StringEncoding::Utf8,
            );
            T::load(&mut cx, out)
        };
        let _ = self.finish_host_call(call);
        value
    }

    /// The host memory's bytes `[addr, addr + len)` (strings and lists a
    /// result of [`Runtime::finish_host_call`] points to), if in bounds.
    pub fn host_bytes(&self, addr: u32, len: u32) -> Option<Vec<u8>> {
        self.host_memory
            .contains(u64::from(addr), u64::from(len))
            // SAFETY: checked above.
            .then(|| unsafe { self.host_memory.slice(addr, len) }.to_vec())
    }

    /// Resets what a trap left half-done: the `may_leave` flags of the
    /// calls it unwound and the threads it abandoned; the instances of the
    /// tasks that were live become unusable.
    fn recover(&self) {
        for instance in self.sched.reset() {
            // SAFETY: instance states live as long as the program.
            unsafe { (*instance).poisoned.set(true) };
        }
        for instance in self.instances.borrow().iter() {
            instance.may_leave.set(true);
        }
        self.host.may_leave.set(true);
    }

    /// Whether component instance `a` is `b` or encloses it.
    fn is_ancestor(&self, a: ComponentInstanceIndex, b: ComponentInstanceIndex) -> bool {
        let instances = self.instances.borrow();
        let mut at = Some(b);
        while let Some(i) = at {
            if i == a {
                return true;
            }
            at = instances[i.index()].parent;
        }
        false
    }

    fn resource(&self, r: ResourceIndex) -> ResourceType {
        self.resources.borrow()[r.index()]
    }
}

/// The instance a resource built-in acts for. `resource.new` and
/// `resource.drop` trap if it may not leave (CanonicalABI.md
/// `trap_if(not inst.may_leave)`); `resource.rep` does not check.
///
/// # Safety
///
/// `ctx` must be a resource built-in's trampoline state.
unsafe fn builtin_instance<'a>(
    ctx: *mut u8,
    check_leave: bool,
) -> Result<(&'a TrampolineState, &'a InstanceState), ComponentTrap> {
    // SAFETY: guaranteed by the caller.
    let state = unsafe { &*ctx.cast::<TrampolineState>() };
    let TrampolineRefs::Resource { instance } = state.refs else {
        unreachable!("a resource built-in's references")
    };
    let instance = instance.instance();
    if check_leave && !instance.may_leave.get() {
        return Err(ComponentTrap::CannotLeave);
    }
    Ok((state, instance))
}

fn resource_of(state: &TrampolineState) -> ResourceIndex {
    match runtime().desc.trampolines[state.index.index()] {
        TrampolineKind::ResourceNew { resource }
        | TrampolineKind::ResourceRep { resource }
        | TrampolineKind::ResourceDrop { resource } => resource,
        _ => unreachable!("a resource built-in"),
    }
}

/// `canon resource.new`: `(rep) -> handle`.
unsafe extern "C" fn resource_new(ctx: *mut u8, args: *mut ValRaw, results: *mut ValRaw) -> u32 {
    // SAFETY: compiled trampolines pass their state and slots.
    let (state, instance) = match unsafe { builtin_instance(ctx, true) } {
        Ok(s) => s,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: `resource.new` takes one i32 argument, in the first slot.
    let rep = unsafe { *args } as u32;
    let added = instance.table.borrow_mut().add(Slot::Own {
        resource: resource_of(state),
        rep,
        lend_count: 0,
    });
    // SAFETY: `resource.new` has one i32 result, in the first slot.
    status(added.map(|h| unsafe { *results = ValRaw::from(h) }))
}

/// `canon resource.rep`: `(handle) -> rep`.
unsafe extern "C" fn resource_rep(ctx: *mut u8, args: *mut ValRaw, results: *mut ValRaw) -> u32 {
    // SAFETY: compiled trampolines pass their state and slots.
    let (state, instance) = match unsafe { builtin_instance(ctx, false) } {
        Ok(s) => s,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: `resource.rep` takes one i32 argument, in the first slot.
    let handle = unsafe { *args } as u32;
    let rep = instance
        .table
        .borrow()
        .resource(handle, resource_of(state))
        .map(|(_, rep)| rep);
    // SAFETY: `resource.rep` has one i32 result, in the first slot.
    status(rep.map(|rep| unsafe { *results = ValRaw::from(rep) }))
}

/// `canon resource.drop`: `(handle)`; runs the destructor of an owned
/// resource.
unsafe extern "C" fn resource_drop(ctx: *mut u8, args: *mut ValRaw, _results: *mut ValRaw) -> u32 {
    // SAFETY: compiled trampolines pass their state and slots.
    let (state, instance) = match unsafe { builtin_instance(ctx, true) } {
        Ok(s) => s,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: `resource.drop` takes one i32 argument, in the first slot.
    let handle = unsafe { *args } as u32;
    let resource = resource_of(state);
    let removed = (|| {
        let mut table = instance.table.borrow_mut();
        let (slot, rep) = table.resource(handle, resource)?;
        if let Slot::Own { lend_count, .. } = slot
            && lend_count != 0
        {
            return Err(ComponentTrap::OwnBorrowed);
        }
        table.remove(handle)?;
        Ok((slot, rep))
    })();
    let (slot, rep) = match removed {
        Ok(r) => r,
        Err(e) => return status(Err(e)),
    };
    let rt = runtime();
    match slot {
        Slot::Own { .. } => {
            let ty = rt.resource(resource);
            if let Some(dtor) = ty.dtor {
                let mut values = [ValRaw::from(rep)];
                // SAFETY: a destructor takes the i32 representation.
                if let Err(e) = unsafe { dtor.call(&mut values) } {
                    return status(Err(e));
                }
            }
            if let Some(drop) = ty.host_drop {
                drop(rep);
            }
        }
        Slot::Borrow { scope, .. } => {
            rt.scopes.borrow_mut().get_mut(scope).borrow_count -= 1;
        }
        _ => unreachable!("removed slots are resources"),
    }
    0
}
