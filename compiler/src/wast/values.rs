//! Script values: arguments as raw 16-byte slots, and result patterns.

use smelt_abi::script::RefKind;
use smelt_abi::vm::ValRaw;
use wast::core::{NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// Encodes an argument as a raw slot: integers and float bit patterns in
/// the low bytes, `ref.null` as 0, the host value `ref.extern N` (and its
/// `anyref` form `ref.host N`) as `(N << 2) | 2` (see `smelt_abi::gc`).
pub fn encode_arg(arg: &WastArg<'_>) -> Result<ValRaw, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component-model values are not core arguments".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => u128::from(*v as u32),
        WastArgCore::I64(v) => u128::from(*v as u64),
        WastArgCore::F32(v) => u128::from(v.bits),
        WastArgCore::F64(v) => u128::from(v.bits),
        WastArgCore::V128(v) => u128::from_le_bytes(v.to_le_bytes()),
        WastArgCore::RefNull(_) => 0,
        WastArgCore::RefExtern(n) | WastArgCore::RefHost(n) => host_ref(*n),
    })
}

/// The reference to host value `n`.
fn host_ref(n: u32) -> ValRaw {
    (u128::from(n) << 2) | 2
}

/// The reference in a result slot, and its kind when the test executable
/// classified it (`smelt_abi::script::RefKind`).
fn reference(raw: ValRaw) -> (u64, u8) {
    (raw as u64, (raw >> 64) as u8)
}

/// A float result pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum FloatPattern {
    /// Any canonical NaN (either sign).
    CanonicalNan,
    /// Any arithmetic NaN (quiet bit set).
    ArithmeticNan,
    /// Exactly these bits.
    Bits(u64),
}

/// An expected result.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// An `i32`.
    I32(u32),
    /// An `i64`.
    I64(u64),
    /// An `f32`.
    F32(FloatPattern),
    /// An `f64`.
    F64(FloatPattern),
    /// A `v128`, lane by lane: lane width in bits and lane patterns.
    V128(u32, Vec<FloatOrInt>),
    /// A null reference.
    RefNull,
    /// A non-null `externref`, with its host value if given.
    RefExtern(Option<u32>),
    /// The `anyref` of a host value.
    RefHost(u32),
    /// A non-null `funcref`.
    RefFunc,
    /// A non-null reference of the `any` hierarchy.
    RefAny,
    /// An `eqref`: an `i31ref`, a struct or an array.
    RefEq,
    /// An `i31ref`.
    RefI31,
    /// A struct.
    RefStruct,
    /// An array.
    RefArray,
    /// Any of these.
    Either(Vec<Pattern>),
    /// A component value.
    Component(super::cvalue::CVal),
    /// A pattern smelt cannot check (a GC reference kind).
    Unsupported(String),
}

/// One lane of a `v128` pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum FloatOrInt {
    /// An integer lane's bits.
    Int(u64),
    /// A float lane (32 or 64 bits).
    Float(FloatPattern),
}

fn nan_pattern<T>(p: &NanPattern<T>, bits: impl Fn(&T) -> u64) -> FloatPattern {
    match p {
        NanPattern::CanonicalNan => FloatPattern::CanonicalNan,
        NanPattern::ArithmeticNan => FloatPattern::ArithmeticNan,
        NanPattern::Value(v) => FloatPattern::Bits(bits(v)),
    }
}

/// Converts an expected result of the script.
pub fn pattern(ret: &WastRet<'_>) -> Pattern {
    match ret {
        WastRet::Core(core) => core_pattern(core),
        WastRet::Component(v) => match super::cvalue::CVal::from_wast(v) {
            Ok(v) => Pattern::Component(v),
            Err(e) => Pattern::Unsupported(e),
        },
        _ => Pattern::Unsupported("an unknown kind of value".into()),
    }
}

