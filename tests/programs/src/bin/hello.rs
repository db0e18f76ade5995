//! The smallest guest: one fixed line on stdout, one on stderr, exit 0.

fn main() {
    println!("hello from a smelt test program");
    eprintln!("hello on stderr");
}
