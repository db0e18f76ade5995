//! Prints a line, then panics. On wasm32 a panic aborts (the `unreachable`
//! instruction), so the executable must print the panic message, flush the
//! stdout line written before it, and exit with the trap status 134.

fn main() {
    println!("before the panic");
    panic!("boom");
}
