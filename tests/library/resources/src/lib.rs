//! The component of smelt's library resources test: `test:resources/counters`
//! (`../wit/resources.wit`), used from C through the generated header by
//! `../../c/resources.c`.

use std::cell::{Cell, RefCell};

use exports::test::resources::counters::{self, Counter, CounterBorrow, Named};

wit_bindgen::generate!({
    world: "resources",
    path: "wit",
});

/// Counters alive, and destructors run.
static LIVE: AtomicCount = AtomicCount::new();
static DROPPED: AtomicCount = AtomicCount::new();

/// A count in a static (a component instance is single-threaded).
struct AtomicCount(std::sync::atomic::AtomicU32);

impl AtomicCount {
    const fn new() -> AtomicCount {
        AtomicCount(std::sync::atomic::AtomicU32::new(0))
    }

    fn add(&self, n: i32) {
        self.0
            .fetch_add(n.cast_unsigned(), std::sync::atomic::Ordering::Relaxed);
    }

    fn get(&self) -> u32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

struct MyCounter {
    name: RefCell<String>,
    value: Cell<u32>,
}

impl MyCounter {
    fn made(name: String, value: u32) -> MyCounter {
        LIVE.add(1);
        MyCounter {
            name: RefCell::new(name),
            value: Cell::new(value),
        }
    }
}

impl Drop for MyCounter {
    fn drop(&mut self) {
        LIVE.add(-1);
        DROPPED.add(1);
    }
}

impl counters::GuestCounter for MyCounter {
    fn new(name: String, start: u32) -> MyCounter {
        MyCounter::made(name, start)
    }

    fn add(&self, n: u32) -> u32 {
        self.value.set(self.value.get() + n);
        self.value.get()
    }

    fn get(&self) -> u32 {
        self.value.get()
    }

    fn name(&self) -> String {
        self.name.borrow().clone()
    }

    fn absorb(&self, other: Counter) {
        let other: MyCounter = other.into_inner();
        self.value.set(self.value.get() + other.value.get());
    }

    fn split(&self, parts: u32) -> Result<Counter, String> {
        if parts == 0 {
            return Err(format!("{} cannot be split into 0 parts", self.name.borrow()));
        }
        let name = format!("{}/{parts}", self.name.borrow());
        Ok(Counter::new(MyCounter::made(name, self.value.get() / parts)))
    }

    fn live() -> u32 {
        LIVE.get()
    }
}

struct Counters;

impl counters::Guest for Counters {
    type Counter = MyCounter;

    fn total(counters: Vec<CounterBorrow<'_>>) -> u32 {
        counters.iter().map(|c| c.get::<MyCounter>().value.get()).sum()
    }

    fn make(name: String, value: u32) -> Named {
        Named {
            counter: Counter::new(MyCounter::made(name.clone(), value)),
            name,
        }
    }

    fn dropped() -> u32 {
        DROPPED.get()
    }

    fn crash(c: CounterBorrow<'_>) {
        let value = c.get::<MyCounter>().value.get();
        if value != u32::MAX {
            core::arch::wasm32::unreachable();
        }
    }
}

export!(Counters);
