//! Component values in test scripts: owned copies of the `wast` crate's
//! values, their lowering into the host's side of a call (flat values and
//! a memory image, as the host's canonical options say: UTF-8 strings in
//! the host memory), and the lifting of results back.
//!
//! This is the canonical ABI (CanonicalABI.md "Lowering", "Lifting") for
//! constants known when the script is compiled; the running executable only
//! moves bytes.

use smelt_abi::component::{
    Context, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, TypeId, ValType, align_to, discriminant_size,
};
use wast::component::WastVal;

use crate::component::types::{Labels, TypeInterner};

/// A component value.
#[derive(Debug, Clone, PartialEq)]
pub enum CVal {
    /// `bool`.
    Bool(bool),
    /// Any integer, as its 64-bit pattern with its kind.
    Int(IntKind, u64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// `char`.
    Char(char),
    /// `string`.
    String(String),
    /// `list`.
    List(Vec<CVal>),
    /// `record`: fields by name.
    Record(Vec<(String, CVal)>),
    /// `tuple`.
    Tuple(Vec<CVal>),
    /// `variant`: case and payload.
    Variant(String, Option<Box<CVal>>),
    /// `enum`.
    Enum(String),
    /// `option`.
    Option(Option<Box<CVal>>),
    /// `result`.
    Result(Result<Option<Box<CVal>>, Option<Box<CVal>>>),
    /// `flags`: the set ones.
    Flags(Vec<String>),
}

/// Which integer type an [`CVal::Int`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    /// `u8`.
    U8,
    /// `s8`.
    S8,
    /// `u16`.
    U16,
    /// `s16`.
    S16,
    /// `u32`.
    U32,
    /// `s32`.
    S32,
    /// `u64`.
    U64,
    /// `s64`.
    S64,
}

impl CVal {
    /// Converts a script value.
    pub fn from_wast(v: &WastVal<'_>) -> Result<CVal, String> {
        let boxed = |v: &Option<Box<WastVal<'_>>>| -> Result<Option<Box<CVal>>, String> {
            v.as_deref()
                .map(|v| CVal::from_wast(v).map(Box::new))
                .transpose()
        };
        Ok(match v {
            WastVal::Bool(b) => CVal::Bool(*b),
            WastVal::U8(i) => CVal::Int(IntKind::U8, u64::from(*i)),
            WastVal::S8(i) => CVal::Int(IntKind::S8, *i as u8 as u64),
            WastVal::U16(i) => CVal::Int(IntKind::U16, u64::from(*i)),
            WastVal::S16(i) => CVal::Int(IntKind::S16, *i as u16 as u64),
            WastVal::U32(i) => CVal::Int(IntKind::U32, u64::from(*i)),
            WastVal::S32(i) => CVal::Int(IntKind::S32, *i as u32 as u64),
            WastVal::U64(i) => CVal::Int(IntKind::U64, *i),
            WastVal::S64(i) => CVal::Int(IntKind::S64, *i as u64),
            WastVal::F32(f) => CVal::F32(f.bits),
            WastVal::F64(f) => CVal::F64(f.bits),
            WastVal::Char(c) => CVal::Char(*c),
            WastVal::String(s) => CVal::String(s.to_string()),
            WastVal::List(l) => {
                CVal::List(l.iter().map(CVal::from_wast).collect::<Result<_, _>>()?)
            }
            WastVal::Record(fields) => CVal::Record(
                fields
                    .iter()
                    .map(|(n, v)| Ok((n.to_string(), CVal::from_wast(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            WastVal::Tuple(t) => {
                CVal::Tuple(t.iter().map(CVal::from_wast).collect::<Result<_, _>>()?)
            }
            WastVal::Variant(case, payload) => CVal::Variant(case.to_string(), boxed(payload)?),
            WastVal::Enum(case) => CVal::Enum(case.to_string()),
            WastVal::Option(v) => CVal::Option(boxed(v)?),
            WastVal::Result(r) => CVal::Result(match r {
                Ok(v) => Ok(boxed(v)?),
                Err(v) => Err(boxed(v)?),
            }),
            WastVal::Flags(f) => CVal::Flags(f.iter().map(|s| s.to_string()).collect()),
            WastVal::Map(_) => return Err("map values".to_string()),
        })
    }

    /// Whether `actual` matches this expected value (NaN matches NaN).
    pub fn matches(&self, actual: &CVal) -> bool {
        match (self, actual) {
            (CVal::F32(a), CVal::F32(b)) => {
                a == b || (f32::from_bits(*a).is_nan() && f32::from_bits(*b).is_nan())
            }
            (CVal::F64(a), CVal::F64(b)) => {
                a == b || (f64::from_bits(*a).is_nan() && f64::from_bits(*b).is_nan())
            }
            (CVal::List(a), CVal::List(b)) | (CVal::Tuple(a), CVal::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.matches(y))
            }
            (CVal::Record(a), CVal::Record(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((n, x), (m, y))| n == m && x.matches(y))
            }
            (CVal::Variant(c, x), CVal::Variant(d, y)) => c == d && opt_matches(x, y),
            (CVal::Option(x), CVal::Option(y)) => opt_matches(x, y),
            (CVal::Result(Ok(x)), CVal::Result(Ok(y)))
            | (CVal::Result(Err(x)), CVal::Result(Err(y))) => opt_matches(x, y),
            (CVal::Flags(a), CVal::Flags(b)) => {
                let mut a = a.clone();
                let mut b = b.clone();
                a.sort();
                b.sort();
                a == b
            }
            (a, b) => a == b,
        }
    }
}

fn opt_matches(x: &Option<Box<CVal>>, y: &Option<Box<CVal>>) -> bool {
    match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => x.matches(y),
        _ => false,
    }
}

/// Lowers values into the host's side of a call.
pub struct Lowerer<'a> {
    types: &'a TypeInterner,
    /// The host memory image.
    pub memory: Vec<u8>,
}

fn mismatch(v: &CVal, t: &ValType) -> String {
    format!("the value {v:?} does not have type {t:?}")
}

impl<'a> Lowerer<'a> {
    /// A lowerer with an empty memory image.
    pub fn new(types: &'a TypeInterner) -> Self {
        Lowerer {
            types,
            memory: Vec::new(),
        }
    }

