//! The component model's part of the contract: value types with their
//! canonical ABI layout and flattening, the trampolines generated code
//! imports, and the initializers that instantiate a flattened component.
//!
//! Layout and flattening follow CanonicalABI.md ("Alignment", "Element
//! Size", "Flattening"); both the compiler (signatures of lowered imports,
//! test values) and the runtime (the canonical ABI of adapters) use these
//! functions, so they agree by construction.
//!
//! # Trampolines
//!
//! Every function a core module imports from the component layer (a
//! lowered function, a resource built-in) is a compiled trampoline of one
//! shape: it stores its flat arguments in an array of 16-byte slots, calls
//! the C function in its context's first field as `f(context, args,
//! results) -> status`, and traps when the status is not 0 (the runtime
//! then knows the trap's details). What the function does is the
//! trampoline's [`TrampolineKind`].

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// Defines a typed index into one of the component layer's index spaces: a
/// `u32` that cannot be mistaken for an index into another space.
macro_rules! entity_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// The index `index`.
            pub const fn from_u32(index: u32) -> Self {
                $name(index)
            }

            /// The index as a `u32`.
            pub const fn as_u32(self) -> u32 {
                self.0
            }

            /// The index as a `usize`, to index a vector.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl Encode for $name {
            fn encode(&self, w: &mut Writer) {
                w.u32(self.0);
            }
        }

        impl Decode for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.u32().map($name)
            }
        }
    };
}

entity_index! {
    /// A component instance, in the order [`InitOp::ComponentInstance`]
    /// creates them (the host's own instance is not numbered).
    ComponentInstanceIndex
}

/// The instance number standing for the host (its own instance is not
/// numbered): the implementer of WASI's resource types and of those the
/// user's native code implements ([`InitOp::Resource`]'s `instance`).
pub const HOST_INSTANCE: ComponentInstanceIndex = ComponentInstanceIndex::from_u32(u32::MAX);

entity_index! {
    /// A core module instance, in the order [`InitOp::CoreInstance`]
    /// creates them.
    CoreInstanceIndex
}

entity_index! {
    /// A trampoline: index in [`ComponentDesc::trampolines`].
    TrampolineIndex
}

entity_index! {
    /// A runtime resource type, in the order [`InitOp::Resource`] creates
    /// them (each `resource` definition of each component instance is its
    /// own type).
    ResourceIndex
}

entity_index! {
    /// A component function type: index in [`ComponentDesc::funcs`].
    FuncTypeIndex
}

/// Index of a type in a [`ComponentDesc::types`] table.
pub type TypeId = u32;

/// A component-level value type (CanonicalABI.md "Types"); tuples, enums,
/// options and results are given in their despecialized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValType {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `string`.
    String,
    /// `list<T>`.
    List(TypeId),
    /// A record or tuple: the field types in order.
    Record(Vec<TypeId>),
    /// A variant, enum, option or result: each case's payload type.
    Variant(Vec<Option<TypeId>>),
    /// `flags` with this many labels.
    Flags(u32),
    /// `own<R>` of runtime resource type `R`.
    Own(ResourceIndex),
    /// `borrow<R>` of runtime resource type `R`.
    Borrow(ResourceIndex),
    /// `stream<T>` (or a stream without elements).
    Stream(Option<TypeId>),
    /// `future<T>` (or a future without a value).
    Future(Option<TypeId>),
    /// `error-context`.
    ErrorContext,
}

/// A core value type of the flattened representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlatType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

/// Most flat parameters passed directly; more go through memory.
pub const MAX_FLAT_PARAMS: usize = 16;
/// Most flat results returned directly; more go through memory.
pub const MAX_FLAT_RESULTS: usize = 1;
/// Most flat parameters an `async` lowering passes directly.
pub const MAX_FLAT_ASYNC_PARAMS: usize = 4;
/// The tag bit of a `latin1+utf16` string's code-unit count marking UTF-16.
pub const UTF16_TAG: u32 = 1 << 31;

