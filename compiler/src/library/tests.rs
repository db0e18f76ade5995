//! Tests of the component library's function list and C header: real
//! components (made from WIT with wit-component, or written in WAT), their
//! headers compiled by `gcc` and `g++` with every warning an error, so the
//! `_Static_assert`s check the computed layouts against the C compiler's.

use std::path::Path;
use std::process::Command;

use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{ManglingAndAbi, Resolve};

use super::{
    ExportedResource, LibraryError, c_header, c_header_of_imports, exported_functions,
    exported_resources,
};

/// A component that implements world `world` of the WIT `wit` with a
/// dummy core module (its functions trap; only the types matter here).
pub(super) fn componentize(wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve.push_str("test.wit", wit).expect("test WIT parses");
    let world = resolve
        .select_world(&[package], Some(world))
        .expect("test world exists");
    let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        StringEncoding::UTF8,
        false,
    )
    .expect("metadata embeds");
    ComponentEncoder::default()
        .module(&module)
        .expect("module is accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// A world exporting strings, lists, records, variants, enums, options,
/// results, flags, tuples, chars and floats, an interface `use`-ing another
/// one's type, and a top-level function with a C keyword as a parameter.
pub(super) const LIB_WIT: &str = r#"
package test:lib@0.1.0;

interface strings {
    /// Joins `a` and `b`.
    concat: func(a: string, b: string) -> string;
    to-upper: func(s: string) -> string;
    split: func(s: string, sep: char) -> list<string>;
}

interface types {
    record point { x: f64, y: f64 }
    /// Someone.
    record person { name: string, age: u32, tags: list<string>, home: option<point> }
    variant shape { circle(f32), rect(tuple<point, point>), nothing }
    variant token { word(string), number(s64), end }
    enum color { red, green, blue }
    flags perms { read, write, exec }
    flags wide { b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 }
    type bytes = list<u8>;
    /// C and C++ keywords and a typedef-like name as field and case names.
    record keywords { class: u8, new: u8, int: u8, size-t: u8 }
    variant cases { default(keywords), this, register(u32) }
    make-person: func(name: string, age: u32) -> person;
    area: func(s: shape) -> f32;
    parse: func(s: string) -> result<s64, string>;
    check: func(p: perms, w: wide, c: color) -> result;
    pair: func(a: tuple<u8, string>) -> tuple<char, bool, s16>;
    checksum: func(b: bytes) -> u64;
    nothing: func();
    maybe: func(x: option<option<u8>>) -> option<string>;
    many: func(a: s8, b: u16, c: s32, d: u64, e: f32) -> list<list<person>>;
    ok-only: func() -> result<u32>;
    err-only: func() -> result<_, color>;
    tokens: func(s: string) -> list<token>;
    kw: func(operator: cases) -> keywords;
}

interface geometry {
    use types.{point};
    distance: func(a: point, b: point) -> f64;
}

world lib {
    export strings;
    export types;
    export geometry;
    export run-it: func(default: u32, self: string) -> string;
}
"#;

/// Where `P_<c_name>` calls `smelt_lib_call`: the function number it
/// passes.
fn number_in_header(header: &str, prefix: &str, c_name: &str) -> u32 {
    let start = header
        .find(&format!("static inline bool {prefix}_{c_name}("))
        .unwrap_or_else(|| panic!("no wrapper for {c_name}"));
    let call = "smelt_lib_call(self, ";
    let at = start + header[start..].find(call).unwrap() + call.len();
    let end = at + header[at..].find(',').unwrap();
    header[at..end].parse().unwrap()
}

/// Compiles `main.c` including the headers `headers` (name, text) with
/// `gcc -std=c11` and `g++ -std=c++17`, every warning an error. `Err`
/// with the compiler's messages if either fails.
fn compile(headers: &[(&str, &str)], body: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let mut source = String::new();
    for (name, text) in headers {
        std::fs::write(dir.path().join(name), text).unwrap();
        source.push_str(&format!("#include \"{name}\"\n"));
    }
    // The contract's declarations: a header that disagrees fails to compile.
    source.push_str(
        "smelt_instance *smelt_lib_new(const smelt_config *config, char **error);\n\
         void smelt_lib_free(smelt_instance *instance);\n\
         int smelt_lib_call(smelt_instance *instance, uint32_t func,\n\
         \x20                  const void *args, void *ret, char **error);\n",
    );
    source.push_str(body);
    let main = dir.path().join("main.c");
    std::fs::write(&main, source).unwrap();
    run_compiler("gcc", &["-std=c11", "-pedantic"], &main, dir.path())?;
    run_compiler(
        "g++",
        &["-std=c++17", "-pedantic", "-x", "c++"],
        &main,
        dir.path(),
    )
}

fn run_compiler(compiler: &str, flags: &[&str], main: &Path, dir: &Path) -> Result<(), String> {
    let output = match Command::new(compiler)
        .args(flags)
        .args([
            "-Wall",
            "-Wextra",
            "-Wcast-qual",
            "-Werror",
            "-fsyntax-only",
        ])
        .arg(main)
        .current_dir(dir)
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            println!("{compiler} is not installed: the header is not compiled");
            return Ok(());
        }
        Err(err) => panic!("cannot run {compiler}: {err}"),
    };
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{compiler} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn functions_are_numbered_by_sorted_key() {
    let wasm = componentize(LIB_WIT, "lib");
    let functions = exported_functions(&wasm).unwrap();
    let keys: Vec<&str> = functions.iter().map(|f| f.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 18);
    assert_eq!(keys[0], "run-it");
    assert_eq!(keys[1], "test:lib/geometry@0.1.0#distance");
    assert_eq!(keys[2], "test:lib/strings@0.1.0#concat");
    assert_eq!(keys[4], "test:lib/strings@0.1.0#to-upper");
    assert_eq!(keys[5], "test:lib/types@0.1.0#area");

    let run_it = &functions[0];
    assert_eq!(run_it.export, None);
    assert_eq!(run_it.c_name, "run_it");
    let to_upper = &functions[4];
    assert_eq!(to_upper.export.as_deref(), Some("test:lib/strings@0.1.0"));
    assert_eq!(to_upper.name, "to-upper");
    assert_eq!(to_upper.c_name, "strings_to_upper");
    assert!(!to_upper.is_async);

    // The header passes each function its position.
    let header = c_header(&wasm, "mylib").unwrap();
    for (number, function) in functions.iter().enumerate() {
        assert_eq!(
            number_in_header(&header, "mylib", &function.c_name),
            number as u32,
            "{}",
            function.key
        );
    }
}

