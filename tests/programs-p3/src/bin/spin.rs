//! Writes one line, then computes forever in its task: under a time limit
//! it must end with the interrupt trap while running on the task's
//! coroutine stack (tests/tests/programs.rs, `p3::spin/interrupted`). The
//! loop's only call is of a function that makes calls itself, so that the
//! loop may have no check of its own and the stack check of that
//! function's prologue is what stops it.

use smelt_test_programs_p3::stdout;

wasip3::cli::command::export!(Spin);

struct Spin;

impl wasip3::exports::cli::run::Guest for Spin {
    async fn run() -> Result<(), ()> {
        stdout(b"spinning\n".to_vec()).await.map_err(drop)?;
        let mut n = 0u64;
        loop {
            n = step(n);
        }
    }
}

#[inline(never)]
fn step(n: u64) -> u64 {
    leaf(n).wrapping_add(leaf(n ^ 1))
}

#[inline(never)]
fn leaf(n: u64) -> u64 {
    std::hint::black_box(n).rotate_left(7) ^ 0x9e37_79b9
}

fn main() {}
