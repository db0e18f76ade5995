//! The native layout of WIT values: the size and alignment in bytes that a
//! value of a WIT type has in the memory `smelt_lib_call` reads its
//! arguments from and writes its result to.
//!
//! In: a wit-parser [`Type`] and the [`Resolve`] it lives in. Out: a
//! [`NativeLayout`]. The rules are the Canonical ABI's memory layout
//! (CanonicalABI.md, "Alignment" and "Element Size", with the record and
//! variant layouts of "Loading") with 64-bit pointers: a `string` or a
//! `list<T>` is a pointer and a `size_t` length, 16 bytes aligned to 8,
//! where wasm32 has two `i32`s. The result equals what a C compiler of an
//! LP64 target gives the header's C types (x86_64, aarch64, riscv64 Linux),
//! which the header checks with `_Static_assert`.

use wit_parser::{Resolve, Type, TypeDefKind};

/// Size and alignment of a value in the native layout, in bytes.
///
/// `size` is a multiple of `align`, and `align` is a power of two (1, 2, 4
/// or 8), as for a C type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeLayout {
    /// Bytes the value occupies, padding included (C `sizeof`).
    pub size: u64,
    /// Alignment in bytes (C `_Alignof`).
    pub align: u64,
}

impl NativeLayout {
    const fn scalar(size: u64) -> Self {
        NativeLayout { size, align: size }
    }
}

/// A pointer and a `size_t` length (`string`, `list<T>`).
const POINTER_AND_LENGTH: NativeLayout = NativeLayout { size: 16, align: 8 };

/// A handle (`own`, `borrow`, `stream`, `future`, `error-context`): an
/// `i32` index in the Canonical ABI.
const HANDLE: NativeLayout = NativeLayout::scalar(4);

/// The native layout of a value of type `ty`: CanonicalABI.md's
/// `alignment(t)` and `elem_size(t)` with 64-bit pointers (see the module
/// documentation).
///
/// Handles (`own`, `borrow`, `stream`, `future`, `error-context`) get the
/// Canonical ABI's 4-byte index, which a component library does not pass
/// yet. `None` for what is not a value type: a resource type itself (its
/// values are `own`/`borrow` handles), a type wit-parser could not resolve,
/// and `flags` with no label or with more than 32 (CanonicalABI.md allows
/// 1 to 32).
pub fn native_layout(resolve: &Resolve, ty: &Type) -> Option<NativeLayout> {
    Some(match ty {
        Type::Bool | Type::U8 | Type::S8 => NativeLayout::scalar(1),
        Type::U16 | Type::S16 => NativeLayout::scalar(2),
        Type::U32 | Type::S32 | Type::F32 | Type::Char => NativeLayout::scalar(4),
        Type::U64 | Type::S64 | Type::F64 => NativeLayout::scalar(8),
        Type::String => POINTER_AND_LENGTH,
        Type::ErrorContext => HANDLE,
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Type(t) => native_layout(resolve, t)?,
            TypeDefKind::Record(r) => {
                record_layout(resolve, r.fields.iter().map(|field| &field.ty))?
            }
            TypeDefKind::Tuple(t) => record_layout(resolve, t.types.iter())?,
            TypeDefKind::Variant(v) => variant_layout(
                resolve,
                v.cases.len(),
                v.cases.iter().map(|c| c.ty.as_ref()),
            )?,
            TypeDefKind::Enum(e) => discriminant(e.cases.len()),
            TypeDefKind::Option(t) => variant_layout(resolve, 2, [None, Some(t)].into_iter())?,
            TypeDefKind::Result(r) => {
                variant_layout(resolve, 2, [r.ok.as_ref(), r.err.as_ref()].into_iter())?
            }
            TypeDefKind::Flags(f) => match f.flags.len() {
                1..=8 => NativeLayout::scalar(1),
                9..=16 => NativeLayout::scalar(2),
                17..=32 => NativeLayout::scalar(4),
                _ => return None,
            },
            TypeDefKind::List(_) | TypeDefKind::Map(..) => POINTER_AND_LENGTH,
            TypeDefKind::FixedLengthList(t, n) => {
                let elem = native_layout(resolve, t)?;
                NativeLayout {
                    size: elem.size * u64::from(*n),
                    align: elem.align,
                }
            }
            TypeDefKind::Handle(_) | TypeDefKind::Future(_) | TypeDefKind::Stream(_) => HANDLE,
            TypeDefKind::Resource | TypeDefKind::Unknown => return None,
        },
    })
}

