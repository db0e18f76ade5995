//! Entering guest code so that a trap can come back, and coming back.
//!
//! [`smelt_catch`] calls `body(payload)` and returns 1 when it returns.
//! Before the call it saves the callee-saved registers of the C calling
//! convention on its own stack, publishes the stack pointer at that point
//! in `*slot` (the "jump buffer"), and restores `*slot` afterwards.
//! [`smelt_unwind`], given that stack pointer (from the signal handler, on
//! the alternate signal stack), puts it back, restores the registers and
//! `*slot`, and makes [`smelt_catch`] return 0 to its caller.
//!
//! This is `sigsetjmp`/`siglongjmp` without the signal mask (handlers are
//! installed with `SA_NODEFER`, so leaving one by a jump leaves the mask
//! unchanged) and without a C compiler: a returns-twice function cannot be
//! written in Rust, and assembly needs no C toolchain or libc headers for
//! the target, which the musl targets do without.
//!
//! # Layout
//!
//! The frame [`smelt_catch`] builds, from the published stack pointer up
//! (`slot` and `prev` are the slot and the value it had on entry):
//!
//! ```text
//! x86_64 (sp+)   0: pad     8: prev   16: slot  24: r15 32: r14 40: r13
//!                48: r12   56: rbx   64: rbp   72: return address
//! aarch64 (sp+)  0: x29  8: x30  16..96: x19..x28  96..160: d8..d15
//!                160: slot  168: prev
//! riscv64 (sp+)  0: ra  8..104: s0..s11  104..200: fs0..fs11
//!                200: slot  208: prev
//! ```

use core::ffi::{c_int, c_void};

/// Calls `body(payload)`; returns 1 when it returns, 0 when
/// [`smelt_unwind`] was called with the buffer published in `*slot`.
///
/// # Safety
///
/// `slot` must be valid for reads and writes for the whole call; `body`
/// must be safe to call with `payload`.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_catch(
    body: unsafe extern "C" fn(*mut c_void),
    payload: *mut c_void,
    slot: *mut *mut c_void,
) -> c_int {
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "push rdx",
        "push qword ptr [rdx]",
        // Keeps the stack 16-byte aligned at the call.
        "sub rsp, 8",
        "mov [rdx], rsp",
        "mov rax, rdi",
        "mov rdi, rsi",
        "call rax",
        "mov eax, 1",
        "add rsp, 8",
        "pop rcx",
        "pop rdx",
        "mov [rdx], rcx",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Returns from the [`smelt_catch`] that published `buf`, with 0.
///
/// # Safety
///
/// `buf` must be the value a [`smelt_catch`] that is still running
/// published in its slot, and the frames between it and the caller must
/// need no cleanup.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_unwind(buf: *mut c_void) -> ! {
    core::arch::naked_asm!(
        "mov rsp, rdi",
        "xor eax, eax",
        "add rsp, 8",
        "pop rcx",
        "pop rdx",
        "mov [rdx], rcx",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Calls `body(payload)`; returns 1 when it returns, 0 when
/// [`smelt_unwind`] was called with the buffer published in `*slot`.
///
/// # Safety
///
/// `slot` must be valid for reads and writes for the whole call; `body`
/// must be safe to call with `payload`.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_catch(
    body: unsafe extern "C" fn(*mut c_void),
    payload: *mut c_void,
    slot: *mut *mut c_void,
) -> c_int {
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-176]!",
        "mov x29, sp",
        "stp x19, x20, [sp, #16]",
        "stp x21, x22, [sp, #32]",
        "stp x23, x24, [sp, #48]",
        "stp x25, x26, [sp, #64]",
        "stp x27, x28, [sp, #80]",
        "stp d8, d9, [sp, #96]",
        "stp d10, d11, [sp, #112]",
        "stp d12, d13, [sp, #128]",
        "stp d14, d15, [sp, #144]",
        "ldr x3, [x2]",
        "stp x2, x3, [sp, #160]",
        "mov x3, sp",
        "str x3, [x2]",
        "mov x3, x0",
        "mov x0, x1",
        "blr x3",
        "mov x0, #1",
        "ldp x2, x3, [sp, #160]",
        "str x3, [x2]",
        "ldp d14, d15, [sp, #144]",
        "ldp d12, d13, [sp, #128]",
        "ldp d10, d11, [sp, #112]",
        "ldp d8, d9, [sp, #96]",
        "ldp x27, x28, [sp, #80]",
        "ldp x25, x26, [sp, #64]",
        "ldp x23, x24, [sp, #48]",
        "ldp x21, x22, [sp, #32]",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #176",
        "ret",
    )
}

/// Returns from the [`smelt_catch`] that published `buf`, with 0.
///
/// # Safety
///
/// `buf` must be the value a [`smelt_catch`] that is still running
/// published in its slot, and the frames between it and the caller must
/// need no cleanup.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_unwind(buf: *mut c_void) -> ! {
    core::arch::naked_asm!(
        "mov sp, x0",
        "mov x0, #0",
        "ldp x2, x3, [sp, #160]",
        "str x3, [x2]",
        "ldp d14, d15, [sp, #144]",
        "ldp d12, d13, [sp, #128]",
        "ldp d10, d11, [sp, #112]",
        "ldp d8, d9, [sp, #96]",
        "ldp x27, x28, [sp, #80]",
        "ldp x25, x26, [sp, #64]",
        "ldp x23, x24, [sp, #48]",
        "ldp x21, x22, [sp, #32]",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #176",
        "ret",
    )
}