    /// Allocates `size` bytes aligned to `align` in the image.
    pub fn alloc(&mut self, align: u32, size: u32) -> u32 {
        let at = align_to(self.memory.len() as u32, align.max(1));
        self.memory.resize((at + size) as usize, 0);
        at
    }

    fn put(&mut self, addr: u32, size: u32, v: u64) {
        let at = addr as usize;
        self.memory[at..at + size as usize].copy_from_slice(&v.to_le_bytes()[..size as usize]);
    }

    fn case_index(&self, t: TypeId, v: &CVal) -> Result<(usize, Option<CVal>), String> {
        let labels = &self.types.labels[t as usize];
        let find = |names: &[String], case: &str| {
            names
                .iter()
                .position(|n| n == case)
                .ok_or_else(|| format!("no case `{case}`"))
        };
        Ok(match (labels, v) {
            (Labels::Variant(names), CVal::Variant(case, p)) => {
                (find(names, case)?, p.as_deref().cloned())
            }
            (Labels::Enum(names), CVal::Enum(case)) => (find(names, case)?, None),
            (Labels::Option, CVal::Option(None)) => (0, None),
            (Labels::Option, CVal::Option(Some(p))) => (1, Some((**p).clone())),
            (Labels::Result, CVal::Result(Ok(p))) => (0, p.as_deref().cloned()),
            (Labels::Result, CVal::Result(Err(p))) => (1, p.as_deref().cloned()),
            _ => return Err(mismatch(v, self.types.table.get(t))),
        })
    }

    fn record_fields(&self, t: TypeId, v: &CVal) -> Result<Vec<CVal>, String> {
        match (&self.types.labels[t as usize], v) {
            (Labels::Record(names), CVal::Record(fields)) if names.len() == fields.len() => names
                .iter()
                .map(|n| {
                    fields
                        .iter()
                        .find(|(m, _)| m == n)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("missing field `{n}`"))
                })
                .collect(),
            (Labels::Tuple, CVal::Tuple(items)) => Ok(items.clone()),
            _ => Err(mismatch(v, self.types.table.get(t))),
        }
    }

    fn flags_bits(&self, t: TypeId, v: &CVal) -> Result<u64, String> {
        let (Labels::Flags(names), CVal::Flags(set)) = (&self.types.labels[t as usize], v) else {
            return Err(mismatch(v, self.types.table.get(t)));
        };
        let mut bits = 0u64;
        for f in set {
            let i = names
                .iter()
                .position(|n| n == f)
                .ok_or_else(|| format!("no flag `{f}`"))?;
            bits |= 1 << i;
        }
        Ok(bits)
    }