/// The joined flat type of two variant cases at one position
/// (CanonicalABI.md "Flattening", `join`).
pub fn join(a: FlatType, b: FlatType) -> FlatType {
    match (a, b) {
        _ if a == b => a,
        (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
        _ => FlatType::I64,
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two: a mask, not a
/// division).
#[inline]
pub fn align_to(n: u32, align: u32) -> u32 {
    debug_assert!(align.is_power_of_two());
    (n + (align - 1)) & !(align - 1)
}

/// Whether `n` is a multiple of `align` (a power of two: a mask, not a
/// division, which the run-time checks of guest pointers would pay on
/// every value they move).
#[inline]
pub fn is_aligned(n: u32, align: u32) -> bool {
    debug_assert!(align.is_power_of_two());
    n & (align - 1) == 0
}

/// The size of a variant's discriminant for `cases` cases, in bytes.
pub fn discriminant_size(cases: usize) -> u32 {
    match cases {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ => 4,
    }
}

/// Which memory a value's layout is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// A guest's 32-bit linear memory (the Canonical ABI's layout):
    /// `string` and `list` are a 4-byte pointer and a 4-byte length.
    Guest,
    /// The native memory of a program embedding a library (`smelt build
    /// --emit staticlib`): the same layout with 64-bit pointers and
    /// lengths (`string` and `list` are `{ T *ptr; size_t len; }`, 16
    /// bytes aligned to 8): a C struct's layout of the same fields.
    Native,
}

impl Model {
    /// The size and alignment of a pointer (and a length), in bytes.
    pub fn pointer_size(self) -> u32 {
        match self {
            Model::Guest => 4,
            Model::Native => 8,
        }
    }
}

/// A table of value types with their layouts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeTable {
    /// The types; elements refer to each other by index.
    pub types: Vec<ValType>,
}

impl TypeTable {
    /// Adds `ty` (or finds an equal one) and returns its id.
    pub fn intern(&mut self, ty: ValType) -> TypeId {
        if let Some(i) = self.types.iter().position(|t| *t == ty) {
            return i as TypeId;
        }
        self.types.push(ty);
        (self.types.len() - 1) as TypeId
    }

    /// The type with id `t`.
    pub fn get(&self, t: TypeId) -> &ValType {
        &self.types[t as usize]
    }

    /// Alignment of `t` in bytes, in a guest's linear memory.
    pub fn alignment(&self, t: TypeId) -> u32 {
        self.alignment_in(t, Model::Guest)
    }

    /// Size of `t` in bytes (its element size in a list), in a guest's
    /// linear memory.
    pub fn size(&self, t: TypeId) -> u32 {
        self.size_in(t, Model::Guest)
    }

    /// Offset of a variant's payload from its start, in bytes, in a
    /// guest's linear memory.
    pub fn payload_offset(&self, cases: &[Option<TypeId>]) -> u32 {
        self.payload_offset_in(cases, Model::Guest)
    }

    /// Offsets of a record's fields, in bytes, in a guest's linear memory.
    pub fn field_offsets(&self, fields: &[TypeId]) -> Vec<u32> {
        self.field_offsets_in(fields, Model::Guest)
    }

    /// Alignment of `t` in bytes in memory model `m` (CanonicalABI.md
    /// "Alignment").
    pub fn alignment_in(&self, t: TypeId, m: Model) -> u32 {
        match self.get(t) {
            ValType::Bool | ValType::S8 | ValType::U8 => 1,
            ValType::S16 | ValType::U16 => 2,
            ValType::S32 | ValType::U32 | ValType::F32 | ValType::Char => 4,
            ValType::S64 | ValType::U64 | ValType::F64 => 8,
            ValType::String | ValType::List(_) => m.pointer_size(),
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => 4,
            ValType::Record(fields) => fields
                .iter()
                .map(|&f| self.alignment_in(f, m))
                .max()
                .unwrap_or(1),
            ValType::Variant(cases) => {
                discriminant_size(cases.len()).max(self.max_case_alignment(cases, m))
            }
            ValType::Flags(n) => match n {
                0..=8 => 1,
                9..=16 => 2,
                _ => 4,
            },
        }
    }

    fn max_case_alignment(&self, cases: &[Option<TypeId>], m: Model) -> u32 {
        cases
            .iter()
            .flatten()
            .map(|&c| self.alignment_in(c, m))
            .max()
            .unwrap_or(1)
    }

    /// Size of `t` in bytes in memory model `m` (CanonicalABI.md "Element
    /// Size").
    pub fn size_in(&self, t: TypeId, m: Model) -> u32 {
        match self.get(t) {
            ValType::Bool | ValType::S8 | ValType::U8 => 1,
            ValType::S16 | ValType::U16 => 2,
            ValType::S32 | ValType::U32 | ValType::F32 | ValType::Char => 4,
            ValType::S64 | ValType::U64 | ValType::F64 => 8,
            ValType::String | ValType::List(_) => 2 * m.pointer_size(),
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => 4,
            ValType::Record(fields) => {
                let mut s = 0;
                for &f in fields {
                    s = align_to(s, self.alignment_in(f, m)) + self.size_in(f, m);
                }
                align_to(s, self.alignment_in(t, m))
            }
            ValType::Variant(cases) => {
                let mut s = self.payload_offset_in(cases, m);
                s += cases
                    .iter()
                    .flatten()
                    .map(|&c| self.size_in(c, m))
                    .max()
                    .unwrap_or(0);
                align_to(s, self.alignment_in(t, m))
            }
            ValType::Flags(n) => match n {
                0 => 0,
                1..=8 => 1,
                9..=16 => 2,
                n => 4 * n.div_ceil(32),
            },
        }
    }

    /// Offset of a variant's payload from its start, in bytes, in memory
    /// model `m`.
    pub fn payload_offset_in(&self, cases: &[Option<TypeId>], m: Model) -> u32 {
        align_to(
            discriminant_size(cases.len()),
            self.max_case_alignment(cases, m),
        )
    }

    /// Offsets of a record's fields, in bytes, in memory model `m`.
    pub fn field_offsets_in(&self, fields: &[TypeId], m: Model) -> Vec<u32> {
        self.field_offsets_iter(fields, m).collect()
    }

    /// [`TypeTable::field_offsets_in`], computed as they are read (no
    /// allocation).
    pub fn field_offsets_iter<'a>(
        &'a self,
        fields: &'a [TypeId],
        m: Model,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut s = 0;
        fields.iter().map(move |&f| {
            s = align_to(s, self.alignment_in(f, m));
            let at = s;
            s += self.size_in(f, m);
            at
        })
    }

    /// The number of flat values of `t` (the length of
    /// [`TypeTable::flat`], without building it).
    pub fn flat_len(&self, t: TypeId) -> usize {
        match self.get(t) {
            ValType::String | ValType::List(_) => 2,
            ValType::Record(fields) => fields.iter().map(|&f| self.flat_len(f)).sum(),
            ValType::Variant(cases) => {
                1 + cases
                    .iter()
                    .flatten()
                    .map(|&c| self.flat_len(c))
                    .max()
                    .unwrap_or(0)
            }
            ValType::Flags(n) => n.div_ceil(32) as usize,
            _ => 1,
        }
    }

    /// Appends the flat representation of `t` to `out`.
    pub fn flatten(&self, t: TypeId, out: &mut Vec<FlatType>) {
        match self.get(t) {
            ValType::Bool
            | ValType::S8
            | ValType::U8
            | ValType::S16
            | ValType::U16
            | ValType::S32
            | ValType::U32
            | ValType::Char
            | ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => out.push(FlatType::I32),
            ValType::S64 | ValType::U64 => out.push(FlatType::I64),
            ValType::F32 => out.push(FlatType::F32),
            ValType::F64 => out.push(FlatType::F64),
            ValType::String | ValType::List(_) => {
                out.extend([FlatType::I32, FlatType::I32]);
            }
            ValType::Record(fields) => {
                for &f in fields {
                    self.flatten(f, out);
                }
            }
            ValType::Variant(cases) => {
                let start = out.len();
                out.push(FlatType::I32);
                let mut payload: Vec<FlatType> = Vec::new();
                let mut case_flat = Vec::new();
                for &c in cases.iter().flatten() {
                    case_flat.clear();
                    self.flatten(c, &mut case_flat);
                    for (i, &ft) in case_flat.iter().enumerate() {
                        match payload.get_mut(i) {
                            Some(slot) => *slot = join(*slot, ft),
                            None => payload.push(ft),
                        }
                    }
                }
                out.extend(payload);
                debug_assert!(out.len() > start);
            }
            ValType::Flags(n) => {
                out.extend(std::iter::repeat_n(FlatType::I32, n.div_ceil(32) as usize));
            }
        }
    }

    /// The flat representation of `t`.
    pub fn flat(&self, t: TypeId) -> Vec<FlatType> {
        let mut v = Vec::new();
        self.flatten(t, &mut v);
        v
    }
}

