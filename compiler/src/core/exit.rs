//! Exit stubs: how guest code calls a built-in that must see the guest's
//! frames (`smelt_abi::builtins::Builtin::takes_exit_frame`).
//!
//! In: such a built-in. Out: an `ir::Function` in guest code's `tail`
//! convention that takes the built-in's parameters but the last, calls the
//! built-in in the C convention with its own frame pointer as that last
//! argument (`exit_fp`), and returns its result. The stub's frame record
//! holds the frame pointer of the guest function that called it and the
//! return address into that function, from which the runtime walks the
//! guest's frames (to find an exception handler). Being a `tail`-convention
//! callee, it can be called with `try_call`, whose handlers then apply to
//! what the built-in throws.

use cranelift_codegen::ir::{self, Function, InstBuilder, UserFuncName};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::FuncId;
use smelt_abi::builtins::Builtin;

use super::env::{ModuleEnv, POINTER, builtin_signature, exit_stub_signature};

/// Builds the exit stub of `builtin`, which calls the built-in's import
/// `callee`.
pub fn build(
    builtin: Builtin,
    callee: FuncId,
    name: UserFuncName,
    system_call_conv: CallConv,
    frontend_config: TargetFrontendConfig,
    ctx: &mut FunctionBuilderContext,
) -> Function {
    let mut func = Function::with_name_signature(name, exit_stub_signature(builtin));
    let mut b = FunctionBuilder::new(&mut func, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let mut args = b.block_params(entry).to_vec();
    args.push(b.ins().get_frame_pointer(POINTER));
    let sig = b.import_signature(builtin_signature(system_call_conv, builtin));
    let name = b
        .func
        .declare_imported_user_function(ModuleEnv::func_name(callee));
    let f = b.import_function(ir::ExtFuncData {
        name: ir::ExternalName::user(name),
        signature: sig,
        colocated: false,
        patchable: false,
    });
    let call = b.ins().call(f, &args);
    let results = b.inst_results(call).to_vec();
    b.ins().return_(&results);
    b.finalize(frontend_config);
    func
}
