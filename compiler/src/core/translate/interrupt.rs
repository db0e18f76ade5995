//! Interruption checks: how a runaway guest is stopped.
//!
//! A check loads the store context's `interrupt` word (`vmctx` → store
//! context → `interrupt`, see [`smelt_abi::vm::VMStoreContext`]) and traps
//! with [`TrapCode::Interrupted`] when it is not zero. The runtime's timer
//! sets the word when a guest's time limit passes (`--timeout`,
//! `SMELT_TIMEOUT`). This is Wasmtime's epoch interruption with the epoch
//! comparison done by the timer instead of the guest: one load (the store
//! context pointer is read-only and hoisted out of loops), one compare and
//! one branch to an out-of-line (cold) trap per check. Code without limits
//! pays the same, so that a limit can be set when the executable starts.
//!
//! Most function entries need no such check: the timer also sets the
//! store's stack limit to [`smelt_abi::vm::STACK_LIMIT_INTERRUPTED`], above
//! every stack address, so the stack check that Cranelift puts in the
//! prologue of every function that makes calls traps at its next entry
//! (the trap handler reports a stack check that fails in an interrupted
//! store as [`TrapCode::Interrupted`]). A function whose calls all turn
//! out unreachable and are removed gets an explicit check after all
//! ([`entry_check_if_no_calls`]).
//!
//! # Where the checks are
//!
//! Execution that goes on for long either iterates a loop or makes calls
//! (a body without either runs each of its instructions at most once).
//! The checks are placed so that both pass a check, and soon:
//!
//! - **Function entries** (the prologue's stack check, or an explicit
//!   check in a function that makes no call), except in a function whose
//!   body has no call instruction of any kind (`call`, `call_indirect`,
//!   `call_ref` and their `return_call` forms) and that the host cannot
//!   call (not exported, not the start function): such a leaf only runs
//!   its own body, whose loops
//!   have their own checks, and returns. (The host may call an export again
//!   and again with no guest call between, as it does an async callback
//!   that keeps yielding.) Every cycle of the call graph —
//!   recursion, mutual recursion, tail-call cycles, cycles through tables,
//!   `call_ref`, imports and the host — therefore goes through an entry
//!   with a check, since every function on it makes a call. Between two
//!   checks a thread runs at most the straight-line code of one caller's
//!   body, the leaves it calls, and the rest of the bodies of the frames
//!   it returns through.
//! - **Loop headers**, except of a loop whose every iteration calls a
//!   function that checks on entry: its body has, at its own level or
//!   inside `block`s only (not in an `if` arm, a nested loop or a `try`),
//!   a direct `call` of a function of the module that checks on entry, and
//!   nothing before that call branches to the loop's header or out of one
//!   of those blocks (no `br`, `br_if`, `br_table`, `br_on_*` or
//!   `try_table` catch label naming them). A call of an import, through a
//!   table or a reference may reach code without a check, so it keeps the
//!   loop's check.
//!
//! Setting `SMELT_NO_INTERRUPT_CHECKS=1` in `smelt`'s environment leaves
//! every check out: the executable then cannot be stopped by a time limit
//! (`smelt build` says so, and refuses `--timeout`). It exists to measure
//! what the checks cost (`bench/run.py --interrupt-cost`).
//!
//! # Why the checks write the word
//!
//! Cranelift's alias analysis would otherwise merge the load in a loop
//! header with the one at the function's entry when the loop stores
//! nothing (the word looks unchanged), which turns `loop br 0 end` into a
//! check-free spin. The word therefore lives in an alias region of its own
//! that the out-of-line path writes (it stores 1, keeping the word raised)
//! before it traps and rejoins: the region's last store is then different on the
//! back edge, so every header loads again, while loads of every other
//! region are unaffected.

use std::collections::HashMap;

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{self, AliasRegionData, InstBuilder, MemFlagsData};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{STORE_INTERRUPT, VMCTX_STORE};
use wasmparser::{FunctionBody, Operator};

use super::{FuncTranslator, POINTER, trap};
use crate::core::forward::Forward;
use crate::core::module::ModuleInfo;
use crate::core::types::{DefinedFuncIndex, EntityIndex, FuncIndex};
use cranelift_entity::PrimaryMap;

/// The `user_id` of the alias region of the `interrupt` word, unique within
/// a function. Cranelift keeps one region per `user_id`, so the checks of
/// a leaf inlined into a function (`core::inline`) share the caller's
/// region, each with its own store on its cold path, as the checks of the
/// caller's own loops do.
const INTERRUPT_REGION: u32 = 0x696e_7472;