/// A component function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<TypeId>,
    /// Result type, if any.
    pub result: Option<TypeId>,
    /// Whether the type is `async` (its callee may block before it
    /// returns).
    pub async_: bool,
}

/// The core signature of a function of type `f` as lifted or lowered
/// (CanonicalABI.md "Flattening", `flatten_functype`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSignature {
    /// Core parameters.
    pub params: Vec<FlatType>,
    /// Core results.
    pub results: Vec<FlatType>,
    /// Whether the parameters are passed through memory (one pointer).
    pub params_indirect: bool,
    /// Whether the results are returned through memory.
    pub results_indirect: bool,
}

/// Whether a core signature is for the lifting (callee) or lowering
/// (caller) side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `canon lift`: results through memory are returned as a pointer.
    Lift,
    /// `canon lower`: results through memory go to a caller-given pointer
    /// passed as the last parameter.
    Lower,
}

impl TypeTable {
    /// The core signature of `f` in `context` for a synchronous lift or
    /// lower.
    pub fn core_signature(&self, f: &FuncType, context: Context) -> CoreSignature {
        self.core_signature_with(f, context, false, false)
    }

    /// The core signature of `f` in `context` (CanonicalABI.md
    /// `flatten_functype`), for a lift or lower with the `async` option
    /// (`async_`) and, for a lift, a `callback` option.
    pub fn core_signature_with(
        &self,
        f: &FuncType,
        context: Context,
        async_: bool,
        callback: bool,
    ) -> CoreSignature {
        let mut params = Vec::new();
        for &p in &f.params {
            self.flatten(p, &mut params);
        }
        let mut results = Vec::new();
        if let Some(r) = f.result {
            self.flatten(r, &mut results);
        }
        let max_params = match (async_, context) {
            (true, Context::Lower) => MAX_FLAT_ASYNC_PARAMS,
            _ => MAX_FLAT_PARAMS,
        };
        let params_indirect = params.len() > max_params;
        if params_indirect {
            params = vec![FlatType::I32];
        }
        if async_ {
            let results_indirect = !results.is_empty() && context == Context::Lower;
            if results_indirect {
                params.push(FlatType::I32);
            }
            let results = match context {
                Context::Lift if !callback => Vec::new(),
                _ => vec![FlatType::I32],
            };
            return CoreSignature {
                params,
                results,
                params_indirect,
                results_indirect,
            };
        }
        let results_indirect = results.len() > MAX_FLAT_RESULTS;
        if results_indirect {
            match context {
                Context::Lift => results = vec![FlatType::I32],
                Context::Lower => {
                    results.clear();
                    params.push(FlatType::I32);
                }
            }
        }
        CoreSignature {
            params,
            results,
            params_indirect,
            results_indirect,
        }
    }
}

/// A string encoding option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringEncoding {
    /// `string-encoding=utf8`.
    Utf8,
    /// `string-encoding=utf16`.
    Utf16,
    /// `string-encoding=latin1+utf16`.
    Latin1Utf16,
}

/// The canonical options of one side of a call, as far as the code is
/// concerned; which memory and functions they name are in the
/// trampoline's references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanonOptions {
    /// The string encoding.
    pub string_encoding: StringEncoding,
    /// Whether a memory is given.
    pub memory: bool,
    /// Whether a `realloc` is given.
    pub realloc: bool,
    /// Whether a `post-return` is given (lifts only).
    pub post_return: bool,
    /// Whether the `async` option is given.
    pub async_: bool,
    /// Whether a `callback` is given (async lifts only).
    pub callback: bool,
}

impl CanonOptions {
    /// The options of a synchronous lift or lower with only a string
    /// encoding.
    pub const fn plain(string_encoding: StringEncoding) -> Self {
        CanonOptions {
            string_encoding,
            memory: false,
            realloc: false,
            post_return: false,
            async_: false,
            callback: false,
        }
    }
}

/// What a trampoline does (see the module documentation); what it refers
/// to is the [`TrampolineRefs`] variant of the same name (the three
/// resource built-ins share `Resource`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrampolineKind {
    /// A call from one component instance to a function lifted by another:
    /// lifts the arguments from the caller, lowers them into the callee,
    /// calls, and carries the result back (CanonicalABI.md `canon lower`
    /// of a `canon lift`).
    Adapter {
        /// The function type.
        func: FuncTypeIndex,
        /// The caller's (lowering) options.
        caller: CanonOptions,
        /// The callee's (lifting) options.
        callee: CanonOptions,
    },
    /// A host function (WASI) lowered into a component instance.
    Host {
        /// The host function's number (see `smelt-wit`).
        func: u32,
        /// Its type as the caller sees it (the runtime finds the stream
        /// and future types of its result there).
        ty: FuncTypeIndex,
        /// The caller's (lowering) options.
        options: CanonOptions,
    },
    /// `canon resource.new`.
    ResourceNew {
        /// Runtime resource type.
        resource: ResourceIndex,
    },
    /// `canon resource.rep`.
    ResourceRep {
        /// Runtime resource type.
        resource: ResourceIndex,
    },
    /// `canon resource.drop`.
    ResourceDrop {
        /// Runtime resource type.
        resource: ResourceIndex,
    },
    /// One of the component model's async built-ins (task, waitable set,
    /// subtask, stream, future and error-context operations).
    Builtin(Builtin),
    /// A function the component imports that the user's native code
    /// implements (issue 18, native imports): the arguments are lifted from
    /// the caller into native memory ([`Model::Native`]), the C function
    /// [`native_import_symbol`]`(key)` is called with them, and its result
    /// is lowered back into the caller.
    Native {
        /// The import's key: `"<interface>#<function>"` (e.g.
        /// `"test:imports/host@0.1.0#add"`), or the function's name for a
        /// function imported at the top level.
        key: String,
        /// Its type as the caller sees it.
        ty: FuncTypeIndex,
        /// The caller's (lowering) options.
        options: CanonOptions,
    },
}

