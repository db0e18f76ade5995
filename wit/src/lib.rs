//! The WASI interfaces smelt's host implements, from the WIT files of WASI
//! 0.2 (`wit/p2/`, the files the `wasip2` crate ships for WASI 0.2.12) and
//! WASI 0.3 (`wit/p3/`, the files the `wasip3` crate ships for WASI 0.3.2).
//!
//! Both sides of a host call use this crate, so they agree by
//! construction:
//!
//! - the compiler ([`HostWorld::function`], [`HostWorld::resource`]) maps
//!   a component's imports to host functions and host resource types by
//!   interface name, semver-compatibly (any `0.2.x` to [`p2`], any `0.3.x`
//!   to [`p3`]);
//! - `libwasi-native`'s build script ([`bindings`]) generates the Rust bindings
//!   and canonical ABI shims of the same functions, in the same order.
//!
//! Host functions are numbered in a fixed order (the WASI 0.2 world's,
//! then the WASI 0.3 world's; in each, interfaces in package order,
//! functions in declaration order); host resource types likewise, and they
//! are the first runtime resource types of every program
//! (`0..`[`host_resources`]), so a host function knows the runtime type of
//! every handle it lifts or lowers as a constant.

#![deny(missing_docs)]

pub mod bindings;
pub mod preview1;
pub mod witx;

use std::sync::OnceLock;

use anyhow::{Context, Result};
use smelt_abi::component::{
    FlatType, FuncType, ResourceIndex, TypeId as ValTypeId, TypeTable, ValType,
};
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{Function, InterfaceId, Resolve, TypeDefKind, TypeId, TypeOwner};

/// `(file name, text)` of the WIT file `$dir/$name.wit`, without its
/// comments (`build.rs` writes that into `$OUT_DIR`).
macro_rules! wit_file {
    ($dir:literal, $name:literal) => {
        (
            concat!($name, ".wit"),
            include_str!(concat!(env!("OUT_DIR"), "/", $dir, "/", $name, ".wit")),
        )
    };
}

/// The WIT files of WASI 0.2, dependencies first, without their comments.
pub const P2_FILES: &[(&str, &str)] = &[
    wit_file!("p2", "io"),
    wit_file!("p2", "clocks"),
    wit_file!("p2", "random"),
    wit_file!("p2", "filesystem"),
    wit_file!("p2", "sockets"),
    wit_file!("p2", "cli"),
    wit_file!("p2", "http"),
];

/// The WIT files of WASI 0.3, dependencies first, without their comments.
pub const P3_FILES: &[(&str, &str)] = &[
    wit_file!("p3", "clocks"),
    wit_file!("p3", "random"),
    wit_file!("p3", "filesystem"),
    wit_file!("p3", "sockets"),
    wit_file!("p3", "cli"),
    wit_file!("p3", "http"),
];

/// Interfaces a command exports rather than imports: not host functions.
const GUEST_EXPORTS: &[&str] = &[
    "wasi:cli/run",
    "wasi:http/incoming-handler",
    "wasi:http/handler",
];

/// Packages of WASI 0.3 whose interfaces the host provides (all of the
/// vendored ones).
const P3_PROVIDED: &[&str] = &["cli", "clocks", "random", "filesystem", "sockets", "http"];

/// The WASI version whose WIT files these are.
pub const P2_VERSION: (u64, u64, u64) = (0, 2, 12);

/// The WASI 0.3 version whose WIT files these are.
pub const P3_VERSION: (u64, u64, u64) = (0, 3, 2);

/// One host function.
#[derive(Debug, Clone)]
pub struct HostFunction {
    /// Its interface, without version (`wasi:io/streams`).
    pub interface: String,
    /// Its interface's id in [`HostWorld::resolve`].
    pub interface_id: InterfaceId,
    /// Its name (`[method]output-stream.write`).
    pub name: String,
    /// Its WIT definition.
    pub func: Function,
    /// The WASI minor version (`2` or `3`) of its world.
    pub minor: u32,
}

