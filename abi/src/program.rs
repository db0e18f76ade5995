//! The program descriptor: what the runtime starts from.
//!
//! Every object smelt emits defines one [`ProgramDesc`] under the symbol
//! [`crate::PROGRAM_SYMBOL`]. The runtime's `main` reads it to find the
//! compiled modules, how to run them, and the tables it needs to turn a
//! faulting program counter into a trap code and a backtrace.
//!
//! All structures are `#[repr(C)]`; the compiler writes them as data with
//! relocations at the offsets `core::mem::offset_of!` gives for these very
//! types.

use crate::vm::ValRaw;

/// `instantiate` entry point of a compiled module.
///
/// `vmctx` is a zeroed block of [`ModuleDesc::vmctx_size`] bytes whose
/// header the runtime has filled in; `imports` points to one pointer per
/// import, in import order (see [`ExportDesc`] for what each kind's
/// pointer is), already checked against the import's type. Runs the
/// module's initialization in the specification's order (imports,
/// globals, tables, memories, element segments, data segments, start
/// function). Traps unwind past it like any guest code, leaving the
/// effects made before the trap, as the specification says.
pub type InstantiateFn = unsafe extern "C" fn(vmctx: *mut u8, imports: *const *mut u8);

/// Host-to-wasm entry point of one exported function (an "array call"
/// trampoline): reads the parameters from `values[0..params]`, calls the
/// function, and writes the results to `values[0..results]`. `values` has
/// room for `max(params, results)` slots.
pub type ArrayCallFn = unsafe extern "C" fn(vmctx: *mut u8, values: *mut ValRaw);

/// What kind of program this is, and so what the runtime's `main` does.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramKind {
    /// A test executable for a `.wast` script: run [`ProgramDesc::script`]
    /// and print one outcome line per command (see [`crate::script`]).
    WastScript = 0,
    /// A core module run as a command: instantiate module 0 without
    /// imports, then call its export [`ProgramDesc::entry_export`] (if any).
    CoreCommand = 1,
    /// A component: run [`ProgramDesc::init`], then call the adapter
    /// [`ProgramDesc::entry_export`] (the `run` export) with the host as the
    /// caller.
    Component = 2,
    /// A component served over HTTP: listen on the address of
    /// [`crate::wasi::ServeConfig`], and answer each request by calling the
    /// adapter [`ProgramDesc::entry_export`] (the `wasi:http` handler's
    /// `handle` export) with the host as the caller, after
    /// [`ProgramDesc::init`] has instantiated the component.
    HttpServer = 3,
    /// A WASI preview1 command: module 0, its imports bound to the
    /// preview1 host's functions through [`ProgramDesc::trampolines`] (one
    /// per import, in import order), then its `_start` export
    /// [`ProgramDesc::entry_export`] called ([`crate::preview1`]).
    Preview1 = 4,
    /// A component built as a library (`smelt build --emit staticlib`):
    /// no `main`; the embedding program instantiates it through the
    /// runtime's C API (`smelt_lib_new`), which runs the initializers of
    /// the [`crate::component::LibraryDesc`] in [`ProgramDesc::init`], and
    /// calls its exports (`smelt_lib_call`).
    Library = 5,
}

impl ProgramKind {
    /// The symbol of the runtime function that runs a program of this kind
    /// ([`ProgramDesc::run`]). The program refers to it by name, so that an
    /// executable links only the runtime its kind needs (no `.wast` driver
    /// in a component, no component runtime in a core command).
    pub fn run_symbol(self) -> &'static str {
        match self {
            ProgramKind::WastScript => "smelt_run_wast_script",
            ProgramKind::CoreCommand => "smelt_run_core_command",
            ProgramKind::Component => "smelt_run_component",
            ProgramKind::HttpServer => "smelt_run_http_server",
            ProgramKind::Preview1 => "smelt_run_preview1",
            ProgramKind::Library => "smelt_run_library",
        }
    }
}

