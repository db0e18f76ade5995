//! Translation of one core function body to Cranelift IR.
//!
//! In: a function body and its validator. Out: an `ir::Function`. The body
//! is validated operator by operator as it is translated, so an invalid
//! body is reported with the offset of the offending operator.
//!
//! The translation keeps the wasm operand stack as a stack of SSA values
//! and the wasm control stack as a stack of [`Frame`]s; locals are
//! `cranelift-frontend` variables. A frame's `following` block (the code
//! after its `end`) takes the frame's results as block parameters, and a
//! loop's header takes the loop's parameters. Code after an unconditional
//! branch is unreachable until the end of the enclosing frame: operators
//! there are validated but not translated.
//!
//! The per-operator code is split by concern: [`numeric`], [`memory`],
//! [`atomics`], [`table`], [`call`], [`funcref`], [`exceptions`] and [`gc`]; how entities are reached from the `vmctx` is in
//! [`super::vmctx`]. Function entries and loop headers check for an
//! interruption ([`interrupt`]).

mod atomics;
mod call;
mod exceptions;
pub(crate) use exceptions::exception_layout;
mod funcref;
mod gc;
pub mod interrupt;
mod memory;
mod numeric;
mod simd;
mod table;

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, BlockArg, Function, GlobalValueData, InstBuilder, MemFlagsData, SigRef, UserFuncName,
    Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use smelt_abi::builtins::Builtin;
use smelt_abi::trap::TrapCode;
use wasmparser::{BlockType, FuncValidatorAllocations, Operator, ValType};

use super::env::{ModuleEnv, POINTER};
use super::module::FunctionInput;
use super::types::*;
use super::vmctx;
use crate::error::{CompileError, Result};

/// Reusable allocations for translating many functions on one thread.
#[derive(Default)]
pub struct TranslatorContext {
    builder: FunctionBuilderContext,
    validator: FuncValidatorAllocations,
}

/// A control frame.
struct Frame {
    kind: FrameKind,
    /// Number of parameters and results of the block type.
    params: usize,
    results: usize,
    /// Height of the operand stack below the frame's parameters.
    stack_base: usize,
    /// Whether anything branches to, or falls through to, `following`.
    following_reachable: bool,
}

enum FrameKind {
    /// The function body, a `block`, or (`following`) the code after it.
    Block { following: ir::Block },
    /// A `loop`: branches go to `header`.
    Loop {
        header: ir::Block,
        following: ir::Block,
    },
    /// An `if` (only opened in reachable code): the else arm starts at
    /// `else_block` with `params` on the stack again.
    If {
        following: ir::Block,
        else_block: ir::Block,
        params: Vec<Value>,
        has_else: bool,
    },
    /// A frame opened in unreachable code: nothing in it is translated.
    Dead,
}

impl Frame {
    fn following(&self) -> Option<ir::Block> {
        match self.kind {
            FrameKind::Block { following }
            | FrameKind::Loop { following, .. }
            | FrameKind::If { following, .. } => Some(following),
            FrameKind::Dead => None,
        }
    }

    /// Where a branch to this frame goes, and how many values it carries.
    fn branch_target(&self) -> (ir::Block, usize) {
        match self.kind {
            FrameKind::Loop { header, .. } => (header, self.params),
            _ => (
                self.following().expect("no branch targets a dead frame"),
                self.results,
            ),
        }
    }
}

/// Converts values to block-call arguments.
fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|&v| BlockArg::Value(v)).collect()
}