/// Whether interruption checks are emitted at all: they are unless
/// `SMELT_NO_INTERRUPT_CHECKS` is set to something other than `0` in the
/// compiler's environment (for measuring their cost).
pub fn checks_enabled() -> bool {
    std::env::var_os("SMELT_NO_INTERRUPT_CHECKS").is_none_or(|v| v.is_empty() || v == "0")
}

/// Whether the function with body `body` has a call instruction (then its
/// prologue's stack check is its interruption check on entry, see
/// [`EntryCheck::Prologue`]). A body that cannot be read counts as one with
/// calls (its translation reports the error).
pub fn has_calls(body: &FunctionBody<'_>) -> bool {
    let Ok(mut reader) = body.get_operators_reader() else {
        return true;
    };
    while !reader.eof() {
        match reader.read() {
            Ok(
                Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. },
            ) => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    false
}

/// How a function checks for an interruption on entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryCheck {
    /// It does not.
    None,
    /// With the stack check of its prologue, which Cranelift emits in
    /// every function that makes calls and which fails once the store is
    /// interrupted (its stack limit is then
    /// `smelt_abi::vm::STACK_LIMIT_INTERRUPTED`): free (or explicit after
    /// all, where no call is left: [`entry_check_if_no_calls`]).
    Prologue,
    /// With an explicit check of the `interrupt` word: a function that
    /// makes no call, whose prologue may have no stack check.
    Explicit,
}

impl EntryCheck {
    /// Whether every entry of the function passes a check.
    pub fn checks(self) -> bool {
        self != EntryCheck::None
    }
}

/// How each defined function of `info` checks on entry, given which have
/// a call instruction (`calls`, by defined function index; see
/// [`has_calls`]): those with the stack check of their prologue, and
/// every other function the host may call (exports and the start
/// function), which the host may call again and again (an async callback
/// that always yields) with no guest call between, explicitly.
pub fn entry_checks(
    info: &ModuleInfo<'_>,
    calls: Vec<bool>,
) -> PrimaryMap<DefinedFuncIndex, EntryCheck> {
    let mut checks: PrimaryMap<DefinedFuncIndex, EntryCheck> = calls
        .into_iter()
        .map(|calls| {
            if calls {
                EntryCheck::Prologue
            } else {
                EntryCheck::None
            }
        })
        .collect();
    let exported = info.exports.iter().filter_map(|e| match e.index {
        EntityIndex::Func(f) => Some(f),
        _ => None,
    });
    for f in exported.chain(info.start) {
        if let Some(def) = info.defined_func(f)
            && let Some(check) = checks.get_mut(def)
            && *check == EntryCheck::None
        {
            *check = EntryCheck::Explicit;
        }
    }
    checks
}

/// A frame of the control stack of [`loops_without_checks`].
struct Frame {
    kind: Kind,
    /// Whether something seen so far branches to this frame.
    branched_to: bool,
}

/// What a [`Frame`] is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A `loop`, with its number (in the order of the `loop` instructions).
    Loop(usize),
    /// A `block`: code in it runs on every path through it unless something
    /// before branches out of it.
    Block,
    /// The function body, an `if` or `else` arm, a `try` or `try_table`.
    Other,
}

impl Frame {
    fn new(kind: Kind) -> Frame {
        Frame {
            kind,
            branched_to: false,
        }
    }
}