/// The discriminant of a variant (or enum) with `cases` cases:
/// CanonicalABI.md's `discriminant_type`, `u8` up to 256 cases, `u16` up
/// to 65536, else `u32`.
pub fn discriminant(cases: usize) -> NativeLayout {
    match cases {
        0..=0x100 => NativeLayout::scalar(1),
        0x101..=0x1_0000 => NativeLayout::scalar(2),
        _ => NativeLayout::scalar(4),
    }
}

/// Fields one after the other, each at the next offset aligned to its
/// alignment, the whole padded to the largest alignment (CanonicalABI.md
/// `elem_size_record`, `alignment_record`; also C's struct rules). `None`
/// when a field has no layout.
pub(super) fn record_layout<'a>(
    resolve: &Resolve,
    fields: impl Iterator<Item = &'a Type>,
) -> Option<NativeLayout> {
    let mut size = 0;
    let mut align = 1;
    for field in fields {
        let field = native_layout(resolve, field)?;
        size = align_to(size, field.align) + field.size;
        align = align.max(field.align);
    }
    Some(NativeLayout {
        size: align_to(size, align),
        align,
    })
}

/// The discriminant, then the payload at the largest alignment of the
/// cases, the whole padded to the larger of the two alignments
/// (CanonicalABI.md `elem_size_variant`, `alignment_variant`; also C's
/// layout of `struct { tag; union { ... } val; }`). A case without a
/// payload counts as size 0, alignment 1.
fn variant_layout<'a>(
    resolve: &Resolve,
    cases: usize,
    payloads: impl Iterator<Item = Option<&'a Type>>,
) -> Option<NativeLayout> {
    let tag = discriminant(cases);
    let mut payload_size = 0;
    let mut payload_align = 1;
    for payload in payloads.flatten() {
        let payload = native_layout(resolve, payload)?;
        payload_size = payload_size.max(payload.size);
        payload_align = payload_align.max(payload.align);
    }
    let align = tag.align.max(payload_align);
    Some(NativeLayout {
        size: align_to(align_to(tag.size, payload_align) + payload_size, align),
        align,
    })
}

/// `offset` rounded up to a multiple of `align` (a power of two).
fn align_to(offset: u64, align: u64) -> u64 {
    offset.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(wit: &str, name: &str) -> NativeLayout {
        let mut resolve = Resolve::default();
        let package = resolve.push_str("test.wit", wit).unwrap();
        let interface = resolve.packages[package].interfaces["i"];
        let id = resolve.interfaces[interface].types[name];
        native_layout(&resolve, &Type::Id(id)).unwrap()
    }

    const WIT: &str = "package t:t;
        interface i {
            record pad { a: u8, b: u64, c: u16 }
            record small { a: u8, b: u16 }
            variant odd { a(tuple<u8, u8, u8>), b(u16), c }
            type maybe = option<string>;
            type outcome = result<u8, u32>;
            type bare = result;
            flags nine { a, b, c, d, e, f, g, h, i }
            enum e { x, y }
        }";

    #[test]
    fn records_pad_fields_and_the_end() {
        // a at 0, b at 8, c at 16, padded to 24.
        assert_eq!(layout_of(WIT, "pad"), NativeLayout { size: 24, align: 8 });
        assert_eq!(layout_of(WIT, "small"), NativeLayout { size: 4, align: 2 });
    }

    #[test]
    fn variants_put_the_payload_at_the_largest_case_alignment() {
        // tag at 0, payload (max size 3, max align 2) at 2, 5 padded to 6.
        assert_eq!(layout_of(WIT, "odd"), NativeLayout { size: 6, align: 2 });
        assert_eq!(layout_of(WIT, "maybe"), NativeLayout { size: 24, align: 8 });
        assert_eq!(
            layout_of(WIT, "outcome"),
            NativeLayout { size: 8, align: 4 }
        );
        assert_eq!(layout_of(WIT, "bare"), NativeLayout { size: 1, align: 1 });
        assert_eq!(layout_of(WIT, "nine"), NativeLayout { size: 2, align: 2 });
        assert_eq!(layout_of(WIT, "e"), NativeLayout { size: 1, align: 1 });
    }

    #[test]
    fn discriminants_widen_past_256_and_65536_cases() {
        assert_eq!(discriminant(256).size, 1);
        assert_eq!(discriminant(257).size, 2);
        assert_eq!(discriminant(65536).size, 2);
        assert_eq!(discriminant(65537).size, 4);
    }
}
