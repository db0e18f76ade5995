//! Interruption checks: how a runaway guest is stopped.
//!
//! Every function entry and every loop header loads the store context's
//! `interrupt` word (`vmctx` → store context → `interrupt`, see
//! [`smelt_abi::vm::VMStoreContext`]) and traps with
//! [`TrapCode::Interrupted`] when it is not zero. The runtime's timer sets
//! the word when a guest's time limit passes (`--timeout`,
//! `SMELT_TIMEOUT`), so any execution that does not end passes a check
//! soon after: it either calls functions or branches back to a loop
//! header. This is Wasmtime's epoch interruption with the epoch comparison
//! done by the timer instead of the guest: one load (the store context
//! pointer is read-only and hoisted out of loops), one compare and one
//! branch to an out-of-line trap per check. Code without limits pays the
//! same, so that a limit can be set when the executable starts.
//!
//! Cranelift's alias analysis would otherwise merge the load in a loop
//! header with the one at the function's entry when the loop stores
//! nothing (the word looks unchanged), which turns `loop br 0 end` into a
//! check-free spin. The word therefore lives in an alias region of its own
//! that the out-of-line path writes (it stores 1, keeping the word raised)
//! before it traps and rejoins: the region's last store is then different on the
//! back edge, so every header loads again, while loads of every other
//! region are unaffected.

use cranelift_codegen::ir::{AliasRegionData, InstBuilder, MemFlagsData};
use smelt_abi::trap::TrapCode;
use smelt_abi::vm::{STORE_INTERRUPT, VMCTX_STORE};

use super::{FuncTranslator, POINTER, trap};

/// The `user_id` of the alias region of the `interrupt` word (unique within
/// a function, which is all Cranelift needs without inlining).
const INTERRUPT_REGION: u32 = 0x696e_7472;

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
