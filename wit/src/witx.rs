//! WASI preview1 from its `witx` files (`wit/p1/`, the ones WASI's
//! `legacy/preview1/witx` folder holds): the functions of the
//! `wasi_snapshot_preview1` module with their core signatures, and the
//! types with their values and layouts.
//!
//! `witx` is an s-expression language
//! ([witx-docs.md](https://github.com/WebAssembly/WASI/blob/main/legacy/tools/witx-docs.md)).
//! This reads the part preview1 uses: type names for integers, `enum`s
//! (with a tag type), `flags` (with a representation), `record`s,
//! `union`s (with a tag enum), `handle`s, `string`, `list`, pointers, and
//! `@interface func` exports whose results are
//! `(expected T (error $errno))` or `noreturn`.
//!
//! Lowering to core wasm (witx-docs.md, "Calling convention"): an integer
//! of 64 bits is an `i64`, every other integer, enum, flags, handle and
//! pointer an `i32`; a `string` or `list` is a pointer and a length; a
//! result `(expected T (error $errno))` returns the `errno` as an `i32`
//! and writes `T` through one pointer parameter appended to the others
//! (one per element of a tuple `T`). Layouts are C's: fields at their
//! alignment, a union's payload after its tag at the largest alignment of
//! its cases.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use smelt_abi::component::FlatType;

/// An s-expression.
#[derive(Debug, Clone, PartialEq)]
enum Sexpr {
    Atom(String),
    Str(String),
    List(Vec<Sexpr>),
}

impl Sexpr {
    fn atom(&self) -> Option<&str> {
        match self {
            Sexpr::Atom(a) => Some(a),
            _ => None,
        }
    }

    fn list(&self) -> Option<&[Sexpr]> {
        match self {
            Sexpr::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is a list whose first atoms are `head`.
    fn is(&self, head: &[&str]) -> bool {
        self.list().is_some_and(|l| {
            l.len() >= head.len() && l.iter().zip(head).all(|(e, h)| e.atom() == Some(*h))
        })
    }
}

/// Splits `text` into s-expressions (`;;` comments dropped).
fn parse_sexprs(text: &str) -> Result<Vec<Sexpr>> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Vec<Sexpr>> = vec![Vec::new()];
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                stack.push(Vec::new());
                i += 1;
            }
            b')' => {
                let list = stack.pop().context("unbalanced `)`")?;
                stack
                    .last_mut()
                    .with_context(|| format!("line {line}: unbalanced `)`"))?
                    .push(Sexpr::List(list));
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += 1;
                }
                let s = std::str::from_utf8(&bytes[start..i])?.to_string();
                stack.last_mut().expect("a list").push(Sexpr::Str(s));
                i += 1;
            }
            _ => {
                let start = i;
                while i < bytes.len() && !b" \t\r\n()\"".contains(&bytes[i]) {
                    i += 1;
                }
                let s = std::str::from_utf8(&bytes[start..i])?.to_string();
                stack.last_mut().expect("a list").push(Sexpr::Atom(s));
            }
        }
    }
    if stack.len() != 1 {
        bail!("unbalanced `(`");
    }
    Ok(stack.pop().expect("the top level"))
}

/// An integer type of the witx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int {
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `s64`.
    S64,
}

impl Int {
    fn parse(s: &str) -> Option<Int> {
        Some(match s {
            "u8" => Int::U8,
            "u16" => Int::U16,
            "u32" => Int::U32,
            "u64" => Int::U64,
            "s64" => Int::S64,
            _ => return None,
        })
    }

    /// Size (and alignment) in bytes.
    pub fn size(self) -> u32 {
        match self {
            Int::U8 => 1,
            Int::U16 => 2,
            Int::U32 => 4,
            Int::U64 | Int::S64 => 8,
        }
    }

    /// The Rust type.
    pub fn rust(self) -> &'static str {
        match self {
            Int::U8 => "u8",
            Int::U16 => "u16",
            Int::U32 => "u32",
            Int::U64 => "u64",
            Int::S64 => "i64",
        }
    }
}

/// A type as a parameter, field or result names it.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// An integer.
    Int(Int),
    /// `string`: a pointer and a length.
    String,
    /// `(@witx pointer T)` or `(@witx const_pointer T)`.
    Pointer(Box<Type>),
    /// `(list T)`: a pointer and a length.
    List(Box<Type>),
    /// `(tuple T...)` (only as an `expected` result).
    Tuple(Vec<Type>),
    /// A `(typename $name ...)`.
    Named(String),
}

