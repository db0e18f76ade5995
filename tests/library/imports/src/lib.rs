//! The component of smelt's native-imports test: `test:imports/app`
//! (`../wit/imports.wit`) calls `test:imports/host` and uses the resource
//! of `test:imports/sensors`, which the C program linking the library
//! implements (`../../c/host.c`, `../../c/imports.c`).

use exports::test::imports::app;
use test::imports::host::{self, Lookup};
use test::imports::sensors::{self, Sensor};

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

    fn sense() -> String {
        let a = Sensor::new("a", 10);
        let b = Sensor::new("b", 20);
        let first = a.read();
        let second = a.read();
        let all = sensors::read_all(&[&a, &b]);
        let name = b.name();
        let retired = sensors::retire(b);
        drop(a);
        format!("{first} {second} {all} {name} {retired}")
    }
}

export!(App);