/// The Cranelift trap code for one of smelt's trap codes.
pub fn trap(code: TrapCode) -> ir::TrapCode {
    match code {
        TrapCode::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        TrapCode::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        TrapCode::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        TrapCode::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// smelt's trap code for a Cranelift trap code (inverse of [`trap`]).
pub fn trap_code(code: ir::TrapCode) -> Option<TrapCode> {
    Some(match code {
        ir::TrapCode::STACK_OVERFLOW => TrapCode::StackOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        other => TrapCode::from_u8(other.as_raw().get())?,
    })
}

/// Translates defined function `def` of the module in `env`.
pub fn translate_function(
    env: &ModuleEnv<'_>,
    def: DefinedFuncIndex,
    input: FunctionInput<'_>,
    ctx: &mut TranslatorContext,
) -> Result<Function> {
    let func_index = env.info.func_index(def);
    let ty = env.info.func_type(func_index);
    let sig = env.wasm_signature(ty);
    let name = UserFuncName::user(0, env.func_ids[def].as_u32());
    let mut func = Function::with_name_signature(name, sig);
    let mut validator = input
        .validator
        .into_validator(std::mem::take(&mut ctx.validator));
    let result = {
        let builder = FunctionBuilder::new(&mut func, &mut ctx.builder);
        let loop_checks = match &env.entry_checks {
            Some(entry_checks) => {
                interrupt::loops_without_checks(&input.body, env.info, entry_checks, &env.forwards)
                    .into_iter()
                    .map(|exempt| !exempt)
                    .collect()
            }
            None => Vec::new(),
        };
        let entry_check = env
            .entry_checks
            .as_ref()
            .map_or(interrupt::EntryCheck::None, |c| c[def]);
        let mut t = FuncTranslator::new(env, builder, ty, entry_check);
        t.loop_checks = loop_checks;
        let result = t.run(&input.body, &mut validator);
        if result.is_ok() {
            t.builder.finalize(env.frontend_config);
        }
        result
    };
    if result.is_ok() {
        numeric::drop_redundant_shift_masks(&mut func);
    }
    ctx.validator = validator.into_allocations();
    result.map_err(|error| CompileError::InFunction {
        index: func_index.as_u32(),
        name: env.info.func_name(func_index).map(str::to_string),
        error: Box::new(error),
    })?;
    Ok(func)
}

/// The translation state of one function.
pub(crate) struct FuncTranslator<'a, 'f> {
    env: &'a ModuleEnv<'a>,
    builder: FunctionBuilder<'f>,
    vmctx: Value,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    /// Byte offset of the operator being translated, for errors.
    offset: u64,
    sigs: HashMap<TypeIndex, SigRef>,
    direct_calls: HashMap<DefinedFuncIndex, ir::FuncRef>,
    builtin_calls: HashMap<Builtin, ir::FuncRef>,
    /// The handler scopes of the open `try_table` and `try` frames,
    /// innermost last.
    tries: Vec<exceptions::TryScope>,
    /// Values of the operand stack whose type has been looked at, for
    /// stack maps (see [`FuncTranslator::declare_gc_values`]).
    typed: std::collections::HashSet<Value>,
    /// Whether each loop of the body (by number, in the order of the
    /// `loop` instructions) checks for an interruption in its header; a
    /// loop past the end checks when the module has checks at all.
    loop_checks: Vec<bool>,
    /// The number of `loop` instructions translated so far.
    loops: usize,
}

impl<'a, 'f> FuncTranslator<'a, 'f> {
    fn new(
        env: &'a ModuleEnv<'a>,
        mut builder: FunctionBuilder<'f>,
        ty: &FuncType,
        entry_check: interrupt::EntryCheck,
    ) -> Self {
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let params = builder.block_params(entry).to_vec();
        let vmctx = params[0];

        // Every function checks the stack limit in its prologue:
        // vmctx -> store context -> stack_limit.
        let vmctx_gv = builder.create_global_value(GlobalValueData::VMContext);
        let readonly = builder
            .func
            .dfg
            .mem_flags
            .insert(MemFlagsData::trusted().with_readonly())
            .expect("few memory flags");
        let store = builder.create_global_value(GlobalValueData::Load {
            base: vmctx_gv,
            offset: (smelt_abi::vm::VMCTX_STORE as i32).into(),
            global_type: POINTER,
            flags: readonly,
        });
        let limit = builder.create_global_value(GlobalValueData::Load {
            base: store,
            offset: (smelt_abi::vm::STORE_STACK_LIMIT as i32).into(),
            global_type: POINTER,
            flags: readonly,
        });
        builder.func.stack_limit = Some(limit);

        let mut t = FuncTranslator {
            env,
            builder,
            vmctx,
            locals: Vec::new(),
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            offset: 0,
            sigs: HashMap::new(),
            direct_calls: HashMap::new(),
            builtin_calls: HashMap::new(),
            tries: Vec::new(),
            typed: std::collections::HashSet::new(),
            loop_checks: Vec::new(),
            loops: 0,
        };
        for (&wasm_ty, &value) in ty.params.iter().zip(&params[1..]) {
            let var = t.declare_local(wasm_ty);
            t.builder.def_var(var, value);
        }
        match entry_check {
            interrupt::EntryCheck::None => {}
            interrupt::EntryCheck::Explicit => t.check_interrupt(),
            // The prologue's stack check is the function's check (see
            // `interrupt::entry_check_if_no_calls` for when it has none).
            interrupt::EntryCheck::Prologue => {}
        }
        t
    }

    fn run(
        &mut self,
        body: &wasmparser::FunctionBody<'_>,
        validator: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    ) -> Result<()> {
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, ty) = locals.read()?;
            validator.define_locals(offset, count, ty)?;
            self.offset = offset;
            self.check_value_type(ty)?;
            let zero = self.zero(ty);
            for _ in 0..count {
                let var = self.declare_local(ty);
                self.builder.def_var(var, zero);
            }
        }

        // The function body is the outermost block; its results are the
        // function's.
        let results = self.builder.func.signature.returns.len();
        let following = self.builder.create_block();
        for ret in self.builder.func.signature.returns.clone() {
            self.builder.append_block_param(following, ret.value_type);
        }
        self.control.push(Frame {
            kind: FrameKind::Block { following },
            params: 0,
            results,
            stack_base: 0,
            following_reachable: false,
        });

        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset()?;
            validator.op(offset, &op)?;
            self.offset = offset;
            self.translate(&op)?;
            // (After the function's final `end`, nothing is left to type.)
            if self.env.stack_maps && self.reachable && !self.control.is_empty() {
                self.declare_gc_values(validator)?;
            }
        }
        reader.finish()?;
        debug_assert!(self.control.is_empty());
        Ok(())
    }

    /// Declares the variable of a new local of type `ty`; one that may hold
    /// a reference into the GC heap is kept in stack maps.
    fn declare_local(&mut self, ty: ValType) -> Variable {
        let var = self.builder.declare_var(ir_type(ty));
        if self.env.stack_maps && self.env.info.is_gc_ref(self.env.registry, ty) {
            self.builder.declare_var_needs_stack_map(var);
        }
        self.locals.push(var);
        var
    }

    /// Declares the values the last operator pushed that may be references
    /// into the GC heap, so that Cranelift keeps them in stack maps at every
    /// call (where the collector may run and move objects): their types are
    /// the validator's. The values the operator pushed are the top ones not
    /// looked at before (values below a value that survived the operator
    /// are older).
    fn declare_gc_values(
        &mut self,
        validator: &wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    ) -> Result<()> {
        if validator.operand_stack_height() as usize != self.stack.len() {
            return Err(CompileError::unsupported(
                "a function whose operand stack the translator lost track of (a bug in smelt)",
                self.offset,
            ));
        }
        for i in (0..self.stack.len()).rev() {
            let v = self.stack[i];
            if !self.typed.insert(v) {
                break;
            }
            if let Some(Some(ty)) = validator.get_operand_type(self.stack.len() - 1 - i)
                && self.env.info.is_gc_ref(self.env.registry, ty)
            {
                self.builder.declare_value_needs_stack_map(v);
            }
        }
        Ok(())
    }

    /// Rejects value types the target cannot compile.
    fn check_value_type(&self, ty: ValType) -> Result<()> {
        match ty {
            ValType::V128 if !self.env.simd => {
                Err(CompileError::unsupported(NO_SIMD_HERE, self.offset))
            }
            _ => Ok(()),
        }
    }

    fn zero(&mut self, ty: ValType) -> Value {
        let ins = self.builder.ins();
        match ty {
            ValType::I32 => ins.iconst(ir::types::I32, 0),
            ValType::I64 | ValType::Ref(_) => ins.iconst(ir::types::I64, 0),
            ValType::F32 => ins.f32const(0.0),
            ValType::F64 => ins.f64const(0.0),
            ValType::V128 => self.vector_const([0; 16]),
        }
    }

    fn unsupported<T>(&self, what: &str) -> Result<T> {
        Err(CompileError::unsupported(what, self.offset))
    }

    // ----- the operand stack -----

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let (a, b) = self.pop2();
        (a, b, c)
    }

    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn popn(&mut self, n: usize) -> Vec<Value> {
        self.stack.split_off(self.stack.len() - n)
    }

    // ----- helpers shared by the per-concern modules -----

    /// `MemFlagsData` for accesses to the `vmctx` and runtime structures,
    /// which never trap.
    fn trusted() -> MemFlagsData {
        MemFlagsData::trusted()
    }

    /// Loads a `ty` from `vmctx + offset`, which never changes while code
    /// runs (so the load can be shared and hoisted).
    fn load_vmctx_readonly(&mut self, ty: ir::Type, offset: u32) -> Value {
        let flags = Self::trusted().with_readonly().with_can_move();
        self.builder
            .ins()
            .load(ty, flags, self.vmctx, offset as i32)
    }

    /// Zero-extends an i32 (a 32-bit index or length) to i64; an i64 is
    /// returned unchanged.
    fn extend_to_i64(&mut self, v: Value) -> Value {
        if self.builder.func.dfg.value_type(v) == ir::types::I64 {
            v
        } else {
            self.builder.ins().uextend(ir::types::I64, v)
        }
    }

    /// Traps with `code` when `cond` is non-zero.
    fn trap_if(&mut self, cond: Value, code: TrapCode) {
        self.builder.ins().trapnz(cond, trap(code));
    }

    /// The `FuncRef` for calling built-in `b`.
    fn builtin(&mut self, b: Builtin) -> ir::FuncRef {
        if let Some(&f) = self.builtin_calls.get(&b) {
            return f;
        }
        let sig = self.env.builtin_signature(b);
        let sig = self.builder.import_signature(sig);
        let name = self
            .builder
            .func
            .declare_imported_user_function(ModuleEnv::func_name(self.env.builtins[&b]));
        let f = self.builder.import_function(ir::ExtFuncData {
            name: ir::ExternalName::user(name),
            signature: sig,
            colocated: false,
            patchable: false,
        });
        self.builtin_calls.insert(b, f);
        f
    }

    /// Calls built-in `b`; returns its result.
    fn call_builtin(&mut self, b: Builtin, args: &[Value]) -> Value {
        let f = self.builtin(b);
        let call = self.builder.ins().call(f, args);
        self.builder.inst_results(call)[0]
    }

    /// Calls built-in `b`, trapping with `code` unless it returns 0.
    fn call_builtin_checked(&mut self, b: Builtin, args: &[Value], code: TrapCode) {
        let status = self.call_builtin(b, args);
        self.trap_if(status, code);
    }

    // ----- control flow -----

    /// Parameter and result types of a block type.
    fn block_type(&self, ty: BlockType) -> (Vec<ValType>, Vec<ValType>) {
        match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(t) => (Vec::new(), vec![t]),
            BlockType::FuncType(i) => {
                let f = self.env.info.type_func(TypeIndex::from_u32(i));
                (f.params.to_vec(), f.results.to_vec())
            }
        }
    }

    fn new_block_with(&mut self, types: &[ValType]) -> ir::Block {
        let block = self.builder.create_block();
        for &t in types {
            self.builder.append_block_param(block, ir_type(t));
        }
        block
    }

    fn push_dead_frame(&mut self) {
        self.control.push(Frame {
            kind: FrameKind::Dead,
            params: 0,
            results: 0,
            stack_base: self.stack.len(),
            following_reachable: false,
        });
    }

    /// Jumps to `block` with the top `n` operands (left on the stack).
    fn jump_with_top(&mut self, block: ir::Block, n: usize) {
        let args = block_args(self.peekn(n));
        self.builder.ins().jump(block, &args);
    }

    /// Marks the frame at `depth` as branched to; returns its target.
    fn branch_to(&mut self, depth: u32) -> (ir::Block, usize) {
        let i = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[i];
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.following_reachable = true;
        }
        frame.branch_target()
    }

    fn translate_control(&mut self, op: &Operator<'_>) -> Result<()> {
        match *op {
            Operator::Block { blockty } => {
                if let BlockType::Type(ty) = blockty {
                    self.check_value_type(ty)?;
                }
                if !self.reachable {
                    self.push_dead_frame();
                    return Ok(());
                }
                let (params, results) = self.block_type(blockty);
                let following = self.new_block_with(&results);
                self.control.push(Frame {
                    kind: FrameKind::Block { following },
                    params: params.len(),
                    results: results.len(),
                    stack_base: self.stack.len() - params.len(),
                    following_reachable: false,
                });
            }
            Operator::Loop { blockty } => {
                if let BlockType::Type(ty) = blockty {
                    self.check_value_type(ty)?;
                }
                let number = self.loops;
                self.loops += 1;
                if !self.reachable {
                    self.push_dead_frame();
                    return Ok(());
                }
                let (params, results) = self.block_type(blockty);
                let header = self.new_block_with(&params);
                let following = self.new_block_with(&results);
                self.jump_with_top(header, params.len());
                let base = self.stack.len() - params.len();
                self.stack.truncate(base);
                self.builder.switch_to_block(header);
                let check = match self.loop_checks.get(number) {
                    Some(&check) => check,
                    None => self.env.entry_checks.is_some(),
                };
                if check {
                    self.check_interrupt();
                }
                self.stack
                    .extend_from_slice(self.builder.block_params(header));
                self.control.push(Frame {
                    kind: FrameKind::Loop { header, following },
                    params: params.len(),
                    results: results.len(),
                    stack_base: base,
                    following_reachable: false,
                });
            }
            Operator::If { blockty } => {
                if let BlockType::Type(ty) = blockty {
                    self.check_value_type(ty)?;
                }
                if !self.reachable {
                    self.push_dead_frame();
                    return Ok(());
                }
                let cond = self.pop();
                let (params, results) = self.block_type(blockty);
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                let following = self.new_block_with(&results);
                self.builder
                    .ins()
                    .brif(cond, then_block, &[], else_block, &[]);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                // Values defined before the `if` dominate both arms, so the
                // else arm reuses the same parameter values.
                let param_values = self.peekn(params.len()).to_vec();
                self.control.push(Frame {
                    kind: FrameKind::If {
                        following,
                        else_block,
                        params: param_values,
                        has_else: false,
                    },
                    params: params.len(),
                    results: results.len(),
                    stack_base: self.stack.len() - params.len(),
                    following_reachable: false,
                });
            }
            Operator::Else => {
                let i = self.control.len() - 1;
                let (following, else_block, params) = match &mut self.control[i].kind {
                    FrameKind::If {
                        following,
                        else_block,
                        params,
                        has_else,
                    } => {
                        *has_else = true;
                        (*following, *else_block, std::mem::take(params))
                    }
                    // A dead `if` stays dead in its else arm.
                    _ => return Ok(()),
                };
                let (results, base) = (self.control[i].results, self.control[i].stack_base);
                if self.reachable {
                    self.control[i].following_reachable = true;
                    self.jump_with_top(following, results);
                }
                self.stack.truncate(base);
                self.stack.extend_from_slice(&params);
                self.builder.switch_to_block(else_block);
                self.reachable = true;
            }
            Operator::End => {
                let mut frame = self.control.pop().expect("validated: end matches a frame");
                if let FrameKind::Dead = frame.kind {
                    self.stack.truncate(frame.stack_base);
                    return Ok(());
                }
                let following = frame.following().expect("not dead");
                if self.reachable {
                    frame.following_reachable = true;
                    self.jump_with_top(following, frame.results);
                }
                match frame.kind {
                    FrameKind::If {
                        else_block,
                        ref params,
                        has_else: false,
                        ..
                    } => {
                        // No else arm: the parameters flow through as results.
                        self.builder.switch_to_block(else_block);
                        frame.following_reachable = true;
                        let args = block_args(params);
                        self.builder.ins().jump(following, &args);
                    }
                    FrameKind::Loop { header, .. } => self.builder.seal_block(header),
                    _ => {}
                }
                self.end_try_scope(self.control.len());
                self.stack.truncate(frame.stack_base);
                self.builder.switch_to_block(following);
                self.builder.seal_block(following);
                self.reachable = frame.following_reachable;
                if self.reachable {
                    let values = self.builder.block_params(following).to_vec();
                    if self.control.is_empty() {
                        self.builder.ins().return_(&values);
                    } else {
                        self.stack.extend_from_slice(&values);
                    }
                } else {
                    // Nothing reaches the code after this frame; close the
                    // empty block.
                    self.builder
                        .ins()
                        .trap(trap(TrapCode::UnreachableCodeReached));
                }
            }
            Operator::Br { relative_depth } => {
                if self.reachable {
                    let (target, n) = self.branch_to(relative_depth);
                    self.jump_with_top(target, n);
                    self.reachable = false;
                }
            }
            Operator::BrIf { relative_depth } => {
                if self.reachable {
                    let cond = self.pop();
                    let (target, n) = self.branch_to(relative_depth);
                    let args = block_args(self.peekn(n));
                    let next = self.builder.create_block();
                    self.builder.ins().brif(cond, target, &args, next, &[]);
                    self.builder.seal_block(next);
                    self.builder.switch_to_block(next);
                }
            }
            Operator::BrTable { ref targets } => {
                if self.reachable {
                    let index = self.pop();
                    let default = self.branch_to(targets.default());
                    let args = block_args(self.peekn(default.1));
                    let mut calls = Vec::with_capacity(targets.len() as usize);
                    for depth in targets.targets() {
                        let (target, _) = self.branch_to(depth?);
                        calls.push(self.builder.func.dfg.block_call(target, &args));
                    }
                    let default = self.builder.func.dfg.block_call(default.0, &args);
                    let table = ir::JumpTableData::new(default, &calls);
                    let table = self.builder.create_jump_table(table);
                    self.builder.ins().br_table(index, table);
                    self.reachable = false;
                }
            }
            Operator::Return => {
                if self.reachable {
                    let n = self.builder.func.signature.returns.len();
                    let values = self.popn(n);
                    self.builder.ins().return_(&values);
                    self.reachable = false;
                }
            }
            Operator::Unreachable => {
                if self.reachable {
                    self.builder
                        .ins()
                        .trap(trap(TrapCode::UnreachableCodeReached));
                    self.reachable = false;
                }
            }
            _ => unreachable!("not a control operator"),
        }
        Ok(())
    }

    /// Translates one operator.
    fn translate(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator::*;
        match op {
            Block { .. }
            | Loop { .. }
            | If { .. }
            | Else
            | End
            | Br { .. }
            | BrIf { .. }
            | BrTable { .. }
            | Return
            | Unreachable => return self.translate_control(op),
            TryTable { .. } | Try { .. } | Catch { .. } | CatchAll | Delegate { .. } => {
                return self.translate_exception_control(op);
            }
            _ => {}
        }
        if !self.reachable {
            return Ok(());
        }
        match *op {
            Nop => {}
            Drop => {
                self.pop();
            }
            TypedSelect { ty } if ty == ValType::V128 && !self.env.simd => {
                return self.unsupported(NO_SIMD_HERE);
            }
            Select | TypedSelect { .. } => {
                let cond = self.pop();
                let (a, b) = self.pop2();
                let v = self.builder.ins().select(cond, a, b);
                self.push(v);
            }
            TypedSelectMulti { .. } => return self.unsupported("multi-value select"),
            LocalGet { local_index } => {
                let v = self.builder.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            LocalSet { local_index } => {
                let v = self.pop();
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.builder.def_var(self.locals[local_index as usize], v);
            }
            GlobalGet { global_index } => {
                let g = GlobalIndex::from_u32(global_index);
                let v = vmctx::global_get(&mut self.builder, self.env, self.vmctx, g);
                self.push(v);
            }
            GlobalSet { global_index } => {
                let g = GlobalIndex::from_u32(global_index);
                let v = self.pop();
                let (base, offset) = vmctx::global_addr(&mut self.builder, self.env, self.vmctx, g);
                self.builder.ins().store(Self::trusted(), v, base, offset);
            }
            Call { function_index } => self.call(FuncIndex::from_u32(function_index), false),
            ReturnCall { function_index } => {
                self.call(FuncIndex::from_u32(function_index), true);
            }
            CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex::from_u32(type_index),
                TableIndex::from_u32(table_index),
                false,
            ),
            ReturnCallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(
                TypeIndex::from_u32(type_index),
                TableIndex::from_u32(table_index),
                true,
            ),
            RefNull { .. } => {
                let v = self.builder.ins().iconst(POINTER, 0);
                self.push(v);
            }
            RefIsNull => {
                let r = self.pop();
                let is_null = self
                    .builder
                    .ins()
                    .icmp_imm_u(ir::condcodes::IntCC::Equal, r, 0);
                let v = self.builder.ins().uextend(ir::types::I32, is_null);
                self.push(v);
            }
            RefFunc { function_index } => {
                let v = self.func_ref(FuncIndex::from_u32(function_index));
                self.push(v);
            }
            RefAsNonNull => {
                let r = *self.stack.last().expect("validated");
                self.builder.ins().trapz(r, trap(TrapCode::NullReference));
            }
            _ => {
                if self.translate_numeric(op)?
                    || self.translate_memory(op)?
                    || self.translate_atomic(op)?
                    || self.translate_table(op)?
                    || self.translate_funcref(op)?
                    || self.translate_throw(op)?
                    || self.translate_gc(op)?
                    || (self.env.simd && self.translate_simd(op)?)
                {
                    return Ok(());
                }
                let proposal = match proposal_of(op) {
                    SIMD if !self.env.simd => NO_SIMD_HERE,
                    proposal => proposal,
                };
                return self.unsupported(&format!(
                    "the `{}` instruction ({proposal})",
                    operator_name(op),
                ));
            }
        }
        Ok(())
    }
}

