//! Arguments and environment variables, as the guest sees them.
//!
//! Prints `argc: N` (arguments after the program name), then `arg[i]: VALUE`
//! for each. Two arguments are also requests:
//! - `--env NAME` prints `env NAME=VALUE`, or `env NAME is not set`;
//! - `--all-env` prints `all-env: N` and every variable as `NAME=VALUE`,
//!   sorted by name, so the output is deterministic for an environment the
//!   test chose (without `--inherit-env`, smelt passes only `--env` ones).
//!
//! Arguments that are not valid UTF-8 are printed lossily and flagged.

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    println!("argc: {}", args.len());
    for (i, arg) in args.iter().enumerate() {
        match arg.to_str() {
            Some(s) => println!("arg[{i}]: {s}"),
            None => println!("arg[{i}] (not UTF-8): {}", arg.to_string_lossy()),
        }
    }
    let mut rest = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--env" => {
                let Some(name) = rest.next() else {
                    eprintln!("args_env: --env needs a NAME");
                    std::process::exit(2);
                };
                match std::env::var_os(&name) {
                    Some(value) => println!("env {name}={}", value.to_string_lossy()),
                    None => println!("env {name} is not set"),
                }
            }
            "--all-env" => {
                let mut vars: Vec<(String, String)> = std::env::vars_os()
                    .map(|(k, v)| {
                        (
                            k.to_string_lossy().into_owned(),
                            v.to_string_lossy().into_owned(),
                        )
                    })
                    .collect();
                vars.sort();
                println!("all-env: {}", vars.len());
                for (k, v) in vars {
                    println!("{k}={v}");
                }
            }
            _ => {}
        }
    }
}
