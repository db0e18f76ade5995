//! Calls: `call`, `call_indirect`, their `return_call` forms, `ref.func`.
//!
//! A call to a function the module defines is a direct call passing the
//! caller's own `vmctx`. A call to an imported function, or through a
//! table, goes through a `VMFuncRef` (code address, `vmctx`, type id).
//! Inside a `try_table` or `try` block a call is a `try_call` (see
//! [`super::exceptions`]).
//! `call_indirect` checks the index against the table length ("undefined
//! element"), the element against null ("uninitialized element"), and the
//! callee's canonical type id against the expected one, a constant ("indirect
//! call type mismatch"), or, when the expected type has subtypes in the
//! program, tests that the callee's type is one of them.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I32;
use cranelift_codegen::ir::{self, InstBuilder, SigRef, Value};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{FUNCREF_TYPE_ID, FUNCREF_VMCTX, FUNCREF_WASM_CALL};

use super::exceptions::Callee;
use super::{FuncTranslator, trap};
use crate::core::env::POINTER;
use crate::core::forward::Forward;
use crate::core::types::*;
use crate::core::vmctx;

impl FuncTranslator<'_, '_> {
    /// The imported signature of function type `t`.
    pub(super) fn signature(&mut self, t: TypeIndex) -> SigRef {
        if let Some(&sig) = self.sigs.get(&t) {
            return sig;
        }
        let sig = self.env.wasm_signature(self.env.info.type_func(t));
        let sig = self.builder.import_signature(sig);
        self.sigs.insert(t, sig);
        sig
    }

    /// The `FuncRef` for a direct call to defined function `def`.
    fn direct_callee(&mut self, def: DefinedFuncIndex) -> ir::FuncRef {
        if let Some(&f) = self.direct_calls.get(&def) {
            return f;
        }
        let f = vmctx::import_defined_func(&mut self.builder, self.env, def);
        self.direct_calls.insert(def, f);
        f
    }

    /// A `funcref` (pointer to a `VMFuncRef`) to function `f`.
    pub(super) fn func_ref(&mut self, f: FuncIndex) -> Value {
        vmctx::func_ref(&mut self.builder, self.env, self.vmctx, f)
    }

    /// Emits a call (or tail call) through `funcref` with signature `sig`;
    /// pushes the results. With `null_check`, a null `funcref` traps with
    /// "null function reference": the first load from it faults in the
    /// unmapped page at address 0, and that load is a trap site.
    pub(super) fn call_funcref(
        &mut self,
        sig: SigRef,
        funcref: Value,
        args: &[Value],
        tail: bool,
        null_check: bool,
    ) {
        let flags = Self::trusted().with_readonly();
        let first = if null_check {
            flags.with_trap_code(Some(trap(TrapCode::NullFunctionReference)))
        } else {
            flags
        };
        let code = self
            .builder
            .ins()
            .load(POINTER, first, funcref, FUNCREF_WASM_CALL as i32);
        let callee_vmctx = self
            .builder
            .ins()
            .load(POINTER, flags, funcref, FUNCREF_VMCTX as i32);
        let mut call_args = Vec::with_capacity(args.len() + 1);
        call_args.push(callee_vmctx);
        call_args.extend_from_slice(args);
        if tail {
            self.builder
                .ins()
                .return_call_indirect(sig, code, &call_args);
            self.reachable = false;
        } else {
            let results = self.emit_call(Callee::Indirect(sig, code), &call_args);
            self.stack.extend(results);
        }
    }

    /// `call f` or `return_call f`.
    pub(super) fn call(&mut self, f: FuncIndex, tail: bool) {
        let nparams = self.env.info.func_type(f).params.len();
        let mut args = self.popn(nparams);
        // A forwarding function: the end of its chain instead.
        let f = match self.env.forwards.get(&f) {
            Some(Forward::Call { target, args: keep }) => {
                args = keep.iter().map(|&i| args[i as usize]).collect();
                *target
            }
            // A tail call of a function that does nothing is a return,
            // which the call itself gives; only a plain call is dropped.
            Some(Forward::Nothing) if !tail => return,
            _ => f,
        };
        match self.env.info.defined_func(f) {
            Some(def) => {
                let callee = self.direct_callee(def);
                let mut call_args = Vec::with_capacity(args.len() + 1);
                call_args.push(self.vmctx);
                call_args.extend_from_slice(&args);
                if tail {
                    self.builder.ins().return_call(callee, &call_args);
                    self.reachable = false;
                } else {
                    let results = self.emit_call(Callee::Direct(callee), &call_args);
                    self.stack.extend(results);
                }
            }
            None => {
                let sig = self.signature(self.env.info.funcs[f]);
                let funcref = self.func_ref(f);
                self.call_funcref(sig, funcref, &args, tail, false);
            }
        }
    }

    /// `call_indirect` or `return_call_indirect`.
    pub(super) fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex, tail: bool) {
        let index = self.pop();
        let nparams = self.env.info.type_func(ty).params.len();
        let args = self.popn(nparams);
        let addr = self.table_element_addr(table, index, TrapCode::UndefinedElement);
        let funcref = self.builder.ins().load(POINTER, Self::trusted(), addr, 0);
        self.builder
            .ins()
            .trapz(funcref, trap(TrapCode::IndirectCallToNull));
        let actual = self.builder.ins().load(
            I32,
            Self::trusted().with_readonly(),
            funcref,
            FUNCREF_TYPE_ID as i32,
        );
        let expected = self.env.info.types[ty].type_id;
        if self.env.registry.has_subtypes(expected) {
            // A function of a subtype of the expected type may be called.
            let ok = self.is_subtype(actual, expected);
            self.builder.ins().trapz(ok, trap(TrapCode::BadSignature));
        } else {
            let mismatch =
                self.builder
                    .ins()
                    .icmp_imm_u(IntCC::NotEqual, actual, i64::from(expected));
            self.trap_if(mismatch, TrapCode::BadSignature);
        }
        let sig = self.signature(ty);
        self.call_funcref(sig, funcref, &args, tail, false);
    }
}