    fn scalar(&self, v: &CVal, t: &ValType) -> Result<u64, String> {
        Ok(match (v, t) {
            (CVal::Bool(b), ValType::Bool) => u64::from(*b),
            (CVal::Int(IntKind::U8, i), ValType::U8)
            | (CVal::Int(IntKind::U16, i), ValType::U16)
            | (CVal::Int(IntKind::U32, i), ValType::U32)
            | (CVal::Int(IntKind::U64, i), ValType::U64)
            | (CVal::Int(IntKind::S64, i), ValType::S64) => *i,
            (CVal::Int(IntKind::S8, i), ValType::S8) => *i as u8 as i8 as i64 as u32 as u64,
            (CVal::Int(IntKind::S16, i), ValType::S16) => *i as u16 as i16 as i64 as u32 as u64,
            (CVal::Int(IntKind::S32, i), ValType::S32) => *i as u32 as u64,
            (CVal::F32(b), ValType::F32) => u64::from(*b),
            (CVal::F64(b), ValType::F64) => *b,
            (CVal::Char(c), ValType::Char) => u64::from(*c as u32),
            _ => return Err(mismatch(v, t)),
        })
    }

    /// Lowers `v` of type `t` to flat values.
    pub fn flat(&mut self, v: &CVal, t: TypeId, out: &mut Vec<u128>) -> Result<(), String> {
        let ty = self.types.table.get(t).clone();
        match &ty {
            ValType::String | ValType::List(_) => {
                let (ptr, len) = self.pointee(v, t)?;
                out.push(u128::from(ptr));
                out.push(u128::from(len));
            }
            ValType::Record(fields) => {
                for (f, v) in fields.iter().zip(self.record_fields(t, v)?) {
                    self.flat(&v, *f, out)?;
                }
            }
            ValType::Variant(cases) => {
                let (i, payload) = self.case_index(t, v)?;
                out.push(i as u128);
                let joined = self.types.table.flat(t).len() - 1;
                let start = out.len();
                if let (Some(Some(c)), Some(p)) = (cases.get(i), payload) {
                    self.flat(&p, *c, out)?;
                }
                out.resize(start + joined, 0);
            }
            ValType::Flags(n) => {
                let bits = self.flags_bits(t, v)?;
                for w in 0..n.div_ceil(32) {
                    out.push(u128::from((bits >> (32 * w)) as u32));
                }
            }
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => {
                return Err("handles as script arguments".to_string());
            }
            scalar => out.push(u128::from(self.scalar(v, scalar)?)),
        }
        Ok(())
    }

    /// Stores the contents of a string or list; returns (pointer,
    /// length).
    fn pointee(&mut self, v: &CVal, t: TypeId) -> Result<(u32, u32), String> {
        match (self.types.table.get(t).clone(), v) {
            (ValType::String, CVal::String(s)) => {
                let at = self.alloc(1, s.len() as u32);
                self.memory[at as usize..at as usize + s.len()].copy_from_slice(s.as_bytes());
                Ok((at, s.len() as u32))
            }
            (ValType::List(e), CVal::List(items)) => {
                let size = self.types.table.size(e);
                let at = self.alloc(self.types.table.alignment(e), size * items.len() as u32);
                for (i, item) in items.iter().enumerate() {
                    self.store(item, e, at + i as u32 * size)?;
                }
                Ok((at, items.len() as u32))
            }
            (t, v) => Err(mismatch(v, &t)),
        }
    }

    /// Stores `v` of type `t` at `addr` of the image.
    pub fn store(&mut self, v: &CVal, t: TypeId, addr: u32) -> Result<(), String> {
        let ty = self.types.table.get(t).clone();
        let size = self.types.table.size(t);
        match &ty {
            ValType::String | ValType::List(_) => {
                let (ptr, len) = self.pointee(v, t)?;
                self.put(addr, 4, u64::from(ptr));
                self.put(addr + 4, 4, u64::from(len));
            }
            ValType::Record(fields) => {
                let offsets = self.types.table.field_offsets(fields);
                for ((f, off), v) in fields.iter().zip(offsets).zip(self.record_fields(t, v)?) {
                    self.store(&v, *f, addr + off)?;
                }
            }
            ValType::Variant(cases) => {
                let (i, payload) = self.case_index(t, v)?;
                self.put(addr, discriminant_size(cases.len()), i as u64);
                if let (Some(Some(c)), Some(p)) = (cases.get(i), payload) {
                    let off = self.types.table.payload_offset(cases);
                    self.store(&p, *c, addr + off)?;
                }
            }
            ValType::Flags(_) => {
                let bits = self.flags_bits(t, v)?;
                for w in 0..size.div_ceil(4) {
                    self.put(addr + 4 * w, size.min(4), (bits >> (32 * w)) & 0xffff_ffff);
                }
            }
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => {
                return Err("handles as script arguments".to_string());
            }
            scalar => {
                let v = self.scalar(v, scalar)?;
                self.put(addr, size, v);
            }
        }
        Ok(())
    }
}

