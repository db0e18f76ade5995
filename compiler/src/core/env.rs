//! What every function translation of one module shares: the module's
//! declarations, its `vmctx` layout, the object-level ids of its functions
//! and of the runtime built-ins, and the signatures of compiled code.
//!
//! Compiled wasm functions use Cranelift's `tail` calling convention (so
//! that `return_call` works between any two of them) with the signature
//! `(vmctx, params...) -> results`. Built-ins, trampolines and
//! instantiation functions use the platform's C calling convention.

use std::collections::HashMap;

use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, UserExternalName};
use cranelift_codegen::isa::CallConv;
use cranelift_entity::PrimaryMap;
use cranelift_module::FuncId;
use smelt_abi::builtins::{AbiType, Builtin};

use super::forward::Forward;
use super::module::ModuleInfo;
use super::offsets::VMOffsets;
use super::types::*;

/// The pointer type of every smelt target.
pub const POINTER: ir::Type = ir::types::I64;

/// Object-level ids of the runtime built-ins.
pub type BuiltinIds = HashMap<Builtin, FuncId>;

/// Shared, read-only context for translating one module's functions.
pub struct ModuleEnv<'a> {
    /// The module.
    pub info: &'a ModuleInfo<'a>,
    /// Its `vmctx` layout.
    pub offsets: VMOffsets,
    /// Object-level id of each defined function.
    pub func_ids: PrimaryMap<DefinedFuncIndex, FuncId>,
    /// Object-level ids of the built-ins (of their exit stubs, for those
    /// that take an exit frame).
    pub builtins: &'a BuiltinIds,
    /// The platform C calling convention of the target.
    pub system_call_conv: CallConv,
    /// The target's frontend configuration.
    pub frontend_config: cranelift_codegen::isa::TargetFrontendConfig,
    /// Whether Cranelift compiles vector code for the target (see
    /// [`crate::target::Target::has_simd`]).
    pub simd: bool,
    /// Whether 8- and 16-bit compare-exchange is built from a 32-bit
    /// `atomic_cas` loop on the aligned word rather than Cranelift's
    /// `atomic_cas` of the narrow type: on riscv64, where Cranelift's
    /// narrow `atomic_cas` compares the value of one `lr.w` and stores
    /// after another, so a change between the two goes unseen.
    pub subword_cas_loop: bool,
    /// The program's canonical types.
    pub registry: &'a super::gc_types::TypeRegistry,
    /// The program's type table (`smelt_abi::gc::VMTypeInfo`s).
    pub types_data: cranelift_module::DataId,
    /// Whether the program can create GC objects (it has struct, array or
    /// tag types), so that references to them must be in stack maps.
    pub stack_maps: bool,
    /// Which defined functions check for an interruption on entry (see
    /// [`super::translate::interrupt`]); `None` when no code has checks
    /// (`SMELT_NO_INTERRUPT_CHECKS`).
    pub entry_checks: Option<PrimaryMap<DefinedFuncIndex, super::translate::interrupt::EntryCheck>>,
    /// The module's forwarding functions (see [`super::forward`]): what a
    /// direct call of each does instead.
    pub forwards: HashMap<FuncIndex, Forward>,
}

impl ModuleEnv<'_> {
    /// The Cranelift signature of a wasm function of type `ty`.
    pub fn wasm_signature(&self, ty: &FuncType) -> ir::Signature {
        wasm_signature(ty)
    }

    /// The Cranelift signature with which generated code calls a
    /// built-in: the built-in's own, or for one that takes an exit frame,
    /// its exit stub's (see [`exit_stub_signature`]).
    pub fn builtin_signature(&self, builtin: Builtin) -> ir::Signature {
        if builtin.takes_exit_frame() {
            exit_stub_signature(builtin)
        } else {
            builtin_signature(self.system_call_conv, builtin)
        }
    }

    /// The external name under which a function is referenced from IR.
    pub fn func_name(id: FuncId) -> UserExternalName {
        UserExternalName::new(0, id.as_u32())
    }
}

/// The Cranelift signature of built-in `b` in calling convention
/// `call_conv` (the target's C convention).
pub fn builtin_signature(call_conv: CallConv, builtin: Builtin) -> ir::Signature {
    let mut sig = ir::Signature::new(call_conv);
    sig.params
        .extend(builtin.params().iter().map(|&t| abi_param(t)));
    sig.returns.push(abi_param(builtin.result()));
    sig
}

/// The signature of the exit stub of a built-in that takes an exit frame:
/// the built-in's parameters but the last (`exit_fp`, which the stub
/// supplies) and its result, in the `tail` convention of guest code, so
/// that a `try_call` of it may unwind to a handler.
pub fn exit_stub_signature(builtin: Builtin) -> ir::Signature {
    debug_assert!(builtin.takes_exit_frame());
    let params = builtin.params();
    let mut sig = ir::Signature::new(CallConv::Tail);
    sig.params
        .extend(params[..params.len() - 1].iter().map(|&t| abi_param(t)));
    sig.returns.push(abi_param(builtin.result()));
    sig
}

fn abi_param(t: AbiType) -> AbiParam {
    AbiParam::new(match t {
        AbiType::Pointer | AbiType::I64 => ir::types::I64,
        AbiType::I32 => ir::types::I32,
    })
}

/// The Cranelift signature of a wasm function of type `ty`:
/// `(vmctx, params...) -> results`, tail calling convention.
pub fn wasm_signature(ty: &FuncType) -> ir::Signature {
    let mut sig = ir::Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    sig.params
        .extend(ty.params.iter().map(|&t| AbiParam::new(ir_type(t))));
    sig.returns
        .extend(ty.results.iter().map(|&t| AbiParam::new(ir_type(t))));
    sig
}