impl HostFunction {
    /// The symbol of its shim in the runtime library
    /// (`smelt_host__wasi_io_streams__method_output_stream_write` for WASI
    /// 0.2, `smelt_host_p3__wasi_cli_stdout__write_via_stream` for WASI
    /// 0.3, whose interfaces share names with 0.2's). A compiled program
    /// refers to each host function it imports by this name, so that the
    /// linker keeps only those.
    pub fn symbol(&self) -> String {
        let world = if self.minor == 2 { "" } else { "_p3" };
        format!(
            "smelt_host{world}__{}__{}",
            bindings::module_name(&self.interface),
            bindings::method_name(&self.name)
        )
    }
}

/// One host resource type.
#[derive(Debug, Clone)]
pub struct HostResource {
    /// Its interface, without version.
    pub interface: String,
    /// Its name (`output-stream`).
    pub name: String,
    /// Its type in [`HostWorld::resolve`].
    pub type_id: TypeId,
}

/// The host's interfaces, functions and resource types of one WASI
/// version.
#[derive(Debug)]
pub struct HostWorld {
    /// The WASI minor version (`2` or `3`) whose imports it provides.
    pub minor: u32,
    /// The number of its first host function.
    pub first_function: u32,
    /// The runtime type of its first host resource type.
    pub first_resource: u32,
    /// The parsed WIT.
    pub resolve: Resolve,
    /// Host interfaces, in order.
    pub interfaces: Vec<(String, InterfaceId)>,
    /// Host functions, in order (their index is their number).
    pub functions: Vec<HostFunction>,
    /// Host resource types, in order (their index is their runtime type).
    pub resources: Vec<HostResource>,
}

/// `package:name/interface`, without version.
pub fn interface_name(resolve: &Resolve, id: InterfaceId) -> String {
    let iface = &resolve.interfaces[id];
    let pkg = &resolve.packages[iface.package.expect("named interfaces have packages")].name;
    format!(
        "{}:{}/{}",
        pkg.namespace,
        pkg.name,
        iface.name.as_deref().expect("named interface")
    )
}

impl HostWorld {
    fn load(
        minor: u32,
        files: &[(&str, &str)],
        provided: Option<&[&str]>,
        first_function: u32,
        first_resource: u32,
    ) -> Result<HostWorld> {
        let mut resolve = Resolve {
            all_features: true,
            ..Default::default()
        };
        for (path, text) in files {
            resolve
                .push_str(path, text)
                .with_context(|| format!("parsing {path}"))?;
        }
        let mut interfaces = Vec::new();
        let mut functions = Vec::new();
        let mut resources = Vec::new();
        for (_, pkg) in resolve.packages.iter() {
            if provided.is_some_and(|p| !p.contains(&pkg.name.name.as_str())) {
                continue;
            }
            for (_, &id) in pkg.interfaces.iter() {
                let name = interface_name(&resolve, id);
                if GUEST_EXPORTS.contains(&name.as_str()) {
                    continue;
                }
                interfaces.push((name.clone(), id));
                let iface = &resolve.interfaces[id];
                for (_, &ty) in iface.types.iter() {
                    if let TypeDefKind::Resource = resolve.types[ty].kind {
                        resources.push(HostResource {
                            interface: name.clone(),
                            name: resolve.types[ty].name.clone().expect("named resource"),
                            type_id: ty,
                        });
                    }
                }
                for (_, func) in iface.functions.iter() {
                    functions.push(HostFunction {
                        interface: name.clone(),
                        interface_id: id,
                        name: func.name.clone(),
                        func: func.clone(),
                        minor,
                    });
                }
            }
        }
        Ok(HostWorld {
            minor,
            first_function,
            first_resource,
            resolve,
            interfaces,
            functions,
            resources,
        })
    }

