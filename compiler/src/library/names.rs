//! Names: WIT's kebab-case names turned into C identifiers, the C name of
//! each interface, and WIT spellings of types for comments and errors.
//!
//! An interface's C name is its WIT name in snake case
//! (`test:lib/strings@0.1.0` -> `strings`); when two interfaces in use
//! share it, both are qualified with their package
//! (`test_lib_strings`), then with the version
//! (`test_lib_strings_0_1_0`).

use std::collections::HashMap;

use wit_parser::{Handle, InterfaceId, Resolve, Type, TypeDefKind, WorldId, WorldItem, WorldKey};

/// What the C names of an exported instance's functions (or of an
/// interface's types) start with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Scope {
    /// An interface, named after its WIT name (or, for an interface
    /// without one, after the world's name for it).
    Interface(InterfaceId),
    /// An instance exported under a plain name (`export name: iface;`),
    /// named after that name.
    Named(String),
}

/// The scope of the functions of the instance exported as `key`, an
/// instance of interface `id`.
pub(super) fn export_scope(resolve: &Resolve, key: &WorldKey, id: InterfaceId) -> Scope {
    match key {
        WorldKey::Name(name) if resolve.interfaces[id].name.is_some() => Scope::Named(name.clone()),
        _ => Scope::Interface(id),
    }
}