/// The C symbol of the glue that calls the native implementation of the
/// imported function `key` (see [`TrampolineKind::Native`]):
/// `smelt_import_` followed by `key` with every byte that is not an ASCII
/// letter or digit written as `_` and two lower-case hex digits (so
/// `"a:b/c#d-e"` is `smelt_import_a_3ab_2fc_23d_2de`), one symbol per key.
///
/// The glue, which the library's C header defines, has the C signature
/// `void (const void *args, void *ret)`: `args` points to the parameters as
/// a struct in the native layout, `ret` to room for the result.
pub fn native_import_symbol(key: &str) -> String {
    let mut symbol = String::from("smelt_import_");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() {
            symbol.push(char::from(b));
        } else {
            symbol.push_str(&format!("_{b:02x}"));
        }
    }
    symbol
}

/// Which async built-in a [`Builtin`] trampoline is (CanonicalABI.md,
/// "Canonical Built-ins").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BuiltinOp {
    /// `canon task.return`: `ty` is the result type.
    TaskReturn,
    /// `canon task.cancel`.
    TaskCancel,
    /// `canon context.get`: `slot` is the slot.
    ContextGet,
    /// `canon context.set`: `slot` is the slot.
    ContextSet,
    /// `canon backpressure.inc`.
    BackpressureInc,
    /// `canon backpressure.dec`.
    BackpressureDec,
    /// `canon thread.yield`.
    Yield,
    /// `canon subtask.drop`.
    SubtaskDrop,
    /// `canon subtask.cancel`.
    SubtaskCancel,
    /// `canon waitable-set.new`.
    WaitableSetNew,
    /// `canon waitable-set.wait`.
    WaitableSetWait,
    /// `canon waitable-set.poll`.
    WaitableSetPoll,
    /// `canon waitable-set.drop`.
    WaitableSetDrop,
    /// `canon waitable.join`.
    WaitableJoin,
    /// `canon stream.new`: `ty` is the stream type.
    StreamNew,
    /// `canon stream.read`.
    StreamRead,
    /// `canon stream.write`.
    StreamWrite,
    /// `canon stream.cancel-read`.
    StreamCancelRead,
    /// `canon stream.cancel-write`.
    StreamCancelWrite,
    /// `canon stream.drop-readable`.
    StreamDropReadable,
    /// `canon stream.drop-writable`.
    StreamDropWritable,
    /// `canon future.new`: `ty` is the future type.
    FutureNew,
    /// `canon future.read`.
    FutureRead,
    /// `canon future.write`.
    FutureWrite,
    /// `canon future.cancel-read`.
    FutureCancelRead,
    /// `canon future.cancel-write`.
    FutureCancelWrite,
    /// `canon future.drop-readable`.
    FutureDropReadable,
    /// `canon future.drop-writable`.
    FutureDropWritable,
    /// `canon error-context.new`.
    ErrorContextNew,
    /// `canon error-context.debug-message`.
    ErrorContextDebugMessage,
    /// `canon error-context.drop`.
    ErrorContextDrop,
    /// `canon thread.index`.
    ThreadIndex,
    /// `canon thread.new-indirect` (the second reference is the start
    /// helper's function, not a memory).
    ThreadNewIndirect,
    /// `canon thread.suspend`.
    ThreadSuspend,
    /// `canon thread.resume-later`.
    ThreadResumeLater,
    /// `canon thread.suspend-then-resume`.
    ThreadSuspendThenResume,
    /// `canon thread.yield-then-resume`.
    ThreadYieldThenResume,
}

impl BuiltinOp {
    const ALL: [BuiltinOp; 37] = [
        BuiltinOp::TaskReturn,
        BuiltinOp::TaskCancel,
        BuiltinOp::ContextGet,
        BuiltinOp::ContextSet,
        BuiltinOp::BackpressureInc,
        BuiltinOp::BackpressureDec,
        BuiltinOp::Yield,
        BuiltinOp::SubtaskDrop,
        BuiltinOp::SubtaskCancel,
        BuiltinOp::WaitableSetNew,
        BuiltinOp::WaitableSetWait,
        BuiltinOp::WaitableSetPoll,
        BuiltinOp::WaitableSetDrop,
        BuiltinOp::WaitableJoin,
        BuiltinOp::StreamNew,
        BuiltinOp::StreamRead,
        BuiltinOp::StreamWrite,
        BuiltinOp::StreamCancelRead,
        BuiltinOp::StreamCancelWrite,
        BuiltinOp::StreamDropReadable,
        BuiltinOp::StreamDropWritable,
        BuiltinOp::FutureNew,
        BuiltinOp::FutureRead,
        BuiltinOp::FutureWrite,
        BuiltinOp::FutureCancelRead,
        BuiltinOp::FutureCancelWrite,
        BuiltinOp::FutureDropReadable,
        BuiltinOp::FutureDropWritable,
        BuiltinOp::ErrorContextNew,
        BuiltinOp::ErrorContextDebugMessage,
        BuiltinOp::ErrorContextDrop,
        BuiltinOp::ThreadIndex,
        BuiltinOp::ThreadNewIndirect,
        BuiltinOp::ThreadSuspend,
        BuiltinOp::ThreadResumeLater,
        BuiltinOp::ThreadSuspendThenResume,
        BuiltinOp::ThreadYieldThenResume,
    ];
}

/// An async built-in with its immediates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Builtin {
    /// Which built-in.
    pub op: BuiltinOp,
    /// Its type immediate: `task.return`'s result type, a stream's or
    /// future's type.
    pub ty: Option<TypeId>,
    /// `context.get`/`context.set`'s slot.
    pub slot: u32,
    /// The `async` immediate of `subtask.cancel` and the `cancel-*`
    /// built-ins.
    pub async_: bool,
    /// Canonical options (memory, string encoding, `async`) of the
    /// built-ins that take them.
    pub options: CanonOptions,
}

/// One side of a call as a trampoline refers to it: the component
/// instance and the memory and realloc of its canonical options
/// ([`Ref::None`] when the options have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SideRefs<R> {
    /// The component instance (its runtime state).
    pub instance: R,
    /// The `memory` option.
    pub memory: R,
    /// The `realloc` option.
    pub realloc: R,
}

