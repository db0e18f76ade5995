//! Tests of the Rust bindings: generated for the header tests' world
//! (every kind of type, keywords as names, an interface `use`-ing another
//! one's type) and compiled by `rustc` with warnings denied, so the
//! `const` assertions check the native layouts against rustc's.

use std::process::Command;

use super::tests::{LIB_WIT, componentize};
use super::{LibraryError, rust_bindings};

/// Compiles `bindings` (as `lib.rs`, included by a crate whose extra code
/// is `body`) into an rlib; the compiler's messages on failure.
fn compile(bindings: &str, body: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rs"), bindings).unwrap();
    let main = dir.path().join("main.rs");
    std::fs::write(&main, format!("include!(\"lib.rs\");\n{body}\n")).unwrap();
    let out = Command::new("rustc")
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "-D",
            "warnings",
            "--out-dir",
        ])
        .arg(dir.path())
        .arg(&main)
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn bindings_compile_and_their_layouts_hold() {
    let wasm = componentize(LIB_WIT, "lib");
    let text = rust_bindings(&wasm, "lib").unwrap();
    for expected in [
        "pub fn strings_concat(&mut self, a: &str, b: &str) -> ::std::result::Result<::std::string::String, Trap>",
        "pub fn types_make_person(&mut self, name: &str, age: u32) -> ::std::result::Result<types::Person, Trap>",
        "pub fn types_checksum(&mut self, b: &[u8]) -> ::std::result::Result<u64, Trap>",
        "pub fn types_nothing(&mut self) -> ::std::result::Result<(), Trap>",
        "pub fn types_kw(&mut self, operator: types::Cases) -> ::std::result::Result<types::Keywords, Trap>",
        "pub fn geometry_distance(&mut self, a: types::Point, b: types::Point) -> ::std::result::Result<f64, Trap>",
        "pub fn run_it(&mut self, default: u32, self_: &str) -> ::std::result::Result<::std::string::String, Trap>",
        "pub const EXEC: Perms = Perms(1 << 2);",
    ] {
        assert!(text.contains(expected), "no `{expected}` in:\n{text}");
    }
    // Every type is used, so that a wrong layout or a missing conversion
    // fails to compile.
    let body = r#"
        pub fn use_all(i: &mut Instance) -> Result<(), Trap> {
            let p = types::Person { name: "x".into(), age: 1, tags: vec![], home: None };
            let _: types::Person = i.types_make_person(&p.name, p.age)?;
            let _: f32 = i.types_area(types::Shape::Rect((types::Point { x: 0.0, y: 0.0 }, types::Point { x: 1.0, y: 1.0 })))?;
            let _: Result<i64, String> = i.types_parse("1")?;
            let _: Result<(), ()> = i.types_check(types::Perms::READ | types::Perms::WRITE, types::Wide::all(), types::Color::Blue)?;
            let _: (char, bool, i16) = i.types_pair(&(1, "a".to_string()))?;
            let _: Option<String> = i.types_maybe(Some(None))?;
            let _: Vec<Vec<types::Person>> = i.types_many(-1, 2, -3, 4, 5.0)?;
            let _: Result<u32, ()> = i.types_ok_only()?;
            let _: Result<(), types::Color> = i.types_err_only()?;
            let _: Vec<types::Token> = i.types_tokens("a 1")?;
            let _: Vec<String> = i.strings_split("a b", ' ')?;
            Ok(())
        }
    "#;
    compile(&text, body).unwrap();
    // The assertions are live: a wrong size fails.
    let wrong = text.replacen(
        "::std::mem::size_of::<RawPoint>() == 16",
        "::std::mem::size_of::<RawPoint>() == 24",
        1,
    );
    assert_ne!(wrong, text);
    let error = compile(&wrong, "").unwrap_err();
    assert!(error.contains("point: native layout"), "{error}");
}

#[test]
fn bad_names_are_refused() {
    let wasm = componentize(LIB_WIT, "lib");
    for name in ["", "1lib", "my-lib"] {
        assert!(
            matches!(
                rust_bindings(&wasm, name),
                Err(LibraryError::InvalidPrefix(_))
            ),
            "{name:?}"
        );
    }
    let wit = "package test:c; world w { record instance { a: u8 } export f: func() -> instance; }";
    let wasm = componentize(wit, "w");
    match rust_bindings(&wasm, "c") {
        Err(LibraryError::NameClash { name, .. }) => assert_eq!(name, "Instance"),
        other => panic!("expected NameClash, got {other:?}"),
    }
}

#[test]
fn names_like_the_standard_library_s_do_not_shadow_it() {
    // An interface `std` (a module at the include site) and types that
    // would be `Vec` and `String` in it.
    let wit = "package test:n;
        interface std {
            record vec { x: f32 }
            record %string { s: string }
            enum %option { a, b }
            f: func(v: vec, xs: list<vec>, o: %option) -> result<%string, string>;
        }
        world w { export std; }";
    let wasm = componentize(wit, "w");
    let text = rust_bindings(&wasm, "n").unwrap();
    let body = r#"
        pub fn call(i: &mut Instance) -> Result<(), Trap> {
            let v = std::Vec { x: 1.0 };
            let r: Result<std::String, String> = i.std_f(v, &[v], std::Option::A)?;
            let _ = r.map(|s| s.s);
            Ok(())
        }
    "#;
    compile(&text, body).unwrap();
}

#[test]
fn resources_get_handle_types_and_drop_methods() {
    let wit = r#"
        package test:res;
        interface api {
            resource counter {
                constructor(start: u32);
                add: func(n: u32) -> u32;
                absorb: func(other: counter);
                zero: static func() -> counter;
            }
            record named {
                name: string,
                counter: counter,
            }
            total: func(counters: list<borrow<counter>>) -> u32;
            make: func(name: string) -> named;
            split: func(c: borrow<counter>) -> result<counter, string>;
        }
        world w { export api; }
    "#;
    let wasm = componentize(wit, "w");
    let bindings = rust_bindings(&wasm, "res").unwrap();
    for expected in [
        "pub struct Counter(u32);",
        "pub fn api_counter_new(&mut self, start: u32) -> ::std::result::Result<api::Counter, Trap>",
        "pub fn api_counter_add(&mut self, self_: &api::Counter, n: u32)",
        "pub fn api_counter_absorb(&mut self, self_: &api::Counter, other: api::Counter)",
        "pub fn api_total(&mut self, counters: &[api::Counter])",
        "pub fn api_counter_drop(&mut self, handle: api::Counter) -> ::std::result::Result<(), Trap>",
    ] {
        assert!(bindings.contains(expected), "{expected}\nin:\n{bindings}");
    }
    // The calls type-check: a borrow by reference, an own by value.
    compile(
        &bindings,
        "pub fn use_it(i: &mut Instance) -> Result<u32, Trap> {
            let a = i.api_counter_new(1)?;
            let b = i.api_counter_zero()?;
            let n = i.api_counter_add(&a, 2)?;
            i.api_counter_absorb(&a, b)?;
            let named = i.api_make(\"x\")?;
            let total = i.api_total(&[a.clone(), named.counter])?;
            if let Ok(c) = i.api_split(&a)? {
                i.api_counter_drop(c)?;
            }
            i.api_counter_drop(a)?;
            Ok(n + total)
        }",
    )
    .unwrap();
}
