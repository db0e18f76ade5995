//! smelt's library test from Rust (issue 18): calls the component of
//! ../guest, built into `libshapes.a` by build.rs with `smelt::Build`,
//! through the generated bindings `shapes.rs`, and prints one line per
//! call in the format of ../c/main.c (see its header comment), which
//! ../native's `expected` prints for the native build of the same
//! functions:
//!
//!     INSTANCE: INTERFACE.FUNCTION(ARGUMENTS) -> VALUE
//!
//! An unexpected trap ends the program with exit status 1.

include!(concat!(env!("OUT_DIR"), "/shapes.rs"));

use shapes::{Color, Perms, Point, Shape, ShapeInfo};

/// The value of a call, or exit 1 naming the call and the trap.
fn check<T>(instance: &str, call: &str, result: Result<T, Trap>) -> T {
    match result {
        Ok(value) => value,
        Err(trap) => {
            println!("{instance}: {call} -> unexpected trap: {trap}");
            std::process::exit(1);
        }
    }
}

fn line(instance: &str, call: &str, value: String) {
    println!("{instance}: {call} -> {value}");
}

fn string(s: &str) -> String {
    format!("\"{s}\"")
}

fn character(c: char) -> String {
    format!("U+{:04X}", c as u32)
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
    let names: Vec<&str> = [
        (Perms::READ, "read"),
        (Perms::WRITE, "write"),
        (Perms::EXEC, "exec"),
    ]
    .iter()
    .filter(|&&(bit, _)| p.contains(bit))
    .map(|&(_, name)| name)
    .collect();
    format!("{{{}}}", names.join(", "))
}

fn instantiate(name: &str, env: &[(&str, &str)]) -> Instance {
    let config = Config {
        args: vec![name.to_owned()],
        env: env
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        dirs: Vec::new(),
    };
    Instance::new(&config).unwrap_or_else(|e| {
        println!("{name}: Instance::new failed: {e}");
        std::process::exit(1);
    })
}

/// interface text, on instance a
fn text_calls(a: &mut Instance) {
    let i = "a";
    let call = "text.greet(\"Wörld\")";
    line(i, call, string(&check(i, call, a.text_greet("Wörld"))));
    let call = "text.concat(\"foo\", \"bär\")";
    line(
        i,
        call,
        string(&check(i, call, a.text_concat("foo", "bär"))),
    );
    let call = "text.concat(\"\", \"\")";
    line(i, call, string(&check(i, call, a.text_concat("", ""))));
    let call = "text.count-chars(\"héllo wörld\")";
    let n = check(i, call, a.text_count_chars("héllo wörld"));
    line(i, call, n.to_string());
    let call = "text.split-words(\"  the quick  brown fox \")";
    let words = check(i, call, a.text_split_words("  the quick  brown fox "));
    line(i, call, list(&words, |s| string(s)));
    let call = "text.split-words(\"\")";
    let words = check(i, call, a.text_split_words(""));
    line(i, call, list(&words, |s| string(s)));
    let abc = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
    let call = "text.join-words([\"a\", \"b\", \"c\"], \", \")";
    line(
        i,
        call,
        string(&check(i, call, a.text_join_words(&abc, ", "))),
    );
    let call = "text.join-words([], \"-\")";
    line(
        i,
        call,
        string(&check(i, call, a.text_join_words(&[], "-"))),
    );
    let call = "text.split-at(\"naïve\", 3)";
    let (l, r) = check(i, call, a.text_split_at("naïve", 3));
    line(i, call, format!("({}, {})", string(&l), string(&r)));
    for s in ["12345", "12x"] {
        let call = format!("text.parse-number(\"{s}\")");
        let v = match check(i, &call, a.text_parse_number(s)) {
            Ok(n) => format!("ok({n})"),
            Err(e) => format!("err({})", string(&e)),
        };
        line(i, &call, v);
    }
    for s in ["abc123", "a b"] {
        let call = format!("text.check-name(\"{s}\")");
        let v = match check(i, &call, a.text_check_name(s)) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("err({})", string(&e)),
        };
        line(i, &call, v);
    }
    for s in ["émile", ""] {
        let call = format!("text.first-char(\"{s}\")");
        let c = check(i, &call, a.text_first_char(s));
        line(i, &call, option(&c, |&c| character(c)));
    }
    for c in ['\u{e9}', '\u{df}'] {
        let call = format!("text.to-upper({})", character(c));
        line(i, &call, character(check(i, &call, a.text_to_upper(c))));
    }
    for c in ['l', 'z'] {
        let call = format!("text.find-char(\"hello\", {})", character(c));
        let at = check(i, &call, a.text_find_char("hello", c));
        line(i, &call, option(&at, u32::to_string));
    }
    for name in ["GREETING", "MISSING"] {
        let call = format!("text.get-env(\"{name}\")");
        let value = check(i, &call, a.text_get_env(name));
        line(i, &call, option(&value, |s| string(s)));
    }
    // The guest's line goes to the same stdout, which Rust's println!
    // does not buffer past a line.
    let call = "text.log(\"from the guest\")";
    check(i, call, a.text_log("from the guest"));
    line(i, call, "ok".to_owned());
}

