//! Exception handling: throwing exceptions (they are GC objects, see
//! [`crate::gc`]).
//!
//! Compiled code throws by calling the `throw` built-in through an exit
//! stub (`smelt_abi::builtins::Builtin::takes_exit_frame`), whose frame
//! record gives the guest's frame pointer and the return address into it.
//! [`throw`] walks the frame-pointer chain from there and looks each
//! return address up in the handler sites the compiler emitted
//! ([`CodeTables::handler_at`]): a call inside a `try_table` (or legacy
//! `try`) block was compiled as a Cranelift `try_call` whose handler is the
//! block's landing pad. The first frame with a handler gets control back:
//! its stack and frame pointers are restored, the exception is put in the
//! first exception payload register, and execution jumps to the pad, which
//! compares the exception's tag with the block's catch clauses and either
//! branches to a clause's label or throws the exception on.
//!
//! Cranelift's `tail` calling convention, which every guest function and
//! exit stub uses, clobbers every register at a `try_call`, so nothing but
//! the two pointers needs restoring. The frames skipped over (guest frames
//! and the runtime's own frames of `throw`) need no cleanup.
//!
//! When the walk reaches code that is not compiled guest code (the
//! trampoline through which the host called in, or a runtime function
//! between two guest calls) without finding a handler, the exception is
//! uncaught: the call into guest code ends with
//! [`TrapCode::UncaughtException`], as a trap does (`traps::raise_at_exit`).

use smelt_abi::trap::TrapCode;

use crate::program::CodeTables;
use crate::traps;

/// `throw`: unwinds to the innermost handler of `exn` (see the module
/// documentation). Never returns.
///
/// # Safety
///
/// Must be called by an exit stub, with its frame pointer `exit_fp`, from
/// guest code entered through `traps::catch`; `exn` must be an exception
/// object.
#[unsafe(export_name = "smelt_rt_throw")]
pub unsafe extern "C" fn throw(exn: *mut u8, exit_fp: *mut u8) -> i32 {
    let exit_fp = exit_fp as usize;
    let tables = CodeTables::current();
    let entry_sp = traps::entry_sp().unwrap_or(0);
    let mut fp = exit_fp;
    loop {
        // SAFETY: `fp` is the frame pointer of a live frame below the entry
        // (the stub's, then compiled guest frames'), which stores the
        // caller's frame pointer and the return address at `fp`.
        let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if tables.func_at(ret.wrapping_sub(1)).is_none() {
            break;
        }
        if let Some((handler, frame_offset)) = tables.handler_at(ret) {
            // SAFETY: the handler belongs to the frame at `caller_fp`, which
            // is live; the compiler recorded its stack pointer at the call.
            unsafe { resume(handler, caller_fp - frame_offset, caller_fp, exn as usize) };
        }
        if caller_fp <= fp || caller_fp >= entry_sp || !caller_fp.is_multiple_of(8) {
            break;
        }
        fp = caller_fp;
    }
    // SAFETY: called from the exit stub at `exit_fp`, as required.
    unsafe { traps::raise_at_exit(TrapCode::UncaughtException, exit_fp) }
}

/// Jumps to the exception handler at `pc` with the stack pointer `sp`,
/// the frame pointer `fp` and `exn` in the first exception payload
/// register of Cranelift's `tail` convention.
///
/// # Safety
///
/// `pc` must be the handler of a call site of the live frame whose frame
/// pointer is `fp`, and `sp` that frame's stack pointer at the call.
#[cfg(target_arch = "x86_64")]
unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    // SAFETY: guaranteed by the caller.
    unsafe {
        core::arch::asm!(
            "mov rsp, rcx",
            "mov rbp, rsi",
            "jmp rdi",
            in("rax") exn,
            in("rdx") 0usize,
            in("rcx") sp,
            in("rsi") fp,
            in("rdi") pc,
            options(noreturn, nostack),
        )
    }
}

/// See the x86_64 version.
///
/// # Safety
///
/// As for x86_64.
#[cfg(target_arch = "aarch64")]
unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    // SAFETY: guaranteed by the caller.
    unsafe {
        core::arch::asm!(
            "mov sp, x2",
            "mov x29, x3",
            "br x4",
            in("x0") exn,
            in("x1") 0usize,
            in("x2") sp,
            in("x3") fp,
            in("x4") pc,
            options(noreturn, nostack),
        )
    }
}

/// See the x86_64 version.
///
/// # Safety
///
/// As for x86_64.
#[cfg(target_arch = "riscv64")]
unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize) -> ! {
    // SAFETY: guaranteed by the caller.
    unsafe {
        core::arch::asm!(
            "mv sp, a2",
            "mv s0, a3",
            "jr a4",
            in("a0") exn,
            in("a1") 0usize,
            in("a2") sp,
            in("a3") fp,
            in("a4") pc,
            options(noreturn, nostack),
        )
    }
}