/// Gives each of `scopes` a C name (snake case), unique among them unless
/// even their package names and versions agree (the header's check for
/// clashing identifiers then reports it).
pub(super) fn assign(
    resolve: &Resolve,
    world: WorldId,
    scopes: &[Scope],
) -> HashMap<Scope, String> {
    // The candidate names of each scope, from the shortest.
    let candidates: Vec<Vec<String>> = scopes
        .iter()
        .map(|scope| match scope {
            Scope::Named(name) => vec![snake(name)],
            Scope::Interface(id) => {
                let interface = &resolve.interfaces[*id];
                let Some(name) = &interface.name else {
                    return vec![snake(&world_name_of(resolve, world, *id))];
                };
                let mut names = vec![snake(name)];
                if let Some(package) = interface.package {
                    let package = &resolve.packages[package].name;
                    let qualified = format!(
                        "{}_{}_{}",
                        snake(&package.namespace),
                        snake(&package.name),
                        snake(name)
                    );
                    if let Some(version) = &package.version {
                        names.push(qualified.clone());
                        names.push(format!("{qualified}_{}", identifier(&version.to_string())));
                    } else {
                        names.push(qualified);
                    }
                }
                names
            }
        })
        .collect();
    let mut level = vec![0; scopes.len()];
    loop {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, names) in candidates.iter().enumerate() {
            by_name.entry(&names[level[i]]).or_default().push(i);
        }
        let mut changed = false;
        for group in by_name.values().filter(|group| group.len() > 1) {
            for &i in group {
                if level[i] + 1 < candidates[i].len() {
                    level[i] += 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    scopes
        .iter()
        .enumerate()
        .map(|(i, scope)| (scope.clone(), candidates[i][level[i]].clone()))
        .collect()
}

/// The name under which `world` imports or exports the interface `id`
/// that has no name of its own (`export foo: interface { ... }`).
fn world_name_of(resolve: &Resolve, world: WorldId, id: InterfaceId) -> String {
    let world = &resolve.worlds[world];
    world
        .exports
        .iter()
        .chain(&world.imports)
        .find_map(|(key, item)| match (key, item) {
            (WorldKey::Name(name), WorldItem::Interface { id: found, .. }) if *found == id => {
                Some(name.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| format!("interface{}", id.index()))
}

/// A kebab-case WIT name in lower snake case: `to-upper` -> `to_upper`,
/// `get-URL` -> `get_url`.
pub(super) fn snake(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// A kebab-case WIT name in upper snake case, for macros.
pub(super) fn upper(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// `text` with every character that cannot be in a C identifier replaced
/// by `_`.
fn identifier(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Whether `prefix` is a C identifier (letters, digits and `_`, not
/// starting with a digit).
pub(super) fn is_identifier(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A WIT field, parameter or case name as a C member or parameter name:
/// snake case, with `_` appended to C and C++ keywords, to the standard
/// names a header can meet, and to the names the generated functions use
/// for themselves (`self`, `ret`, `error`, `args`).
pub(super) fn member(name: &str) -> String {
    let name = snake(name);
    if is_reserved(&name) || name.ends_with("_t") {
        format!("{name}_")
    } else {
        name
    }
}

/// Names a member or parameter must not have, by group (space-separated):
/// C11 keywords; `<stdbool.h>`'s, C23's and C++20's keywords; the macros
/// and functions of the standard headers the header includes (and GNU C's
/// predefined `unix`/`linux`) that a lower-case name can meet; the
/// generated code's own names.
const RESERVED: [&str; 4] = [
    "auto break case char const continue default do double else enum extern float for goto if \
     inline int long register restrict return short signed sizeof static struct switch typedef \
     union unsigned void volatile while",
    "bool true false alignas alignof static_assert thread_local and and_eq asm bitand bitor \
     catch char8_t char16_t char32_t class compl concept const_cast consteval constexpr \
     constinit co_await co_return co_yield decltype delete dynamic_cast explicit export friend \
     mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected \
     public reinterpret_cast requires static_cast template this throw try typeid typename using \
     virtual wchar_t xor xor_eq",
    "offsetof errno free malloc unix linux",
    "self ret error args smelt_lib_call smelt_lib_new smelt_lib_free smelt_lib_drop",
];

/// Whether `name` is in [`RESERVED`].
fn is_reserved(name: &str) -> bool {
    RESERVED
        .iter()
        .any(|group| group.split_whitespace().any(|word| word == name))
}

/// How WIT spells `ty` (a named type by its name), for comments and
/// error messages.
pub(super) fn wit(resolve: &Resolve, ty: &Type) -> String {
    let id = match ty {
        Type::Bool => return "bool".into(),
        Type::U8 => return "u8".into(),
        Type::U16 => return "u16".into(),
        Type::U32 => return "u32".into(),
        Type::U64 => return "u64".into(),
        Type::S8 => return "s8".into(),
        Type::S16 => return "s16".into(),
        Type::S32 => return "s32".into(),
        Type::S64 => return "s64".into(),
        Type::F32 => return "f32".into(),
        Type::F64 => return "f64".into(),
        Type::Char => return "char".into(),
        Type::String => return "string".into(),
        Type::ErrorContext => return "error-context".into(),
        Type::Id(id) => *id,
    };
    let def = &resolve.types[id];
    match (&def.name, &def.kind) {
        (Some(name), TypeDefKind::Resource) => format!("own<{name}>"),
        (Some(name), _) => name.clone(),
        (None, _) => wit_definition(resolve, id),
    }
}

/// How WIT spells the definition of type `id` without its name
/// (`list<u8>` for `type bytes = list<u8>`).
pub(super) fn wit_definition(resolve: &Resolve, id: wit_parser::TypeId) -> String {
    let def = &resolve.types[id];
    let resource_name = |id| resource_type_name(resolve, id).unwrap_or_else(|| "resource".into());
    let opt = |t: &Option<Type>| t.as_ref().map_or("_".to_string(), |t| wit(resolve, t));
    match &def.kind {
        TypeDefKind::Type(t) => wit(resolve, t),
        TypeDefKind::List(t) => format!("list<{}>", wit(resolve, t)),
        TypeDefKind::FixedLengthList(t, n) => format!("list<{}, {n}>", wit(resolve, t)),
        TypeDefKind::Map(k, v) => format!("map<{}, {}>", wit(resolve, k), wit(resolve, v)),
        TypeDefKind::Option(t) => format!("option<{}>", wit(resolve, t)),
        TypeDefKind::Result(r) => match (&r.ok, &r.err) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", wit(resolve, ok)),
            _ => format!("result<{}, {}>", opt(&r.ok), opt(&r.err)),
        },
        TypeDefKind::Tuple(t) => {
            let types: Vec<String> = t.types.iter().map(|t| wit(resolve, t)).collect();
            format!("tuple<{}>", types.join(", "))
        }
        TypeDefKind::Handle(Handle::Own(r)) => format!("own<{}>", resource_name(*r)),
        TypeDefKind::Handle(Handle::Borrow(r)) => format!("borrow<{}>", resource_name(*r)),
        TypeDefKind::Future(t) => match t {
            Some(t) => format!("future<{}>", wit(resolve, t)),
            None => "future".into(),
        },
        TypeDefKind::Stream(t) => match t {
            Some(t) => format!("stream<{}>", wit(resolve, t)),
            None => "stream".into(),
        },
        TypeDefKind::Record(_) => "record".into(),
        TypeDefKind::Variant(_) => "variant".into(),
        TypeDefKind::Enum(_) => "enum".into(),
        TypeDefKind::Flags(_) => "flags".into(),
        TypeDefKind::Resource => "resource".into(),
        TypeDefKind::Unknown => "unknown".into(),
    }
}

/// The name of resource type `id`, through aliases (`use` makes one).
fn resource_type_name(resolve: &Resolve, id: wit_parser::TypeId) -> Option<String> {
    let def = &resolve.types[id];
    match &def.kind {
        TypeDefKind::Type(Type::Id(target)) if def.name.is_none() => {
            resource_type_name(resolve, *target)
        }
        _ => def.name.clone(),
    }
}