/// The text-format name of an operator, for messages.
fn operator_name(op: &Operator<'_>) -> String {
    let debug = format!("{op:?}");
    let name = debug.split([' ', '{', '(']).next().unwrap_or(&debug);
    // `I32Load8S` → `i32.load8_s`-like: good enough to identify it.
    name.to_string()
}

/// The fixed-width SIMD proposal, in messages.
const SIMD: &str = "fixed-width SIMD proposal";

/// Why `v128` code does not compile for a target without vector support.
pub(crate) const NO_SIMD_HERE: &str = "fixed-width SIMD, which Cranelift compiles for riscv64 \
     only with the V extension, not in the RV64GC baseline: build with `--cpu rv64gcv` for CPUs \
     that have it";

/// The proposal an untranslated operator belongs to, for messages.
fn proposal_of(op: &Operator<'_>) -> &'static str {
    let name = format!("{op:?}");
    if name.starts_with("V128")
        || name.starts_with("I8x16")
        || name.starts_with("I16x8")
        || name.starts_with("I32x4")
        || name.starts_with("I64x2")
        || name.starts_with("F32x4")
        || name.starts_with("F64x2")
    {
        SIMD
    } else if name.contains("Atomic") || name.starts_with("MemoryAtomic") {
        "threads proposal"
    } else {
        "a proposal smelt does not support yet"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_round_trip_through_cranelift() {
        for &code in TrapCode::ALL {
            assert_eq!(trap_code(trap(code)), Some(code));
        }
    }
}
