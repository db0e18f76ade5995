//! Inlining of small leaf functions into their direct callers.
//!
//! LLVM leaves some small functions of a program out of line when it
//! compiles to wasm (it inlines less across crates and at `-Os`/`-Oz`):
//! each direct call of one costs a frame, a prologue and an epilogue, and
//! clobbers the caller-saved registers, so that the caller's live values
//! are spilled around it. wasm2c + clang inlines them again; smelt does so
//! with Cranelift's inliner ([`cranelift_codegen::Context::inline`]).
//!
//! Which calls are inlined: direct `call`s (not `try_call`s: a call inside
//! a `try_table`) of a function of the program that
//!
//! - is a leaf: its body has no call instruction of any kind, so that
//!   inlining never copies a call, a recursion, or a prologue's stack
//!   check that a loop of the caller relies on as its interruption check
//!   (see [`crate::core::translate::interrupt`]); a leaf that checks on
//!   entry (an export) checks in each inlined copy too;
//! - has no exception instruction (`try_table`, `throw`, ...);
//! - has a body of at most [`MAX_BODY_BYTES`] bytes of wasm and, once
//!   translated, at most [`MAX_INSTS`] Cranelift instructions.
//!
//! Such a callee is translated before the other functions, once; each
//! caller gets a copy of that body at every direct call site before it is
//! optimized, and the callee is still compiled on its own for calls
//! through tables, references and exports.
//!
//! Backtraces keep the inlined frames: [`Inliner::mark`] gives the
//! instructions of each copy a source location naming its callee, and the
//! compiled code's location ranges become the function's inline sites
//! (`smelt_abi::program::InlineSite`), which the runtime consults for each
//! frame's program counter.
//!
//! Setting `SMELT_NO_INLINE=1` in `smelt`'s environment turns inlining off
//! (to measure what it gains).

use std::borrow::Cow;
use std::collections::HashMap;

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName};
use cranelift_module::FuncId;
use wasmparser::{FunctionBody, Operator};

use super::module::FunctionInput;
use super::translate::interrupt;

/// Largest wasm body (in bytes, locals included) considered for inlining.
pub const MAX_BODY_BYTES: u64 = 160;

/// Largest translated body (in Cranelift instructions) that is inlined.
pub const MAX_INSTS: usize = 48;

/// Whether inlining is on: it is unless `SMELT_NO_INLINE` is set to
/// something other than `0` in the compiler's environment.
pub fn enabled() -> bool {
    std::env::var_os("SMELT_NO_INLINE").is_none_or(|v| v.is_empty() || v == "0")
}

/// Whether the function with body `input` may be inlined, as far as its
/// wasm body tells (see the module documentation).
pub fn candidate(input: &FunctionInput<'_>) -> bool {
    let range = input.body.range();
    range.end - range.start <= MAX_BODY_BYTES
        && !interrupt::has_calls(&input.body)
        && !has_exception_instructions(&input.body)
}

/// Whether `body` has an exception instruction (or cannot be read).
fn has_exception_instructions(body: &FunctionBody<'_>) -> bool {
    let Ok(mut reader) = body.get_operators_reader() else {
        return true;
    };
    while !reader.eof() {
        match reader.read() {
            Ok(
                Operator::TryTable { .. }
                | Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::Try { .. }
                | Operator::Catch { .. }
                | Operator::CatchAll
                | Operator::Rethrow { .. }
                | Operator::Delegate { .. },
            )
            | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}

/// Whether translated candidate `func` is small enough to inline.
pub fn small_enough(func: &ir::Function) -> bool {
    let mut insts = 0;
    for block in func.layout.blocks() {
        insts += func.layout.block_insts(block).count();
        if insts > MAX_INSTS {
            return false;
        }
    }
    true
}

/// The [`Inline`] policy of one function's compilation: inline the direct
/// `call`s of the functions in `bodies` (translated, unoptimized), by
/// object id, and remember which calls were inlined.
pub struct Inliner<'a> {
    /// The bodies to inline.
    pub bodies: &'a HashMap<FuncId, ir::Function>,
    /// The calls inlined so far (each now a `jump` to the inlined copy's
    /// entry block), with their callees.
    pub inlined: Vec<(ir::Inst, FuncId)>,
}

impl Inline for Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call_inst: ir::Inst,
        call_opcode: ir::Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if call_opcode != ir::Opcode::Call {
            return InlineCommand::KeepCall;
        }
        let ExternalName::User(name) = caller.dfg.ext_funcs[callee].name else {
            return InlineCommand::KeepCall;
        };
        let name = &caller.params.user_named_funcs()[name];
        if name.namespace != 0 {
            return InlineCommand::KeepCall;
        }
        let id = FuncId::from_u32(name.index);
        match self.bodies.get(&id) {
            Some(body) => {
                self.inlined.push((call_inst, id));
                InlineCommand::Inline {
                    callee: Cow::Borrowed(body),
                    visit_callee: false,
                }
            }
            None => InlineCommand::KeepCall,
        }
    }
}

impl Inliner<'_> {
    /// Marks the instructions of each inlined copy in `func` (after
    /// [`cranelift_codegen::Context::inline`] with this policy) with the
    /// source location `k + 1`, where `k` indexes the returned callees,
    /// so that the compiled code's source location ranges
    /// ([`cranelift_codegen::MachBufferFinalized::get_srclocs_sorted`])
    /// tell which code came from which callee. The caller's own
    /// instructions keep the default (invalid) location.
    ///
    /// Cranelift creates the blocks of an inlined copy as one contiguous
    /// run of block numbers, in the callee's numbering, and turns the call
    /// into a jump to the copy of the callee's entry block: the run is
    /// found from that jump.
    pub fn mark(self, func: &mut ir::Function) -> Vec<FuncId> {
        let mut callees = Vec::with_capacity(self.inlined.len());
        for (call, id) in self.inlined {
            let body = &self.bodies[&id];
            let (Some(entry), ir::InstructionData::Jump { destination, .. }) =
                (body.layout.entry_block(), &func.dfg.insts[call])
            else {
                continue;
            };
            let target = destination.block(&func.dfg.value_lists);
            let Some(first) = target.as_u32().checked_sub(entry.as_u32()) else {
                continue;
            };
            callees.push(id);
            let loc = ir::SourceLoc::new(callees.len() as u32);
            for b in first..first + body.dfg.num_blocks() as u32 {
                let block = ir::Block::from_u32(b);
                if !func.layout.is_block_inserted(block) {
                    continue;
                }
                let mut next = func.layout.first_inst(block);
                while let Some(inst) = next {
                    func.set_srcloc(inst, loc);
                    next = func.layout.next_inst(inst);
                }
            }
        }
        callees
    }
}
