//! The code of a component trampoline.
//!
//! Every trampoline has the same shape (see `smelt_abi::component`): it is
//! a wasm-convention function `(context, params...) -> results` that stores
//! its flat parameters in 16-byte slots on its stack, calls the C function
//! at the start of its context with pointers to the parameter and result
//! slots, traps with `TrapCode::Runtime` when that returns non-zero, and
//! returns the results from their slots.

use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, Function, InstBuilder, MemFlagsData, StackSlotData,
    StackSlotKind, UserFuncName,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use smelt_abi::component::{CoreSignature, FlatType};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{TRAMPOLINE_CALL, VALRAW_SIZE};

use crate::core::env::POINTER;
use crate::core::translate::trap;

/// The Cranelift type of a flat type.
pub fn flat_type(t: FlatType) -> ir::Type {
    match t {
        FlatType::I32 => ir::types::I32,
        FlatType::I64 => ir::types::I64,
        FlatType::F32 => ir::types::F32,
        FlatType::F64 => ir::types::F64,
    }
}

/// The wasm-convention signature of a trampoline with core signature
/// `sig`.
pub fn signature(sig: &CoreSignature) -> ir::Signature {
    let mut s = ir::Signature::new(CallConv::Tail);
    s.params
        .push(AbiParam::special(POINTER, ArgumentPurpose::VMContext));
    s.params
        .extend(sig.params.iter().map(|&t| AbiParam::new(flat_type(t))));
    s.returns
        .extend(sig.results.iter().map(|&t| AbiParam::new(flat_type(t))));
    s
}

/// Builds a trampoline with core signature `sig`.
pub fn build(
    sig: &CoreSignature,
    name: UserFuncName,
    system_call_conv: CallConv,
    frontend_config: TargetFrontendConfig,
    ctx: &mut FunctionBuilderContext,
) -> Function {
    let mut func = Function::with_name_signature(name, signature(sig));
    let mut b = FunctionBuilder::new(&mut func, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let context = params[0];
    let (n, m) = (sig.params.len() as u32, sig.results.len() as u32);
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        VALRAW_SIZE * (n + m).max(1),
        4,
    ));
    for (i, &p) in params[1..].iter().enumerate() {
        b.ins()
            .stack_store(POINTER, p, slot, (i as u32 * VALRAW_SIZE) as i32);
    }
    let args = b.ins().stack_addr(POINTER, slot, 0);
    let results = b.ins().stack_addr(POINTER, slot, (n * VALRAW_SIZE) as i32);
    let call = b.ins().load(
        POINTER,
        MemFlagsData::trusted().with_readonly(),
        context,
        TRAMPOLINE_CALL as i32,
    );
    let mut c_sig = ir::Signature::new(system_call_conv);
    c_sig.params.extend([AbiParam::new(POINTER); 3]);
    c_sig.returns.push(AbiParam::new(ir::types::I32));
    let c_sig = b.import_signature(c_sig);
    let inst = b
        .ins()
        .call_indirect(c_sig, call, &[context, args, results]);
    let status = b.inst_results(inst)[0];
    b.ins().trapnz(status, trap(TrapCode::Runtime));
    let returns: Vec<_> = sig
        .results
        .iter()
        .enumerate()
        .map(|(j, &t)| {
            b.ins().stack_load(
                POINTER,
                flat_type(t),
                slot,
                ((n + j as u32) * VALRAW_SIZE) as i32,
            )
        })
        .collect();
    b.ins().return_(&returns);
    b.finalize(frontend_config);
    func
}
