//! Fixed-width SIMD in a program rustc builds: functions compiled with
//! `simd128` (explicit `core::arch::wasm32` intrinsics, and a loop LLVM
//! vectorizes), each checked against the same computation in scalar code.

use core::arch::wasm32::*;

/// Sum of squares of `xs`, four lanes at a time.
#[target_feature(enable = "simd128")]
fn sum_of_squares(xs: &[i32]) -> i32 {
    let mut acc = i32x4_splat(0);
    let chunks = xs.chunks_exact(4);
    let rest: i32 = chunks.remainder().iter().map(|x| x.wrapping_mul(*x)).sum();
    for c in chunks {
        let v = i32x4(c[0], c[1], c[2], c[3]);
        acc = i32x4_add(acc, i32x4_mul(v, v));
    }
    let lanes = [
        i32x4_extract_lane::<0>(acc),
        i32x4_extract_lane::<1>(acc),
        i32x4_extract_lane::<2>(acc),
        i32x4_extract_lane::<3>(acc),
    ];
    lanes.iter().fold(rest, |a, b| a.wrapping_add(*b))
}

/// How many bytes of `haystack` are `needle`, sixteen at a time.
#[target_feature(enable = "simd128")]
fn count_byte(haystack: &[u8], needle: u8) -> u32 {
    let splat = u8x16_splat(needle);
    let chunks = haystack.chunks_exact(16);
    let mut count = chunks.remainder().iter().filter(|&&b| b == needle).count() as u32;
    for c in chunks {
        // SAFETY: `c` is 16 bytes; v128_load reads them unaligned.
        let v = unsafe { v128_load(c.as_ptr() as *const v128) };
        count += u8x16_bitmask(u8x16_eq(v, splat)).count_ones();
    }
    count
}

/// Dot product of `a` and `b` in f64x2 lanes.
#[target_feature(enable = "simd128")]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = f64x2_splat(0.0);
    for (x, y) in a.chunks_exact(2).zip(b.chunks_exact(2)) {
        acc = f64x2_add(acc, f64x2_mul(f64x2(x[0], x[1]), f64x2(y[0], y[1])));
    }
    f64x2_extract_lane::<0>(acc) + f64x2_extract_lane::<1>(acc)
}

/// Bytes reversed with a shuffle, saturating adds and a min.
#[target_feature(enable = "simd128")]
fn mix(bytes: [u8; 16]) -> [u8; 16] {
    let v = u8x16(
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
        bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    );
    let reversed = u8x16_shuffle::<15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0>(v, v);
    let sum = u8x16_add_sat(reversed, u8x16_splat(100));
    let out = u8x16_min(sum, u8x16_splat(250));
    let mut result = [0u8; 16];
    // SAFETY: `result` is 16 bytes.
    unsafe { v128_store(result.as_mut_ptr() as *mut v128, out) };
    result
}

/// A loop LLVM vectorizes when `simd128` is on.
#[target_feature(enable = "simd128")]
fn scale(xs: &mut [f32], k: f32) {
    for x in xs.iter_mut() {
        *x = *x * k + 1.0;
    }
}

fn main() {
    let ints: Vec<i32> = (0..1001).map(|i| (i * 7919 % 2003) - 1000).collect();
    let scalar: i32 = ints.iter().map(|x| x.wrapping_mul(*x)).sum();
    // (Functions with `simd128` are safe to call on wasm32: an engine
    // without SIMD rejects the whole module.)
    let vector = sum_of_squares(&ints);
    println!("sum of squares: {vector} (scalar {scalar})");

    let text = b"the quick brown fox jumps over the lazy dog, then sleeps; the end".repeat(37);
    let scalar = text.iter().filter(|&&b| b == b'e').count();
    let vector = count_byte(&text, b'e');
    println!("count of 'e': {vector} (scalar {scalar})");

    let a: Vec<f64> = (0..64).map(|i| i as f64 * 0.5).collect();
    let b: Vec<f64> = (0..64).map(|i| 64.0 - i as f64).collect();
    let scalar: f64 = a.chunks(2).zip(b.chunks(2)).map(|(x, y)| x[0] * y[0] + x[1] * y[1]).sum();
    let vector = dot(&a, &b);
    println!("dot: {vector} (scalar {scalar})");

    let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8) * 16);
    let expected: Vec<u8> = bytes.iter().rev().map(|b| b.saturating_add(100).min(250)).collect();
    println!("mix: {:?} (scalar {expected:?})", mix(bytes));

    let mut xs: Vec<f32> = (0..103).map(|i| i as f32).collect();
    scale(&mut xs, 0.25);
    let total: f32 = xs.iter().sum();
    println!("scaled sum: {total}");
}