fn core_pattern(ret: &WastRetCore<'_>) -> Pattern {
    match ret {
        WastRetCore::I32(v) => Pattern::I32(*v as u32),
        WastRetCore::I64(v) => Pattern::I64(*v as u64),
        WastRetCore::F32(p) => Pattern::F32(nan_pattern(p, |f| u64::from(f.bits))),
        WastRetCore::F64(p) => Pattern::F64(nan_pattern(p, |f| f.bits)),
        WastRetCore::V128(p) => {
            let (width, lanes) = match p {
                V128Pattern::I8x16(l) => (
                    8,
                    l.iter().map(|&v| FloatOrInt::Int(v as u8 as u64)).collect(),
                ),
                V128Pattern::I16x8(l) => (
                    16,
                    l.iter()
                        .map(|&v| FloatOrInt::Int(v as u16 as u64))
                        .collect(),
                ),
                V128Pattern::I32x4(l) => (
                    32,
                    l.iter()
                        .map(|&v| FloatOrInt::Int(v as u32 as u64))
                        .collect(),
                ),
                V128Pattern::I64x2(l) => {
                    (64, l.iter().map(|&v| FloatOrInt::Int(v as u64)).collect())
                }
                V128Pattern::F32x4(l) => (
                    32,
                    l.iter()
                        .map(|p| FloatOrInt::Float(nan_pattern(p, |f| u64::from(f.bits))))
                        .collect(),
                ),
                V128Pattern::F64x2(l) => (
                    64,
                    l.iter()
                        .map(|p| FloatOrInt::Float(nan_pattern(p, |f| f.bits)))
                        .collect(),
                ),
            };
            Pattern::V128(width, lanes)
        }
        WastRetCore::RefNull(_) => Pattern::RefNull,
        WastRetCore::RefExtern(n) => Pattern::RefExtern(*n),
        WastRetCore::RefHost(n) => Pattern::RefHost(*n),
        WastRetCore::RefFunc(_) => Pattern::RefFunc,
        WastRetCore::RefAny => Pattern::RefAny,
        WastRetCore::RefEq => Pattern::RefEq,
        WastRetCore::RefI31 | WastRetCore::RefI31Shared => Pattern::RefI31,
        WastRetCore::RefStruct => Pattern::RefStruct,
        WastRetCore::RefArray => Pattern::RefArray,
        WastRetCore::Either(alts) => Pattern::Either(alts.iter().map(core_pattern).collect()),
    }
}

/// Whether `bits` (of a float of `width` bits) matches `p`.
fn float_matches(p: &FloatPattern, bits: u64, width: u32) -> bool {
    let (exp_mask, quiet, sign) = if width == 32 {
        (0x7f80_0000u64, 0x0040_0000u64, 0x8000_0000u64)
    } else {
        (
            0x7ff0_0000_0000_0000,
            0x0008_0000_0000_0000,
            0x8000_0000_0000_0000,
        )
    };
    match p {
        FloatPattern::CanonicalNan => bits & !sign == exp_mask | quiet,
        FloatPattern::ArithmeticNan => bits & (exp_mask | quiet) == exp_mask | quiet,
        FloatPattern::Bits(b) => bits == *b,
    }
}