/// What one trampoline refers to, by its [`TrampolineKind`], resolved by
/// the runtime when [`InitOp::Trampoline`] runs. `R` is [`Ref`] in the
/// description; the runtime maps it to what it resolves a [`Ref`] to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrampolineRefs<R> {
    /// For [`TrampolineKind::Adapter`].
    Adapter {
        /// The lowering side; for the host's own calls into a component
        /// ([`Ref::Host`] as every field), the host's instance, memory and
        /// allocator.
        caller: SideRefs<R>,
        /// The lifting side.
        callee: SideRefs<R>,
        /// The lifted core function.
        func: R,
        /// Its `post-return` option.
        post_return: R,
        /// Its `callback` option (the callback ABI of async lifts).
        callback: R,
    },
    /// For [`TrampolineKind::Host`]: the calling instance and its options.
    Host(SideRefs<R>),
    /// For [`TrampolineKind::Builtin`].
    Builtin {
        /// The calling instance and the built-in's options.
        caller: SideRefs<R>,
        /// `thread.new-indirect`'s start function (a helper that calls
        /// through the table); [`Ref::None`] for the other built-ins.
        start: R,
    },
    /// For the resource built-ins: the instance that implements the
    /// resource type.
    Resource {
        /// The component instance.
        instance: R,
    },
}

impl<R> SideRefs<R> {
    /// Applies `f` to each reference.
    pub fn map<S>(self, mut f: impl FnMut(R) -> S) -> SideRefs<S> {
        SideRefs {
            instance: f(self.instance),
            memory: f(self.memory),
            realloc: f(self.realloc),
        }
    }
}

impl<R> TrampolineRefs<R> {
    /// Applies `f` to each reference, in the order of the fields.
    pub fn map<S>(self, mut f: impl FnMut(R) -> S) -> TrampolineRefs<S> {
        match self {
            TrampolineRefs::Adapter {
                caller,
                callee,
                func,
                post_return,
                callback,
            } => TrampolineRefs::Adapter {
                caller: caller.map(&mut f),
                callee: callee.map(&mut f),
                func: f(func),
                post_return: f(post_return),
                callback: f(callback),
            },
            TrampolineRefs::Host(caller) => TrampolineRefs::Host(caller.map(f)),
            TrampolineRefs::Builtin { caller, start } => TrampolineRefs::Builtin {
                caller: caller.map(&mut f),
                start: f(start),
            },
            TrampolineRefs::Resource { instance } => TrampolineRefs::Resource {
                instance: f(instance),
            },
        }
    }
}

/// Something a trampoline or an instantiation refers to, resolved at
/// instantiation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ref {
    /// Nothing (an absent option).
    None,
    /// Export `export` of core instance `instance`.
    CoreExport {
        /// Core instance.
        instance: CoreInstanceIndex,
        /// Export index in its module.
        export: u32,
    },
    /// A trampoline, as a function.
    Trampoline(TrampolineIndex),
    /// A component instance (its runtime state).
    ComponentInstance(ComponentInstanceIndex),
    /// The host side of a call from outside (the test harness or the
    /// program's entry): its instance, memory and realloc.
    Host,
}

/// What the `init` of a [`crate::program::ProgramKind::Library`] program
/// holds: how to instantiate the component, and the functions the
/// embedding program can call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryDesc {
    /// The initializers, as a component's.
    pub init: Vec<InitOp>,
    /// The exported functions, by function number (the order of their
    /// keys: see [`LibraryExport::key`]).
    pub exports: Vec<LibraryExport>,
    /// The resource types of the exported interfaces, by resource number
    /// (the order of their keys: see [`LibraryResource::key`]): what the
    /// C header's `_drop` functions name.
    pub resources: Vec<LibraryResource>,
}

/// One resource type of a library's exported interfaces, whose handles
/// the embedding program holds (a `uint32_t` index into the host's handle
/// table) and drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryResource {
    /// `"<instance export name>#<resource name>"`: the key the C header's
    /// resource numbers are the sorted order of.
    pub key: String,
    /// The runtime resource type.
    pub resource: ResourceIndex,
}

impl Encode for LibraryResource {
    fn encode(&self, w: &mut Writer) {
        self.key.encode(w);
        self.resource.encode(w);
    }
}

impl Decode for LibraryResource {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LibraryResource {
            key: String::decode(r)?,
            resource: Decode::decode(r)?,
        })
    }
}

/// One exported function of a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryExport {
    /// `"<instance export name>#<function>"`, or the function's name for a
    /// function exported at the top level: the key the C header's function
    /// numbers are the sorted order of.
    pub key: String,
    /// The export adapter, whose caller is the host (the embedding
    /// program), lowered synchronously.
    pub trampoline: TrampolineIndex,
    /// The function's type.
    pub func: FuncTypeIndex,
}

impl Encode for LibraryDesc {
    fn encode(&self, w: &mut Writer) {
        w.list(&self.init);
        w.list(&self.exports);
        w.list(&self.resources);
    }
}

impl Decode for LibraryDesc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LibraryDesc {
            init: r.list()?,
            exports: r.list()?,
            resources: r.list()?,
        })
    }
}

impl Encode for LibraryExport {
    fn encode(&self, w: &mut Writer) {
        self.key.encode(w);
        self.trampoline.encode(w);
        self.func.encode(w);
    }
}

impl Decode for LibraryExport {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LibraryExport {
            key: String::decode(r)?,
            trampoline: Decode::decode(r)?,
            func: Decode::decode(r)?,
        })
    }
}

/// One step of instantiating a flattened component, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InitOp {
    /// Create the next component instance's state (its handle table),
    /// instantiated inside component instance `parent` (`None` for a root
    /// instance).
    ComponentInstance {
        /// The enclosing component instance.
        parent: Option<ComponentInstanceIndex>,
    },
    /// Create the next runtime resource type, implemented by component
    /// instance `instance`, with an optional destructor (a core function).
    Resource {
        /// The implementing component instance.
        instance: ComponentInstanceIndex,
        /// The destructor.
        dtor: Ref,
    },
    /// Instantiate core module `module` (program-wide index) with `imports`
    /// (one per import, in order); it becomes the next core instance.
    CoreInstance {
        /// The module.
        module: u32,
        /// Its imports.
        imports: Vec<Ref>,
    },
    /// Give trampoline `trampoline` its references; it must come before
    /// any use of the trampoline.
    Trampoline {
        /// The trampoline.
        trampoline: TrampolineIndex,
        /// Its references, of the variant that matches its
        /// [`TrampolineKind`].
        refs: TrampolineRefs<Ref>,
    },
}

/// A function the host can call: a lifted export of the component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExportFunc {
    /// Its name (for messages and the test harness).
    pub name: String,
    /// The adapter (caller: the host) that calls it.
    pub trampoline: TrampolineIndex,
}

/// Everything the runtime needs to know about a program's components.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentDesc {
    /// Value types.
    pub types: TypeTable,
    /// Function types.
    pub funcs: Vec<FuncType>,
    /// Trampolines, by index.
    pub trampolines: Vec<TrampolineKind>,
}

