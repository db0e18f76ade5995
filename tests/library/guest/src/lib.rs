//! The component of smelt's library test: exports `test:lib`
//! (`../../wit/lib.wit`). The functions are those of the native crate
//! (`../../native/src/lib.rs`, included here); this file only converts
//! between the types `wit-bindgen` generates and the native crate's.

use std::sync::atomic::AtomicU32;

use exports::test::lib::shapes::{self, Color, Perms, Point, Shape, ShapeInfo};
use exports::test::lib::text;

#[path = "../../native/src/lib.rs"]
mod native;

wit_bindgen::generate!({
    world: "lib",
    path: "../wit",
});

struct Lib;

/// The counter of `next-id`: one per instance, as each instance has its
/// own linear memory.
static COUNTER: AtomicU32 = AtomicU32::new(0);

impl text::Guest for Lib {
    fn greet(name: String) -> String {
        native::greet(&name)
    }

    fn concat(a: String, b: String) -> String {
        native::concat(&a, &b)
    }

    fn echo(s: String) -> String {
        s
    }

    fn count_chars(s: String) -> u32 {
        native::count_chars(&s)
    }

    fn split_words(s: String) -> Vec<String> {
        native::split_words(&s)
    }

    fn join_words(words: Vec<String>, sep: String) -> String {
        native::join_words(&words, &sep)
    }

    fn split_at(s: String, at: u32) -> (String, String) {
        native::split_at(&s, at)
    }

    fn parse_number(s: String) -> Result<u32, String> {
        native::parse_number(&s)
    }

    fn check_name(name: String) -> Result<(), String> {
        native::check_name(&name)
    }

    fn first_char(s: String) -> Option<char> {
        native::first_char(&s)
    }

    fn to_upper(c: char) -> char {
        native::to_upper(c)
    }

    fn find_char(s: String, c: char) -> Option<u32> {
        native::find_char(&s, c)
    }

    fn get_env(name: String) -> Option<String> {
        native::get_env(std::env::vars(), &name)
    }

    fn log(msg: String) {
        native::log(&msg)
    }

    fn boom(n: u32) -> u32 {
        native::boom(n)
    }

    fn not_utf8() -> String {
        // SAFETY: none: the point is a string that is not UTF-8, which the
        // canonical ABI must refuse when it lifts the result.
        unsafe { String::from_utf8_unchecked(vec![b'a', 0xff, b'b']) }
    }
}

fn point_in(p: Point) -> native::Point {
    native::Point { x: p.x, y: p.y }
}

fn point_out(p: native::Point) -> Point {
    Point { x: p.x, y: p.y }
}

fn shape_in(s: Shape) -> native::Shape {
    match s {
        Shape::Circle(r) => native::Shape::Circle(r),
        Shape::Rect(p) => native::Shape::Rect(point_in(p)),
        Shape::Empty => native::Shape::Empty,
    }
}

fn shape_out(s: native::Shape) -> Shape {
    match s {
        native::Shape::Circle(r) => Shape::Circle(r),
        native::Shape::Rect(p) => Shape::Rect(point_out(p)),
        native::Shape::Empty => Shape::Empty,
    }
}

fn color_in(c: Color) -> native::Color {
    match c {
        Color::Red => native::Color::Red,
        Color::Green => native::Color::Green,
        Color::Blue => native::Color::Blue,
    }
}

fn color_out(c: native::Color) -> Color {
    match c {
        native::Color::Red => Color::Red,
        native::Color::Green => Color::Green,
        native::Color::Blue => Color::Blue,
    }
}

impl shapes::Guest for Lib {
    fn sum(xs: Vec<u32>) -> u64 {
        native::sum(&xs)
    }

    fn range(n: u32) -> Vec<u32> {
        native::range(n)
    }

    fn min_max(xs: Vec<u32>) -> Option<(u32, u32)> {
        native::min_max(&xs)
    }

    fn or_default(x: Option<u32>, fallback: u32) -> u32 {
        native::or_default(x, fallback)
    }

    fn scale(p: Point, k: f64) -> Point {
        point_out(native::scale(point_in(p), k))
    }

    fn area(s: Shape) -> f64 {
        native::area(shape_in(s))
    }

    fn describe(s: Shape) -> ShapeInfo {
        let info = native::describe(shape_in(s));
        ShapeInfo {
            name: info.name,
            area: info.area,
            corners: info.corners.into_iter().map(point_out).collect(),
        }
    }

    fn largest(shapes: Vec<Shape>) -> Option<Shape> {
        let shapes: Vec<native::Shape> = shapes.into_iter().map(shape_in).collect();
        native::largest(&shapes).map(shape_out)
    }

    fn grow(s: Shape) -> Shape {
        shape_out(native::grow(shape_in(s)))
    }

    fn next_color(c: Color) -> Color {
        color_out(native::next_color(color_in(c)))
    }

    fn color_name(c: Color) -> String {
        native::color_name(color_in(c))
    }

    fn perms_string(p: Perms) -> String {
        native::perms_string(p.bits())
    }

    fn toggle(p: Perms, mask: Perms) -> Perms {
        Perms::from_bits_retain(native::toggle(p.bits(), mask.bits()))
    }

    fn allows(p: Perms, wanted: Perms) -> bool {
        native::allows(p.bits(), wanted.bits())
    }

    fn next_id() -> u32 {
        native::next_id(&COUNTER)
    }

    fn total(xs: Vec<i32>) -> i64 {
        native::total(&xs)
    }
}

export!(Lib);
