//! Prints a line, then traps: `unreachable` by default, or an out-of-bounds
//! load with the argument `oob` (an address past the end of the memory).
//! The executable must report `wasm trap: ...` and exit with status 134.

fn main() {
    let how = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "unreachable".to_string());
    println!("about to trap ({how})");
    match how.as_str() {
        "oob" => {
            // 0xffff_fff0 is far past any memory a small program grows to.
            let p = std::hint::black_box(0xffff_fff0usize) as *const u32;
            // SAFETY: none; the access is meant to trap.
            let v = unsafe { p.read_volatile() };
            println!("read {v} from past the end of memory");
        }
        _ => trap_unreachable(),
    }
}

#[cfg(target_arch = "wasm32")]
fn trap_unreachable() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn trap_unreachable() -> ! {
    std::process::abort()
}
