//! The checks of `../../c/resources.c`, made through the Rust bindings of
//! the component of `../../resources`: the same lines on stdout, one per
//! check; exits 1 on the first that fails.

include!(concat!(env!("OUT_DIR"), "/res.rs"));

use counters::Counter;

fn check(ok: bool, what: &str) {
    if !ok {
        println!("FAIL: {what}");
        std::process::exit(1);
    }
    println!("ok: {what}");
}

/// Checks that `result` is an error containing `needle`, and prints it.
fn check_error<T>(result: Result<T, Trap>, needle: &str, what: &str) {
    let message = match result {
        Ok(_) => String::new(),
        Err(trap) => trap.to_string(),
    };
    if let Some(first) = message.lines().next() {
        println!("error: {first}");
    }
    check(message.contains(needle), what);
}

/// The result of a call that must succeed.
fn must<T>(result: Result<T, Trap>, call: &str) -> T {
    result.unwrap_or_else(|trap| {
        println!("FAIL: {call}: {trap}");
        std::process::exit(1);
    })
}

/// A new instance with no capabilities.
fn instance() -> Instance {
    Instance::new(&Config::default()).unwrap_or_else(|e| {
        println!("FAIL: Instance::new: {e}");
        std::process::exit(1);
    })
}

fn value(lib: &mut Instance, c: &Counter) -> u32 {
    must(lib.counters_counter_get(c), "get")
}

fn live(lib: &mut Instance) -> u32 {
    must(lib.counters_counter_live(), "live")
}

fn dropped(lib: &mut Instance) -> u32 {
    must(lib.counters_dropped(), "dropped")
}

fn main() {
    let mut lib = instance();
    let a = must(lib.counters_counter_new("a", 5), "new");
    check(value(&mut lib, &a) == 5, "a new counter has its start value");
    let after = must(lib.counters_counter_add(&a, 3), "add");
    check(
        after == 8 && value(&mut lib, &a) == 8,
        "a method changes the resource",
    );
    let name = must(lib.counters_counter_name(&a), "name");
    check(name == "a", "a method returns a string");

    let named = must(lib.counters_make("b", 10), "make");
    let b = named.counter;
    check(
        named.name == "b" && value(&mut lib, &b) == 10,
        "a handle comes back in a record",
    );
    check(a.handle() != b.handle(), "two owned handles differ");
    check(live(&mut lib) == 2, "a static function: two counters live");

    let total = must(lib.counters_total(&[a.clone(), b.clone()]), "total");
    check(total == 18, "a list of borrowed handles");
    check(
        value(&mut lib, &a) == 8 && value(&mut lib, &b) == 10,
        "borrowed handles stay the caller's",
    );

    let split = must(lib.counters_counter_split(&a, 0), "split");
    check(
        split == Err("a cannot be split into 0 parts".to_string()),
        "a result's error case",
    );
    let split = must(lib.counters_counter_split(&a, 2), "split");
    let c = match split {
        Ok(c) => c,
        Err(e) => {
            println!("FAIL: split: {e}");
            std::process::exit(1);
        }
    };
    check(value(&mut lib, &c) == 4, "a handle in a result");
    check(live(&mut lib) == 3, "three counters live");

    let moved = b.clone();
    must(lib.counters_counter_absorb(&a, b), "absorb");
    check(value(&mut lib, &a) == 18, "an owned handle moved into a call");
    check(
        dropped(&mut lib) == 1 && live(&mut lib) == 2,
        "the call dropped the moved resource",
    );
    check_error(
        lib.counters_counter_drop(moved),
        "handle",
        "dropping a moved handle is an error naming the handle",
    );
    check(
        value(&mut lib, &a) == 18,
        "the instance is usable after a bad handle",
    );

    must(lib.counters_counter_drop(c.clone()), "drop");
    check(
        dropped(&mut lib) == 2 && live(&mut lib) == 1,
        "dropping a handle runs the destructor",
    );
    check_error(
        lib.counters_counter_drop(c.clone()),
        "handle",
        "dropping a handle twice is an error",
    );
    check_error(
        lib.counters_counter_get(&c),
        "handle",
        "a dropped handle cannot be borrowed: the call traps",
    );
    drop(lib);

    let mut lib = instance();
    let a = must(lib.counters_counter_new("z", 1), "new");
    check_error(
        lib.counters_crash(&a),
        "unreachable",
        "a trap with a borrowed handle is an error",
    );
    check_error(
        lib.counters_counter_drop(a),
        "trapped",
        "after a trap, dropping is refused",
    );
}
