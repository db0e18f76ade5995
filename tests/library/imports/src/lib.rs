//! The component of smelt's native-imports test: `test:imports/app`
//! (`../wit/imports.wit`) calls `test:imports/host`, which the C program
//! linking the library implements (`../../c/imports.c`).

use exports::test::imports::app;
use test::imports::host::{self, Lookup};

wit_bindgen::generate!({
    world: "imports",
    path: "wit",
});

struct App;

impl app::Guest for App {
    fn sum(values: Vec<u32>) -> u32 {
        values.into_iter().fold(0, host::add)
    }

    fn shout(text: String) -> String {
        host::upper(&text) + "!"
    }

    fn words(text: String) -> String {
        let words: Vec<String> = host::split(&text, ' ')
            .iter()
            .map(|w| host::upper(w))
            .collect();
        words.join("-")
    }

    fn describe(key: String) -> String {
        match host::find(&key) {
            Lookup::Missing => format!("{key}: missing"),
            Lookup::Found(e) => format!("{key}: {}={}", e.key, e.value),
            Lookup::Many(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|e| format!("{}={}", e.key, e.value))
                    .collect();
                format!("{key}: {}", entries.join(","))
            }
        }
    }

    fn checked(value: i64) -> String {
        match host::check(value) {
            Ok(v) => format!("ok {v}"),
            Err(e) => format!("err {e}"),
        }
    }

    fn ticks(n: u32) -> u64 {
        let mut last = 0;
        for _ in 0..n {
            last = host::tick();
        }
        host::note(&format!("ticked {n} times"));
        last
    }
}

export!(App);