/// interface shapes, on instance a
fn shapes_calls(a: &mut Instance) {
    let i = "a";
    let call = "shapes.sum([1, 2, 3, 4000000000])";
    let sum = check(i, call, a.shapes_sum(&[1, 2, 3, 4000000000]));
    line(i, call, sum.to_string());
    let call = "shapes.sum([])";
    line(i, call, check(i, call, a.shapes_sum(&[])).to_string());
    for n in [5, 0] {
        let call = format!("shapes.range({n})");
        let range = check(i, &call, a.shapes_range(n));
        line(i, &call, list(&range, u32::to_string));
    }
    for (call, xs) in [
        ("shapes.min-max([7, 3, 9, 1])", &[7, 3, 9, 1][..]),
        ("shapes.min-max([])", &[][..]),
    ] {
        let mm = check(i, call, a.shapes_min_max(xs));
        line(i, call, option(&mm, |&(lo, hi)| format!("({lo}, {hi})")));
    }
    for (call, x) in [
        ("shapes.or-default(some(5), 7)", Some(5)),
        ("shapes.or-default(none, 7)", None),
    ] {
        line(
            i,
            call,
            check(i, call, a.shapes_or_default(x, 7)).to_string(),
        );
    }
    let call = "shapes.scale({x: 1.5, y: -2.25}, 2)";
    let p = check(i, call, a.shapes_scale(Point { x: 1.5, y: -2.25 }, 2.0));
    line(i, call, point(&p));

    let circle = Shape::Circle(1.5);
    let rect = Shape::Rect(Point { x: 2.0, y: 3.5 });
    let empty = Shape::Empty;
    for (call, s) in [
        ("shapes.area(circle(1.5))", circle),
        ("shapes.area(rect({x: 2, y: 3.5}))", rect),
        ("shapes.area(empty)", empty),
    ] {
        let area = check(i, call, a.shapes_area(s));
        line(i, call, format!("{area:.3}"));
    }
    let unit = Shape::Circle(1.0);
    for (call, s) in [
        ("shapes.describe(rect({x: 2, y: 3.5}))", rect),
        ("shapes.describe(circle(1))", unit),
    ] {
        let info = check(i, call, a.shapes_describe(s));
        line(i, call, shape_info(&info));
    }
    let several = [unit, Shape::Rect(Point { x: 2.0, y: 3.0 }), empty];
    for (call, list) in [
        (
            "shapes.largest([circle(1), rect({x: 2, y: 3}), empty])",
            &several[..],
        ),
        ("shapes.largest([])", &[][..]),
    ] {
        let biggest = check(i, call, a.shapes_largest(list));
        line(i, call, option(&biggest, shape));
    }
    for (call, s) in [
        ("shapes.grow(circle(1.25))", Shape::Circle(1.25)),
        (
            "shapes.grow(rect({x: 0.5, y: 4}))",
            Shape::Rect(Point { x: 0.5, y: 4.0 }),
        ),
        ("shapes.grow(empty)", empty),
    ] {
        let grown = check(i, call, a.shapes_grow(s));
        line(i, call, shape(&grown));
    }
    for (call, c) in [
        ("shapes.next-color(blue)", Color::Blue),
        ("shapes.next-color(red)", Color::Red),
    ] {
        line(i, call, color(check(i, call, a.shapes_next_color(c))));
    }
    let call = "shapes.color-name(green)";
    line(
        i,
        call,
        string(&check(i, call, a.shapes_color_name(Color::Green))),
    );
    for (call, p) in [
        (
            "shapes.perms-string({read, exec})",
            Perms::READ | Perms::EXEC,
        ),
        ("shapes.perms-string({})", Perms::empty()),
    ] {
        line(i, call, string(&check(i, call, a.shapes_perms_string(p))));
    }
    let call = "shapes.toggle({read, write}, {write, exec})";
    let toggled = check(
        i,
        call,
        a.shapes_toggle(Perms::READ | Perms::WRITE, Perms::WRITE | Perms::EXEC),
    );
    line(i, call, perms(toggled));
    for (call, p, wanted) in [
        (
            "shapes.allows({read, write}, {read})",
            Perms::READ | Perms::WRITE,
            Perms::READ,
        ),
        (
            "shapes.allows({read}, {read, write})",
            Perms::READ,
            Perms::READ | Perms::WRITE,
        ),
    ] {
        line(
            i,
            call,
            check(i, call, a.shapes_allows(p, wanted)).to_string(),
        );
    }
    for _ in 0..2 {
        let call = "shapes.next-id()";
        line(i, call, check(i, call, a.shapes_next_id()).to_string());
    }
    let call = "shapes.total([-5, 2147483647, -2147483648, 10])";
    let total = check(i, call, a.shapes_total(&[-5, i32::MAX, i32::MIN, 10]));
    line(i, call, total.to_string());
}