/// Which loops of `body` (by number, in the order of their `loop`
/// instructions, reachable or not) need no check in their header, given
/// which functions of `info` check on entry (`entry_checks`, by defined
/// function index; see the module documentation). A body that cannot be
/// read gets no exemption.
pub fn loops_without_checks(
    body: &FunctionBody<'_>,
    info: &ModuleInfo<'_>,
    entry_checks: &PrimaryMap<DefinedFuncIndex, EntryCheck>,
    forwards: &HashMap<FuncIndex, Forward>,
) -> Vec<bool> {
    let mut exempt = Vec::new();
    let mut control = vec![Frame::new(Kind::Other)];
    let Ok(mut reader) = body.get_operators_reader() else {
        return Vec::new();
    };
    // Marks the frame `depth` labels out as branched to.
    fn branch(control: &mut [Frame], depth: u32) {
        if let Some(i) = control.len().checked_sub(depth as usize + 1) {
            control[i].branched_to = true;
        }
    }
    while !reader.eof() {
        let Ok(op) = reader.read() else {
            return Vec::new();
        };
        match op {
            Operator::Block { .. } => control.push(Frame::new(Kind::Block)),
            Operator::If { .. } | Operator::Try { .. } => control.push(Frame::new(Kind::Other)),
            Operator::TryTable { try_table } => {
                // Catch labels are resolved outside the `try_table`.
                for catch in &try_table.catches {
                    let depth = match *catch {
                        wasmparser::Catch::One { label, .. }
                        | wasmparser::Catch::OneRef { label, .. }
                        | wasmparser::Catch::All { label }
                        | wasmparser::Catch::AllRef { label } => label,
                    };
                    branch(&mut control, depth);
                }
                control.push(Frame::new(Kind::Other));
            }
            Operator::Loop { .. } => {
                control.push(Frame::new(Kind::Loop(exempt.len())));
                exempt.push(false);
            }
            Operator::End | Operator::Delegate { .. } => {
                control.pop();
            }
            Operator::Br { relative_depth }
            | Operator::BrIf { relative_depth }
            | Operator::BrOnNull { relative_depth }
            | Operator::BrOnNonNull { relative_depth }
            | Operator::BrOnCast { relative_depth, .. }
            | Operator::BrOnCastFail { relative_depth, .. } => {
                branch(&mut control, relative_depth);
            }
            Operator::BrTable { targets } => {
                branch(&mut control, targets.default());
                for target in targets.targets() {
                    let Ok(depth) = target else {
                        return Vec::new();
                    };
                    branch(&mut control, depth);
                }
            }
            Operator::Call { function_index } => {
                // The function the call reaches (see `core::forward`): a
                // call of one that does nothing is no call.
                let callee = match forwards.get(&FuncIndex::from_u32(function_index)) {
                    Some(Forward::Call { target, .. }) => Some(*target),
                    Some(Forward::Nothing) => None,
                    None => Some(FuncIndex::from_u32(function_index)),
                };
                let checks = callee
                    .and_then(|f| info.defined_func(f))
                    .is_some_and(|def| entry_checks.get(def).is_some_and(|c| c.checks()));
                // The innermost loop around the call, when only `block`s
                // are between them and nothing branched yet to any of them
                // (a branch to one of these blocks would skip the call, one
                // to the loop would start the next iteration before it).
                let covered = control
                    .iter()
                    .rev()
                    .take_while(|f| !f.branched_to && f.kind != Kind::Other)
                    .find_map(|f| match f.kind {
                        Kind::Loop(n) => Some(n),
                        _ => None,
                    });
                if let Some(n) = covered
                    && checks
                {
                    exempt[n] = true;
                }
            }
            _ => {}
        }
    }
    exempt
}

/// Gives `func`, a compiled (and so optimized) wasm function whose entry
/// check is its prologue's stack check ([`EntryCheck::Prologue`]), an
/// explicit check at its entry when optimization left it no call
/// instruction (its calls were unreachable): Cranelift leaves the stack
/// check out of a function that makes no call and has no frame. Returns
/// whether it did, in which case `func` must be compiled again. (The check
/// needs no cold path: only loop headers do, see the module
/// documentation.)
pub fn entry_check_if_no_calls(func: &mut ir::Function) -> bool {
    let calls = func.layout.blocks().any(|block| {
        func.layout
            .block_insts(block)
            .any(|inst| func.dfg.insts[inst].opcode().is_call())
    });
    let Some(entry) = func.layout.entry_block() else {
        return false;
    };
    if calls {
        return false;
    }
    let vmctx = func.dfg.block_params(entry)[0];
    let mut pos = FuncCursor::new(func).at_first_insertion_point(entry);
    let store = pos.ins().load(
        POINTER,
        MemFlagsData::trusted().with_readonly(),
        vmctx,
        VMCTX_STORE as i32,
    );
    let flag = pos.ins().load(
        POINTER,
        MemFlagsData::trusted(),
        store,
        STORE_INTERRUPT as i32,
    );
    pos.ins().trapnz(flag, trap(TrapCode::Interrupted));
    true
}

