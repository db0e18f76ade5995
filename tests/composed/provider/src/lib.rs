//! The provider half of smelt's composed-components test: implements
//! `smelt-test:pair/library` (`../wit/library.wit`) and exports it. Built
//! as a cdylib for wasm32-wasip2, it is a reactor component; `build.sh`
//! composes it with `app`, which calls every function below.
//!
//! Every function is a pure function of its arguments (and, for `dropped`,
//! of the calls before it), so that the app's output is fixed.

use std::cell::{Cell, RefCell};

use exports::smelt_test::pair::library::{
    Book, Color, Guest, GuestShelf, Perms, Shape, Shelf, ShelfBorrow,
};

wit_bindgen::generate!({
    world: "provider",
    path: "../wit",
});

struct Provider;

/// The rep behind a `shelf` handle.
struct ShelfRep {
    name: String,
    books: RefCell<Vec<Book>>,
}

thread_local! {
    /// How many `ShelfRep`s have been dropped.
    static DROPPED: Cell<u32> = const { Cell::new(0) };
}

impl Drop for ShelfRep {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

impl GuestShelf for ShelfRep {
    fn new(name: String) -> ShelfRep {
        ShelfRep {
            name,
            books: RefCell::new(Vec::new()),
        }
    }

    fn add(&self, b: Book) {
        self.books.borrow_mut().push(b);
    }

    fn count(&self) -> u32 {
        self.books.borrow().len() as u32
    }

    fn titles(&self) -> Vec<String> {
        self.books
            .borrow()
            .iter()
            .map(|b| b.title.clone())
            .collect()
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl Guest for Provider {
    type Shelf = ShelfRep;

    fn greet(name: String) -> String {
        format!(
            "Hello, {name}! ({} bytes, {} chars)",
            name.len(),
            name.chars().count()
        )
    }

    fn reverse_bytes(data: Vec<u8>) -> Vec<u8> {
        data.into_iter().rev().collect()
    }

    fn words(text: String) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn sum_years(books: Vec<Book>) -> u32 {
        books.iter().map(|b| b.year).sum()
    }

    fn oldest(books: Vec<Book>) -> Option<Book> {
        books.into_iter().min_by_key(|b| b.year)
    }

    fn newer_than(books: Vec<Book>, year: u32) -> Vec<Book> {
        books
            .into_iter()
            .filter(|b| b.year > year)
            .map(|mut b| {
                b.tags.push(format!("after-{year}"));
                b
            })
            .collect()
    }

    fn lookup(key: Option<String>) -> Option<String> {
        match key.as_deref() {
            None => Some("no key".to_string()),
            Some("wasm") => Some("WebAssembly".to_string()),
            Some("wit") => Some("Wasm Interface Type".to_string()),
            Some(_) => None,
        }
    }

    fn parse_u32(s: String) -> Result<u32, String> {
        s.parse::<u32>()
            .map_err(|e| format!("cannot parse {s:?}: {e}"))
    }

    fn swap(p: (String, u32)) -> (u32, String) {
        (p.1, p.0)
    }

    fn mix(a: i8, b: u16, c: i64, d: f32, e: char, f: bool) -> String {
        format!("a={a} b={b} c={c} d={d} e={e:?} (U+{:04X}) f={f}", e as u32)
    }

    fn describe(s: Shape) -> String {
        match s {
            Shape::Point => "a point".to_string(),
            Shape::Circle(r) => format!("a circle of radius {r}"),
            Shape::Rect((w, h)) => format!("a {w}x{h} rectangle"),
            Shape::Named(name) => format!("a shape called {name:?}"),
        }
    }

    fn grow(s: Shape) -> Shape {
        match s {
            Shape::Point => Shape::Circle(1.0),
            Shape::Circle(r) => Shape::Rect((r as u32 * 2, r as u32 * 2)),
            Shape::Rect((w, h)) => Shape::Named(format!("big {}x{}", w * 10, h * 10)),
            Shape::Named(_) => Shape::Point,
        }
    }

    fn next_color(c: Color) -> Color {
        match c {
            Color::Red => Color::Green,
            Color::Green => Color::Blue,
            Color::Blue => Color::Red,
        }
    }

    fn toggle(p: Perms, mask: Perms) -> Perms {
        p ^ mask
    }

    fn inspect(s: ShelfBorrow<'_>) -> String {
        let shelf = s.get::<ShelfRep>();
        let books = shelf.books.borrow();
        let years: Vec<String> = books.iter().map(|b| b.year.to_string()).collect();
        format!(
            "shelf {:?}: {} books, years [{}]",
            shelf.name,
            books.len(),
            years.join(", ")
        )
    }

    fn make_shelf(name: String, books: Vec<Book>) -> Shelf {
        Shelf::new(ShelfRep {
            name,
            books: RefCell::new(books),
        })
    }

    fn close(s: Shelf) -> Vec<Book> {
        let shelf = s.into_inner::<ShelfRep>();
        shelf.books.take()
    }

    fn dropped() -> u32 {
        DROPPED.with(Cell::get)
    }
}

export!(Provider);
