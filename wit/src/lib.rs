//! The WASI interfaces smelt's host implements, from the WIT files of WASI
//! 0.2 (`wit/p2/`, the files the `wasip2` crate ships for WASI 0.2.12).
//!
//! Both sides of a host call use this crate, so they agree by
//! construction:
//!
//! - the compiler ([`HostWorld::function`], [`HostWorld::resource`]) maps
//!   a component's imports to host functions and host resource types by
//!   interface name, semver-compatibly (any `0.2.x`);
//! - `libwasi-native`'s build script ([`bindings`]) generates the Rust bindings
//!   and canonical ABI shims of the same functions, in the same order.
//!
//! Host functions are numbered in a fixed order (interfaces in package
//! order, functions in declaration order); host resource types likewise,
//! and they are the first runtime resource types of every program
//! (`0..HOST_RESOURCES`), so a host function knows the runtime type of
//! every handle it lifts or lowers as a constant.

#![deny(missing_docs)]

pub mod bindings;

use std::sync::OnceLock;

use anyhow::{Context, Result};
use smelt_abi::component::FlatType;
use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{Function, InterfaceId, Resolve, TypeDefKind, TypeId, TypeOwner};

/// The WIT files of WASI 0.2, dependencies first.
pub const P2_FILES: &[(&str, &str)] = &[
    ("io.wit", include_str!("../p2/io.wit")),
    ("clocks.wit", include_str!("../p2/clocks.wit")),
    ("random.wit", include_str!("../p2/random.wit")),
    ("filesystem.wit", include_str!("../p2/filesystem.wit")),
    ("sockets.wit", include_str!("../p2/sockets.wit")),
    ("cli.wit", include_str!("../p2/cli.wit")),
    ("http.wit", include_str!("../p2/http.wit")),
];

/// Interfaces a command exports rather than imports: not host functions.
const GUEST_EXPORTS: &[&str] = &["wasi:cli/run", "wasi:http/incoming-handler"];

/// The WASI version whose WIT files these are.
pub const P2_VERSION: (u64, u64, u64) = (0, 2, 12);

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
}

impl HostFunction {
    /// The symbol of its shim in the runtime library
    /// (`smelt_host__wasi_io_streams__method_output_stream_write`). A
    /// compiled program refers to each host function it imports by this
    /// name, so that the linker keeps only those.
    pub fn symbol(&self) -> String {
        format!(
            "smelt_host__{}__{}",
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

/// The host's interfaces, functions and resource types.
#[derive(Debug)]
pub struct HostWorld {
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
    fn load() -> Result<HostWorld> {
        let mut resolve = Resolve::default();
        resolve.all_features = true;
        for (path, text) in P2_FILES {
            resolve
                .push_str(path, text)
                .with_context(|| format!("parsing {path}"))?;
        }
        let mut interfaces = Vec::new();
        let mut functions = Vec::new();
        let mut resources = Vec::new();
        for (_, pkg) in resolve.packages.iter() {
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
                    });
                }
            }
        }
        Ok(HostWorld {
            resolve,
            interfaces,
            functions,
            resources,
        })
    }

    /// The host function `name` of `interface` (an import name such as
    /// `wasi:io/streams@0.2.3`), if the host implements it: any `0.2.x`
    /// version is accepted.
    pub fn function(&self, interface: &str, name: &str) -> Option<(u32, &HostFunction)> {
        let interface = unversioned(interface)?;
        self.functions
            .iter()
            .enumerate()
            .find(|(_, f)| f.interface == interface && f.name == name)
            .map(|(i, f)| (i as u32, f))
    }

    /// The runtime type of host resource `name` of `interface`.
    pub fn resource(&self, interface: &str, name: &str) -> Option<u32> {
        let interface = unversioned(interface)?;
        self.resources
            .iter()
            .position(|r| r.interface == interface && r.name == name)
            .map(|i| i as u32)
    }

    /// The runtime type of the host resource with WIT type `ty`.
    pub fn resource_of(&self, ty: TypeId) -> Option<u32> {
        let ty = dealias(&self.resolve, ty);
        self.resources
            .iter()
            .position(|r| r.type_id == ty)
            .map(|i| i as u32)
    }

    /// The core signature through which a component calls host function
    /// `func` (`canon lower` without async): (parameters, results), with
    /// the return pointer as the last parameter when the results do not
    /// fit the flat limit (CanonicalABI.md "Flattening").
    pub fn import_signature(&self, func: u32) -> (Vec<FlatType>, Vec<FlatType>) {
        let sig = self
            .resolve
            .wasm_signature(AbiVariant::GuestImport, &self.functions[func as usize].func);
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

    /// Whether the host provides interface `interface` (versioned import
    /// name).
    pub fn has_interface(&self, interface: &str) -> bool {
        unversioned(interface).is_some_and(|i| self.interfaces.iter().any(|(n, _)| n == i))
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
    match name.split_once('@') {
        None => Some(name),
        Some((iface, version)) => {
            let mut parts = version.split('.');
            let major = parts.next()?;
            let minor = parts.next()?;
            (major == "0" && minor == "2").then_some(iface)
        }
    }
}

/// The WASI 0.2 host world, loaded once.
pub fn p2() -> &'static HostWorld {
    static WORLD: OnceLock<HostWorld> = OnceLock::new();
    WORLD.get_or_init(|| HostWorld::load().expect("the vendored WASI 0.2 WIT files parse"))
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
    fn host_function_symbols_are_distinct() {
        let w = p2();
        let (_, f) = w
            .function("wasi:io/streams@0.2.0", "[method]output-stream.write")
            .unwrap();
        assert_eq!(
            f.symbol(),
            "smelt_host__wasi_io_streams__method_output_stream_write"
        );
        let symbols: std::collections::HashSet<String> =
            w.functions.iter().map(HostFunction::symbol).collect();
        assert_eq!(symbols.len(), w.functions.len());
    }

    #[test]
    fn versions_outside_0_2_are_not_accepted() {
        assert_eq!(unversioned("wasi:io/poll@0.2.0"), Some("wasi:io/poll"));
        assert_eq!(unversioned("wasi:io/poll@0.3.0-rc"), None);
        assert_eq!(unversioned("wasi:io/poll@1.0.0"), None);
    }
}
