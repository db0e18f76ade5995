//! The expected output of smelt's library test: the calls
//! `../../../c/main.c` makes on the compiled component, made here on the
//! native crate, one line per call in the same textual format (`{:.3}`
//! floats, `U+XXXX` chars, `{read, exec}` flags; see main.c's header
//! comment). `run.sh` diffs the two outputs.
//!
//! Two instances: `a` and `b`, each with its own environment (the
//! `smelt_config` main.c passes) and its own `next-id` counter.

use std::panic;
use std::sync::atomic::AtomicU32;

use smelt_library_native::{self as lib, Color, EXEC, Perms, Point, READ, Shape, ShapeInfo, WRITE};

fn line(instance: &str, call: &str, value: String) {
    println!("{instance}: {call} -> {value}");
}

fn string(s: &str) -> String {
    format!("\"{s}\"")
}

fn list<T>(xs: &[T], f: impl Fn(&T) -> String) -> String {
    let items: Vec<String> = xs.iter().map(f).collect();
    format!("[{}]", items.join(", "))
}

fn option<T>(x: &Option<T>, f: impl Fn(&T) -> String) -> String {
    match x {
        Some(v) => format!("some({})", f(v)),
        None => "none".to_owned(),
    }
}

fn character(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

fn point(p: &Point) -> String {
    format!("{{x: {:.3}, y: {:.3}}}", p.x, p.y)
}

fn shape(s: &Shape) -> String {
    match s {
        Shape::Circle(r) => format!("circle({r:.3})"),
        Shape::Rect(p) => format!("rect({})", point(p)),
        Shape::Empty => "empty".to_owned(),
    }
}

fn shape_info(i: &ShapeInfo) -> String {
    format!(
        "{{name: {}, area: {:.3}, corners: {}}}",
        string(&i.name),
        i.area,
        list(&i.corners, point)
    )
}

fn color(c: Color) -> String {
    match c {
        Color::Red => "red",
        Color::Green => "green",
        Color::Blue => "blue",
    }
    .to_owned()
}

fn perms(p: Perms) -> String {
    let names: Vec<&str> = [(READ, "read"), (WRITE, "write"), (EXEC, "exec")]
        .iter()
        .filter(|&&(bit, _)| p & bit != 0)
        .map(|&(_, name)| name)
        .collect();
    format!("{{{}}}", names.join(", "))
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn main() {
    let env_a = env(&[("GREETING", "hello from A"), ("LANG", "C")]);
    let env_b = env(&[("GREETING", "hello from B")]);
    let counter_a = AtomicU32::new(0);
    let counter_b = AtomicU32::new(0);
    let a = "a";
    let b = "b";

    // interface text
    line(a, "text.greet(\"Wörld\")", string(&lib::greet("Wörld")));
    line(
        a,
        "text.concat(\"foo\", \"bär\")",
        string(&lib::concat("foo", "bär")),
    );
    line(a, "text.concat(\"\", \"\")", string(&lib::concat("", "")));
    line(
        a,
        "text.count-chars(\"héllo wörld\")",
        lib::count_chars("héllo wörld").to_string(),
    );
    line(
        a,
        "text.split-words(\"  the quick  brown fox \")",
        list(&lib::split_words("  the quick  brown fox "), |s| string(s)),
    );
    line(
        a,
        "text.split-words(\"\")",
        list(&lib::split_words(""), |s| string(s)),
    );
    let words = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
    line(
        a,
        "text.join-words([\"a\", \"b\", \"c\"], \", \")",
        string(&lib::join_words(&words, ", ")),
    );
    line(
        a,
        "text.join-words([], \"-\")",
        string(&lib::join_words(&[], "-")),
    );
    let (l, r) = lib::split_at("naïve", 3);
    line(
        a,
        "text.split-at(\"naïve\", 3)",
        format!("({}, {})", string(&l), string(&r)),
    );
    for s in ["12345", "12x"] {
        let v = match lib::parse_number(s) {
            Ok(n) => format!("ok({n})"),
            Err(e) => format!("err({})", string(&e)),
        };
        line(a, &format!("text.parse-number(\"{s}\")"), v);
    }
    for s in ["abc123", "a b"] {
        let v = match lib::check_name(s) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("err({})", string(&e)),
        };
        line(a, &format!("text.check-name(\"{s}\")"), v);
    }
    line(
        a,
        "text.first-char(\"émile\")",
        option(&lib::first_char("émile"), |&c| character(c)),
    );
    line(
        a,
        "text.first-char(\"\")",
        option(&lib::first_char(""), |&c| character(c)),
    );
    line(
        a,
        "text.to-upper(U+00E9)",
        character(lib::to_upper('\u{e9}')),
    );
    line(
        a,
        "text.to-upper(U+00DF)",
        character(lib::to_upper('\u{df}')),
    );
    line(
        a,
        "text.find-char(\"hello\", U+006C)",
        option(&lib::find_char("hello", 'l'), u32::to_string),
    );
    line(
        a,
        "text.find-char(\"hello\", U+007A)",
        option(&lib::find_char("hello", 'z'), u32::to_string),
    );
    line(
        a,
        "text.get-env(\"GREETING\")",
        option(&lib::get_env(env_a.clone(), "GREETING"), |s| string(s)),
    );
    line(
        a,
        "text.get-env(\"MISSING\")",
        option(&lib::get_env(env_a.clone(), "MISSING"), |s| string(s)),
    );
    lib::log("from the guest");
    line(a, "text.log(\"from the guest\")", "ok".to_owned());

    // interface shapes
    line(
        a,
        "shapes.sum([1, 2, 3, 4000000000])",
        lib::sum(&[1, 2, 3, 4000000000]).to_string(),
    );
    line(a, "shapes.sum([])", lib::sum(&[]).to_string());
    line(a, "shapes.range(5)", list(&lib::range(5), u32::to_string));
    line(a, "shapes.range(0)", list(&lib::range(0), u32::to_string));
    let pair = |&(lo, hi): &(u32, u32)| format!("({lo}, {hi})");
    line(
        a,
        "shapes.min-max([7, 3, 9, 1])",
        option(&lib::min_max(&[7, 3, 9, 1]), pair),
    );
    line(a, "shapes.min-max([])", option(&lib::min_max(&[]), pair));
    line(
        a,
        "shapes.or-default(some(5), 7)",
        lib::or_default(Some(5), 7).to_string(),
    );
    line(
        a,
        "shapes.or-default(none, 7)",
        lib::or_default(None, 7).to_string(),
    );
    line(
        a,
        "shapes.scale({x: 1.5, y: -2.25}, 2)",
        point(&lib::scale(Point { x: 1.5, y: -2.25 }, 2.0)),
    );
    let circle = Shape::Circle(1.5);
    let rect = Shape::Rect(Point { x: 2.0, y: 3.5 });
    line(
        a,
        "shapes.area(circle(1.5))",
        format!("{:.3}", lib::area(circle)),
    );
    line(
        a,
        "shapes.area(rect({x: 2, y: 3.5}))",
        format!("{:.3}", lib::area(rect)),
    );
    line(
        a,
        "shapes.area(empty)",
        format!("{:.3}", lib::area(Shape::Empty)),
    );
    line(
        a,
        "shapes.describe(rect({x: 2, y: 3.5}))",
        shape_info(&lib::describe(rect)),
    );
    line(
        a,
        "shapes.describe(circle(1))",
        shape_info(&lib::describe(Shape::Circle(1.0))),
    );
    let several = [
        Shape::Circle(1.0),
        Shape::Rect(Point { x: 2.0, y: 3.0 }),
        Shape::Empty,
    ];
    line(
        a,
        "shapes.largest([circle(1), rect({x: 2, y: 3}), empty])",
        option(&lib::largest(&several), shape),
    );
    line(a, "shapes.largest([])", option(&lib::largest(&[]), shape));
    line(
        a,
        "shapes.grow(circle(1.25))",
        shape(&lib::grow(Shape::Circle(1.25))),
    );
    line(
        a,
        "shapes.grow(rect({x: 0.5, y: 4}))",
        shape(&lib::grow(Shape::Rect(Point { x: 0.5, y: 4.0 }))),
    );
    line(a, "shapes.grow(empty)", shape(&lib::grow(Shape::Empty)));
    line(
        a,
        "shapes.next-color(blue)",
        color(lib::next_color(Color::Blue)),
    );
    line(
        a,
        "shapes.next-color(red)",
        color(lib::next_color(Color::Red)),
    );
    line(
        a,
        "shapes.color-name(green)",
        string(&lib::color_name(Color::Green)),
    );
    line(
        a,
        "shapes.perms-string({read, exec})",
        string(&lib::perms_string(READ | EXEC)),
    );
    line(a, "shapes.perms-string({})", string(&lib::perms_string(0)));
    line(
        a,
        "shapes.toggle({read, write}, {write, exec})",
        perms(lib::toggle(READ | WRITE, WRITE | EXEC)),
    );
    line(
        a,
        "shapes.allows({read, write}, {read})",
        lib::allows(READ | WRITE, READ).to_string(),
    );
    line(
        a,
        "shapes.allows({read}, {read, write})",
        lib::allows(READ, READ | WRITE).to_string(),
    );
    line(a, "shapes.next-id()", lib::next_id(&counter_a).to_string());
    line(a, "shapes.next-id()", lib::next_id(&counter_a).to_string());
    line(
        a,
        "shapes.total([-5, 2147483647, -2147483648, 10])",
        lib::total(&[-5, i32::MAX, i32::MIN, 10]).to_string(),
    );

    // A second instance, with its own environment and state.
    line(
        b,
        "text.get-env(\"GREETING\")",
        option(&lib::get_env(env_b.clone(), "GREETING"), |s| string(s)),
    );
    line(b, "shapes.next-id()", lib::next_id(&counter_b).to_string());
    line(a, "shapes.next-id()", lib::next_id(&counter_a).to_string());

    // A trap: an error with a message, not an exit.
    line(a, "text.boom(4)", lib::boom(4).to_string());
    let trapped = panic::catch_unwind(|| lib::boom(0));
    let message = match &trapped {
        Ok(_) => "none".to_owned(),
        Err(payload) => {
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if text.is_some_and(|t| !t.is_empty()) {
                "yes"
            } else {
                "no"
            }
            .to_owned()
        }
    };
    let value = if trapped.is_ok() {
        "no trap".to_owned()
    } else {
        format!("trap: message {message}")
    };
    line(a, "text.boom(0)", value);
    println!("a: freed");

    // The other instance is unaffected.
    line(b, "text.greet(\"again\")", string(&lib::greet("again")));
    println!("b: freed");

    // The component's `not-utf8` returns bytes that are not UTF-8, which
    // safe Rust cannot make into a `String`: lifting its result traps.
    line("c", "text.not-utf8()", "trap".to_owned());
    println!("c: freed");
}
