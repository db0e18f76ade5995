//! Exception handling: `throw`, `throw_ref`, `try_table` and the legacy
//! `try`/`catch`/`catch_all`/`delegate`/`rethrow`.
//!
//! An exception is an object (`smelt_abi::vm::VMException`) holding its
//! tag's address, which is the tag's identity, and its payload. Every
//! `try_table` or `try` block has a *landing pad*: a Cranelift block taking
//! the exception, which compares its tag with the block's catch clauses,
//! in order, and goes to the first that matches (a `try_table` clause's
//! label with the payload and/or the exception; a legacy `catch` arm with
//! the payload). When none matches, or for `delegate`, the pad passes the
//! exception on: to the pad of the enclosing handler in the same function,
//! by a jump, or out of the function through the `throw` built-in.
//!
//! While a block's body is translated its pad is the current handler: a
//! call there becomes a `try_call` whose catch-all exception edge goes to
//! the pad (the runtime resumes there, see `smelt_rt::exceptions`), and a
//! `throw` there jumps to the pad directly, without the runtime. A
//! legacy `try`'s handler ends at its first `catch`: code in catch arms is
//! covered by the enclosing handlers. The pad's code is emitted at the
//! block's `end`, when all its clauses are known.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    self, BlockArg, ExceptionTableData, ExceptionTableItem, InstBuilder, SigRef, Value,
};
use cranelift_frontend::Variable;
use smelt_abi::builtins::Builtin;
use smelt_abi::gc::{ObjectKind, header};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{EXN_PAYLOAD, EXN_TAG};
use wasmparser::{BlockType, Catch, Operator, ValType};

use super::{Frame, FrameKind, FuncTranslator, trap};
use crate::core::env::POINTER;
use crate::core::offsets::Place;
use crate::core::types::*;
use crate::error::Result;

/// The handler scope of an open `try_table` or legacy `try` block.
pub(super) struct TryScope {
    /// Control-stack index of the block's frame.
    frame: usize,
    /// The landing pad: takes the exception (a pointer).
    pad: ir::Block,
    /// Whether the block's body is still being translated (its calls go
    /// to the pad).
    active: bool,
    /// Whether anything reaches the pad.
    used: bool,
    kind: TryKind,
}

enum TryKind {
    /// A `try_table` and its catch clauses.
    Table(Vec<Catch>),
    /// A legacy `try`.
    Legacy {
        /// The exception caught by the current catch arm (for `rethrow`).
        exn: Variable,
        /// The catch arms, in order: the tag (`None`: `catch_all`) and the
        /// arm's first block, which takes the payload and the exception.
        arms: Vec<(Option<TagIndex>, ir::Block)>,
        /// For `delegate`: the control-stack index of the frame whose
        /// handler receives every exception.
        delegate: Option<usize>,
    },
}

/// A call's callee, for [`FuncTranslator::emit_call`].
pub(super) enum Callee {
    /// A function imported into the IR function.
    Direct(ir::FuncRef),
    /// A code address with a signature.
    Indirect(SigRef, Value),
}

