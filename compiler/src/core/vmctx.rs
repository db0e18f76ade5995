//! Reaching an instance's entities from IR, given its `vmctx` value.
//!
//! Shared by function translation and the generated instantiation and
//! trampoline code, so that every piece of generated code addresses
//! memories, tables, globals and functions the same way.

use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;

use super::env::{ModuleEnv, POINTER};
use super::offsets::Place;
use super::types::*;

/// Loads a pointer-sized field of the `vmctx` that never changes once the
/// instance is initialized (import slots): read-only and movable.
pub fn load_readonly(
    b: &mut FunctionBuilder<'_>,
    vmctx: Value,
    ty: ir::Type,
    offset: u32,
) -> Value {
    let flags = MemFlagsData::trusted().with_readonly().with_can_move();
    b.ins().load(ty, flags, vmctx, offset as i32)
}

/// Resolves a [`Place`] to the address of the definition it names.
fn place_addr(b: &mut FunctionBuilder<'_>, vmctx: Value, place: Place) -> Value {
    match place {
        Place::Inline(o) => b.ins().iadd_imm_u(vmctx, i64::from(o)),
        Place::Indirect(o) => load_readonly(b, vmctx, POINTER, o),
    }
}

/// The address of memory `m`'s `VMMemoryDefinition`.
pub fn memory_def(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    m: MemoryIndex,
) -> Value {
    place_addr(b, vmctx, env.offsets.memory(m))
}

/// The address of table `t`'s `VMTableDefinition`.
pub fn table_def(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    t: TableIndex,
) -> Value {
    place_addr(b, vmctx, env.offsets.table(t))
}

/// The storage of global `g` as (base, offset).
pub fn global_addr(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    g: GlobalIndex,
) -> (Value, i32) {
    match env.offsets.global(g) {
        Place::Inline(o) => (vmctx, o as i32),
        Place::Indirect(o) => (load_readonly(b, vmctx, POINTER, o), 0),
    }
}

/// Reads global `g`.
pub fn global_get(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    g: GlobalIndex,
) -> Value {
    let decl = &env.info.globals[g];
    let ty = ir_type(decl.ty.content_type);
    let mut flags = MemFlagsData::trusted();
    if !decl.ty.mutable {
        flags = flags.with_readonly().with_can_move();
    }
    let (base, offset) = global_addr(b, env, vmctx, g);
    b.ins().load(ty, flags, base, offset)
}

/// A `funcref` (pointer to a `VMFuncRef`) to function `f`, which must be
/// imported or escaping.
pub fn func_ref(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    f: FuncIndex,
) -> Value {
    match env.info.defined_func(f) {
        None => load_readonly(b, vmctx, POINTER, env.offsets.imported_func(f)),
        Some(def) => {
            let offset = env
                .offsets
                .funcref(def)
                .expect("validated: referenced functions are declared, so escaping");
            b.ins().iadd_imm_u(vmctx, i64::from(offset))
        }
    }
}

/// Imports defined function `def` into the function being built, for a
/// direct call or its address.
pub fn import_defined_func(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    def: DefinedFuncIndex,
) -> ir::FuncRef {
    let ty = env.info.func_type(env.info.func_index(def));
    let sig = b.import_signature(env.wasm_signature(ty));
    let name = b
        .func
        .declare_imported_user_function(ModuleEnv::func_name(env.func_ids[def]));
    b.import_function(ir::ExtFuncData {
        name: ir::ExternalName::user(name),
        signature: sig,
        colocated: true,
        patchable: false,
    })
}

/// Emits a call to function `f` of the module (directly if it is defined,
/// through its `VMFuncRef` if imported) and returns its results.
pub fn call_func(
    b: &mut FunctionBuilder<'_>,
    env: &ModuleEnv<'_>,
    vmctx: Value,
    f: FuncIndex,
    args: &[Value],
) -> Vec<Value> {
    let call = match env.info.defined_func(f) {
        Some(def) => {
            let callee = import_defined_func(b, env, def);
            let mut all = vec![vmctx];
            all.extend_from_slice(args);
            b.ins().call(callee, &all)
        }
        None => {
            let sig = b.import_signature(env.wasm_signature(env.info.func_type(f)));
            let funcref = func_ref(b, env, vmctx, f);
            let flags = MemFlagsData::trusted().with_readonly();
            let code = b.ins().load(
                POINTER,
                flags,
                funcref,
                smelt_abi::vm::FUNCREF_WASM_CALL as i32,
            );
            let callee_vmctx =
                b.ins()
                    .load(POINTER, flags, funcref, smelt_abi::vm::FUNCREF_VMCTX as i32);
            let mut all = vec![callee_vmctx];
            all.extend_from_slice(args);
            b.ins().call_indirect(sig, code, &all)
        }
    };
    b.inst_results(call).to_vec()
}