#[test]
fn header_compiles_as_c_and_cpp() {
    let wasm = componentize(LIB_WIT, "lib");
    let header = c_header(&wasm, "mylib").unwrap();
    for escaped in [
        "uint8_t class_;",
        "uint8_t size_t_;",
        "keywords_t default_;",
    ] {
        assert!(header.contains(escaped), "{escaped}");
    }
    assert!(header.contains("mylib_types_cases_t operator_, mylib_types_keywords_t *ret"));
    // Calls through the wrappers, and frees the results.
    let body = r#"
int use(mylib_t *lib) {
    char *error = NULL;
    mylib_string_t joined;
    if (!mylib_strings_concat(lib, mylib_string_from_cstr("a"), mylib_string_from_cstr("b"),
                              &joined, &error)) {
        free(error);
        return 1;
    }
    mylib_string_free(&joined);
    mylib_types_person_t person;
    if (mylib_types_make_person(lib, joined, 42, &person, NULL)) {
        mylib_types_person_free(&person);
    }
    mylib_result_s64_string_t parsed;
    if (mylib_types_parse(lib, joined, &parsed, NULL) && parsed.tag == MYLIB_RESULT_ERR) {
        mylib_result_s64_string_free(&parsed);
    }
    mylib_types_shape_t shape;
    shape.tag = MYLIB_TYPES_SHAPE_CIRCLE;
    shape.val.circle = 1.0f;
    float area;
    (void)mylib_types_area(lib, shape, &area, NULL);
    mylib_result_void_void_t checked;
    (void)mylib_types_check(lib, MYLIB_TYPES_PERMS_READ | MYLIB_TYPES_PERMS_EXEC,
                            MYLIB_TYPES_WIDE_B16, MYLIB_TYPES_COLOR_BLUE, &checked, NULL);
    (void)mylib_types_nothing(lib, NULL);
    mylib_list_list_types_person_t people;
    if (mylib_types_many(lib, -1, 2, -3, 4, 5.0f, &people, NULL)) {
        mylib_list_list_types_person_free(&people);
    }
    mylib_option_string_t maybe;
    mylib_option_option_u8_t x;
    x.tag = MYLIB_OPTION_NONE;
    (void)mylib_types_maybe(lib, x, &maybe, NULL);
    mylib_string_t ran;
    (void)mylib_run_it(lib, 7, joined, &ran, NULL);
    mylib_geometry_point_t a = {0.0, 1.0};
    double d;
    (void)mylib_geometry_distance(lib, a, a, &d, NULL);
    return 0;
}
int main(void) {
    mylib_t *lib = mylib_new(NULL, NULL);
    int status = use(lib);
    mylib_free(lib);
    return status;
}
"#;
    if let Err(message) = compile(&[("mylib.h", &header)], body) {
        panic!("{message}\n--- mylib.h ---\n{header}");
    }
}