/// A `(typename $name ...)` definition.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDef {
    /// Another type.
    Alias(Type),
    /// `(handle)`: an `u32`.
    Handle,
    /// `(enum (@witx tag I) $case...)`: case `i` is value `i`.
    Enum {
        /// The tag.
        tag: Int,
        /// The cases, in value order.
        cases: Vec<String>,
    },
    /// `(flags (@witx repr I) $flag...)`: flag `i` is bit `i`.
    Flags {
        /// The representation.
        repr: Int,
        /// The flags, in bit order.
        flags: Vec<String>,
    },
    /// `(record (field $name T)...)`.
    Record {
        /// The fields.
        fields: Vec<(String, Type)>,
    },
    /// `(union (@witx tag $enum) T...)`: case `i` (the enum's case `i`)
    /// has payload type `T` number `i`.
    Union {
        /// The tag enum.
        tag: String,
        /// The payload types.
        cases: Vec<Type>,
    },
}

/// One function of the module.
#[derive(Debug, Clone, PartialEq)]
pub struct Func {
    /// Its export name (`fd_write`).
    pub name: String,
    /// Its parameters, named.
    pub params: Vec<(String, Type)>,
    /// The `T` of its `(expected T (error $errno))` result (`None`
    /// without a `T`), or `None` (outer) for a `noreturn` function.
    pub result: Option<Option<Type>>,
}

/// The witx module and its types.
#[derive(Debug, Clone)]
pub struct Witx {
    /// The module's name (`wasi_snapshot_preview1`).
    pub module: String,
    /// The type definitions, in file order.
    pub types: Vec<(String, TypeDef)>,
    index: HashMap<String, usize>,
    /// The functions, in file order.
    pub funcs: Vec<Func>,
}

fn name(e: &Sexpr) -> Result<String> {
    let a = e
        .atom()
        .with_context(|| format!("expected a `$name`, found {e:?}"))?;
    a.strip_prefix('$')
        .map(str::to_string)
        .with_context(|| format!("expected a `$name`, found `{a}`"))
}

fn parse_type(e: &Sexpr) -> Result<Type> {
    if let Some(a) = e.atom() {
        if a == "string" {
            return Ok(Type::String);
        }
        if let Some(i) = Int::parse(a) {
            return Ok(Type::Int(i));
        }
        return Ok(Type::Named(name(e)?));
    }
    let l = e.list().context("a type")?;
    if e.is(&["@witx", "pointer"]) || e.is(&["@witx", "const_pointer"]) {
        return Ok(Type::Pointer(Box::new(parse_type(&l[2])?)));
    }
    if e.is(&["list"]) {
        return Ok(Type::List(Box::new(parse_type(&l[1])?)));
    }
    if e.is(&["tuple"]) {
        return Ok(Type::Tuple(
            l[1..].iter().map(parse_type).collect::<Result<_>>()?,
        ));
    }
    bail!("unsupported witx type {e:?}")
}

fn parse_int_annotation(e: &Sexpr, what: &str) -> Result<Int> {
    let l = e.list().context("an annotation")?;
    if !e.is(&["@witx", what]) {
        bail!("expected `(@witx {what} ...)`, found {e:?}");
    }
    Int::parse(l[2].atom().unwrap_or("")).with_context(|| format!("an integer type in {e:?}"))
}

fn parse_typedef(e: &Sexpr) -> Result<TypeDef> {
    let Some(l) = e.list() else {
        return Ok(TypeDef::Alias(parse_type(e)?));
    };
    let cases = |from: usize| -> Result<Vec<String>> { l[from..].iter().map(name).collect() };
    Ok(if e.is(&["handle"]) {
        TypeDef::Handle
    } else if e.is(&["enum"]) {
        TypeDef::Enum {
            tag: parse_int_annotation(&l[1], "tag")?,
            cases: cases(2)?,
        }
    } else if e.is(&["flags"]) {
        TypeDef::Flags {
            repr: parse_int_annotation(&l[1], "repr")?,
            flags: cases(2)?,
        }
    } else if e.is(&["record"]) {
        let fields = l[1..]
            .iter()
            .map(|f| {
                let f = f.list().filter(|_| f.is(&["field"])).context("a field")?;
                Ok((name(&f[1])?, parse_type(&f[2])?))
            })
            .collect::<Result<_>>()?;
        TypeDef::Record { fields }
    } else if e.is(&["union"]) {
        if !l[1].is(&["@witx", "tag"]) {
            bail!("a union without a tag: {e:?}");
        }
        let tag = name(&l[1].list().expect("a list")[2])?;
        TypeDef::Union {
            tag,
            cases: l[2..].iter().map(parse_type).collect::<Result<_>>()?,
        }
    } else {
        TypeDef::Alias(parse_type(e)?)
    })
}