/// Root of a compiled program.
#[repr(C)]
#[derive(Debug)]
pub struct ProgramDesc {
    /// [`crate::ABI_VERSION`] of the compiler that emitted this.
    pub abi_version: u32,
    /// A [`ProgramKind`] value.
    pub kind: u32,
    /// Every compiled function, sorted by address (compiled code is laid
    /// out in this order in one text section).
    pub funcs: *const FuncInfo,
    /// Number of entries in `funcs`.
    pub n_funcs: u64,
    /// Trap sites of all functions; each function's are a contiguous,
    /// offset-sorted run.
    pub trap_sites: *const TrapSite,
    /// Number of entries in `trap_sites`.
    pub n_trap_sites: u64,
    /// Exception handlers of all functions; each function's are a
    /// contiguous run sorted by return address.
    pub handler_sites: *const HandlerSite,
    /// Number of entries in `handler_sites`.
    pub n_handler_sites: u64,
    /// Code of inlined functions in all functions; each function's are a
    /// contiguous run sorted by start offset.
    pub inline_sites: *const InlineSite,
    /// Number of entries in `inline_sites`.
    pub n_inline_sites: u64,
    /// Stack maps of all functions; each function's are a contiguous run
    /// sorted by return address.
    pub stack_map_sites: *const crate::gc::StackMapSite,
    /// Number of entries in `stack_map_sites`.
    pub n_stack_map_sites: u64,
    /// The slot offsets the stack maps refer to.
    pub stack_map_slots: *const u32,
    /// Number of entries in `stack_map_slots`.
    pub n_stack_map_slots: u64,
    /// The type table, indexed by canonical type id.
    pub types: *const crate::gc::VMTypeInfo,
    /// Number of entries in `types`.
    pub n_types: u64,
    /// UTF-8 function names, concatenated.
    pub names: *const u8,
    /// Length of `names` in bytes.
    pub names_len: u64,
    /// The modules of the program.
    pub modules: *const ModuleDesc,
    /// Number of entries in `modules`.
    pub n_modules: u64,
    /// The encoded script ([`ProgramKind::WastScript`]); empty otherwise.
    pub script: *const u8,
    /// Length of `script` in bytes.
    pub script_len: u64,
    /// Export of module 0 to call ([`ProgramKind::CoreCommand`],
    /// [`ProgramKind::Preview1`]), or the entry adapter
    /// ([`ProgramKind::Component`]); `u32::MAX` for none.
    pub entry_export: u32,
    /// Largest number of [`ValRaw`] slots any exported function needs.
    pub max_values: u32,
    /// The encoded `smelt_abi::component::ComponentDesc` (empty when the
    /// program has no component).
    pub component: *const u8,
    /// Length of `component` in bytes.
    pub component_len: u64,
    /// The encoded initializers (`Vec<smelt_abi::component::InitOp>`) of a
    /// [`ProgramKind::Component`] program, or the encoded
    /// [`crate::preview1::Preview1Desc`] of a [`ProgramKind::Preview1`]
    /// one.
    pub init: *const u8,
    /// Length of `init` in bytes.
    pub init_len: u64,
    /// The compiled trampolines, by index (of a
    /// [`ProgramKind::Preview1`] program: one per import of module 0).
    pub trampolines: *const TrampolineCode,
    /// Number of entries in `trampolines`.
    pub n_trampolines: u64,
    /// The encoded `smelt_abi::wasi::WasiConfig` of a
    /// [`ProgramKind::Component`] or [`ProgramKind::Preview1`] program: the
    /// capabilities granted at build time (empty for other kinds).
    pub wasi: *const u8,
    /// Length of `wasi` in bytes.
    pub wasi_len: u64,
    /// The runtime function that runs the program, found by the symbol
    /// [`ProgramKind::run_symbol`] of its kind (an `entry::RunFn` of
    /// `smelt-rt`).
    pub run: *const u8,
}

/// A compiled trampoline (see `smelt_abi::component`).
///
/// # Layout (24 bytes)
#[repr(C)]
#[derive(Debug)]
pub struct TrampolineCode {
    /// Its code: `(context, params...) -> results`, wasm calling convention.
    pub code: *const u8,
    /// Canonical id of its core function type (for `call_indirect`).
    pub type_id: u32,
    /// Padding.
    pub padding: u32,
    /// The runtime function (a [`crate::vm::TrampolineFn`]) that a
    /// [`crate::component::TrampolineKind::Host`] trampoline calls (its
    /// host function's shim, `smelt-wit`'s `HostFunction::symbol`) or a
    /// [`crate::component::TrampolineKind::Builtin`] one calls
    /// ([`crate::BUILTIN_TRAMPOLINE_SYMBOL`]); null for other kinds. The
    /// object refers to it by its symbol, so that an executable links only
    /// the host functions its program imports, and the built-ins (the
    /// async runtime) only if it uses one.
    pub callee: *const u8,
}