#[test]
fn wrong_layouts_fail_to_compile() {
    // The static asserts are live: a header whose string size is off by
    // one does not compile.
    let wasm = componentize(LIB_WIT, "lib");
    let header = c_header(&wasm, "mylib").unwrap();
    let needle = "sizeof(mylib_types_person_t) == 64 &&";
    assert!(header.contains(needle), "person is 64 bytes:\n{header}");
    let broken = header.replace(needle, "sizeof(mylib_types_person_t) == 56 &&");
    let error = compile(&[("mylib.h", &broken)], "int main(void) { return 0; }\n").unwrap_err();
    assert!(error.contains("mylib_types_person_t"), "{error}");
}

#[test]
fn two_libraries_in_one_program() {
    let wasm = componentize(LIB_WIT, "lib");
    let first = c_header(&wasm, "first").unwrap();
    let second = c_header(&wasm, "second").unwrap();
    compile(
        &[("first.h", &first), ("second.h", &second)],
        "int main(void) { return 0; }\n",
    )
    .unwrap();
}

#[test]
fn handles_of_imported_resources_are_refused_naming_the_function() {
    let wit = r#"
        package test:res;
        interface host {
            resource file;
        }
        interface api {
            use host.{file};
            take: func(x: file) -> u32;
        }
        world w { import host; export api; }
    "#;
    let wasm = componentize(wit, "w");
    let error = exported_functions(&wasm).unwrap_err();
    match &error {
        LibraryError::Unsupported { function, what } => {
            assert_eq!(function, "test:res/api#take");
            assert_eq!(
                what,
                "own<file> (a handle of a resource the component imports)"
            );
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(error.to_string().contains("test:res/api#take"));
    assert!(matches!(
        c_header(&wasm, "res"),
        Err(LibraryError::Unsupported { .. })
    ));
}

#[test]
fn stream_future_and_error_context_are_refused() {
    for (ty, what) in [
        ("stream<u8>", "stream<u8>"),
        ("future<string>", "future<string>"),
        ("list<option<stream<u8>>>", "stream<u8>"),
        ("result<u8, error-context>", "error-context"),
    ] {
        let wit = format!(
            "package test:res;
            interface api {{
                resource r;
                take: func(x: {ty});
            }}
            world w {{ export api; }}"
        );
        let wasm = componentize(&wit, "w");
        match exported_functions(&wasm) {
            Err(LibraryError::Unsupported {
                function,
                what: found,
            }) => {
                assert_eq!(function, "test:res/api#take");
                assert_eq!(found, what);
            }
            other => panic!("{ty}: expected Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn a_resource_gets_a_handle_type_its_functions_and_a_drop() {
    let wit = r#"
        package test:res;
        interface api {
            resource counter {
                constructor(start: u32);
                bump: func() -> u32;
                zero: static func() -> counter;
            }
            version: func() -> string;
            sum: func(counters: list<borrow<counter>>) -> u32;
        }
        world w { export api; }
    "#;
    let wasm = componentize(wit, "w");
    let functions = exported_functions(&wasm).unwrap();
    let names: Vec<(&str, &str)> = functions
        .iter()
        .map(|f| (f.key.as_str(), f.c_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("test:res/api#[constructor]counter", "api_counter_new"),
            ("test:res/api#[method]counter.bump", "api_counter_bump"),
            ("test:res/api#[static]counter.zero", "api_counter_zero"),
            ("test:res/api#sum", "api_sum"),
            ("test:res/api#version", "api_version"),
        ]
    );
    let resources = exported_resources(&wasm).unwrap();
    assert_eq!(
        resources,
        [ExportedResource {
            key: "test:res/api#counter".into(),
            c_name: "api_counter".into(),
        }]
    );
    let header = c_header(&wasm, "res").unwrap();
    for declaration in [
        "typedef struct res_api_counter_t {\n    uint32_t handle;\n} res_api_counter_t;",
        "static inline bool res_api_counter_drop(res_t *self, res_api_counter_t handle, char **error) {\n    return smelt_lib_drop(self, 0, handle.handle, error) == 0;",
        "static inline bool res_api_counter_new(res_t *self, uint32_t start, res_api_counter_t *ret, char **error) {",
        "static inline bool res_api_counter_bump(res_t *self, res_api_counter_t self_, uint32_t *ret, char **error) {",
        "static inline bool res_api_sum(res_t *self, res_list_api_counter_t counters, uint32_t *ret, char **error) {",
    ] {
        assert!(header.contains(declaration), "{declaration}\nin:\n{header}");
    }
    compile(&[("res.h", &header)], "int main(void) { return 0; }\n").unwrap();
}

#[test]
fn async_functions_are_called_like_sync_ones() {
    let wit = r#"
        package test:lib;
        interface slow {
            double: async func(n: u32) -> u32;
        }
        world w { export slow; }
    "#;
    let wasm = componentize(wit, "w");
    let functions = exported_functions(&wasm).unwrap();
    assert_eq!(functions.len(), 1);
    assert!(functions[0].is_async);
    let header = c_header(&wasm, "slow").unwrap();
    assert!(header.contains(
        "static inline bool slow_slow_double(slow_t *self, uint32_t n, uint32_t *ret, char **error)"
    ));
    compile(&[("slow.h", &header)], "int main(void) { return 0; }\n").unwrap();
}

#[test]
fn same_named_interfaces_are_qualified() {
    let wit = r#"
        package test:app;
        world w {
            export a:x/types;
            export b:y/types;
        }
        package a:x { interface types { record r { v: string } get: func() -> r; } }
        package b:y { interface types { record r { v: u8 } get: func() -> r; } }
    "#;
    let wasm = componentize(wit, "w");
    let names: Vec<String> = exported_functions(&wasm)
        .unwrap()
        .into_iter()
        .map(|f| f.c_name)
        .collect();
    assert_eq!(names, ["a_x_types_get", "b_y_types_get"]);
    let header = c_header(&wasm, "app").unwrap();
    assert!(header.contains("} app_a_x_types_r_t;"));
    assert!(header.contains("} app_b_y_types_r_t;"));
    compile(&[("app.h", &header)], "int main(void) { return 0; }\n").unwrap();
}

#[test]
fn a_component_written_in_wat() {
    let wasm = wat::parse_str(
        r#"(component
            (core module $m
                (func (export "double") (param i32) (result i32)
                    local.get 0 local.get 0 i32.add))
            (core instance $i (instantiate $m))
            (func $double (param "x" u32) (result u32) (canon lift (core func $i "double")))
            (export "double" (func $double)))"#,
    )
    .unwrap();
    let functions = exported_functions(&wasm).unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0].key, "double");
    assert_eq!(functions[0].export, None);
    assert_eq!(functions[0].c_name, "double");
    let header = c_header(&wasm, "wat_lib").unwrap();
    assert_eq!(number_in_header(&header, "wat_lib", "double"), 0);
    compile(&[("wat_lib.h", &header)], "int main(void) { return 0; }\n").unwrap();
}

#[test]
fn core_modules_and_bad_prefixes_are_refused() {
    let module = wat::parse_str("(module)").unwrap();
    assert!(matches!(
        exported_functions(&module),
        Err(LibraryError::NotAComponent(_))
    ));
    assert!(matches!(
        exported_functions(b"not wasm"),
        Err(LibraryError::NotAComponent(_))
    ));
    let wasm = componentize(LIB_WIT, "lib");
    for prefix in ["", "1lib", "my-lib", "my lib"] {
        assert!(
            matches!(c_header(&wasm, prefix), Err(LibraryError::InvalidPrefix(_))),
            "{prefix:?}"
        );
    }
}

#[test]
fn clashing_c_names_are_reported() {
    // The top-level function `new` would be `P_new`, the constructor.
    let wit = "package test:c; world w { export new: func(); }";
    let wasm = componentize(wit, "w");
    match c_header(&wasm, "c") {
        Err(LibraryError::NameClash { name, .. }) => assert_eq!(name, "c_new"),
        other => panic!("expected NameClash, got {other:?}"),
    }
}

#[test]
fn flags_past_32_labels_are_refused() {
    // WIT refuses to declare them; a component's binary can hold a type
    // with 33, which the validator refuses (the header generator's own
    // check is a second line).
    let labels: Vec<String> = (0..33).map(|i| format!("\"l{i}\"")).collect();
    let wasm = wat::parse_str(format!(
        r#"(component
            (type $big (flags {}))
            (export $t "big" (type $big))
            (core module $m (func (export "set") (param i32)))
            (core instance $i (instantiate $m))
            (func $set (param "x" $t) (canon lift (core func $i "set")))
            (export "set" (func $set)))"#,
        labels.join(" ")
    ))
    .unwrap();
    match exported_functions(&wasm) {
        Err(LibraryError::Decode(message)) => {
            assert!(message.contains("more than 32 flags"), "{message}")
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// A stand-in for the runtime: checks the argument bytes at the offsets
/// CanonicalABI.md's layout gives (64-bit pointers), writes results the
/// way the runtime must (malloc'd strings and lists), and traps on
/// `nothing`. The program frees every result with the header's helpers;
/// AddressSanitizer's leak check then finds any byte they miss.
const MOCK_RUNTIME: &str = r#"
#include <stdio.h>
#include <string.h>

static void set_string(mylib_string_t *s, const char *text) {
    s->len = strlen(text);
    s->ptr = (uint8_t *)malloc(s->len + 1);
    memcpy(s->ptr, text, s->len + 1);
}

static void set_person(mylib_types_person_t *p, const char *name) {
    set_string(&p->name, name);
    p->age = 42;
    p->tags.len = 2;
    p->tags.ptr = (mylib_string_t *)malloc(2 * sizeof(mylib_string_t));
    set_string(&p->tags.ptr[0], "x");
    set_string(&p->tags.ptr[1], "yz");
    p->home.tag = MYLIB_OPTION_SOME;
    p->home.val.some.x = 1.0;
    p->home.val.some.y = 2.0;
}

#define FIELD(type, offset) (*(const type *)(const void *)((const uint8_t *)args + (offset)))

int smelt_lib_call(smelt_instance *instance, uint32_t func, const void *args, void *ret,
                   char **error) {
    (void)instance;
    switch (func) {
    case N_MAKE_PERSON:
        /* (name: string @0, age: u32 @16) */
        if (FIELD(size_t, 8) != 3 || memcmp(FIELD(uint8_t *, 0), "ann", 3) != 0
            || FIELD(uint32_t, 16) != 42) return 2;
        set_person((mylib_types_person_t *)ret, "ann");
        return 0;
    case N_MANY: {
        /* (a: s8 @0, b: u16 @2, c: s32 @4, d: u64 @8, e: f32 @16) */
        if (FIELD(int8_t, 0) != -1 || FIELD(uint16_t, 2) != 2 || FIELD(int32_t, 4) != -3
            || FIELD(uint64_t, 8) != 4 || FIELD(float, 16) != 5.0f) return 2;
        mylib_list_list_types_person_t *r = (mylib_list_list_types_person_t *)ret;
        r->len = 2;
        r->ptr = (mylib_list_types_person_t *)malloc(2 * sizeof(mylib_list_types_person_t));
        r->ptr[0].len = 0;
        r->ptr[0].ptr = NULL;
        r->ptr[1].len = 2;
        r->ptr[1].ptr = (mylib_types_person_t *)malloc(2 * sizeof(mylib_types_person_t));
        set_person(&r->ptr[1].ptr[0], "bo");
        set_person(&r->ptr[1].ptr[1], "cy");
        return 0;
    }
    case N_MAYBE: {
        /* (x: option<option<u8>>: tag @0, inner tag @1, value @2) */
        if (FIELD(uint8_t, 0) != 1 || FIELD(uint8_t, 1) != 1 || FIELD(uint8_t, 2) != 7) return 2;
        mylib_option_string_t *r = (mylib_option_string_t *)ret;
        r->tag = MYLIB_OPTION_SOME;
        set_string(&r->val.some, "seven");
        return 0;
    }
    case N_PARSE: {
        mylib_result_s64_string_t *r = (mylib_result_s64_string_t *)ret;
        r->tag = MYLIB_RESULT_ERR;
        set_string(&r->val.err, "not a number");
        return 0;
    }
    case N_TOKENS: {
        mylib_list_types_token_t *r = (mylib_list_types_token_t *)ret;
        r->len = 3;
        r->ptr = (mylib_types_token_t *)malloc(3 * sizeof(mylib_types_token_t));
        r->ptr[0].tag = MYLIB_TYPES_TOKEN_WORD;
        set_string(&r->ptr[0].val.word, "hello");
        r->ptr[1].tag = MYLIB_TYPES_TOKEN_NUMBER;
        r->ptr[1].val.number = -5;
        r->ptr[2].tag = MYLIB_TYPES_TOKEN_END;
        return 0;
    }
    case N_RUN_IT:
        /* (default: u32 @0, self: string @8) */
        if (FIELD(uint32_t, 0) != 7 || FIELD(size_t, 16) != 2
            || memcmp(FIELD(uint8_t *, 8), "hi", 2) != 0) return 2;
        set_string((mylib_string_t *)ret, "ran");
        return 0;
    case N_NOTHING:
        if (args != NULL || ret != NULL) return 2;
        if (error != NULL) {
            *error = (char *)malloc(32);
            strcpy(*error, "wasm trap: unreachable");
        }
        return 1;
    default:
        return 3;
    }
}

smelt_instance *smelt_lib_new(const smelt_config *config, char **error) {
    (void)config;
    (void)error;
    return (smelt_instance *)malloc(1);
}

void smelt_lib_free(smelt_instance *instance) {
    free(instance);
}

#define CHECK(condition) \
    if (!(condition)) { printf("failed: %s (line %d)\n", #condition, __LINE__); return 1; }

int main(void) {
    mylib_t *lib = mylib_new(NULL, NULL);
    char *error = NULL;

    mylib_types_person_t person;
    CHECK(mylib_types_make_person(lib, mylib_string_from_cstr("ann"), 42, &person, &error));
    CHECK(person.tags.len == 2 && person.name.ptr[person.name.len] == '\0');
    mylib_types_person_free(&person);
    CHECK(person.name.ptr == NULL && person.tags.len == 0);

    mylib_list_list_types_person_t people;
    CHECK(mylib_types_many(lib, -1, 2, -3, 4, 5.0f, &people, &error));
    CHECK(people.len == 2 && people.ptr[1].ptr[1].name.len == 2);
    mylib_list_list_types_person_free(&people);

    mylib_option_option_u8_t x;
    x.tag = MYLIB_OPTION_SOME;
    x.val.some.tag = MYLIB_OPTION_SOME;
    x.val.some.val.some = 7;
    mylib_option_string_t maybe;
    CHECK(mylib_types_maybe(lib, x, &maybe, &error) && maybe.tag == MYLIB_OPTION_SOME);
    mylib_option_string_free(&maybe);

    mylib_result_s64_string_t parsed;
    CHECK(mylib_types_parse(lib, mylib_string_from_cstr("x"), &parsed, &error));
    CHECK(parsed.tag == MYLIB_RESULT_ERR && parsed.val.err.len == 12);
    mylib_result_s64_string_free(&parsed);

    mylib_list_types_token_t tokens;
    CHECK(mylib_types_tokens(lib, mylib_string_from_cstr("hello -5"), &tokens, &error));
    CHECK(tokens.len == 3 && tokens.ptr[1].val.number == -5);
    mylib_list_types_token_free(&tokens);

    mylib_string_t ran;
    CHECK(mylib_run_it(lib, 7, mylib_string_from_cstr("hi"), &ran, &error));
    mylib_string_free(&ran);

    CHECK(!mylib_types_nothing(lib, &error));
    CHECK(error != NULL && strcmp(error, "wasm trap: unreachable") == 0);
    free(error);

    mylib_free(lib);
    printf("ok\n");
    return 0;
}
"#;

#[test]
fn free_helpers_free_every_result_under_address_sanitizer() {
    let wasm = componentize(LIB_WIT, "lib");
    let header = c_header(&wasm, "mylib").unwrap();
    let functions = exported_functions(&wasm).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mylib.h"), &header).unwrap();
    std::fs::write(
        dir.path().join("main.c"),
        format!("#include \"mylib.h\"\n{MOCK_RUNTIME}"),
    )
    .unwrap();
    // The mock's function numbers, by key.
    let defines: Vec<String> = [
        ("N_MAKE_PERSON", "test:lib/types@0.1.0#make-person"),
        ("N_MANY", "test:lib/types@0.1.0#many"),
        ("N_MAYBE", "test:lib/types@0.1.0#maybe"),
        ("N_PARSE", "test:lib/types@0.1.0#parse"),
        ("N_TOKENS", "test:lib/types@0.1.0#tokens"),
        ("N_RUN_IT", "run-it"),
        ("N_NOTHING", "test:lib/types@0.1.0#nothing"),
    ]
    .iter()
    .map(|(name, key)| {
        let number = functions.iter().position(|f| f.key == *key).unwrap();
        format!("-D{name}={number}")
    })
    .collect();
    let build = Command::new("gcc")
        .args(["-std=c11", "-g", "-Wall", "-Wextra", "-Werror"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .args(&defines)
        .args(["main.c", "-o", "main"])
        .current_dir(dir.path())
        .output()
        .expect("gcc runs");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = Command::new(dir.path().join("main"))
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .output()
        .unwrap();
    assert!(
        run.status.success() && run.stdout == b"ok\n",
        "status {}\nstdout: {}\nstderr: {}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A world importing an interface that native code implements (records,
/// lists, strings, no result, no parameters), for a library and for a
/// command.
const IMPORTS_WIT: &str = r#"
package test:imp@0.1.0;

interface host {
    record pair { a: string, b: list<u16> }
    greet: func(name: string) -> string;
    swap: func(p: pair) -> pair;
    ping: func();
}

interface api {
    use host.{pair};
    run: func(n: u32) -> pair;
}

world lib {
    import host;
    import log: func(message: string, level: u8);
    export api;
}
"#;

/// The definitions of `IMPORTS_WIT`'s host functions, with prefix `mylib`.
const IMPORTS_IMPL: &str = r#"
mylib_string_t mylib_impl_host_greet(mylib_string_t name) { return name; }
mylib_host_pair_t mylib_impl_host_swap(mylib_host_pair_t p) { return p; }
void mylib_impl_host_ping(void) {}
void mylib_impl_log(mylib_string_t message, uint8_t level) { (void)message; (void)level; }
"#;

#[test]
fn native_imports_get_declarations_and_glue() {
    let wasm = componentize(IMPORTS_WIT, "lib");
    let header = c_header(&wasm, "mylib").unwrap();
    for declared in [
        "mylib_string_t mylib_impl_host_greet(mylib_string_t name);",
        "mylib_host_pair_t mylib_impl_host_swap(mylib_host_pair_t p);",
        "void mylib_impl_host_ping(void);",
        "void mylib_impl_log(mylib_string_t message, uint8_t level);",
        "#ifdef MYLIB_IMPLEMENTATION",
    ] {
        assert!(header.contains(declared), "{declared}\n{header}");
    }
    let glue = smelt_abi::component::native_import_symbol("test:imp/host@0.1.0#greet");
    let at = header.find("#ifdef MYLIB_IMPLEMENTATION").unwrap();
    assert!(
        header[at..].contains(&format!("void {glue}(const void *args, void *ret) {{")),
        "the glue is defined under MYLIB_IMPLEMENTATION"
    );
    // The exported function is still number 0, the imports have none.
    assert_eq!(number_in_header(&header, "mylib", "api_run"), 0);
    // The compiler makes a native trampoline of each, the top-level
    // function's by its name.
    let target = crate::target::Target::host().unwrap();
    let wasi = smelt_abi::wasi::WasiConfig::default();
    let keys = ["test:imp/api@0.1.0#run".to_string()];
    let object = crate::command::compile_library(&wasm, &target, &wasi, &keys, &[]).unwrap();
    let object = String::from_utf8_lossy(&object);
    for key in ["log", "test:imp/host@0.1.0#ping"] {
        let symbol = smelt_abi::component::native_import_symbol(key);
        assert!(object.contains(&symbol), "the object refers to {symbol}");
    }
    // With the glue compiled in (as C and C++), against the definitions.
    let header = format!("#define MYLIB_IMPLEMENTATION\n{header}");
    compile(&[("mylib.h", &header)], IMPORTS_IMPL).unwrap();
}

#[test]
fn an_executables_import_header_has_only_the_imports() {
    let wasm = componentize(IMPORTS_WIT, "lib");
    let header = c_header_of_imports(&wasm, "mylib").unwrap();
    assert!(header.contains("void mylib_impl_host_ping(void);"));
    for absent in ["smelt_lib_call", "mylib_api_run", "mylib_new"] {
        assert!(!header.contains(absent), "{absent} in\n{header}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mylib.h"), &header).unwrap();
    let main = dir.path().join("main.c");
    let source = format!("#define MYLIB_IMPLEMENTATION\n#include \"mylib.h\"\n{IMPORTS_IMPL}");
    std::fs::write(&main, source).unwrap();
    run_compiler("gcc", &["-std=c11", "-pedantic"], &main, dir.path()).unwrap();
    run_compiler(
        "g++",
        &["-std=c++17", "-pedantic", "-x", "c++"],
        &main,
        dir.path(),
    )
    .unwrap();
}

#[test]
fn native_imports_of_streams_are_refused_and_their_resources_are_the_programs() {
    let wit = r#"
package test:imp@0.1.0;

interface host {
    resource file { read: func() -> string; }
    open: func() -> file;
}

interface streams {
    feed: func() -> stream<u8>;
}

interface api { run: func(n: u32) -> u32; }

world with-resource { import host; export api; }
world with-stream { import streams; export api; }
"#;
    let target = crate::target::Target::host().unwrap();
    let wasi = smelt_abi::wasi::WasiConfig::default();
    let keys = ["test:imp/api@0.1.0#run".to_string()];
    let wasm = componentize(wit, "with-stream");
    let err = crate::command::compile_library(&wasm, &target, &wasi, &keys, &[])
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("imports function `test:imp/streams@0.1.0#feed`, whose type holds a stream"),
        "{err}"
    );

    // A resource of a native import is the program's: a handle type of
    // its representation, and a destructor with its glue.
    let wasm = componentize(wit, "with-resource");
    crate::command::compile_library(&wasm, &target, &wasi, &keys, &[]).expect("compiled");
    let header = c_header(&wasm, "p").unwrap();
    let dtor = smelt_abi::component::native_import_symbol("test:imp/host@0.1.0#[dtor]file");
    for expected in [
        "typedef struct p_impl_host_file_t {\n    uint32_t rep;\n} p_impl_host_file_t;",
        "void p_impl_host_file_drop(p_impl_host_file_t self_);",
        "p_impl_host_file_t p_impl_host_open(void);",
        "p_string_t p_impl_host_file_read(p_impl_host_file_t self_);",
        &format!("void {dtor}(const void *args, void *ret) {{"),
    ] {
        assert!(header.contains(expected), "{expected}:\n{header}");
    }
}