impl FuncTranslator<'_, '_> {
    /// Emits the interruption check at the current position (a function's
    /// entry block, or a loop header); code emitted after it goes in a new
    /// block that follows the check.
    pub(super) fn check_interrupt(&mut self) {
        let region = self.builder.func.dfg.alias_regions.insert(AliasRegionData {
            user_id: INTERRUPT_REGION,
            description: "store interrupt".into(),
        });
        let flags = MemFlagsData::trusted().with_alias_region(Some(region));
        let store = self.load_vmctx_readonly(POINTER, VMCTX_STORE);
        let flag = self
            .builder
            .ins()
            .load(POINTER, flags, store, STORE_INTERRUPT as i32);
        let stop = self.builder.create_block();
        let go_on = self.builder.create_block();
        self.builder.set_cold_block(stop);
        self.builder.ins().brif(flag, stop, &[], go_on, &[]);
        self.builder.seal_block(stop);

        self.builder.switch_to_block(stop);
        let raised = self.builder.ins().iconst(POINTER, 1);
        self.builder
            .ins()
            .store(flags, raised, store, STORE_INTERRUPT as i32);
        self.builder.ins().trapnz(flag, trap(TrapCode::Interrupted));
        self.builder.ins().jump(go_on, &[]);
        self.builder.seal_block(go_on);

        self.builder.switch_to_block(go_on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which functions of `wat` check on entry, and for each function which
    /// of its loops are exempt from a header check.
    fn plan(wat: &str) -> (Vec<bool>, Vec<Vec<bool>>) {
        let wasm = wat::parse_str(wat).unwrap();
        let mut validator = wasmparser::Validator::new_with_features(crate::core::features());
        let (info, bodies) = crate::core::module::parse(&mut validator, &wasm).unwrap();
        let calls = bodies.iter().map(|b| has_calls(&b.body)).collect();
        let entry = entry_checks(&info, calls);
        let forwards = crate::core::forward::forwarders(&info, &bodies);
        let loops = bodies
            .iter()
            .map(|b| loops_without_checks(&b.body, &info, &entry, &forwards))
            .collect();
        (entry.values().map(|c| c.checks()).collect(), loops)
    }

    #[test]
    fn leaves_that_the_host_cannot_call_have_no_entry_check() {
        let (entry, _) = plan(
            r#"(module
              (type $t (func))
              (table 1 funcref)
              (func $leaf (loop br 0))
              (func $exported_leaf (export "e"))
              (func $start_leaf)
              (func $direct (call $leaf))
              (func $tail (return_call $leaf))
              (func $indirect (call_indirect (type $t) (i32.const 0)))
              (func $by_ref (return_call_ref $t (ref.func $leaf)))
              (elem declare func $leaf)
              (start $start_leaf))"#,
        );
        assert_eq!(entry, [false, true, true, true, true, true, true]);
    }

    #[test]
    fn a_loop_is_exempt_only_when_every_iteration_calls_a_checking_function() {
        let (_, loops) = plan(
            r#"(module
              (type $t (func))
              (import "env" "imported" (func $imported))
              (table 1 funcref)
              (func $leaf (drop (i32.const 0)))
              (func $checks (call $leaf) (call $leaf))
              (func
                ;; 0: exempt, the call at the loop's level
                (loop (call $checks) (br 0))
                ;; 1: the callee is a leaf
                (loop (call $leaf) (br 0))
                ;; 2: an import, 3: through a table
                (loop (call $imported) (br 0))
                (loop (call_indirect (type $t) (i32.const 0)) (br 0))
                ;; 4: a branch back before the call
                (loop (br_if 0 (i32.const 1)) (call $checks) (br 0))
                ;; 5: in an if arm
                (loop (if (i32.const 0) (then (call $checks))) (br 0))
                ;; 6: exempt, inside a block; 7: a branch out of the block first
                (loop (block (call $checks)) (br 0))
                (loop (block (br_if 0 (i32.const 1)) (call $checks)) (br 0))
                ;; 8: br_table naming the loop first
                (loop (block (br_table 0 1 (i32.const 0))) (call $checks) (br 0))
                ;; 9: the outer loop, branched to from the inner one (10) before
                ;; its own call; 10 is exempt
                (loop (loop (call $checks) (br_if 1 (i32.const 1)) (br 0)) (call $checks))
                ;; 11: a try_table whose catch names the loop (labels count
                ;; from outside the try_table), before the call
                (loop (try_table (catch_all 0)) (call $checks) (br 0))
                ;; 12: exempt, the branch back comes after the call
                (loop (call $checks) (br_if 0 (i32.const 1)))))"#,
        );
        assert_eq!(
            loops[2],
            [
                true, false, false, false, false, false, true, false, false, false, true, false,
                true
            ]
        );
        assert!(loops[0].is_empty() && loops[1].is_empty());
    }

    #[test]
    fn a_call_of_a_forwarding_function_counts_as_a_call_of_its_target() {
        let (entry, loops) = plan(
            r#"(module
              (func $leaf (drop (i32.const 0)))
              (func $empty (export "e"))
              (func $to_leaf (call $leaf))
              (func $checks (call $leaf) (call $leaf))
              (func $to_checks (call $checks))
              (func
                ;; 0: the call is dropped (the exported $empty checks on
                ;; entry, but only when the host calls it)
                (loop (call $empty) (br 0))
                ;; 1: reaches the leaf, 2: reaches $checks
                (loop (call $to_leaf) (br 0))
                (loop (call $to_checks) (br 0))))"#,
        );
        assert_eq!(entry, [false, true, true, true, true, true]);
        assert_eq!(loops[5], [false, false, true]);
    }
}
