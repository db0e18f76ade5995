//! The example component of the README: greets, then prints each argument
//! after the program name on its own line.
//!
//! Build it with `cargo build --release --target wasm32-wasip2 --manifest-path
//! examples/hello/Cargo.toml` and compile the component with `smelt build`.

fn main() {
    println!("Hello from a WebAssembly component, compiled by smelt!");
    for arg in std::env::args_os().skip(1) {
        println!("arg: {}", arg.to_string_lossy());
    }
}