impl FuncTranslator<'_, '_> {
    /// Translates the exception-handling control instructions (`try_table`,
    /// `try`, `catch`, `catch_all`, `delegate`), reachable or not.
    pub(super) fn translate_exception_control(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::TryTable { try_table } => {
                self.open_try(try_table.ty, TryKind::Table(try_table.catches.clone()))?;
            }
            Operator::Try { blockty } => {
                let exn = self.builder.declare_var(I64);
                if self.env.stack_maps {
                    self.builder.declare_var_needs_stack_map(exn);
                }
                let kind = TryKind::Legacy {
                    exn,
                    arms: Vec::new(),
                    delegate: None,
                };
                self.open_try(*blockty, kind)?;
            }
            Operator::Catch { tag_index } => self.catch_arm(Some(TagIndex::from_u32(*tag_index))),
            Operator::CatchAll => self.catch_arm(None),
            Operator::Delegate { relative_depth } => {
                let i = self.control.len() - 1;
                if !matches!(self.control[i].kind, FrameKind::Dead) {
                    // The label is counted from outside the `try`.
                    let target = i - 1 - *relative_depth as usize;
                    let scope = self.tries.last_mut().expect("a live try has a scope");
                    debug_assert_eq!(scope.frame, i);
                    if let TryKind::Legacy { delegate, .. } = &mut scope.kind {
                        *delegate = Some(target);
                    }
                }
                return self.translate_control(&Operator::End);
            }
            _ => unreachable!("not an exception control instruction"),
        }
        Ok(())
    }

    /// Translates `op` if it is `throw`, `throw_ref` or `rethrow`; returns
    /// whether it was.
    pub(super) fn translate_throw(&mut self, op: &Operator<'_>) -> Result<bool> {
        match *op {
            Operator::Throw { tag_index } => {
                let tag = TagIndex::from_u32(tag_index);
                let ty = self.env.info.tags[tag];
                let params = self.env.info.type_func(ty).params.clone();
                let args = self.popn(params.len());
                let (offsets, size) = exception_layout(&params);
                let header = header(self.env.info.type_id(ty), ObjectKind::Exception);
                let exn = self.alloc_fixed(size, header);
                let tag_addr = self.tag_addr(tag);
                self.builder
                    .ins()
                    .store(Self::trusted(), tag_addr, exn, EXN_TAG as i32);
                for (&v, &offset) in args.iter().zip(&offsets) {
                    self.builder
                        .ins()
                        .store(Self::trusted(), v, exn, offset as i32);
                }
                self.throw_exn(exn);
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                self.builder
                    .ins()
                    .trapz(exn, trap(TrapCode::NullExceptionReference));
                self.throw_exn(exn);
            }
            Operator::Rethrow { relative_depth } => {
                let frame = self.control.len() - 1 - relative_depth as usize;
                let exn = self
                    .tries
                    .iter()
                    .find_map(|s| match s.kind {
                        TryKind::Legacy { exn, .. } if s.frame == frame => Some(exn),
                        _ => None,
                    })
                    .expect("validated: rethrow names a catch arm");
                let exn = self.builder.use_var(exn);
                self.throw_exn(exn);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Opens a `try_table` or `try` frame of type `ty` with its handler.
    fn open_try(&mut self, ty: BlockType, kind: TryKind) -> Result<()> {
        if let BlockType::Type(t) = ty {
            self.check_value_type(t)?;
        }
        if !self.reachable {
            self.push_dead_frame();
            return Ok(());
        }
        let (params, results) = self.block_type(ty);
        let following = self.new_block_with(&results);
        let pad = self.builder.create_block();
        self.builder.append_block_param(pad, I64);
        self.control.push(Frame {
            kind: FrameKind::Block { following },
            params: params.len(),
            results: results.len(),
            stack_base: self.stack.len() - params.len(),
            following_reachable: false,
        });
        self.tries.push(TryScope {
            frame: self.control.len() - 1,
            pad,
            active: true,
            used: false,
            kind,
        });
        Ok(())
    }

    /// Starts a legacy `catch` (`tag`) or `catch_all` (`None`) arm.
    fn catch_arm(&mut self, tag: Option<TagIndex>) {
        let i = self.control.len() - 1;
        if matches!(self.control[i].kind, FrameKind::Dead) {
            return;
        }
        let (results, base) = (self.control[i].results, self.control[i].stack_base);
        let following = self.control[i].following().expect("not dead");
        if self.reachable {
            self.control[i].following_reachable = true;
            self.jump_with_top(following, results);
        }
        self.stack.truncate(base);
        self.deactivate(i);
        let params: Vec<ValType> = match tag {
            Some(t) => self
                .env
                .info
                .type_func(self.env.info.tags[t])
                .params
                .to_vec(),
            None => Vec::new(),
        };
        let arm = self.new_block_with(&params);
        self.builder.append_block_param(arm, I64);
        let scope = self.tries.last_mut().expect("a live try has a scope");
        let TryKind::Legacy { exn, arms, .. } = &mut scope.kind else {
            unreachable!("validated: catch follows try");
        };
        arms.push((tag, arm));
        let exn = *exn;
        self.builder.switch_to_block(arm);
        let values = self.builder.block_params(arm).to_vec();
        let (payload, caught) = values.split_at(values.len() - 1);
        self.builder.def_var(exn, caught[0]);
        self.stack.extend_from_slice(payload);
        self.reachable = true;
    }

    /// Ends the body of the try frame at control index `frame`: its calls
    /// are all known, so its pad can be sealed.
    fn deactivate(&mut self, frame: usize) {
        let scope = self.tries.last_mut().expect("a live try has a scope");
        debug_assert_eq!(scope.frame, frame);
        if scope.active {
            scope.active = false;
            let pad = scope.pad;
            self.builder.seal_block(pad);
        }
    }

    /// At the `end` (or `delegate`) of the frame at control index `frame`,
    /// already popped: if it is a try frame, emits its landing pad.
    pub(super) fn end_try_scope(&mut self, frame: usize) {
        if self.tries.last().is_none_or(|s| s.frame != frame) {
            return;
        }
        self.deactivate(frame);
        let scope = self.tries.pop().expect("checked");
        let arms = match &scope.kind {
            TryKind::Legacy { arms, .. } => arms.iter().map(|&(_, b)| b).collect(),
            TryKind::Table(_) => Vec::new(),
        };
        if scope.used {
            self.builder.switch_to_block(scope.pad);
            let exn = self.builder.block_params(scope.pad)[0];
            match scope.kind {
                TryKind::Table(catches) => self.dispatch_table(exn, &catches),
                TryKind::Legacy {
                    delegate: Some(target),
                    ..
                } => {
                    let pad = self.pad_at(target);
                    self.forward_exn(exn, pad);
                }
                TryKind::Legacy { arms, .. } => self.dispatch_arms(exn, &arms),
            }
        }
        for arm in arms {
            self.builder.seal_block(arm);
        }
    }

    /// The pad's code for `try_table` clauses `catches`.
    fn dispatch_table(&mut self, exn: Value, catches: &[Catch]) {
        let tag = self
            .builder
            .ins()
            .load(POINTER, Self::trusted(), exn, EXN_TAG as i32);
        for catch in catches {
            let (t, label, with_payload, with_exn) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, true, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true, true),
                Catch::All { label } => (None, label, false, false),
                Catch::AllRef { label } => (None, label, false, true),
            };
            let next = t.map(|t| self.branch_if_tag(tag, TagIndex::from_u32(t)));
            let mut values = match t {
                Some(t) if with_payload => self.load_payload(exn, TagIndex::from_u32(t)),
                _ => Vec::new(),
            };
            if with_exn {
                values.push(exn);
            }
            let (target, _) = self.branch_to(label);
            let args = super::block_args(&values);
            self.builder.ins().jump(target, &args);
            match next {
                Some(next) => self.builder.switch_to_block(next),
                // A catch-all: the clauses after it are never reached.
                None => return,
            }
        }
        let pad = self.current_pad();
        self.forward_exn(exn, pad);
    }

    /// The pad's code for legacy catch arms `arms`.
    fn dispatch_arms(&mut self, exn: Value, arms: &[(Option<TagIndex>, ir::Block)]) {
        let tag = self
            .builder
            .ins()
            .load(POINTER, Self::trusted(), exn, EXN_TAG as i32);
        for &(t, arm) in arms {
            let next = t.map(|t| self.branch_if_tag(tag, t));
            let mut values = match t {
                Some(t) => self.load_payload(exn, t),
                None => Vec::new(),
            };
            values.push(exn);
            let args = super::block_args(&values);
            self.builder.ins().jump(arm, &args);
            match next {
                Some(next) => self.builder.switch_to_block(next),
                None => return,
            }
        }
        let pad = self.current_pad();
        self.forward_exn(exn, pad);
    }

    /// Branches on `tag == t`: continues in a new block when equal, and
    /// returns the (sealed) block for the other case.
    fn branch_if_tag(&mut self, tag: Value, t: TagIndex) -> ir::Block {
        let want = self.tag_addr(t);
        let eq = self.builder.ins().icmp(IntCC::Equal, tag, want);
        let hit = self.builder.create_block();
        let miss = self.builder.create_block();
        self.builder.ins().brif(eq, hit, &[], miss, &[]);
        self.builder.seal_block(hit);
        self.builder.seal_block(miss);
        self.builder.switch_to_block(hit);
        miss
    }

    /// Loads the payload of exception `exn` of tag `t`.
    fn load_payload(&mut self, exn: Value, t: TagIndex) -> Vec<Value> {
        let params = self
            .env
            .info
            .type_func(self.env.info.tags[t])
            .params
            .clone();
        let (offsets, _) = exception_layout(&params);
        params
            .iter()
            .zip(offsets)
            .map(|(&ty, offset)| {
                self.builder
                    .ins()
                    .load(ir_type(ty), Self::trusted(), exn, offset as i32)
            })
            .collect()
    }

    /// The address of tag `t`'s `VMTag`, its identity.
    fn tag_addr(&mut self, t: TagIndex) -> Value {
        match self.env.offsets.tag(t) {
            Place::Inline(o) => self.builder.ins().iadd_imm_u(self.vmctx, i64::from(o)),
            Place::Indirect(o) => self.load_vmctx_readonly(POINTER, o),
        }
    }

    /// The pad of the innermost handler in effect in the body being
    /// translated, marked as used.
    pub(super) fn current_pad(&mut self) -> Option<ir::Block> {
        let scope = self.tries.iter_mut().rev().find(|s| s.active)?;
        scope.used = true;
        Some(scope.pad)
    }

    /// The pad of the innermost handler in effect at the frame with
    /// control index `frame` (a `delegate` target), marked as used.
    fn pad_at(&mut self, frame: usize) -> Option<ir::Block> {
        let scope = self
            .tries
            .iter_mut()
            .rev()
            .find(|s| s.active && s.frame <= frame)?;
        scope.used = true;
        Some(scope.pad)
    }

    /// Throws `exn` where the current handler applies.
    fn throw_exn(&mut self, exn: Value) {
        let pad = self.current_pad();
        self.forward_exn(exn, pad);
    }

    /// Passes `exn` to `pad`, or out of the function when there is none.
    fn forward_exn(&mut self, exn: Value, pad: Option<ir::Block>) {
        match pad {
            Some(pad) => {
                self.builder.ins().jump(pad, &[BlockArg::Value(exn)]);
            }
            None => {
                self.call_builtin(Builtin::throw, &[exn]);
                self.builder
                    .ins()
                    .trap(trap(TrapCode::UnreachableCodeReached));
            }
        }
        self.reachable = false;
    }

    /// Emits a call and returns its results: a `try_call` whose exception
    /// edge goes to the current pad when a handler is in effect.
    pub(super) fn emit_call(&mut self, callee: Callee, args: &[Value]) -> Vec<Value> {
        let Some(pad) = self.current_pad() else {
            let call = match callee {
                Callee::Direct(f) => self.builder.ins().call(f, args),
                Callee::Indirect(sig, code) => self.builder.ins().call_indirect(sig, code, args),
            };
            return self.builder.inst_results(call).to_vec();
        };
        let sig = match callee {
            Callee::Direct(f) => self.builder.func.dfg.ext_funcs[f].signature,
            Callee::Indirect(sig, _) => sig,
        };
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let next = self.builder.create_block();
        for &ty in &returns {
            self.builder.append_block_param(next, ty);
        }
        let normal_args: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let normal = self.builder.func.dfg.block_call(next, &normal_args);
        let handler = self
            .builder
            .func
            .dfg
            .block_call(pad, &[BlockArg::TryCallExn(0)]);
        let table = ExceptionTableData::new(sig, normal, [ExceptionTableItem::Default(handler)]);
        let table = self.builder.func.dfg.exception_tables.push(table);
        match callee {
            Callee::Direct(f) => self.builder.ins().try_call(f, args, table),
            Callee::Indirect(_, code) => self.builder.ins().try_call_indirect(code, args, table),
        };
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        self.builder.block_params(next).to_vec()
    }
}

/// Where each payload value of an exception with parameters `params` is,
/// and the object's size in bytes (see `smelt_abi::vm::VMException`).
pub(crate) fn exception_layout(params: &[ValType]) -> (Vec<u32>, u32) {
    let mut at = EXN_PAYLOAD;
    let offsets = params
        .iter()
        .map(|&ty| {
            let size = ir_type(ty).bytes();
            let offset = at.next_multiple_of(size);
            at = offset + size;
            offset
        })
        .collect();
    (offsets, at.next_multiple_of(16))
}
