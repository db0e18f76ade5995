//! Typed function references (WebAssembly 3.0): `call_ref`,
//! `return_call_ref`, `br_on_null` and `br_on_non_null`.
//!
//! A reference is a 64-bit value whose null is 0 (see `smelt_abi::vm`), so
//! the null tests are comparisons with zero. `call_ref` needs no type check:
//! validation guarantees that the reference's type is the instruction's
//! function type (or a subtype), so only null is checked, by the fault of
//! the first load from the reference (`call_funcref`).

use cranelift_codegen::ir::InstBuilder;
use wasmparser::Operator;

use super::{FuncTranslator, block_args};
use crate::core::types::*;
use crate::error::Result;

impl FuncTranslator<'_, '_> {
    /// Translates `op` if it is a typed-function-references instruction;
    /// returns whether it was.
    pub(super) fn translate_funcref(&mut self, op: &Operator<'_>) -> Result<bool> {
        match *op {
            Operator::CallRef { type_index } => {
                self.call_ref(TypeIndex::from_u32(type_index), false)
            }
            Operator::ReturnCallRef { type_index } => {
                self.call_ref(TypeIndex::from_u32(type_index), true)
            }
            Operator::BrOnNull { relative_depth } => {
                let r = self.pop();
                let (target, n) = self.branch_to(relative_depth);
                let args = block_args(self.peekn(n));
                let next = self.builder.create_block();
                // Non-zero (not null): fall through with the reference.
                self.builder.ins().brif(r, next, &[], target, &args);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                let (target, n) = self.branch_to(relative_depth);
                // The branch carries the reference as its last value.
                let args = block_args(self.peekn(n));
                let r = self.pop();
                let next = self.builder.create_block();
                self.builder.ins().brif(r, target, &args, next, &[]);
                self.builder.seal_block(next);
                self.builder.switch_to_block(next);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `call_ref $t` or `return_call_ref $t`.
    fn call_ref(&mut self, ty: TypeIndex, tail: bool) {
        let funcref = self.pop();
        let nparams = self.env.info.type_func(ty).params.len();
        let args = self.popn(nparams);
        let sig = self.signature(ty);
        self.call_funcref(sig, funcref, &args, tail, true);
    }
}
