/*
 * Entering and leaving guest code on a trap.
 *
 * sigsetjmp must be called from a frame that stays live for as long as the
 * jump buffer is used, which Rust cannot promise for a returns-twice
 * function, so this small piece is C. smelt_catch runs `body(payload)`;
 * when the signal handler (or any runtime code) calls smelt_unwind with
 * the buffer published in *slot, control comes back here and smelt_catch
 * returns 0. The signal mask is not saved: handlers are installed with
 * SA_NODEFER, so leaving a handler by jumping leaves the mask unchanged.
 */
#include <setjmp.h>
#include <stddef.h>

int smelt_catch(void (*body)(void *), void *payload, void **slot) {
    sigjmp_buf buf;
    void *volatile prev = *slot;
    if (sigsetjmp(buf, 0) == 0) {
        *slot = &buf;
        body(payload);
        *slot = prev;
        return 1;
    }
    *slot = prev;
    return 0;
}

void smelt_unwind(void *buf) {
    siglongjmp(*(sigjmp_buf *)buf, 1);
}