/// Whether the raw slot `raw` matches `p`; `Err` for patterns smelt cannot
/// check.
pub fn matches(p: &Pattern, raw: ValRaw) -> Result<bool, String> {
    Ok(match p {
        Pattern::I32(v) => raw as u32 == *v,
        Pattern::I64(v) => raw as u64 == *v,
        Pattern::F32(f) => float_matches(f, u64::from(raw as u32), 32),
        Pattern::F64(f) => float_matches(f, raw as u64, 64),
        Pattern::V128(width, lanes) => lanes.iter().enumerate().all(|(i, lane)| {
            let mask = if *width == 64 {
                u64::MAX
            } else {
                (1u64 << width) - 1
            };
            let bits = (raw >> (i as u32 * width)) as u64 & mask;
            match lane {
                FloatOrInt::Int(v) => bits == *v,
                FloatOrInt::Float(f) => float_matches(f, bits, *width),
            }
        }),
        // A reference fills the low 8 bytes of its slot (every smelt target
        // has 64-bit pointers); the high bytes hold its kind, or, for a
        // reference the executable did not classify, whatever the slot held
        // before (a `v128` argument), which does not count.
        Pattern::RefNull => reference(raw).0 == 0,
        Pattern::RefExtern(Some(n)) | Pattern::RefHost(n) => {
            u128::from(reference(raw).0) == host_ref(*n)
        }
        Pattern::RefExtern(None) | Pattern::RefFunc | Pattern::RefAny => reference(raw).0 != 0,
        Pattern::RefEq => matches!(reference(raw).1, 1..=3),
        Pattern::RefI31 => reference(raw).1 == RefKind::I31 as u8,
        Pattern::RefStruct => reference(raw).1 == RefKind::Struct as u8,
        Pattern::RefArray => reference(raw).1 == RefKind::Array as u8,
        Pattern::Either(alts) => {
            for alt in alts {
                if matches(alt, raw)? {
                    return Ok(true);
                }
            }
            false
        }
        Pattern::Component(_) => {
            return Err("a component value where a core value is expected".into());
        }
        Pattern::Unsupported(what) => return Err(format!("cannot check a {what} result")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canon32 = 0x7fc0_0000u64;
        assert!(float_matches(&FloatPattern::CanonicalNan, canon32, 32));
        assert!(float_matches(
            &FloatPattern::CanonicalNan,
            canon32 | 0x8000_0000,
            32
        ));
        assert!(!float_matches(&FloatPattern::CanonicalNan, canon32 | 1, 32));
        assert!(float_matches(&FloatPattern::ArithmeticNan, canon32 | 1, 32));
        assert!(
            !float_matches(&FloatPattern::ArithmeticNan, 0x7f80_0001, 32),
            "signalling"
        );
        assert!(
            !float_matches(&FloatPattern::ArithmeticNan, 0x3f80_0000, 32),
            "1.0"
        );
        let canon64 = 0x7ff8_0000_0000_0000u64;
        assert!(float_matches(&FloatPattern::CanonicalNan, canon64, 64));
        assert!(float_matches(&FloatPattern::ArithmeticNan, canon64 | 5, 64));
    }

    #[test]
    fn references_and_integers() {
        assert!(matches(&Pattern::RefNull, 0).unwrap());
        assert!(!matches(&Pattern::RefNull, 8).unwrap());
        // The high bytes of a slot that held a v128 argument do not count:
        // a null reference there is null, not a function.
        let stale = 1u128 << 64;
        assert!(matches(&Pattern::RefNull, stale).unwrap());
        assert!(!matches(&Pattern::RefFunc, stale).unwrap());
        assert!(matches(&Pattern::RefExtern(Some(0)), 2).unwrap());
        assert!(matches(&Pattern::RefHost(3), 14).unwrap());
        assert!(!matches(&Pattern::RefExtern(Some(0)), 0).unwrap());
        let i31 = (1u128 << 64) | 0xb;
        assert!(matches(&Pattern::RefI31, i31).unwrap());
        assert!(matches(&Pattern::RefEq, i31).unwrap());
        assert!(!matches(&Pattern::RefStruct, i31).unwrap());
        assert!(matches(&Pattern::RefArray, (3u128 << 64) | 0x1000).unwrap());
        assert!(matches(&Pattern::RefFunc, 0x1234).unwrap());
        assert!(matches(&Pattern::I32(u32::MAX), 0xffff_ffff).unwrap());
        assert!(!matches(&Pattern::I32(1), 2).unwrap());
        let either = Pattern::Either(vec![Pattern::I32(1), Pattern::I32(2)]);
        assert!(matches(&either, 2).unwrap());
        assert!(matches(&Pattern::Unsupported("x".into()), 0).is_err());
    }
}