fn parse_func(items: &[Sexpr]) -> Result<Func> {
    let export = items
        .iter()
        .find(|e| e.is(&["export"]))
        .and_then(|e| e.list())
        .context("a function without an export name")?;
    let Some(Sexpr::Str(name_)) = export.get(1) else {
        bail!("a function export without a name");
    };
    let mut params = Vec::new();
    let mut result = None;
    for e in items {
        if e.is(&["param"]) {
            let l = e.list().expect("a list");
            params.push((name(&l[1])?, parse_type(&l[2])?));
        } else if e.is(&["result"]) {
            let l = e.list().expect("a list");
            let expected = l.get(2).context("a result without a type")?;
            let el = expected
                .list()
                .filter(|_| expected.is(&["expected"]))
                .with_context(|| format!("`{name_}`: a result that is not `expected`"))?;
            let ok = match el.get(1) {
                Some(e) if e.is(&["error"]) => None,
                Some(t) => Some(parse_type(t)?),
                None => bail!("`{name_}`: an empty `expected`"),
            };
            result = Some(ok);
        }
    }
    if result.is_none() && !items.iter().any(|e| e.is(&["@witx", "noreturn"])) {
        bail!("`{name_}` has neither a result nor `noreturn`");
    }
    Ok(Func {
        name: name_.clone(),
        params,
        result,
    })
}

impl Witx {
    /// Reads the module in `module_text` with the types of `types_text`.
    ///
    /// # Errors
    ///
    /// A construct this reader does not know, or malformed text.
    pub fn parse(types_text: &str, module_text: &str) -> Result<Witx> {
        let mut witx = Witx {
            module: String::new(),
            types: Vec::new(),
            index: HashMap::new(),
            funcs: Vec::new(),
        };
        for e in parse_sexprs(types_text)?
            .iter()
            .chain(&parse_sexprs(module_text)?)
        {
            let Some(l) = e.list() else { continue };
            if e.is(&["typename"]) {
                let n = name(&l[1])?;
                let def = parse_typedef(&l[2]).with_context(|| format!("type `${n}`"))?;
                witx.index.insert(n.clone(), witx.types.len());
                witx.types.push((n, def));
            } else if e.is(&["module"]) {
                witx.module = name(&l[1])?;
                for item in &l[2..] {
                    if item.is(&["@interface", "func"]) {
                        witx.funcs.push(parse_func(item.list().expect("a list"))?);
                    }
                }
            }
        }
        if witx.module.is_empty() {
            bail!("no `(module ...)`");
        }
        Ok(witx)
    }

    /// The definition of type `name`.
    ///
    /// # Panics
    ///
    /// When there is none (the witx refers only to types it defines).
    pub fn def(&self, name: &str) -> &TypeDef {
        &self.types[*self
            .index
            .get(name)
            .unwrap_or_else(|| panic!("witx type `{name}`"))]
        .1
    }

    /// The integer a type is passed as, if it is one (an integer, enum,
    /// flags, handle or pointer; `None` for records, unions, strings,
    /// lists and tuples).
    pub fn int(&self, ty: &Type) -> Option<Int> {
        match ty {
            Type::Int(i) => Some(*i),
            Type::Pointer(_) => Some(Int::U32),
            Type::Named(n) => match self.def(n) {
                TypeDef::Alias(t) => self.int(t),
                TypeDef::Handle => Some(Int::U32),
                TypeDef::Enum { tag, .. } => Some(*tag),
                TypeDef::Flags { repr, .. } => Some(*repr),
                TypeDef::Record { .. } | TypeDef::Union { .. } => None,
            },
            _ => None,
        }
    }

    /// Size and alignment in bytes of `ty` in memory.
    pub fn layout(&self, ty: &Type) -> (u32, u32) {
        if let Some(i) = self.int(ty) {
            return (i.size(), i.size());
        }
        match ty {
            Type::String | Type::List(_) => (8, 4),
            Type::Named(n) => match self.def(n) {
                TypeDef::Alias(t) => self.layout(t),
                TypeDef::Record { fields } => {
                    let offsets = self.field_offsets(fields.iter().map(|(_, t)| t));
                    let align = fields
                        .iter()
                        .map(|(_, t)| self.layout(t).1)
                        .max()
                        .unwrap_or(1);
                    let end = offsets
                        .last()
                        .zip(fields.last())
                        .map_or(0, |(o, (_, t))| o + self.layout(t).0);
                    (end.next_multiple_of(align), align)
                }
                TypeDef::Union { tag, cases } => {
                    let tag = self.layout(&Type::Named(tag.clone())).0;
                    let (size, align) = self.union_payload(cases);
                    let align = align.max(tag);
                    (
                        (tag.next_multiple_of(align) + size).next_multiple_of(align),
                        align,
                    )
                }
                _ => unreachable!("integers are handled above"),
            },
            Type::Tuple(_) | Type::Int(_) | Type::Pointer(_) => unreachable!("not in memory"),
        }
    }