/// The host's flat arguments and memory image for a call of a function
/// with parameter types `params` and result type `result`: parameters
/// through memory past the flat limit, and a return area when the result
/// does not fit the flat limit.
pub fn lower_call(
    types: &TypeInterner,
    params: &[TypeId],
    result: Option<TypeId>,
    args: &[CVal],
) -> Result<(Vec<u128>, Vec<u8>), String> {
    if params.len() != args.len() {
        return Err(format!(
            "{} arguments for {} parameters",
            args.len(),
            params.len()
        ));
    }
    let sig = types.table.core_signature(
        &smelt_abi::component::FuncType {
            params: params.to_vec(),
            result,
            async_: false,
        },
        Context::Lower,
    );
    let mut l = Lowerer::new(types);
    let mut flat = Vec::new();
    if sig.params_indirect {
        let offsets = types.table.field_offsets(params);
        let align = params
            .iter()
            .map(|&p| types.table.alignment(p))
            .max()
            .unwrap_or(1);
        let end = params
            .iter()
            .zip(&offsets)
            .map(|(&p, &o)| o + types.table.size(p))
            .max()
            .unwrap_or(0);
        let at = l.alloc(align, align_to(end, align));
        for ((&p, &off), a) in params.iter().zip(&offsets).zip(args) {
            l.store(a, p, at + off)?;
        }
        flat.push(u128::from(at));
    } else {
        for (&p, a) in params.iter().zip(args) {
            l.flat(a, p, &mut flat)?;
        }
    }
    if sig.results_indirect {
        let r = result.expect("an indirect result exists");
        let at = l.alloc(types.table.alignment(r), types.table.size(r));
        flat.push(u128::from(at));
    }
    debug_assert!(flat.len() <= MAX_FLAT_PARAMS + 1);
    Ok((flat, l.memory))
}

/// Lifts the result of a call from the host's side: its flat results, or
/// the return area at the last flat argument.
pub fn lift_result(
    types: &TypeInterner,
    result: TypeId,
    flat_args: &[u128],
    flat_results: &[u128],
    memory: &[u8],
) -> Result<CVal, String> {
    let lifter = Lifter { types, memory };
    if types.table.flat(result).len() > MAX_FLAT_RESULTS {
        let at = *flat_args.last().ok_or("no return area")? as u32;
        lifter.load(result, at)
    } else {
        let mut it = flat_results.iter().copied();
        lifter.flat(result, &mut it)
    }
}

struct Lifter<'a> {
    types: &'a TypeInterner,
    memory: &'a [u8],
}

