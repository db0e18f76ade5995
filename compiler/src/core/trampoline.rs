//! Array-call trampolines: the host's way into an exported function.
//!
//! In: a function of a module. Out: an `ir::Function` with the signature of
//! `smelt_abi::program::ArrayCallFn`, `(vmctx, values)` in the platform
//! calling convention, that loads the parameters from the 16-byte slots at
//! `values`, calls the function with the wasm calling convention and
//! stores its results back into the slots. It counts itself in the store's
//! `entries` while the function runs (see `smelt_abi::vm::VMStoreContext`).

use cranelift_codegen::ir::{self, AbiParam, Function, InstBuilder, MemFlagsData, UserFuncName};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use smelt_abi::vm::VALRAW_SIZE;

use super::env::{ModuleEnv, POINTER};
use super::types::*;
use super::vmctx;

/// Builds the array-call trampoline of function `f` of the module in `env`.
pub fn build_array_call(
    env: &ModuleEnv<'_>,
    f: FuncIndex,
    name: UserFuncName,
    ctx: &mut FunctionBuilderContext,
) -> Function {
    let mut sig = ir::Signature::new(env.system_call_conv);
    sig.params.push(AbiParam::new(POINTER));
    sig.params.push(AbiParam::new(POINTER));
    let mut func = Function::with_name_signature(name, sig);
    let mut b = FunctionBuilder::new(&mut func, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (vmctx, values) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let ty = env.info.func_type(f);
    let flags = MemFlagsData::trusted();
    let args: Vec<_> = ty
        .params
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            b.ins()
                .load(ir_type(t), flags, values, (i as u32 * VALRAW_SIZE) as i32)
        })
        .collect();
    // Count this entry from the host (`VMStoreContext::entries`): the
    // collector walks guest frames only while there is one.
    let store = b.ins().load(
        POINTER,
        flags.with_readonly(),
        vmctx,
        smelt_abi::vm::VMCTX_STORE as i32,
    );
    let entries = b
        .ins()
        .load(POINTER, flags, store, smelt_abi::vm::STORE_ENTRIES as i32);
    let inner = b.ins().iadd_imm_u(entries, 1);
    b.ins()
        .store(flags, inner, store, smelt_abi::vm::STORE_ENTRIES as i32);
    let results = vmctx::call_func(&mut b, env, vmctx, f, &args);
    b.ins()
        .store(flags, entries, store, smelt_abi::vm::STORE_ENTRIES as i32);
    for (i, r) in results.into_iter().enumerate() {
        b.ins()
            .store(flags, r, values, (i as u32 * VALRAW_SIZE) as i32);
    }
    b.ins().return_(&[]);
    b.finalize(env.frontend_config);
    func
}