    /// The interface name of a versioned import name, if its version is
    /// one this world provides (`wasi:io/streams@0.2.3` →
    /// `wasi:io/streams` for WASI 0.2).
    pub fn unversioned<'a>(&self, name: &'a str) -> Option<&'a str> {
        unversioned_in(name, self.minor)
    }

    /// The host function `name` of `interface` (an import name such as
    /// `wasi:io/streams@0.2.3`), if the host implements it: any version of
    /// this world's minor version is accepted. Returns its number and its
    /// definition.
    pub fn function(&self, interface: &str, name: &str) -> Option<(u32, &HostFunction)> {
        let interface = self.unversioned(interface)?;
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.interface == interface && f.name == name)
            .map(|(i, f)| (self.first_function + i as u32, f))
    }

    /// The runtime type of host resource `name` of `interface`.
    pub fn resource(&self, interface: &str, name: &str) -> Option<ResourceIndex> {
        let interface = self.unversioned(interface)?;
        self.resources
            .iter()
            .position(|r| r.interface == interface && r.name == name)
            .map(|i| ResourceIndex::from_u32(self.first_resource + i as u32))
    }

    /// The runtime type of the host resource with WIT type `ty`.
    pub fn resource_of(&self, ty: TypeId) -> Option<ResourceIndex> {
        let ty = dealias(&self.resolve, ty);
        self.resources
            .iter()
            .position(|r| r.type_id == ty)
            .map(|i| ResourceIndex::from_u32(self.first_resource + i as u32))
    }

    /// The host function numbered `func`, which must be this world's.
    pub fn get(&self, func: u32) -> &HostFunction {
        &self.functions[(func - self.first_function) as usize]
    }

    /// The core signature through which a component calls host function
    /// `func` (`canon lower` without async): (parameters, results), with
    /// the return pointer as the last parameter when the results do not
    /// fit the flat limit (CanonicalABI.md "Flattening").
    pub fn import_signature(&self, func: u32) -> (Vec<FlatType>, Vec<FlatType>) {
        let sig = self
            .resolve
            .wasm_signature(AbiVariant::GuestImport, &self.get(func).func);
        let flat = |types: &[WasmType]| {
            types
                .iter()
                .map(|t| match t {
                    WasmType::I32 | WasmType::Pointer | WasmType::Length => FlatType::I32,
                    WasmType::I64 | WasmType::PointerOrI64 => FlatType::I64,
                    WasmType::F32 => FlatType::F32,
                    WasmType::F64 => FlatType::F64,
                })
                .collect()
        };
        (flat(&sig.params), flat(&sig.results))
    }

    /// Whether `ty`, a function type as an importing component sees it
    /// (its value types in `table`), is host function `func`'s WIT type:
    /// the same parameter and result types, structurally (names aside),
    /// with handles to the host's resource types, and `async` exactly when
    /// the WIT function is.
    pub fn matches(&self, func: u32, ty: &FuncType, table: &TypeTable) -> bool {
        let f = &self.get(func).func;
        f.kind.is_async() == ty.async_
            && f.params.len() == ty.params.len()
            && f.params
                .iter()
                .zip(&ty.params)
                .all(|(p, &t)| self.type_matches(&p.ty, table, t))
            && match (&f.result, ty.result) {
                (None, None) => true,
                (Some(w), Some(t)) => self.type_matches(w, table, t),
                _ => false,
            }
    }

    fn type_matches(&self, wit: &wit_parser::Type, table: &TypeTable, ty: ValTypeId) -> bool {
        use wit_parser::Type as W;
        let v = table.get(ty);
        let opt = |w: &Option<wit_parser::Type>, t: &Option<ValTypeId>| match (w, t) {
            (None, None) => true,
            (Some(w), Some(t)) => self.type_matches(w, table, *t),
            _ => false,
        };
        match wit {
            W::Bool => *v == ValType::Bool,
            W::U8 => *v == ValType::U8,
            W::S8 => *v == ValType::S8,
            W::U16 => *v == ValType::U16,
            W::S16 => *v == ValType::S16,
            W::U32 => *v == ValType::U32,
            W::S32 => *v == ValType::S32,
            W::U64 => *v == ValType::U64,
            W::S64 => *v == ValType::S64,
            W::F32 => *v == ValType::F32,
            W::F64 => *v == ValType::F64,
            W::Char => *v == ValType::Char,
            W::String => *v == ValType::String,
            W::ErrorContext => *v == ValType::ErrorContext,
            W::Id(id) => match (&self.resolve.types[*id].kind, v) {
                (TypeDefKind::Type(w), _) => self.type_matches(w, table, ty),
                (TypeDefKind::Record(r), ValType::Record(fields)) => {
                    r.fields.len() == fields.len()
                        && r.fields
                            .iter()
                            .zip(fields)
                            .all(|(f, &t)| self.type_matches(&f.ty, table, t))
                }
                (TypeDefKind::Tuple(tu), ValType::Record(fields)) => {
                    tu.types.len() == fields.len()
                        && tu
                            .types
                            .iter()
                            .zip(fields)
                            .all(|(w, &t)| self.type_matches(w, table, t))
                }
                (TypeDefKind::Flags(f), ValType::Flags(n)) => f.flags.len() as u32 == *n,
                (TypeDefKind::Enum(e), ValType::Variant(cases)) => {
                    e.cases.len() == cases.len() && cases.iter().all(Option::is_none)
                }
                (TypeDefKind::Variant(w), ValType::Variant(cases)) => {
                    w.cases.len() == cases.len()
                        && w.cases.iter().zip(cases).all(|(c, t)| opt(&c.ty, t))
                }
                (TypeDefKind::Option(w), ValType::Variant(cases)) => {
                    cases.len() == 2 && cases[0].is_none() && opt(&Some(*w), &cases[1])
                }
                (TypeDefKind::Result(r), ValType::Variant(cases)) => {
                    cases.len() == 2 && opt(&r.ok, &cases[0]) && opt(&r.err, &cases[1])
                }
                (TypeDefKind::List(w), ValType::List(t)) => self.type_matches(w, table, *t),
                (TypeDefKind::Stream(w), ValType::Stream(t))
                | (TypeDefKind::Future(w), ValType::Future(t)) => opt(w, t),
                (TypeDefKind::Handle(wit_parser::Handle::Own(r)), ValType::Own(n))
                | (TypeDefKind::Handle(wit_parser::Handle::Borrow(r)), ValType::Borrow(n)) => {
                    self.resource_of(*r) == Some(*n)
                }
                _ => false,
            },
        }
    }

    /// Whether the host provides interface `interface` (versioned import
    /// name).
    pub fn has_interface(&self, interface: &str) -> bool {
        self.unversioned(interface)
            .is_some_and(|i| self.interfaces.iter().any(|(n, _)| n == i))
    }
}