// ----- encoding -----

impl Encode for ValType {
    fn encode(&self, w: &mut Writer) {
        let simple = |w: &mut Writer, tag| w.u8(tag);
        match self {
            ValType::Bool => simple(w, 0),
            ValType::S8 => simple(w, 1),
            ValType::U8 => simple(w, 2),
            ValType::S16 => simple(w, 3),
            ValType::U16 => simple(w, 4),
            ValType::S32 => simple(w, 5),
            ValType::U32 => simple(w, 6),
            ValType::S64 => simple(w, 7),
            ValType::U64 => simple(w, 8),
            ValType::F32 => simple(w, 9),
            ValType::F64 => simple(w, 10),
            ValType::Char => simple(w, 11),
            ValType::String => simple(w, 12),
            ValType::List(t) => {
                w.u8(13);
                w.u32(*t);
            }
            ValType::Record(fields) => {
                w.u8(14);
                w.list(fields);
            }
            ValType::Variant(cases) => {
                w.u8(15);
                w.list(cases);
            }
            ValType::Flags(n) => {
                w.u8(16);
                w.u32(*n);
            }
            ValType::Own(r) => {
                w.u8(17);
                r.encode(w);
            }
            ValType::Borrow(r) => {
                w.u8(18);
                r.encode(w);
            }
            ValType::Stream(t) => {
                w.u8(19);
                w.option(t);
            }
            ValType::Future(t) => {
                w.u8(20);
                w.option(t);
            }
            ValType::ErrorContext => w.u8(21),
        }
    }
}

impl Decode for ValType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u8()? {
            0 => ValType::Bool,
            1 => ValType::S8,
            2 => ValType::U8,
            3 => ValType::S16,
            4 => ValType::U16,
            5 => ValType::S32,
            6 => ValType::U32,
            7 => ValType::S64,
            8 => ValType::U64,
            9 => ValType::F32,
            10 => ValType::F64,
            11 => ValType::Char,
            12 => ValType::String,
            13 => ValType::List(r.u32()?),
            14 => ValType::Record(r.list()?),
            15 => ValType::Variant(r.list()?),
            16 => ValType::Flags(r.u32()?),
            17 => ValType::Own(Decode::decode(r)?),
            18 => ValType::Borrow(Decode::decode(r)?),
            19 => ValType::Stream(r.option()?),
            20 => ValType::Future(r.option()?),
            21 => ValType::ErrorContext,
            _ => return Err(DecodeError(at)),
        })
    }
}

impl Encode for FuncType {
    fn encode(&self, w: &mut Writer) {
        w.list(&self.params);
        w.option(&self.result);
        w.u8(u8::from(self.async_));
    }
}

impl Decode for FuncType {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FuncType {
            params: r.list()?,
            result: r.option()?,
            async_: r.u8()? != 0,
        })
    }
}

impl Encode for CanonOptions {
    fn encode(&self, w: &mut Writer) {
        w.u8(match self.string_encoding {
            StringEncoding::Utf8 => 0,
            StringEncoding::Utf16 => 1,
            StringEncoding::Latin1Utf16 => 2,
        });
        w.u8(u8::from(self.memory)
            | u8::from(self.realloc) << 1
            | u8::from(self.post_return) << 2
            | u8::from(self.async_) << 3
            | u8::from(self.callback) << 4);
    }
}

impl Decode for CanonOptions {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        let string_encoding = match r.u8()? {
            0 => StringEncoding::Utf8,
            1 => StringEncoding::Utf16,
            2 => StringEncoding::Latin1Utf16,
            _ => return Err(DecodeError(at)),
        };
        let bits = r.u8()?;
        Ok(CanonOptions {
            string_encoding,
            memory: bits & 1 != 0,
            realloc: bits & 2 != 0,
            post_return: bits & 4 != 0,
            async_: bits & 8 != 0,
            callback: bits & 16 != 0,
        })
    }
}

impl Encode for TrampolineKind {
    fn encode(&self, w: &mut Writer) {
        match self {
            TrampolineKind::Adapter {
                func,
                caller,
                callee,
            } => {
                w.u8(0);
                func.encode(w);
                caller.encode(w);
                callee.encode(w);
            }
            TrampolineKind::ResourceNew { resource } => {
                w.u8(1);
                resource.encode(w);
            }
            TrampolineKind::Host { func, ty, options } => {
                w.u8(4);
                w.u32(*func);
                ty.encode(w);
                options.encode(w);
            }
            TrampolineKind::ResourceRep { resource } => {
                w.u8(2);
                resource.encode(w);
            }
            TrampolineKind::ResourceDrop { resource } => {
                w.u8(3);
                resource.encode(w);
            }
            TrampolineKind::Builtin(b) => {
                w.u8(5);
                w.u8(b.op as u8);
                w.option(&b.ty);
                w.u32(b.slot);
                w.u8(u8::from(b.async_));
                b.options.encode(w);
            }
            TrampolineKind::Native { key, ty, options } => {
                w.u8(6);
                key.encode(w);
                ty.encode(w);
                options.encode(w);
            }
        }
    }
}

impl Decode for TrampolineKind {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u8()? {
            0 => TrampolineKind::Adapter {
                func: Decode::decode(r)?,
                caller: CanonOptions::decode(r)?,
                callee: CanonOptions::decode(r)?,
            },
            1 => TrampolineKind::ResourceNew {
                resource: Decode::decode(r)?,
            },
            2 => TrampolineKind::ResourceRep {
                resource: Decode::decode(r)?,
            },
            3 => TrampolineKind::ResourceDrop {
                resource: Decode::decode(r)?,
            },
            4 => TrampolineKind::Host {
                func: r.u32()?,
                ty: Decode::decode(r)?,
                options: CanonOptions::decode(r)?,
            },
            5 => {
                let op = *BuiltinOp::ALL
                    .get(usize::from(r.u8()?))
                    .ok_or(DecodeError(at))?;
                TrampolineKind::Builtin(Builtin {
                    op,
                    ty: r.option()?,
                    slot: r.u32()?,
                    async_: r.u8()? != 0,
                    options: CanonOptions::decode(r)?,
                })
            }
            6 => TrampolineKind::Native {
                key: Decode::decode(r)?,
                ty: Decode::decode(r)?,
                options: CanonOptions::decode(r)?,
            },
            _ => return Err(DecodeError(at)),
        })
    }
}