/// Calls `body(payload)`; returns 1 when it returns, 0 when
/// [`smelt_unwind`] was called with the buffer published in `*slot`.
///
/// # Safety
///
/// `slot` must be valid for reads and writes for the whole call; `body`
/// must be safe to call with `payload`.
#[cfg(target_arch = "riscv64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_catch(
    body: unsafe extern "C" fn(*mut c_void),
    payload: *mut c_void,
    slot: *mut *mut c_void,
) -> c_int {
    core::arch::naked_asm!(
        // The assembler is not told that the target has the D extension.
        ".option push",
        ".option arch, +d",
        "addi sp, sp, -224",
        "sd ra, 0(sp)",
        "sd s0, 8(sp)",
        "sd s1, 16(sp)",
        "sd s2, 24(sp)",
        "sd s3, 32(sp)",
        "sd s4, 40(sp)",
        "sd s5, 48(sp)",
        "sd s6, 56(sp)",
        "sd s7, 64(sp)",
        "sd s8, 72(sp)",
        "sd s9, 80(sp)",
        "sd s10, 88(sp)",
        "sd s11, 96(sp)",
        "fsd fs0, 104(sp)",
        "fsd fs1, 112(sp)",
        "fsd fs2, 120(sp)",
        "fsd fs3, 128(sp)",
        "fsd fs4, 136(sp)",
        "fsd fs5, 144(sp)",
        "fsd fs6, 152(sp)",
        "fsd fs7, 160(sp)",
        "fsd fs8, 168(sp)",
        "fsd fs9, 176(sp)",
        "fsd fs10, 184(sp)",
        "fsd fs11, 192(sp)",
        "ld t0, 0(a2)",
        "sd a2, 200(sp)",
        "sd t0, 208(sp)",
        "sd sp, 0(a2)",
        "mv t0, a0",
        "mv a0, a1",
        "jalr t0",
        "li a0, 1",
        "ld a2, 200(sp)",
        "ld t0, 208(sp)",
        "sd t0, 0(a2)",
        "ld ra, 0(sp)",
        "ld s0, 8(sp)",
        "ld s1, 16(sp)",
        "ld s2, 24(sp)",
        "ld s3, 32(sp)",
        "ld s4, 40(sp)",
        "ld s5, 48(sp)",
        "ld s6, 56(sp)",
        "ld s7, 64(sp)",
        "ld s8, 72(sp)",
        "ld s9, 80(sp)",
        "ld s10, 88(sp)",
        "ld s11, 96(sp)",
        "fld fs0, 104(sp)",
        "fld fs1, 112(sp)",
        "fld fs2, 120(sp)",
        "fld fs3, 128(sp)",
        "fld fs4, 136(sp)",
        "fld fs5, 144(sp)",
        "fld fs6, 152(sp)",
        "fld fs7, 160(sp)",
        "fld fs8, 168(sp)",
        "fld fs9, 176(sp)",
        "fld fs10, 184(sp)",
        "fld fs11, 192(sp)",
        "addi sp, sp, 224",
        "ret",
        ".option pop",
    )
}

/// Returns from the [`smelt_catch`] that published `buf`, with 0.
///
/// # Safety
///
/// `buf` must be the value a [`smelt_catch`] that is still running
/// published in its slot, and the frames between it and the caller must
/// need no cleanup.
#[cfg(target_arch = "riscv64")]
#[unsafe(naked)]
pub unsafe extern "C" fn smelt_unwind(buf: *mut c_void) -> ! {
    core::arch::naked_asm!(
        ".option push",
        ".option arch, +d",
        "mv sp, a0",
        "li a0, 0",
        "ld a2, 200(sp)",
        "ld t0, 208(sp)",
        "sd t0, 0(a2)",
        "ld ra, 0(sp)",
        "ld s0, 8(sp)",
        "ld s1, 16(sp)",
        "ld s2, 24(sp)",
        "ld s3, 32(sp)",
        "ld s4, 40(sp)",
        "ld s5, 48(sp)",
        "ld s6, 56(sp)",
        "ld s7, 64(sp)",
        "ld s8, 72(sp)",
        "ld s9, 80(sp)",
        "ld s10, 88(sp)",
        "ld s11, 96(sp)",
        "fld fs0, 104(sp)",
        "fld fs1, 112(sp)",
        "fld fs2, 120(sp)",
        "fld fs3, 128(sp)",
        "fld fs4, 136(sp)",
        "fld fs5, 144(sp)",
        "fld fs6, 152(sp)",
        "fld fs7, 160(sp)",
        "fld fs8, 168(sp)",
        "fld fs9, 176(sp)",
        "fld fs10, 184(sp)",
        "fld fs11, 192(sp)",
        "addi sp, sp, 224",
        "ret",
        ".option pop",
    )
}