fn main() {
    let mut a = instantiate("a", &[("GREETING", "hello from A"), ("LANG", "C")]);
    text_calls(&mut a);
    shapes_calls(&mut a);

    // A second instance, alive with the first: its own environment and
    // its own state (next-id starts again at 1).
    let mut b = instantiate("b", &[("GREETING", "hello from B")]);
    let call = "text.get-env(\"GREETING\")";
    let value = check("b", call, b.text_get_env("GREETING"));
    line("b", call, option(&value, |s| string(s)));
    let call = "shapes.next-id()";
    line("b", call, check("b", call, b.shapes_next_id()).to_string());
    line("a", call, check("a", call, a.shapes_next_id()).to_string());

    // A trap comes back as an error value, not as an exit.
    let call = "text.boom(4)";
    line("a", call, check("a", call, a.text_boom(4)).to_string());
    let outcome = match a.text_boom(0) {
        Ok(_) => "no trap".to_owned(),
        Err(trap) => {
            eprintln!("text.boom(0) trapped: {trap}");
            let message = if trap.message().is_empty() {
                "no"
            } else {
                "yes"
            };
            format!("trap: message {message}")
        }
    };
    line("a", "text.boom(0)", outcome);
    drop(a);
    println!("a: freed");

    // The other instance is unaffected.
    let call = "text.greet(\"again\")";
    line("b", call, string(&check("b", call, b.text_greet("again"))));
    drop(b);
    println!("b: freed");

    // A result string that is not UTF-8 is a trap too (CanonicalABI.md
    // `load_string_from_range`).
    let mut c = instantiate("c", &[]);
    let outcome = match c.text_not_utf8() {
        Ok(_) => "no trap",
        Err(trap) => {
            eprintln!("text.not-utf8() trapped: {trap}");
            "trap"
        }
    };
    line("c", "text.not-utf8()", outcome.to_owned());
    drop(c);
    println!("c: freed");
}