/// One compiled function, for backtraces, trap, handler and stack map
/// lookup.
///
/// # Layout (56 bytes)
#[repr(C)]
#[derive(Debug)]
pub struct FuncInfo {
    /// Address of the function's first instruction.
    pub addr: *const u8,
    /// Length of the function's code, in bytes.
    pub len: u32,
    /// Start of the function's name in [`ProgramDesc::names`].
    pub name_start: u32,
    /// Length of the name in bytes.
    pub name_len: u32,
    /// Index of the function's first trap site in
    /// [`ProgramDesc::trap_sites`].
    pub traps_start: u32,
    /// Number of the function's trap sites.
    pub traps_len: u32,
    /// A [`FuncKind`] value.
    pub kind: u32,
    /// Index of the function's first handler site in
    /// [`ProgramDesc::handler_sites`].
    pub handlers_start: u32,
    /// Number of the function's handler sites.
    pub handlers_len: u32,
    /// Index of the function's first stack map site in
    /// [`ProgramDesc::stack_map_sites`].
    pub stack_maps_start: u32,
    /// Number of the function's stack map sites.
    pub stack_maps_len: u32,
    /// Index of the function's first inline site in
    /// [`ProgramDesc::inline_sites`].
    pub inlines_start: u32,
    /// Number of the function's inline sites.
    pub inlines_len: u32,
}

/// What a compiled function is.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuncKind {
    /// A function of the guest: shown in wasm backtraces.
    Wasm = 0,
    /// Code smelt generates around guest functions (trampolines,
    /// instantiation): not shown in wasm backtraces.
    Generated = 1,
}

/// An instruction that may trap: 5 bytes, unaligned (`packed`), since an
/// executable holds one per memory access and the table is only searched
/// when a signal arrives.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct TrapSite {
    /// Offset of the instruction from its function's start, in bytes.
    pub offset: u32,
    /// A [`crate::trap::TrapCode`] value.
    pub code: u8,
}

/// A call site inside a `try_table` or `try` block: a call from which an
/// exception unwinds to a handler in the calling function.
///
/// # Layout (12 bytes)
///
/// When a throw finds the return address `ret_offset` in the frame whose
/// frame pointer is `fp`, it resumes at `handler_offset` with the stack
/// pointer `fp - frame_offset`, the frame pointer `fp`, and the exception
/// in the first exception payload register (Cranelift's `tail` calling
/// convention: every other register is clobbered at such a call).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HandlerSite {
    /// Offset of the call's return address from its function's start.
    pub ret_offset: u32,
    /// Offset of the handler from its function's start.
    pub handler_offset: u32,
    /// Distance from the frame pointer down to the stack pointer at the
    /// call, in bytes.
    pub frame_offset: u32,
}

/// A range of a function's code that came from another function inlined
/// into it (see the compiler's `core::inline`), for backtraces: a program
/// counter in `start..end` is in `callee`, called from the function.
///
/// # Layout (12 bytes)
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct InlineSite {
    /// Offset of the range's first byte from its function's start.
    pub start: u32,
    /// Offset of the byte after the range.
    pub end: u32,
    /// The inlined function: an index into [`ProgramDesc::funcs`].
    pub callee: u32,
}

/// One compiled core module.
#[repr(C)]
#[derive(Debug)]
pub struct ModuleDesc {
    /// Its instantiation function.
    pub instantiate: InstantiateFn,
    /// Its exports, in the module's export order.
    pub exports: *const ExportDesc,
    /// Number of entries in `exports`.
    pub n_exports: u32,
    /// Size of an instance's `vmctx`, in bytes (a multiple of 16).
    pub vmctx_size: u32,
}

/// Kind of an export.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// A function: the export pointer is a `*const VMFuncRef`.
    Func = 0,
    /// A table: `*mut VMTableDefinition`.
    Table = 1,
    /// A memory: `*mut VMMemoryDefinition`.
    Memory = 2,
    /// A global: `*mut VMGlobal`.
    Global = 3,
    /// A tag: `*const VMTag`.
    Tag = 4,
}

/// One export of a module.
///
/// The export's pointer (what an importer receives) is `vmctx +
/// vmctx_offset` when `indirect` is 0, and the pointer stored at that
/// address when `indirect` is 1 (a re-exported import).
#[repr(C)]
#[derive(Debug)]
pub struct ExportDesc {
    /// For functions, the array-call trampoline; otherwise `None`.
    pub array_call: Option<ArrayCallFn>,
    /// Offset of the entity (or of the pointer to it) in the `vmctx`.
    pub vmctx_offset: u32,
    /// An [`ExportKind`] value.
    pub kind: u8,
    /// 1 when the entity is imported (see above).
    pub indirect: u8,
    /// Padding.
    pub padding: u16,
    /// For functions: number of parameters.
    pub params: u32,
    /// For functions: number of results.
    pub results: u32,
}