    /// The size and alignment of a union's payload.
    fn union_payload(&self, cases: &[Type]) -> (u32, u32) {
        cases.iter().fold((0, 1), |(s, a), t| {
            let (ts, ta) = self.layout(t);
            (s.max(ts), a.max(ta))
        })
    }

    /// The offset of a union's payload (after its tag).
    pub fn union_payload_offset(&self, tag: &str, cases: &[Type]) -> u32 {
        let tag = self.layout(&Type::Named(tag.to_string())).0;
        tag.next_multiple_of(self.union_payload(cases).1.max(tag))
    }

    /// The offsets of fields of `types`, in order.
    pub fn field_offsets<'a>(&self, types: impl Iterator<Item = &'a Type>) -> Vec<u32> {
        let mut at = 0u32;
        types
            .map(|t| {
                let (size, align) = self.layout(t);
                let offset = at.next_multiple_of(align);
                at = offset + size;
                offset
            })
            .collect()
    }

    /// `ty`, or the type it is another name for.
    pub fn dealias<'a>(&'a self, ty: &'a Type) -> &'a Type {
        match ty {
            Type::Named(n) => match self.def(n) {
                TypeDef::Alias(t) => self.dealias(t),
                _ => ty,
            },
            _ => ty,
        }
    }

    /// The core parameter types of a value of `ty`.
    fn flat(&self, ty: &Type, out: &mut Vec<FlatType>) {
        match self.int(ty) {
            Some(Int::U64 | Int::S64) => out.push(FlatType::I64),
            Some(_) => out.push(FlatType::I32),
            None => match self.dealias(ty) {
                Type::String | Type::List(_) => out.extend([FlatType::I32, FlatType::I32]),
                _ => panic!("a {ty:?} is passed by pointer, never by value"),
            },
        }
    }

    /// The core signature of `func`: its parameters, one `i32` out
    /// pointer per result value, and its results (`i32` errno; none for
    /// `noreturn`).
    pub fn core_signature(&self, func: &Func) -> (Vec<FlatType>, Vec<FlatType>) {
        let mut params = Vec::new();
        for (_, t) in &func.params {
            self.flat(t, &mut params);
        }
        let results = match &func.result {
            None => Vec::new(),
            Some(ok) => {
                let outs = match ok {
                    None => 0,
                    Some(Type::Tuple(ts)) => ts.len(),
                    Some(_) => 1,
                };
                params.extend(std::iter::repeat_n(FlatType::I32, outs));
                vec![FlatType::I32]
            }
        };
        (params, results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_preview1_module() {
        let w = crate::preview1::witx();
        assert_eq!(w.module, "wasi_snapshot_preview1");
        assert_eq!(w.funcs.len(), 46);
        let sig = |n: &str| w.core_signature(w.funcs.iter().find(|f| f.name == n).unwrap());
        use FlatType::{I32, I64};
        assert_eq!(sig("fd_write"), (vec![I32, I32, I32, I32], vec![I32]));
        assert_eq!(
            sig("path_open"),
            (vec![I32, I32, I32, I32, I32, I64, I64, I32, I32], vec![I32])
        );
        assert_eq!(sig("args_sizes_get"), (vec![I32, I32], vec![I32]));
        assert_eq!(sig("fd_seek"), (vec![I32, I64, I32, I32], vec![I32]));
        assert_eq!(sig("proc_exit"), (vec![I32], vec![]));
        assert_eq!(sig("clock_time_get"), (vec![I32, I64, I32], vec![I32]));
        assert_eq!(sig("poll_oneoff"), (vec![I32, I32, I32, I32], vec![I32]));
    }

    #[test]
    fn lays_out_records_and_unions_as_c_does() {
        let w = crate::preview1::witx();
        let size = |n: &str| w.layout(&Type::Named(n.into()));
        // The sizes witx-docs.md and wasi-libc's headers give.
        assert_eq!(size("filestat"), (64, 8));
        assert_eq!(size("fdstat"), (24, 8));
        assert_eq!(size("dirent"), (24, 8));
        assert_eq!(size("event"), (32, 8));
        assert_eq!(size("subscription"), (48, 8));
        assert_eq!(size("prestat"), (8, 4));
        assert_eq!(size("iovec"), (8, 4));
        let TypeDef::Record { fields } = w.def("event") else {
            panic!()
        };
        assert_eq!(
            w.field_offsets(fields.iter().map(|(_, t)| t)),
            [0, 8, 10, 16]
        );
        let TypeDef::Union { tag, cases } = w.def("subscription_u") else {
            panic!()
        };
        assert_eq!(w.union_payload_offset(tag, cases), 8);
        let TypeDef::Enum { cases, .. } = w.def("errno") else {
            panic!()
        };
        assert_eq!(cases.iter().position(|c| c == "badf"), Some(8));
        assert_eq!(cases.iter().position(|c| c == "notcapable"), Some(76));
    }
}
