//! The functions of `test:lib` (`../../wit/lib.wit`) as plain Rust: this
//! crate is the native build of smelt's library test, and the guest
//! component (`../../guest`) includes this same file (`#[path]`) and only
//! converts between its generated types and these. `expected` calls these
//! functions in the order `../../c/main.c` calls the compiled component.

use std::sync::atomic::{AtomicU32, Ordering};

/// `shapes.point`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// `shapes.shape`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// The radius.
    Circle(f64),
    /// Width and height of a rectangle with a corner at the origin.
    Rect(Point),
    Empty,
}

/// `shapes.color`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Color {
    Red,
    Green,
    Blue,
}

/// `shapes.perms`: bit i is label i.
pub type Perms = u8;
pub const READ: Perms = 1 << 0;
pub const WRITE: Perms = 1 << 1;
pub const EXEC: Perms = 1 << 2;

/// `shapes.shape-info`.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeInfo {
    pub name: String,
    pub area: f64,
    pub corners: Vec<Point>,
}

// interface text

pub fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

pub fn concat(a: &str, b: &str) -> String {
    format!("{a}{b}")
}

pub fn count_chars(s: &str) -> u32 {
    s.chars().count() as u32
}

pub fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub fn join_words(words: &[String], sep: &str) -> String {
    words.join(sep)
}

pub fn split_at(s: &str, at: u32) -> (String, String) {
    let byte = s
        .char_indices()
        .nth(at as usize)
        .map_or(s.len(), |(i, _)| i);
    let (a, b) = s.split_at(byte);
    (a.to_owned(), b.to_owned())
}

pub fn parse_number(s: &str) -> Result<u32, String> {
    s.parse::<u32>()
        .map_err(|e| format!("not a number: '{s}' ({e})"))
}

pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("empty name".to_owned())
    } else if let Some(c) = name.chars().find(|c| !c.is_ascii_alphanumeric()) {
        Err(format!("bad character U+{:04X} in '{name}'", c as u32))
    } else {
        Ok(())
    }
}

pub fn first_char(s: &str) -> Option<char> {
    s.chars().next()
}

pub fn to_upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub fn find_char(s: &str, c: char) -> Option<u32> {
    s.chars().position(|x| x == c).map(|i| i as u32)
}

/// The value of `name` in `env` (pairs as `std::env::vars` gives them).
pub fn get_env(env: impl IntoIterator<Item = (String, String)>, name: &str) -> Option<String> {
    env.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub fn log(msg: &str) {
    println!("log: {msg}");
}

pub fn boom(n: u32) -> u32 {
    if n == 0 {
        panic!("boom: n must not be zero");
    }
    1000 / n
}

// interface shapes

pub fn sum(xs: &[u32]) -> u64 {
    xs.iter().map(|&x| u64::from(x)).sum()
}

pub fn range(n: u32) -> Vec<u32> {
    (0..n).collect()
}

pub fn min_max(xs: &[u32]) -> Option<(u32, u32)> {
    Some((*xs.iter().min()?, *xs.iter().max()?))
}

pub fn or_default(x: Option<u32>, fallback: u32) -> u32 {
    x.unwrap_or(fallback)
}

pub fn scale(p: Point, k: f64) -> Point {
    Point {
        x: p.x * k,
        y: p.y * k,
    }
}

pub fn area(s: Shape) -> f64 {
    match s {
        Shape::Circle(r) => std::f64::consts::PI * r * r,
        Shape::Rect(p) => p.x * p.y,
        Shape::Empty => 0.0,
    }
}

pub fn describe(s: Shape) -> ShapeInfo {
    let (name, corners) = match s {
        Shape::Circle(_) => ("circle", Vec::new()),
        Shape::Rect(p) => (
            "rect",
            vec![
                Point { x: 0.0, y: 0.0 },
                Point { x: 0.0, y: p.y },
                Point { x: p.x, y: p.y },
                Point { x: p.x, y: 0.0 },
            ],
        ),
        Shape::Empty => ("empty", Vec::new()),
    };
    ShapeInfo {
        name: name.to_owned(),
        area: area(s),
        corners,
    }
}

pub fn largest(shapes: &[Shape]) -> Option<Shape> {
    let mut best: Option<Shape> = None;
    for &s in shapes {
        if best.is_none_or(|b| area(s) > area(b)) {
            best = Some(s);
        }
    }
    best
}

pub fn grow(s: Shape) -> Shape {
    match s {
        Shape::Circle(r) => Shape::Circle(2.0 * r),
        Shape::Rect(p) => Shape::Rect(scale(p, 2.0)),
        Shape::Empty => Shape::Empty,
    }
}

pub fn next_color(c: Color) -> Color {
    match c {
        Color::Red => Color::Green,
        Color::Green => Color::Blue,
        Color::Blue => Color::Red,
    }
}

pub fn color_name(c: Color) -> String {
    match c {
        Color::Red => "red",
        Color::Green => "green",
        Color::Blue => "blue",
    }
    .to_owned()
}

pub fn perms_string(p: Perms) -> String {
    [(READ, 'r'), (WRITE, 'w'), (EXEC, 'x')]
        .iter()
        .map(|&(bit, c)| if p & bit != 0 { c } else { '-' })
        .collect()
}

pub fn toggle(p: Perms, mask: Perms) -> Perms {
    p ^ mask
}

pub fn allows(p: Perms, wanted: Perms) -> bool {
    p & wanted == wanted
}

/// The next value of an instance's counter (1 first).
pub fn next_id(counter: &AtomicU32) -> u32 {
    counter.fetch_add(1, Ordering::Relaxed) + 1
}

pub fn total(xs: &[i32]) -> i64 {
    xs.iter().map(|&x| i64::from(x)).sum()
}
