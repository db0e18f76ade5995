//! The app half of smelt's composed-components test: imports
//! `smelt-test:pair/library` and `smelt-test:pair/text`
//! (`../wit/library.wit`), which `build.sh` satisfies by composing this
//! command with `provider` (Rust, UTF-8 like this one) and `text` (WAT,
//! UTF-16). Calls every function of both interfaces once or more, prints
//! each result on its own line, drops its resources, and exits 0.
//!
//! The output is fixed: `tests/tests/composed.rs` compares it byte for byte.

use smelt_test::pair::library::{
    Book, Color, Perms, Shape, Shelf, close, describe, dropped, greet, grow, inspect, lookup,
    make_shelf, mix, newer_than, next_color, oldest, parse_u32, reverse_bytes, sum_years, swap,
    toggle, words,
};
use smelt_test::pair::text::{post_returns, units, upper};

wit_bindgen::generate!({
    world: "app",
    path: "../wit",
});

fn book(title: &str, year: u32, tags: &[&str]) -> Book {
    Book {
        title: title.to_string(),
        year,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

/// A book on one line.
fn show(b: &Book) -> String {
    format!("{:?} ({}) {:?}", b.title, b.year, b.tags)
}

fn show_all(books: &[Book]) -> String {
    let shown: Vec<String> = books.iter().map(show).collect();
    format!("[{}]", shown.join("; "))
}

fn main() {
    // Strings and bytes: ASCII, empty, multi-byte UTF-8, a long one that
    // crosses many realloc growths.
    println!("greet: {}", greet("smelt"));
    println!("greet empty: {}", greet(""));
    println!("greet utf-8: {}", greet("Grüße, 世界 🦀"));
    let long = "ab".repeat(5000);
    let long_greeting = greet(&long);
    println!(
        "greet long: {} bytes, ends {:?}",
        long_greeting.len(),
        &long_greeting[long_greeting.len() - 24..]
    );
    println!(
        "reverse-bytes: {:?}",
        reverse_bytes(&[1, 2, 3, 250, 0, 255])
    );
    println!("reverse-bytes empty: {:?}", reverse_bytes(&[]));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let back = reverse_bytes(&big);
    let same = back.iter().rev().eq(big.iter());
    println!("reverse-bytes 100000: len {}, mirrored {same}", back.len());
    println!("words: {:?}", words("  the quick\tbrown  fox\n"));
    println!("words none: {:?}", words("   "));

    // Records, lists of records.
    let books = vec![
        book("Dune", 1965, &["sf", "desert"]),
        book("Neuromancer", 1984, &["cyberpunk"]),
        book("Le Petit Prince", 1943, &[]),
        book("Snow Crash", 1992, &["sf", "cyberpunk", "satire"]),
    ];
    println!("sum-years: {}", sum_years(&books));
    println!("sum-years none: {}", sum_years(&[]));
    println!("oldest: {:?}", oldest(&books).as_ref().map(show));
    println!("oldest none: {:?}", oldest(&[]).as_ref().map(show));
    println!("newer-than 1970: {}", show_all(&newer_than(&books, 1970)));
    println!("newer-than 2000: {}", show_all(&newer_than(&books, 2000)));

    // Options, results, tuples.
    println!("lookup none: {:?}", lookup(None));
    println!("lookup wasm: {:?}", lookup(Some("wasm")));
    println!("lookup wit: {:?}", lookup(Some("wit")));
    println!("lookup other: {:?}", lookup(Some("other")));
    println!("parse-u32 42: {:?}", parse_u32("42"));
    println!("parse-u32 max: {:?}", parse_u32("4294967295"));
    println!("parse-u32 overflow: {:?}", parse_u32("4294967296"));
    println!("parse-u32 word: {:?}", parse_u32("forty-two"));
    println!("swap: {:?}", swap(("answer", 42)));

    // Scalars.
    println!("mix: {}", mix(-128, 65535, i64::MIN, 1.5, 'é', true));
    println!("mix: {}", mix(127, 0, i64::MAX, -0.25, '🦀', false));

    // Variants, enums, flags.
    let shapes = [
        Shape::Point,
        Shape::Circle(2.5),
        Shape::Rect((3, 4)),
        Shape::Named("hexagon".to_string()),
    ];
    for s in &shapes {
        println!("describe: {}", describe(s));
    }
    for s in &shapes {
        let grown = grow(s);
        println!("grow: {}", describe(&grown));
    }
    for c in [Color::Red, Color::Green, Color::Blue] {
        println!("next-color {c:?}: {:?}", next_color(c));
    }
    let rw = Perms::READ | Perms::WRITE;
    println!("toggle rw^wx: {:?}", toggle(rw, Perms::WRITE | Perms::EXEC));
    println!(
        "toggle none^all: {:?}",
        toggle(Perms::empty(), Perms::all())
    );
    println!("toggle rw^rw: {:?}", toggle(rw, rw));

    // Resources: constructed, methods called, lent, returned, consumed.
    let shelf = Shelf::new("fiction");
    for b in &books[..3] {
        shelf.add(b);
    }
    println!("shelf name: {}", shelf.name());
    println!("shelf count: {}", shelf.count());
    println!("shelf titles: {:?}", shelf.titles());
    println!("inspect: {}", inspect(&shelf));
    println!("inspect again: {}", inspect(&shelf));
    let made = make_shelf("made", &books[2..]);
    println!("made name: {}", made.name());
    println!("made titles: {:?}", made.titles());
    println!("inspect made: {}", inspect(&made));
    println!("dropped before: {}", dropped());
    drop(shelf);
    println!("dropped after drop: {}", dropped());
    let closed = close(made);
    println!("close: {}", show_all(&closed));
    println!("dropped after close: {}", dropped());
    // Many short-lived handles: the handle tables must reuse their slots.
    for i in 0..100u32 {
        let s = make_shelf(&format!("tmp{i}"), &[]);
        s.add(&book("x", i, &[]));
        if i % 2 == 0 {
            drop(s);
        } else {
            close(s);
        }
    }
    println!("dropped after 100 more: {}", dropped());

    // Strings transcoded between UTF-8 (here) and UTF-16 (`text`): one-,
    // two-, three- and four-byte UTF-8 sequences (the last a surrogate pair
    // in UTF-16), empty, and long enough to make the callee grow memory.
    for s in [
        "hello, world",
        "",
        "Grüße, wörld",
        "日本語 text",
        "crab 🦀 and 𝄞 clef",
    ] {
        println!("upper {s:?}: {:?}, {} units", upper(s), units(s));
    }
    let long: String = "abc-é-日-🦀 ".repeat(10_000);
    let shouted = upper(&long);
    println!(
        "upper long: {} bytes, {} units, as expected {}",
        shouted.len(),
        units(&long),
        shouted == long.to_ascii_uppercase()
    );
    println!("post-returns: {}", post_returns());
    println!("done");
}
