//! Hello world: what start-to-exit time and executable size are measured on.

fn main() {
    println!("Hello, world!");
}