/// Follows type aliases to the defining type.
pub fn dealias(resolve: &Resolve, mut ty: TypeId) -> TypeId {
    loop {
        match &resolve.types[ty].kind {
            TypeDefKind::Type(wit_parser::Type::Id(next)) => ty = *next,
            _ => return ty,
        }
    }
}

/// The interface name of a versioned import name, if its version is a WASI
/// 0.2 version (`wasi:io/streams@0.2.3` → `wasi:io/streams`).
pub fn unversioned(name: &str) -> Option<&str> {
    unversioned_in(name, 2)
}

/// The interface name of a versioned import name, if its version is
/// `0.{minor}.x` (an unversioned name counts as WASI 0.2).
fn unversioned_in(name: &str, minor: u32) -> Option<&str> {
    match name.split_once('@') {
        None => (minor == 2).then_some(name),
        Some((iface, version)) => {
            let mut parts = version.split('.');
            let major = parts.next()?;
            let m = parts.next()?;
            (major == "0" && m == minor.to_string()).then_some(iface)
        }
    }
}

/// The WASI version (minor number, 2 or 3) of a versioned import name, if
/// it is one smelt's host has a world for.
pub fn wasi_minor(name: &str) -> Option<u32> {
    [2, 3]
        .into_iter()
        .find(|&m| unversioned_in(name, m).is_some())
}

/// The WASI 0.2 host world, loaded once.
pub fn p2() -> &'static HostWorld {
    static WORLD: OnceLock<HostWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        HostWorld::load(2, P2_FILES, None, 0, 0).expect("the vendored WASI 0.2 WIT files parse")
    })
}

/// How many host functions [`p2`] has: [`p3`]'s are numbered from here.
/// A constant, so that a program of WASI 0.2 alone does not parse WASI
/// 0.3's WIT (a test checks it against the WIT).
pub const P2_FUNCTIONS: u32 = 179;

/// How many host resource types [`p2`] has.
pub const P2_RESOURCES: u32 = 25;

/// How many host resource types [`p3`] has.
pub const P3_RESOURCES: u32 = 9;

/// The WASI 0.3 host world, loaded once: its host functions and resource
/// types are numbered after [`p2`]'s.
pub fn p3() -> &'static HostWorld {
    static WORLD: OnceLock<HostWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        HostWorld::load(3, P3_FILES, Some(P3_PROVIDED), P2_FUNCTIONS, P2_RESOURCES)
            .expect("the vendored WASI 0.3 WIT files parse")
    })
}