impl Lifter<'_> {
    fn get(&self, addr: u32, size: u32) -> Result<u64, String> {
        let at = addr as usize;
        let bytes = self
            .memory
            .get(at..at + size as usize)
            .ok_or_else(|| format!("result bytes {at:#x}+{size} outside the host memory"))?;
        let mut v = [0u8; 8];
        v[..size as usize].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(v))
    }

    fn scalar(&self, t: &ValType, v: u64) -> Result<CVal, String> {
        Ok(match t {
            ValType::Bool => CVal::Bool(v as u32 != 0),
            ValType::U8 => CVal::Int(IntKind::U8, v & 0xff),
            ValType::S8 => CVal::Int(IntKind::S8, v & 0xff),
            ValType::U16 => CVal::Int(IntKind::U16, v & 0xffff),
            ValType::S16 => CVal::Int(IntKind::S16, v & 0xffff),
            ValType::U32 => CVal::Int(IntKind::U32, v & 0xffff_ffff),
            ValType::S32 => CVal::Int(IntKind::S32, v & 0xffff_ffff),
            ValType::U64 => CVal::Int(IntKind::U64, v),
            ValType::S64 => CVal::Int(IntKind::S64, v),
            ValType::F32 => CVal::F32(v as u32),
            ValType::F64 => CVal::F64(v),
            ValType::Char => CVal::Char(char::from_u32(v as u32).ok_or("an invalid char")?),
            other => return Err(format!("{other:?} is not a scalar")),
        })
    }

    fn variant(&self, t: TypeId, case: usize, payload: Option<CVal>) -> Result<CVal, String> {
        let boxed = payload.map(Box::new);
        Ok(match &self.types.labels[t as usize] {
            Labels::Variant(names) => CVal::Variant(names[case].clone(), boxed),
            Labels::Enum(names) => CVal::Enum(names[case].clone()),
            Labels::Option => CVal::Option(if case == 0 { None } else { boxed }),
            Labels::Result => CVal::Result(if case == 0 { Ok(boxed) } else { Err(boxed) }),
            other => return Err(format!("{other:?} labels on a variant")),
        })
    }

    fn record(&self, t: TypeId, values: Vec<CVal>) -> CVal {
        match &self.types.labels[t as usize] {
            Labels::Record(names) => CVal::Record(names.iter().cloned().zip(values).collect()),
            _ => CVal::Tuple(values),
        }
    }

    fn flags(&self, t: TypeId, bits: u64) -> CVal {
        let Labels::Flags(names) = &self.types.labels[t as usize] else {
            return CVal::Flags(Vec::new());
        };
        CVal::Flags(
            names
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| n.clone())
                .collect(),
        )
    }

    fn pointee(&self, t: &ValType, ptr: u32, len: u32) -> Result<CVal, String> {
        match t {
            ValType::String => {
                let bytes = self
                    .memory
                    .get(ptr as usize..(ptr + len) as usize)
                    .ok_or("a string outside the host memory")?;
                Ok(CVal::String(
                    String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())?,
                ))
            }
            ValType::List(e) => {
                let size = self.types.table.size(*e);
                (0..len)
                    .map(|i| self.load(*e, ptr + i * size))
                    .collect::<Result<_, _>>()
                    .map(CVal::List)
            }
            _ => unreachable!("strings and lists only"),
        }
    }

    fn flat(&self, t: TypeId, it: &mut impl Iterator<Item = u128>) -> Result<CVal, String> {
        let mut next = || it.next().map(|v| v as u64).ok_or("too few flat results");
        let ty = self.types.table.get(t).clone();
        match &ty {
            ValType::String | ValType::List(_) => {
                let ptr = next()? as u32;
                let len = next()? as u32;
                self.pointee(&ty, ptr, len)
            }
            ValType::Record(fields) => {
                let mut values = Vec::new();
                for &f in fields {
                    values.push(self.flat(f, it)?);
                }
                Ok(self.record(t, values))
            }
            ValType::Variant(cases) => {
                let case = next()? as usize;
                let joined = self.types.table.flat(t).len() - 1;
                let payload_types = cases.get(case).ok_or("an invalid discriminant")?;
                let mut payload = Vec::new();
                for _ in 0..joined {
                    payload.push(u128::from(next()?));
                }
                let p = match payload_types {
                    Some(c) => Some(self.flat(*c, &mut payload.into_iter())?),
                    None => None,
                };
                self.variant(t, case, p)
            }
            ValType::Flags(n) => {
                let mut bits = 0u64;
                for w in 0..n.div_ceil(32) {
                    bits |= (next()? & 0xffff_ffff) << (32 * w);
                }
                Ok(self.flags(t, bits))
            }
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => Ok(CVal::Int(IntKind::U32, next()?)),
            scalar => self.scalar(scalar, next()?),
        }
    }

    fn load(&self, t: TypeId, addr: u32) -> Result<CVal, String> {
        let ty = self.types.table.get(t).clone();
        let size = self.types.table.size(t);
        match &ty {
            ValType::String | ValType::List(_) => {
                let ptr = self.get(addr, 4)? as u32;
                let len = self.get(addr + 4, 4)? as u32;
                self.pointee(&ty, ptr, len)
            }
            ValType::Record(fields) => {
                let offsets = self.types.table.field_offsets(fields);
                let values = fields
                    .iter()
                    .zip(offsets)
                    .map(|(&f, off)| self.load(f, addr + off))
                    .collect::<Result<_, _>>()?;
                Ok(self.record(t, values))
            }
            ValType::Variant(cases) => {
                let case = self.get(addr, discriminant_size(cases.len()))? as usize;
                let payload = match cases.get(case).ok_or("an invalid discriminant")? {
                    Some(c) => Some(self.load(*c, addr + self.types.table.payload_offset(cases))?),
                    None => None,
                };
                self.variant(t, case, payload)
            }
            ValType::Flags(_) => {
                let mut bits = 0u64;
                for w in 0..size.div_ceil(4) {
                    bits |= self.get(addr + 4 * w, size.min(4))? << (32 * w);
                }
                Ok(self.flags(t, bits))
            }
            ValType::Own(_)
            | ValType::Borrow(_)
            | ValType::Stream(_)
            | ValType::Future(_)
            | ValType::ErrorContext => Ok(CVal::Int(IntKind::U32, self.get(addr, 4)?)),
            scalar => self.scalar(scalar, self.get(addr, size)?),
        }
    }
}
