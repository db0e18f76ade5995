//! Big-integer arithmetic with `num-bigint`: digits of pi by Gibbons'
//! unbounded spigot (the Benchmarks Game's pidigits), a factorial printed in
//! decimal, and Fibonacci numbers by fast doubling.

use bench::{FNV_START, fnv1a};
use num_bigint::{BigInt, BigUint};
use num_traits::{One, ToPrimitive, Zero};

fn pi_digits(n: usize) -> String {
    let (mut acc, mut den, mut num) = (BigInt::zero(), BigInt::one(), BigInt::one());
    let mut out = String::with_capacity(n);
    let mut k = 0u32;
    let extract = |nth: u32, num: &BigInt, acc: &BigInt, den: &BigInt| -> u32 {
        ((num * nth + acc) / den).to_u32().unwrap()
    };
    while out.len() < n {
        k += 1;
        let k2 = 2 * k + 1;
        acc += &num * 2u32;
        acc *= k2;
        den *= k2;
        num *= k;
        if num > acc {
            continue;
        }
        let d = extract(3, &num, &acc, &den);
        if d != extract(4, &num, &acc, &den) {
            continue;
        }
        out.push(char::from_digit(d, 10).unwrap());
        acc -= &den * d;
        acc *= 10u32;
        num *= 10u32;
    }
    out
}

fn fib(n: u64) -> (BigUint, BigUint) {
    // (F(n), F(n+1)) by fast doubling.
    if n == 0 {
        return (BigUint::zero(), BigUint::one());
    }
    let (a, b) = fib(n / 2);
    let c = &a * (&b * 2u32 - &a);
    let d = &a * &a + &b * &b;
    if n % 2 == 0 {
        (c, d)
    } else {
        (d.clone(), c + d)
    }
}

fn main() {
    let size = bench::size();
    let pi = pi_digits(size.pick(300, 4000));
    let mut fact = BigUint::one();
    for i in 1..=size.pick(1000u32, 20_000) {
        fact *= i;
    }
    let fact_digits = fact.to_string();
    let digit_sum: u32 = fact_digits.bytes().map(|b| (b - b'0') as u32).sum();
    let (f, _) = fib(size.pick(10_000, 1_000_000));
    let fib_digits = f.to_str_radix(10);
    let mut sum = FNV_START;
    sum = fnv1a(sum, pi.as_bytes());
    sum = fnv1a(sum, fact_digits.as_bytes());
    sum = fnv1a(sum, fib_digits.as_bytes());
    println!(
        "bigint: pi ...{} factorial {} digits (sum {digit_sum}) fib {} digits, checksum {sum:016x}",
        &pi[pi.len() - 10..],
        fact_digits.len(),
        fib_digits.len()
    );
}