impl Encode for Ref {
    fn encode(&self, w: &mut Writer) {
        match *self {
            Ref::None => w.u8(0),
            Ref::CoreExport { instance, export } => {
                w.u8(1);
                instance.encode(w);
                w.u32(export);
            }
            Ref::Trampoline(t) => {
                w.u8(2);
                t.encode(w);
            }
            Ref::ComponentInstance(c) => {
                w.u8(3);
                c.encode(w);
            }
            Ref::Host => w.u8(4),
        }
    }
}

impl Decode for Ref {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u8()? {
            0 => Ref::None,
            1 => Ref::CoreExport {
                instance: Decode::decode(r)?,
                export: r.u32()?,
            },
            2 => Ref::Trampoline(Decode::decode(r)?),
            3 => Ref::ComponentInstance(Decode::decode(r)?),
            4 => Ref::Host,
            _ => return Err(DecodeError(at)),
        })
    }
}

impl Encode for SideRefs<Ref> {
    fn encode(&self, w: &mut Writer) {
        self.instance.encode(w);
        self.memory.encode(w);
        self.realloc.encode(w);
    }
}

impl Decode for SideRefs<Ref> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SideRefs {
            instance: Ref::decode(r)?,
            memory: Ref::decode(r)?,
            realloc: Ref::decode(r)?,
        })
    }
}

impl Encode for TrampolineRefs<Ref> {
    fn encode(&self, w: &mut Writer) {
        match self {
            TrampolineRefs::Adapter {
                caller,
                callee,
                func,
                post_return,
                callback,
            } => {
                w.u8(0);
                caller.encode(w);
                callee.encode(w);
                func.encode(w);
                post_return.encode(w);
                callback.encode(w);
            }
            TrampolineRefs::Host(caller) => {
                w.u8(1);
                caller.encode(w);
            }
            TrampolineRefs::Builtin { caller, start } => {
                w.u8(2);
                caller.encode(w);
                start.encode(w);
            }
            TrampolineRefs::Resource { instance } => {
                w.u8(3);
                instance.encode(w);
            }
        }
    }
}

impl Decode for TrampolineRefs<Ref> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u8()? {
            0 => TrampolineRefs::Adapter {
                caller: SideRefs::decode(r)?,
                callee: SideRefs::decode(r)?,
                func: Ref::decode(r)?,
                post_return: Ref::decode(r)?,
                callback: Ref::decode(r)?,
            },
            1 => TrampolineRefs::Host(SideRefs::decode(r)?),
            2 => TrampolineRefs::Builtin {
                caller: SideRefs::decode(r)?,
                start: Ref::decode(r)?,
            },
            3 => TrampolineRefs::Resource {
                instance: Ref::decode(r)?,
            },
            _ => return Err(DecodeError(at)),
        })
    }
}

impl Encode for InitOp {
    fn encode(&self, w: &mut Writer) {
        match self {
            InitOp::ComponentInstance { parent } => {
                w.u8(0);
                w.option(parent);
            }
            InitOp::Resource { instance, dtor } => {
                w.u8(1);
                instance.encode(w);
                dtor.encode(w);
            }
            InitOp::CoreInstance { module, imports } => {
                w.u8(2);
                w.u32(*module);
                w.list(imports);
            }
            InitOp::Trampoline { trampoline, refs } => {
                w.u8(3);
                trampoline.encode(w);
                refs.encode(w);
            }
        }
    }
}

impl Decode for InitOp {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u8()? {
            0 => InitOp::ComponentInstance {
                parent: r.option()?,
            },
            1 => InitOp::Resource {
                instance: Decode::decode(r)?,
                dtor: Ref::decode(r)?,
            },
            2 => InitOp::CoreInstance {
                module: r.u32()?,
                imports: r.list()?,
            },
            3 => InitOp::Trampoline {
                trampoline: Decode::decode(r)?,
                refs: TrampolineRefs::decode(r)?,
            },
            _ => return Err(DecodeError(at)),
        })
    }
}

impl Encode for ExportFunc {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.name.as_bytes());
        self.trampoline.encode(w);
    }
}

impl Decode for ExportFunc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        let name = String::from_utf8(r.bytes()?.to_vec()).map_err(|_| DecodeError(at))?;
        Ok(ExportFunc {
            name,
            trampoline: Decode::decode(r)?,
        })
    }
}

impl Encode for ComponentDesc {
    fn encode(&self, w: &mut Writer) {
        w.list(&self.types.types);
        w.list(&self.funcs);
        w.list(&self.trampolines);
    }
}