/// The world for imports of WASI version `0.{minor}`.
pub fn world(minor: u32) -> Option<&'static HostWorld> {
    match minor {
        2 => Some(p2()),
        3 => Some(p3()),
        _ => None,
    }
}

/// Host function `func`, numbered over every world (WASI 0.2's first,
/// then 0.3's).
///
/// # Panics
///
/// If `func` is not a host function's number.
pub fn function(func: u32) -> &'static HostFunction {
    if func < P2_FUNCTIONS {
        p2().get(func)
    } else {
        p3().get(func)
    }
}

/// How many host resource types there are (every world's): the runtime
/// types of a program's own resources start here.
pub fn host_resources() -> u32 {
    P2_RESOURCES + P3_RESOURCES
}

/// The owner of a type, for naming.
pub fn owner_interface(resolve: &Resolve, ty: TypeId) -> Option<InterfaceId> {
    match resolve.types[ty].owner {
        TypeOwner::Interface(i) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_has_the_command_imports() {
        let w = p2();
        assert!(
            w.function("wasi:cli/environment@0.2.0", "get-arguments")
                .is_some()
        );
        assert!(
            w.function("wasi:io/streams@0.2.9", "[method]output-stream.write")
                .is_some()
        );
        assert!(
            w.function("wasi:cli/exit@0.2.4", "exit-with-code")
                .is_some()
        );
        assert!(
            w.function("wasi:io/streams@0.3.0", "[method]output-stream.write")
                .is_none()
        );
        assert!(
            w.function("wasi:cli/run@0.2.0", "run").is_none(),
            "run is the guest's"
        );
        assert!(
            w.resource("wasi:filesystem/types@0.2.0", "descriptor")
                .is_some()
        );
        assert!(w.has_interface("wasi:sockets/tcp@0.2.0"));
    }

    #[test]
    fn the_counts_are_the_wits() {
        assert_eq!(p2().functions.len() as u32, P2_FUNCTIONS);
        assert_eq!(p2().resources.len() as u32, P2_RESOURCES);
        assert_eq!(p3().resources.len() as u32, P3_RESOURCES);
    }

    #[test]
    fn the_p3_world_is_numbered_after_p2() {
        let (p2, p3) = (p2(), p3());
        let (n, f) = p3
            .function("wasi:cli/stdout@0.3.2", "write-via-stream")
            .expect("stdout");
        assert!(n >= p2.functions.len() as u32);
        assert_eq!(p3.get(n).name, f.name);
        assert!(
            p3.function("wasi:cli/stdout@0.2.6", "write-via-stream")
                .is_none()
        );
        assert!(
            p3.function("wasi:clocks/monotonic-clock@0.3.0", "wait-for")
                .is_some()
        );
        assert!(p3.has_interface("wasi:sockets/types@0.3.2"));
        assert!(p3.function("wasi:cli/run@0.3.2", "run").is_none());
        assert_eq!(wasi_minor("wasi:cli/run@0.3.0-rc-2025"), Some(3));
        assert!(
            p3.resource("wasi:filesystem/types@0.3.2", "descriptor")
                .unwrap()
                .as_u32()
                >= p2.resources.len() as u32
        );
    }

    #[test]
    fn host_function_symbols_are_distinct() {
        let w = p2();
        let (_, f) = w
            .function("wasi:io/streams@0.2.0", "[method]output-stream.write")
            .unwrap();
        assert_eq!(
            f.symbol(),
            "smelt_host__wasi_io_streams__method_output_stream_write"
        );
        let all = || w.functions.iter().chain(&p3().functions);
        let symbols: std::collections::HashSet<String> = all().map(HostFunction::symbol).collect();
        assert_eq!(symbols.len(), all().count());
        let n = w.functions.len() as u32;
        assert_eq!(function(n).symbol(), p3().get(n).symbol());
        assert_eq!(function(0).symbol(), w.get(0).symbol());
    }

    #[test]
    fn versions_outside_0_2_are_not_accepted() {
        assert_eq!(unversioned("wasi:io/poll@0.2.0"), Some("wasi:io/poll"));
        assert_eq!(unversioned("wasi:io/poll@0.3.0-rc"), None);
        assert_eq!(unversioned("wasi:io/poll@1.0.0"), None);
    }
}
