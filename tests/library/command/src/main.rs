//! The command of smelt's native-imports test: calls `test:imports/host`
//! (`../../imports/wit/imports.wit`), which C implements
//! (`../../c/host.c`), and prints what it returns.

use test::imports::host::{self, Lookup};

wit_bindgen::generate!({
    world: "command",
    path: "../imports/wit",
});

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for arg in &args {
        println!("upper: {}", host::upper(arg));
    }
    println!("split: {:?}", host::split("a b c", ' '));
    match host::find("ab") {
        Lookup::Many(entries) => {
            for e in entries {
                println!("entry: {}={}", e.key, e.value);
            }
        }
        _ => println!("find: unexpected"),
    }
    println!("check: {:?}", host::check(-3));
    host::note("from the command");
    let sum = args.iter().fold(0, |sum, a| host::add(sum, a.len() as u32));
    println!("sum of lengths: {sum}");
}