impl Decode for ComponentDesc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ComponentDesc {
            types: TypeTable { types: r.list()? },
            funcs: r.list()?,
            trampolines: r.list()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_bytes, to_bytes};

    fn table() -> (TypeTable, [TypeId; 6]) {
        let mut t = TypeTable::default();
        let u8_ = t.intern(ValType::U8);
        let u64_ = t.intern(ValType::U64);
        let f32_ = t.intern(ValType::F32);
        let string = t.intern(ValType::String);
        // record { a: u8, b: u64, c: string }
        let rec = t.intern(ValType::Record(vec![u8_, u64_, string]));
        // variant { x(f32), y(u64), z }
        let var = t.intern(ValType::Variant(vec![Some(f32_), Some(u64_), None]));
        (t, [u8_, u64_, f32_, string, rec, var])
    }

    #[test]
    fn layouts_follow_the_canonical_abi() {
        let (t, [u8_, u64_, _, string, rec, var]) = table();
        assert_eq!((t.size(u8_), t.alignment(u8_)), (1, 1));
        assert_eq!((t.size(string), t.alignment(string)), (8, 4));
        // u8 at 0, u64 at 8, string at 16: 24 bytes, aligned 8.
        assert_eq!(t.field_offsets(&[u8_, u64_, string]), [0, 8, 16]);
        assert_eq!((t.size(rec), t.alignment(rec)), (24, 8));
        // discriminant u8, payload at 8 (u64 alignment), 16 bytes.
        assert_eq!((t.size(var), t.alignment(var)), (16, 8));
        let cases = match t.get(var) {
            ValType::Variant(c) => c.clone(),
            _ => unreachable!(),
        };
        assert_eq!(t.payload_offset(&cases), 8);
    }

    #[test]
    fn flags_and_discriminants() {
        let mut t = TypeTable::default();
        let f8 = t.intern(ValType::Flags(8));
        let f9 = t.intern(ValType::Flags(9));
        let f33 = t.intern(ValType::Flags(33));
        assert_eq!((t.size(f8), t.size(f9), t.size(f33)), (1, 2, 8));
        assert_eq!(t.flat(f33), [FlatType::I32, FlatType::I32]);
        assert_eq!(discriminant_size(256), 1);
        assert_eq!(discriminant_size(257), 2);
        assert_eq!(discriminant_size(70_000), 4);
    }

    #[test]
    fn variants_join_their_cases_flat_types() {
        let (t, [_, _, _, _, rec, var]) = table();
        // f32 and u64 at the same position join to i64.
        assert_eq!(t.flat(var), [FlatType::I32, FlatType::I64]);
        assert_eq!(
            t.flat(rec),
            [FlatType::I32, FlatType::I64, FlatType::I32, FlatType::I32]
        );
    }

    #[test]
    fn signatures_spill_past_the_flat_limits() {
        let (mut t, [u8_, _, _, string, _, _]) = table();
        let many = FuncType {
            params: vec![u8_; 17],
            result: Some(string),
            async_: false,
        };
        let lift = t.core_signature(&many, Context::Lift);
        assert!(lift.params_indirect && lift.results_indirect);
        assert_eq!(lift.params, [FlatType::I32]);
        assert_eq!(lift.results, [FlatType::I32]);
        let lower = t.core_signature(&many, Context::Lower);
        assert_eq!(lower.params, [FlatType::I32, FlatType::I32]);
        assert!(lower.results.is_empty());
        let two = t.intern(ValType::Record(vec![u8_, u8_]));
        let f = FuncType {
            params: vec![two],
            result: Some(u8_),
            async_: false,
        };
        let sig = t.core_signature(&f, Context::Lower);
        assert_eq!(sig.params, [FlatType::I32, FlatType::I32]);
        assert_eq!(sig.results, [FlatType::I32]);
        // Async lowering: params past 4 and every result go through memory.
        let five = FuncType {
            params: vec![u8_; 5],
            result: Some(u8_),
            async_: true,
        };
        let lower = t.core_signature_with(&five, Context::Lower, true, false);
        assert_eq!(lower.params, [FlatType::I32, FlatType::I32]);
        assert_eq!(lower.results, [FlatType::I32]);
        let lift = t.core_signature_with(&five, Context::Lift, true, true);
        assert_eq!(lift.params, [FlatType::I32; 5]);
        assert_eq!(lift.results, [FlatType::I32]);
        let stackful = t.core_signature_with(&five, Context::Lift, true, false);
        assert!(stackful.results.is_empty());
    }

    #[test]
    fn descriptors_round_trip() {
        let (types, _) = table();
        let desc = ComponentDesc {
            types,
            funcs: vec![FuncType {
                params: vec![0, 3],
                result: Some(5),
                async_: true,
            }],
            trampolines: vec![
                TrampolineKind::Adapter {
                    func: FuncTypeIndex(0),
                    caller: CanonOptions {
                        string_encoding: StringEncoding::Utf16,
                        memory: true,
                        realloc: false,
                        post_return: false,
                        async_: true,
                        callback: false,
                    },
                    callee: CanonOptions {
                        string_encoding: StringEncoding::Utf8,
                        memory: true,
                        realloc: true,
                        post_return: true,
                        async_: true,
                        callback: true,
                    },
                },
                TrampolineKind::ResourceDrop {
                    resource: ResourceIndex(2),
                },
                TrampolineKind::Builtin(Builtin {
                    op: BuiltinOp::FutureCancelWrite,
                    ty: Some(4),
                    slot: 0,
                    async_: true,
                    options: CanonOptions::plain(StringEncoding::Utf16),
                }),
                TrampolineKind::Native {
                    key: "test:imports/host@0.1.0#add".into(),
                    ty: FuncTypeIndex(1),
                    options: CanonOptions::plain(StringEncoding::Utf8),
                },
            ],
        };
        assert_eq!(from_bytes::<ComponentDesc>(&to_bytes(&desc)).unwrap(), desc);
        let ops = vec![
            InitOp::ComponentInstance { parent: None },
            InitOp::ComponentInstance {
                parent: Some(ComponentInstanceIndex(0)),
            },
            InitOp::Resource {
                instance: ComponentInstanceIndex(0),
                dtor: Ref::CoreExport {
                    instance: CoreInstanceIndex(1),
                    export: 2,
                },
            },
            InitOp::CoreInstance {
                module: 3,
                imports: vec![Ref::Trampoline(TrampolineIndex(1)), Ref::Host],
            },
            InitOp::Trampoline {
                trampoline: TrampolineIndex(0),
                refs: TrampolineRefs::Builtin {
                    caller: SideRefs {
                        instance: Ref::ComponentInstance(ComponentInstanceIndex(0)),
                        memory: Ref::None,
                        realloc: Ref::Trampoline(TrampolineIndex(2)),
                    },
                    start: Ref::None,
                },
            },
            InitOp::Trampoline {
                trampoline: TrampolineIndex(1),
                refs: TrampolineRefs::Adapter {
                    caller: SideRefs {
                        instance: Ref::Host,
                        memory: Ref::Host,
                        realloc: Ref::Host,
                    },
                    callee: SideRefs {
                        instance: Ref::ComponentInstance(ComponentInstanceIndex(1)),
                        memory: Ref::CoreExport {
                            instance: CoreInstanceIndex(0),
                            export: 1,
                        },
                        realloc: Ref::None,
                    },
                    func: Ref::Trampoline(TrampolineIndex(3)),
                    post_return: Ref::None,
                    callback: Ref::None,
                },
            },
            InitOp::Trampoline {
                trampoline: TrampolineIndex(2),
                refs: TrampolineRefs::Resource {
                    instance: Ref::ComponentInstance(ComponentInstanceIndex(2)),
                },
            },
        ];
        assert_eq!(from_bytes::<Vec<InitOp>>(&to_bytes(&ops)).unwrap(), ops);
    }

    #[test]
    fn native_import_symbols_are_c_identifiers_one_per_key() {
        assert_eq!(
            native_import_symbol("a:b/c#d-e"),
            "smelt_import_a_3ab_2fc_23d_2de"
        );
        // `_` is escaped too, so `a_2d` and `a-` differ.
        assert_ne!(native_import_symbol("a_2d"), native_import_symbol("a-"));
        assert_eq!(native_import_symbol("f"), "smelt_import_f");
    }
}
