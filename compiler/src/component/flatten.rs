//! Instantiating components at compile time.
//!
//! In: a parsed component ([`super::parse::StaticComponent`]) and what its
//! imports are bound to. Out: the initializers that create its core
//! instances and trampolines at run time, in definition order
//! (`smelt_abi::component::InitOp`), and its exports as definitions other
//! components (or the host) can use.
//!
//! Every definition of the component is interpreted in order, keeping the
//! component's index spaces as lists of *definitions* ([`CoreDef`],
//! [`FuncDef`], [`ItemDef`], ...): what a core function, a component
//! function or an instance will be at run time. Instantiating a nested
//! component interprets its definitions in a new [`Frame`], with its
//! imports bound to the arguments. Each instantiation of a component is a
//! new runtime component instance, and each resource type definition in it
//! a new runtime resource type: a frame maps the validator's resource ids
//! it sees to runtime resource types.
//!
//! Nesting is followed by recursion, bounded by [`MAX_DEPTH`].

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use cranelift_entity::EntityRef;
use smelt_abi::component::{
    Builtin, BuiltinOp, CanonOptions, ComponentInstanceIndex, Context, CoreInstanceIndex,
    CoreSignature, FlatType, FuncType, FuncTypeIndex, HOST_INSTANCE, InitOp, Ref, ResourceIndex,
    SideRefs, StringEncoding, TrampolineIndex, TrampolineKind, TrampolineRefs, TypeId, ValType,
};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentEntityType, ComponentFuncTypeId, ComponentInstanceTypeId,
    ResourceId,
};
use wasmparser::types::{TypeIdentifier, TypesRef};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Instance, TypeBounds,
};

use super::parse::{Item, StaticComponent, TypeItem};
use super::types::{Converter, TypeInterner};
use crate::core::module::ModuleInfo;
use crate::core::types::ModuleIndex;
use crate::error::{CompileError, Result};
use cranelift_entity::PrimaryMap;

/// Deepest nesting of component instantiations followed.
pub const MAX_DEPTH: usize = 100;

/// A trampoline of the program.
#[derive(Debug, Clone)]
pub struct TrampolineDef {
    /// What it does.
    pub kind: TrampolineKind,
    /// Its core signature, when core instances import it (`None`: only the
    /// host calls it, and it has no compiled code).
    pub signature: Option<CoreSignature>,
    /// Canonical id of its core function type.
    pub type_id: u32,
}

/// The component state of a program, across all its components.
#[derive(Debug)]
pub struct ComponentState {
    /// Value and function types.
    pub types: TypeInterner,
    /// Trampolines, by index.
    pub trampolines: Vec<TrampolineDef>,
    /// Component instances created so far.
    pub component_instances: u32,
    /// Core instances created so far.
    pub core_instances: u32,
    /// Runtime resource types created so far.
    pub resources: u32,
    /// The module that starts threads of `thread.new-indirect` (see
    /// `super::parse`), once a component uses that built-in.
    pub thread_helper: Option<ModuleIndex>,
}

impl Default for ComponentState {
    /// An empty state. The host's resource types (WASI's, numbered by
    /// `smelt-wit`) are the first runtime resource types of every program,
    /// so the component's own start after them.
    fn default() -> Self {
        ComponentState {
            types: TypeInterner::default(),
            trampolines: Vec::new(),
            component_instances: 0,
            core_instances: 0,
            resources: smelt_wit::host_resources(),
            thread_helper: None,
        }
    }
}

/// How many of each runtime entity a [`ComponentState`] has created.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    component_instances: u32,
    core_instances: u32,
    resources: u32,
    trampolines: usize,
}

impl ComponentState {
    /// The current counts, for [`ComponentState::restore`].
    pub fn counts(&self) -> Counts {
        Counts {
            component_instances: self.component_instances,
            core_instances: self.core_instances,
            resources: self.resources,
            trampolines: self.trampolines.len(),
        }
    }

    /// Forgets everything created since `counts` were taken.
    pub fn restore(&mut self, counts: Counts) {
        self.component_instances = counts.component_instances;
        self.core_instances = counts.core_instances;
        self.resources = counts.resources;
        self.trampolines.truncate(counts.trampolines);
    }
}

/// A core function, table, memory, global or tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreDef {
    /// An export of a core instance.
    Export {
        /// The core instance.
        instance: CoreInstanceIndex,
        /// The export's index in its module.
        export: u32,
    },
    /// A trampoline.
    Trampoline(TrampolineIndex),
}

impl CoreDef {
    fn to_ref(self) -> Ref {
        match self {
            CoreDef::Export { instance, export } => Ref::CoreExport { instance, export },
            CoreDef::Trampoline(t) => Ref::Trampoline(t),
        }
    }
}

fn option_ref(d: Option<CoreDef>) -> Ref {
    d.map_or(Ref::None, CoreDef::to_ref)
}

/// Component instance `instance` with the memory and realloc of `options`.
fn side_refs(instance: ComponentInstanceIndex, options: &Options) -> SideRefs<Ref> {
    SideRefs {
        instance: Ref::ComponentInstance(instance),
        memory: option_ref(options.memory),
        realloc: option_ref(options.realloc),
    }
}

/// A core instance.
#[derive(Debug, Clone)]
enum CoreInstanceDef {
    /// An instantiated module.
    Instance {
        index: CoreInstanceIndex,
        module: ModuleIndex,
    },
    /// A bag of exports.
    Synthetic(Rc<HashMap<String, CoreDef>>),
}

/// Canonical options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    encoding: StringEncoding,
    memory: Option<CoreDef>,
    realloc: Option<CoreDef>,
    post_return: Option<CoreDef>,
    async_: bool,
    callback: Option<CoreDef>,
}

impl Options {
    fn abi(&self) -> CanonOptions {
        CanonOptions {
            string_encoding: self.encoding,
            memory: self.memory.is_some(),
            realloc: self.realloc.is_some(),
            post_return: self.post_return.is_some(),
            async_: self.async_,
            callback: self.callback.is_some(),
        }
    }
}

/// A function lifted from a core function.
#[derive(Debug)]
pub struct Lifted {
    func: CoreDef,
    /// Its type.
    pub ty: FuncTypeIndex,
    options: Options,
    instance: ComponentInstanceIndex,
}

/// A function of the host (WASI).
#[derive(Debug)]
pub struct HostFunc {
    /// Its number (`smelt_wit::HostWorld::functions`).
    pub func: u32,
    /// Its type, as the importing component sees it.
    pub ty: FuncTypeIndex,
    /// `interface#name`, for messages.
    pub name: String,
}

/// A function imported by the root component that the user's native code
/// implements (issue 18, native imports).
#[derive(Debug)]
pub struct NativeFunc {
    /// `"<interface>#<function>"`, or the function's name for a function
    /// imported at the top level (`TrampolineKind::Native`'s key).
    pub key: String,
    /// Its type, as the importing component sees it.
    pub ty: FuncTypeIndex,
}

/// A component function.
#[derive(Debug, Clone)]
pub enum FuncDef {
    /// Lifted by a component instance.
    Lifted(Rc<Lifted>),
    /// Provided by the host.
    Host(Rc<HostFunc>),
    /// Provided by the user's native code.
    Native(Rc<NativeFunc>),
}

/// A type, as far as instantiation cares.
#[derive(Debug, Clone, Copy)]
pub enum TypeDef {
    /// A runtime resource type.
    Resource(ResourceIndex),
    /// Any other type.
    Other,
}

/// A component (a static one, with the definitions it can alias).
#[derive(Debug, Clone)]
pub struct ComponentDef {
    index: usize,
    closure: Rc<Closure>,
}

/// What a component's outer aliases can reach: the enclosing component's
/// modules, components and types when it was defined.
#[derive(Debug, Default)]
struct Closure {
    modules: Vec<ModuleIndex>,
    components: Vec<ComponentDef>,
    types: Vec<TypeDef>,
    resources: HashMap<ResourceId, ResourceIndex>,
    parent: Option<Rc<Closure>>,
}

/// Anything an instance can export or an import can be bound to.
#[derive(Debug, Clone)]
pub enum ItemDef {
    /// A function.
    Func(FuncDef),
    /// An instance.
    Instance(Rc<InstanceDef>),
    /// A type.
    Type(TypeDef),
    /// A core module.
    Module(ModuleIndex),
    /// A component.
    Component(ComponentDef),
}

/// A component instance: its exports, in order.
#[derive(Debug, Default)]
pub struct InstanceDef {
    /// Exports by name.
    pub exports: Vec<(String, ItemDef)>,
}

impl InstanceDef {
    /// The export called `name`.
    pub fn get(&self, name: &str) -> Option<&ItemDef> {
        self.exports.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }
}

/// The result of instantiating a component.
pub struct Instantiation {
    /// The initializers, in order.
    pub ops: Vec<InitOp>,
    /// The instance.
    pub instance: Rc<InstanceDef>,
}

/// A component being instantiated.
struct Frame<'a> {
    types: TypesRef<'a>,
    instance: ComponentInstanceIndex,
    args: HashMap<String, ItemDef>,
    closure: Rc<Closure>,
    core_funcs: Vec<CoreDef>,
    core_tables: Vec<CoreDef>,
    core_memories: Vec<CoreDef>,
    core_globals: Vec<CoreDef>,
    core_tags: Vec<CoreDef>,
    core_instances: Vec<CoreInstanceDef>,
    modules: Vec<ModuleIndex>,
    funcs: Vec<FuncDef>,
    instances: Vec<Rc<InstanceDef>>,
    components: Vec<ComponentDef>,
    types_defs: Vec<TypeDef>,
    resources: HashMap<ResourceId, ResourceIndex>,
    exports: Vec<(String, ItemDef)>,
    offset: u64,
}

/// The compile-time interpreter of components.
pub struct Flattener<'a, 'data> {
    /// The program's modules.
    pub modules: &'a PrimaryMap<ModuleIndex, ModuleInfo<'data>>,
    /// The program's parsed components.
    pub components: &'a [StaticComponent<'data>],
    /// The program's component state.
    pub state: &'a mut ComponentState,
    ops: Vec<InitOp>,
    depth: usize,
    host: bool,
    /// Whether the root component's imports that are not WASI interfaces
    /// are native functions of the user's (see [`Flattener::with_native_imports`]).
    native_imports: bool,
    /// The resource types of the native imports, which the user's native
    /// code implements (their handles may cross to it).
    native_resources: HashSet<ResourceIndex>,
    /// The component instances being instantiated, innermost last.
    parents: Vec<ComponentInstanceIndex>,
}

fn link_error<T>(message: String, offset: u64) -> Result<T> {
    Err(CompileError::Link { message, offset })
}

impl<'a, 'data> Flattener<'a, 'data> {
    /// A flattener adding to `state`.
    pub fn new(
        modules: &'a PrimaryMap<ModuleIndex, ModuleInfo<'data>>,
        components: &'a [StaticComponent<'data>],
        state: &'a mut ComponentState,
    ) -> Self {
        Flattener {
            modules,
            components,
            state,
            ops: Vec::new(),
            depth: 0,
            host: false,
            native_imports: false,
            native_resources: HashSet::new(),
            parents: Vec::new(),
        }
    }

    /// Binds the root component's imports that no argument provides to the
    /// WASI host (`smelt-wit`), by interface name, any `0.2.x` version.
    pub fn with_host(mut self) -> Self {
        self.host = true;
        self
    }

    /// With [`Flattener::with_host`]: binds the root component's imports
    /// that are not WASI interfaces (whose names do not start with `wasi:`)
    /// to native functions that the user's code implements, one
    /// `TrampolineKind::Native` per lowering. Their types may not hold
    /// handles, streams, futures or error contexts.
    pub fn with_native_imports(mut self) -> Self {
        self.native_imports = true;
        self
    }

    /// Instantiates root component `index` with `args` bound to its
    /// imports.
    pub fn instantiate_root(
        mut self,
        index: usize,
        args: HashMap<String, ItemDef>,
    ) -> Result<Instantiation> {
        let def = ComponentDef {
            index,
            closure: Rc::new(Closure::default()),
        };
        let instance = self.instantiate(&def, args)?;
        Ok(Instantiation {
            ops: self.ops,
            instance,
        })
    }

    fn new_trampoline(
        &mut self,
        kind: TrampolineKind,
        signature: Option<CoreSignature>,
        type_id: u32,
        refs: TrampolineRefs<Ref>,
    ) -> TrampolineIndex {
        let t = TrampolineIndex::from_u32(self.state.trampolines.len() as u32);
        self.state.trampolines.push(TrampolineDef {
            kind,
            signature,
            type_id,
        });
        self.ops.push(InitOp::Trampoline {
            trampoline: t,
            refs,
        });
        t
    }

    /// Creates the adapter through which the host calls `func` (lowering
    /// it `async` when `async_lower`: the host then has several calls in
    /// progress at once); returns the trampoline and the function type.
    ///
    /// # Errors
    ///
    /// When `func` is the host's own function (a component re-exporting a
    /// WASI import).
    pub fn host_entry(
        &mut self,
        func: &FuncDef,
        async_lower: bool,
    ) -> Result<(TrampolineIndex, FuncTypeIndex)> {
        let l = match func {
            FuncDef::Lifted(l) => l,
            FuncDef::Host(h) => {
                return Err(CompileError::unsupported(
                    format!("exporting the host function `{}` back to the host", h.name),
                    0,
                ));
            }
            FuncDef::Native(n) => {
                return Err(CompileError::unsupported(
                    format!("exporting the native import `{}` back to the host", n.key),
                    0,
                ));
            }
        };
        let host = CanonOptions {
            memory: true,
            realloc: true,
            async_: async_lower,
            ..CanonOptions::plain(StringEncoding::Utf8)
        };
        let kind = TrampolineKind::Adapter {
            func: l.ty,
            caller: host,
            callee: l.options.abi(),
        };
        let refs = TrampolineRefs::Adapter {
            caller: SideRefs {
                instance: Ref::Host,
                memory: Ref::Host,
                realloc: Ref::Host,
            },
            callee: side_refs(l.instance, &l.options),
            func: l.func.to_ref(),
            post_return: option_ref(l.options.post_return),
            callback: option_ref(l.options.callback),
        };
        Ok((self.new_trampoline(kind, None, 0, refs), l.ty))
    }

    /// The initializers added since the last call.
    pub fn take_ops(&mut self) -> Vec<InitOp> {
        std::mem::take(&mut self.ops)
    }

    fn instantiate(
        &mut self,
        def: &ComponentDef,
        args: HashMap<String, ItemDef>,
    ) -> Result<Rc<InstanceDef>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::unsupported(
                format!("components nested more than {MAX_DEPTH} instantiations deep"),
                0,
            ));
        }
        let component = &self.components[def.index];
        let instance = ComponentInstanceIndex::from_u32(self.state.component_instances);
        self.state.component_instances += 1;
        self.ops.push(InitOp::ComponentInstance {
            parent: self.parents.last().copied(),
        });
        self.parents.push(instance);
        let mut resources = HashMap::new();
        let mut c = Some(&def.closure);
        while let Some(closure) = c {
            for (k, v) in &closure.resources {
                resources.entry(*k).or_insert(*v);
            }
            c = closure.parent.as_ref();
        }
        let mut frame = Frame {
            types: component.types(),
            instance,
            args,
            closure: def.closure.clone(),
            core_funcs: Vec::new(),
            core_tables: Vec::new(),
            core_memories: Vec::new(),
            core_globals: Vec::new(),
            core_tags: Vec::new(),
            core_instances: Vec::new(),
            modules: Vec::new(),
            funcs: Vec::new(),
            instances: Vec::new(),
            components: Vec::new(),
            types_defs: Vec::new(),
            resources,
            exports: Vec::new(),
            offset: 0,
        };
        for (offset, item) in &component.items {
            frame.offset = *offset;
            self.item(&mut frame, item)?;
        }
        self.parents.pop();
        self.depth -= 1;
        Ok(Rc::new(InstanceDef {
            exports: frame.exports,
        }))
    }

    fn item(&mut self, f: &mut Frame<'_>, item: &Item<'data>) -> Result<()> {
        match item {
            Item::Import(import) => {
                let name = import.name.name;
                let arg = match f.args.get(name) {
                    Some(arg) => arg.clone(),
                    None if self.host && self.depth == 1 => {
                        if self.native_imports && !name.starts_with("wasi:") {
                            self.native_import(f, import)?
                        } else {
                            self.host_import(f, import)?
                        }
                    }
                    None => {
                        return link_error(
                            format!("no definition for the import `{name}`"),
                            f.offset,
                        );
                    }
                };
                self.push_item(f, import_kind(&import.ty), arg, name)?;
            }
            Item::Type(TypeItem::Resource { dtor }) => {
                let r = ResourceIndex::from_u32(self.state.resources);
                self.state.resources += 1;
                let dtor = dtor.map(|d| f.core_funcs[d as usize]);
                self.ops.push(InitOp::Resource {
                    instance: f.instance,
                    dtor: option_ref(dtor),
                });
                f.types_defs.push(TypeDef::Resource(r));
                self.bind_type(f, f.types_defs.len() - 1);
            }
            Item::Type(TypeItem::Other) => f.types_defs.push(TypeDef::Other),
            Item::Module(m) => f.modules.push(*m),
            Item::Component(index) => {
                let closure = Closure {
                    modules: f.modules.clone(),
                    components: f.components.clone(),
                    types: f.types_defs.clone(),
                    resources: f.resources.clone(),
                    parent: Some(f.closure.clone()),
                };
                f.components.push(ComponentDef {
                    index: *index,
                    closure: Rc::new(closure),
                });
            }
            Item::CoreInstance(instance) => self.core_instance(f, instance)?,
            Item::Instance(instance) => {
                let def = match instance {
                    wasmparser::ComponentInstance::Instantiate {
                        component_index,
                        args,
                    } => {
                        let component = f.components[*component_index as usize].clone();
                        let mut bound = HashMap::new();
                        for arg in args.iter() {
                            bound.insert(arg.name.to_string(), item_of(f, arg.kind, arg.index)?);
                        }
                        self.instantiate(&component, bound)?
                    }
                    wasmparser::ComponentInstance::FromExports(exports) => {
                        let mut def = InstanceDef::default();
                        for e in exports.iter() {
                            def.exports
                                .push((e.name.name.to_string(), item_of(f, e.kind, e.index)?));
                        }
                        Rc::new(def)
                    }
                };
                f.instances.push(def);
            }
            Item::Alias(alias) => self.alias(f, alias)?,
            Item::Canonical(canon) => self.canonical(f, canon)?,
            Item::Export(export) => {
                let item = item_of(f, export.kind, export.index)?;
                f.exports.push((export.name.name.to_string(), item.clone()));
                self.push_item(f, export.kind, item, export.name.name)?;
            }
        }
        Ok(())
    }

    /// Adds `item` to the index space of `kind` (imports, exports,
    /// aliases); binds resource types it introduces.
    fn push_item(
        &mut self,
        f: &mut Frame<'_>,
        kind: ComponentExternalKind,
        item: ItemDef,
        name: &str,
    ) -> Result<()> {
        match (kind, item) {
            (ComponentExternalKind::Func, ItemDef::Func(d)) => f.funcs.push(d),
            (ComponentExternalKind::Instance, ItemDef::Instance(d)) => {
                f.instances.push(d.clone());
                let ty = f.types.component_instance_at(f.instances.len() as u32 - 1);
                bind_instance(f, ty, &d);
            }
            (ComponentExternalKind::Type, ItemDef::Type(d)) => {
                f.types_defs.push(d);
                self.bind_type(f, f.types_defs.len() - 1);
            }
            (ComponentExternalKind::Component, ItemDef::Component(d)) => f.components.push(d),
            (ComponentExternalKind::Module, ItemDef::Module(d)) => f.modules.push(d),
            (kind, _) => {
                return link_error(format!("`{name}` is not a {}", kind.desc()), f.offset);
            }
        }
        Ok(())
    }

    /// Binds the resource id of type index `index` to its runtime type.
    fn bind_type(&self, f: &mut Frame<'_>, index: usize) {
        if let TypeDef::Resource(r) = f.types_defs[index]
            && let ComponentAnyTypeId::Resource(id) = f.types.component_any_type_at(index as u32)
        {
            f.resources.insert(id.resource(), r);
        }
    }

    fn core_instance(&mut self, f: &mut Frame<'_>, instance: &Instance<'data>) -> Result<()> {
        let def = match instance {
            Instance::Instantiate { module_index, args } => {
                let module = f.modules[*module_index as usize];
                let info = &self.modules[module];
                let mut by_name = HashMap::new();
                for arg in args.iter() {
                    by_name.insert(arg.name, f.core_instances[arg.index as usize].clone());
                }
                let mut imports = Vec::with_capacity(info.imports.len());
                for import in &info.imports {
                    let Some(from) = by_name.get(import.module.as_str()) else {
                        return link_error(
                            format!(
                                "no instance `{}` for the core module's imports",
                                import.module
                            ),
                            f.offset,
                        );
                    };
                    let def =
                        self.core_export(from, &import.name)
                            .ok_or_else(|| CompileError::Link {
                                message: format!("no export `{}::{}`", import.module, import.name),
                                offset: f.offset,
                            })?;
                    imports.push(def.to_ref());
                }
                let index = CoreInstanceIndex::from_u32(self.state.core_instances);
                self.state.core_instances += 1;
                self.ops.push(InitOp::CoreInstance {
                    module: module.index() as u32,
                    imports,
                });
                CoreInstanceDef::Instance { index, module }
            }
            Instance::FromExports(exports) => {
                let mut map = HashMap::new();
                for e in exports.iter() {
                    let space = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => &f.core_funcs,
                        ExternalKind::Table => &f.core_tables,
                        ExternalKind::Memory => &f.core_memories,
                        ExternalKind::Global => &f.core_globals,
                        ExternalKind::Tag => &f.core_tags,
                    };
                    map.insert(e.name.to_string(), space[e.index as usize]);
                }
                CoreInstanceDef::Synthetic(Rc::new(map))
            }
        };
        f.core_instances.push(def);
        Ok(())
    }

    /// Export `name` of a core instance.
    fn core_export(&self, instance: &CoreInstanceDef, name: &str) -> Option<CoreDef> {
        match instance {
            CoreInstanceDef::Synthetic(map) => map.get(name).copied(),
            CoreInstanceDef::Instance { index, module } => self.modules[*module]
                .exports
                .iter()
                .position(|e| e.name == name)
                .map(|export| CoreDef::Export {
                    instance: *index,
                    export: export as u32,
                }),
        }
    }

    fn alias(&mut self, f: &mut Frame<'_>, alias: &ComponentAlias<'data>) -> Result<()> {
        match alias {
            ComponentAlias::CoreInstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let instance = f.core_instances[*instance_index as usize].clone();
                let def = self
                    .core_export(&instance, name)
                    .ok_or_else(|| CompileError::Link {
                        message: format!("no core export `{name}`"),
                        offset: f.offset,
                    })?;
                match kind {
                    ExternalKind::Func | ExternalKind::FuncExact => f.core_funcs.push(def),
                    ExternalKind::Table => f.core_tables.push(def),
                    ExternalKind::Memory => f.core_memories.push(def),
                    ExternalKind::Global => f.core_globals.push(def),
                    ExternalKind::Tag => f.core_tags.push(def),
                }
            }
            ComponentAlias::InstanceExport {
                kind,
                instance_index,
                name,
            } => {
                let instance = f.instances[*instance_index as usize].clone();
                let Some(item) = instance.get(name).cloned() else {
                    return link_error(format!("the instance has no export `{name}`"), f.offset);
                };
                self.push_item(f, *kind, item, name)?;
            }
            ComponentAlias::Outer { kind, count, index } => {
                let i = *index as usize;
                if *count == 0 {
                    // The component's own index spaces.
                    match kind {
                        ComponentOuterAliasKind::CoreModule => f.modules.push(f.modules[i]),
                        ComponentOuterAliasKind::Component => {
                            f.components.push(f.components[i].clone());
                        }
                        ComponentOuterAliasKind::Type => {
                            f.types_defs.push(f.types_defs[i]);
                            self.bind_type(f, f.types_defs.len() - 1);
                        }
                        ComponentOuterAliasKind::CoreType => {}
                    }
                    return Ok(());
                }
                let mut closure = f.closure.clone();
                for _ in 1..*count {
                    closure = closure
                        .parent
                        .clone()
                        .expect("validated: outer alias depth");
                }
                match kind {
                    ComponentOuterAliasKind::CoreModule => f.modules.push(closure.modules[i]),
                    ComponentOuterAliasKind::Component => {
                        f.components.push(closure.components[i].clone());
                    }
                    ComponentOuterAliasKind::Type => {
                        f.types_defs.push(closure.types[i]);
                        self.bind_type(f, f.types_defs.len() - 1);
                    }
                    ComponentOuterAliasKind::CoreType => {}
                }
            }
        }
        Ok(())
    }

    fn options(&self, f: &Frame<'_>, options: &[CanonicalOption]) -> Result<Options> {
        let mut o = Options {
            encoding: StringEncoding::Utf8,
            memory: None,
            realloc: None,
            post_return: None,
            async_: false,
            callback: None,
        };
        for option in options {
            match option {
                CanonicalOption::UTF8 => o.encoding = StringEncoding::Utf8,
                CanonicalOption::UTF16 => o.encoding = StringEncoding::Utf16,
                CanonicalOption::CompactUTF16 => o.encoding = StringEncoding::Latin1Utf16,
                CanonicalOption::Memory(m) => o.memory = Some(f.core_memories[*m as usize]),
                CanonicalOption::Realloc(r) => o.realloc = Some(f.core_funcs[*r as usize]),
                CanonicalOption::PostReturn(p) => o.post_return = Some(f.core_funcs[*p as usize]),
                CanonicalOption::CoreType(_) => {}
                CanonicalOption::Async => o.async_ = true,
                CanonicalOption::Callback(c) => o.callback = Some(f.core_funcs[*c as usize]),
                CanonicalOption::Gc => {
                    return Err(CompileError::unsupported(
                        "the GC canonical option",
                        f.offset,
                    ));
                }
            }
        }
        Ok(o)
    }

    fn canonical(&mut self, f: &mut Frame<'_>, canon: &CanonicalFunction) -> Result<()> {
        match canon {
            CanonicalFunction::Lift {
                core_func_index,
                type_index,
                options,
            } => {
                let ComponentAnyTypeId::Func(id) = f.types.component_any_type_at(*type_index)
                else {
                    unreachable!("validated: lift takes a function type");
                };
                let ty = Converter {
                    types: f.types,
                    resources: &f.resources,
                    offset: f.offset,
                }
                .func(&mut self.state.types, id)?;
                let options = self.options(f, options)?;
                f.funcs.push(FuncDef::Lifted(Rc::new(Lifted {
                    func: f.core_funcs[*core_func_index as usize],
                    ty,
                    options,
                    instance: f.instance,
                })));
            }
            CanonicalFunction::Lower {
                func_index,
                options,
            } => {
                let options = self.options(f, options)?;
                let callee = match f.funcs[*func_index as usize].clone() {
                    FuncDef::Lifted(callee) => callee,
                    FuncDef::Host(h) => {
                        // An async lowering returns a subtask when the host
                        // function does not finish at once (CanonicalABI.md
                        // `canon_lower`), whether or not its type is `async`.
                        let ty = &self.state.types.funcs[h.ty.index()];
                        let signature = self.state.types.table.core_signature_with(
                            ty,
                            Context::Lower,
                            options.async_,
                            false,
                        );
                        let kind = TrampolineKind::Host {
                            func: h.func,
                            ty: h.ty,
                            options: options.abi(),
                        };
                        let refs = TrampolineRefs::Host(side_refs(f.instance, &options));
                        self.push_trampoline(f, kind, signature, refs);
                        return Ok(());
                    }
                    FuncDef::Native(n) => {
                        if options.async_ {
                            return Err(CompileError::unsupported(
                                format!("an async lowering of the native import `{}`", n.key),
                                f.offset,
                            ));
                        }
                        let ty = &self.state.types.funcs[n.ty.index()];
                        let signature = self.state.types.table.core_signature_with(
                            ty,
                            Context::Lower,
                            false,
                            false,
                        );
                        let kind = TrampolineKind::Native {
                            key: n.key.clone(),
                            ty: n.ty,
                            options: options.abi(),
                        };
                        let refs = TrampolineRefs::Host(side_refs(f.instance, &options));
                        self.push_trampoline(f, kind, signature, refs);
                        return Ok(());
                    }
                };
                let ty = &self.state.types.funcs[callee.ty.index()];
                let signature = self.state.types.table.core_signature_with(
                    ty,
                    Context::Lower,
                    options.async_,
                    false,
                );
                let kind = TrampolineKind::Adapter {
                    func: callee.ty,
                    caller: options.abi(),
                    callee: callee.options.abi(),
                };
                let refs = TrampolineRefs::Adapter {
                    caller: side_refs(f.instance, &options),
                    callee: side_refs(callee.instance, &callee.options),
                    func: callee.func.to_ref(),
                    post_return: option_ref(callee.options.post_return),
                    callback: option_ref(callee.options.callback),
                };
                self.push_trampoline(f, kind, signature, refs);
            }
            CanonicalFunction::ResourceNew { resource }
            | CanonicalFunction::ResourceRep { resource }
            | CanonicalFunction::ResourceDrop { resource } => {
                let ComponentAnyTypeId::Resource(id) = f.types.component_any_type_at(*resource)
                else {
                    unreachable!("validated: a resource type");
                };
                let r = *f.resources.get(&id.resource()).ok_or_else(|| {
                    CompileError::unsupported("a resource type that is not bound", f.offset)
                })?;
                use smelt_abi::component::FlatType::I32;
                let (kind, results) = match canon {
                    CanonicalFunction::ResourceNew { .. } => {
                        (TrampolineKind::ResourceNew { resource: r }, vec![I32])
                    }
                    CanonicalFunction::ResourceRep { .. } => {
                        (TrampolineKind::ResourceRep { resource: r }, vec![I32])
                    }
                    _ => (TrampolineKind::ResourceDrop { resource: r }, vec![]),
                };
                let signature = CoreSignature {
                    params: vec![I32],
                    results,
                    params_indirect: false,
                    results_indirect: false,
                };
                let refs = TrampolineRefs::Resource {
                    instance: Ref::ComponentInstance(f.instance),
                };
                self.push_trampoline(f, kind, signature, refs);
            }
            other => self.builtin(f, other)?,
        }
        Ok(())
    }

    /// An async built-in (task, subtask, waitable set, stream, future and
    /// error-context operations) as a trampoline; its core signature is
    /// the one the validator gave the core function.
    fn builtin(&mut self, f: &mut Frame<'_>, canon: &CanonicalFunction) -> Result<()> {
        use CanonicalFunction as C;
        let mut b = Builtin {
            op: BuiltinOp::TaskCancel,
            ty: None,
            slot: 0,
            async_: false,
            options: CanonOptions::plain(StringEncoding::Utf8),
        };
        let mut options = None;
        let mut memory = None;
        let mut start = None;
        let ty_at = |this: &mut Self, f: &Frame<'_>, index: u32| {
            Converter {
                types: f.types,
                resources: &f.resources,
                offset: f.offset,
            }
            .defined_at(&mut this.state.types, index)
        };
        match canon {
            C::TaskReturn { result, options: o } => {
                b.op = BuiltinOp::TaskReturn;
                b.ty = result
                    .map(|t| {
                        let t = match t {
                            wasmparser::ComponentValType::Primitive(p) => {
                                wasmparser::component_types::ComponentValType::Primitive(p)
                            }
                            wasmparser::ComponentValType::Type(i) => {
                                match f.types.component_any_type_at(i) {
                                    ComponentAnyTypeId::Defined(id) => {
                                        wasmparser::component_types::ComponentValType::Type(id)
                                    }
                                    _ => unreachable!("validated: a value type"),
                                }
                            }
                        };
                        Converter {
                            types: f.types,
                            resources: &f.resources,
                            offset: f.offset,
                        }
                        .val(&mut self.state.types, t)
                    })
                    .transpose()?;
                options = Some(self.options(f, o)?);
            }
            C::TaskCancel => b.op = BuiltinOp::TaskCancel,
            C::ContextGet { slot, .. } => {
                b.op = BuiltinOp::ContextGet;
                b.slot = *slot;
            }
            C::ContextSet { slot, .. } => {
                b.op = BuiltinOp::ContextSet;
                b.slot = *slot;
            }
            C::BackpressureInc => b.op = BuiltinOp::BackpressureInc,
            C::BackpressureDec => b.op = BuiltinOp::BackpressureDec,
            C::ThreadYield => b.op = BuiltinOp::Yield,
            C::SubtaskDrop => b.op = BuiltinOp::SubtaskDrop,
            C::SubtaskCancel { async_ } => {
                b.op = BuiltinOp::SubtaskCancel;
                b.async_ = *async_;
            }
            C::WaitableSetNew => b.op = BuiltinOp::WaitableSetNew,
            C::WaitableSetWait { memory: m } => {
                b.op = BuiltinOp::WaitableSetWait;
                memory = Some(f.core_memories[*m as usize]);
            }
            C::WaitableSetPoll { memory: m } => {
                b.op = BuiltinOp::WaitableSetPoll;
                memory = Some(f.core_memories[*m as usize]);
            }
            C::WaitableSetDrop => b.op = BuiltinOp::WaitableSetDrop,
            C::WaitableJoin => b.op = BuiltinOp::WaitableJoin,
            C::StreamNew { ty } | C::FutureNew { ty } => {
                b.op = if matches!(canon, C::StreamNew { .. }) {
                    BuiltinOp::StreamNew
                } else {
                    BuiltinOp::FutureNew
                };
                b.ty = Some(ty_at(self, f, *ty)?);
            }
            C::StreamRead { ty, options: o }
            | C::StreamWrite { ty, options: o }
            | C::FutureRead { ty, options: o }
            | C::FutureWrite { ty, options: o } => {
                b.op = match canon {
                    C::StreamRead { .. } => BuiltinOp::StreamRead,
                    C::StreamWrite { .. } => BuiltinOp::StreamWrite,
                    C::FutureRead { .. } => BuiltinOp::FutureRead,
                    _ => BuiltinOp::FutureWrite,
                };
                b.ty = Some(ty_at(self, f, *ty)?);
                options = Some(self.options(f, o)?);
            }
            C::StreamCancelRead { ty, async_ }
            | C::StreamCancelWrite { ty, async_ }
            | C::FutureCancelRead { ty, async_ }
            | C::FutureCancelWrite { ty, async_ } => {
                b.op = match canon {
                    C::StreamCancelRead { .. } => BuiltinOp::StreamCancelRead,
                    C::StreamCancelWrite { .. } => BuiltinOp::StreamCancelWrite,
                    C::FutureCancelRead { .. } => BuiltinOp::FutureCancelRead,
                    _ => BuiltinOp::FutureCancelWrite,
                };
                b.ty = Some(ty_at(self, f, *ty)?);
                b.async_ = *async_;
            }
            C::StreamDropReadable { ty }
            | C::StreamDropWritable { ty }
            | C::FutureDropReadable { ty }
            | C::FutureDropWritable { ty } => {
                b.op = match canon {
                    C::StreamDropReadable { .. } => BuiltinOp::StreamDropReadable,
                    C::StreamDropWritable { .. } => BuiltinOp::StreamDropWritable,
                    C::FutureDropReadable { .. } => BuiltinOp::FutureDropReadable,
                    _ => BuiltinOp::FutureDropWritable,
                };
                b.ty = Some(ty_at(self, f, *ty)?);
            }
            C::ErrorContextNew { options: o } | C::ErrorContextDebugMessage { options: o } => {
                b.op = if matches!(canon, C::ErrorContextNew { .. }) {
                    BuiltinOp::ErrorContextNew
                } else {
                    BuiltinOp::ErrorContextDebugMessage
                };
                options = Some(self.options(f, o)?);
            }
            C::ErrorContextDrop => b.op = BuiltinOp::ErrorContextDrop,
            C::ThreadIndex => b.op = BuiltinOp::ThreadIndex,
            C::ThreadSuspend => b.op = BuiltinOp::ThreadSuspend,
            C::ThreadResumeLater => b.op = BuiltinOp::ThreadResumeLater,
            C::ThreadSuspendThenResume => b.op = BuiltinOp::ThreadSuspendThenResume,
            C::ThreadYieldThenResume => b.op = BuiltinOp::ThreadYieldThenResume,
            C::ThreadNewIndirect { table_index, .. } => {
                // The helper module, instantiated with the table, calls
                // the thread's start function.
                b.op = BuiltinOp::ThreadNewIndirect;
                let helper = self
                    .state
                    .thread_helper
                    .expect("parsing added the thread helper");
                let table = f.core_tables[*table_index as usize];
                self.ops.push(InitOp::CoreInstance {
                    module: helper.index() as u32,
                    imports: vec![table.to_ref()],
                });
                let instance = CoreInstanceIndex::from_u32(self.state.core_instances);
                self.state.core_instances += 1;
                start = Some(CoreDef::Export {
                    instance,
                    export: 0,
                });
            }
            other => {
                return Err(CompileError::unsupported(
                    format!("the canonical built-in {}", builtin_name(other)),
                    f.offset,
                ));
            }
        }
        let mut realloc = None;
        if let Some(o) = options {
            b.options = o.abi();
            memory = memory.or(o.memory);
            realloc = o.realloc;
        }
        b.options.memory |= memory.is_some();
        let type_id = f.types.core_function_at(f.core_funcs.len() as u32);
        let func = f.types[type_id].unwrap_func();
        let flat = |t: &wasmparser::ValType| match t {
            wasmparser::ValType::I32 => Ok(FlatType::I32),
            wasmparser::ValType::I64 => Ok(FlatType::I64),
            wasmparser::ValType::F32 => Ok(FlatType::F32),
            wasmparser::ValType::F64 => Ok(FlatType::F64),
            _ => Err(CompileError::unsupported(
                "a built-in with a non-numeric core type",
                f.offset,
            )),
        };
        let signature = CoreSignature {
            params: func.params().iter().map(flat).collect::<Result<_>>()?,
            results: func.results().iter().map(flat).collect::<Result<_>>()?,
            params_indirect: false,
            results_indirect: false,
        };
        let refs = TrampolineRefs::Builtin {
            caller: SideRefs {
                instance: Ref::ComponentInstance(f.instance),
                memory: option_ref(memory),
                realloc: option_ref(realloc),
            },
            start: option_ref(start),
        };
        self.push_trampoline(f, TrampolineKind::Builtin(b), signature, refs);
        Ok(())
    }

    /// The host's instance for the root component's import `import`:
    /// a WASI interface (`wasi:io/streams@0.2.x`, `wasi:cli/stdout@0.3.x`).
    /// Its functions become host functions, typed as the component sees
    /// them; its resource types are the host's (or, for a type the instance
    /// type only re-exports, the resource an earlier import bound).
    fn host_import(
        &mut self,
        f: &mut Frame<'_>,
        import: &wasmparser::ComponentImport<'data>,
    ) -> Result<ItemDef> {
        let name = import.name.name;
        let ComponentTypeRef::Instance(_) = import.ty else {
            return link_error(
                format!(
                    "the component imports `{name}`, which smelt's host does not provide \
                     (it provides the WASI 0.2 and 0.3 interfaces, as instances)"
                ),
                f.offset,
            );
        };
        let world = smelt_wit::wasi_minor(name).and_then(smelt_wit::world);
        let Some(world) = world.filter(|w| w.has_interface(name)) else {
            return link_error(
                format!(
                    "the component imports `{name}`, which smelt's host does not provide \
                     (it provides the WASI 0.2 interfaces of wasi:cli, wasi:io, wasi:clocks, \
                     wasi:random, wasi:filesystem, wasi:sockets and wasi:http, and the \
                     WASI 0.3 interfaces of wasi:cli, wasi:clocks, wasi:random, \
                     wasi:filesystem, wasi:sockets and wasi:http){}",
                    if name.starts_with("wasi:") {
                        ""
                    } else {
                        "; native code can implement it: see `smelt build --emit header` and \
                         `--link`"
                    }
                ),
                f.offset,
            );
        };
        let version = if world.minor == 2 {
            "WASI 0.2"
        } else {
            "WASI 0.3"
        };
        let types = f.types;
        let ty = types.component_instance_at(f.instances.len() as u32);
        let mut exports = Vec::new();
        for (export, entity) in types[ty].exports.iter() {
            let item = match &entity.ty {
                ComponentEntityType::Type {
                    created: ComponentAnyTypeId::Resource(id),
                    ..
                } => {
                    let r = match f.resources.get(&id.resource()) {
                        Some(r) => *r,
                        None => world
                            .resource(name, export)
                            .ok_or_else(|| CompileError::Link {
                                message: format!(
                                    "the component imports resource `{export}` of `{name}`, \
                                     which smelt's host does not provide"
                                ),
                                offset: f.offset,
                            })?,
                    };
                    f.resources.insert(id.resource(), r);
                    ItemDef::Type(TypeDef::Resource(r))
                }
                ComponentEntityType::Type { .. } => ItemDef::Type(TypeDef::Other),
                ComponentEntityType::Func(id) => {
                    let Some((func, _)) = world.function(name, export) else {
                        return link_error(
                            format!(
                                "the component imports function `{export}` of `{name}`, \
                                 which smelt's host does not provide"
                            ),
                            f.offset,
                        );
                    };
                    let ty = Converter {
                        types,
                        resources: &f.resources,
                        offset: f.offset,
                    }
                    .func(&mut self.state.types, *id)?;
                    let wanted = world.import_signature(func);
                    let fty = &self.state.types.funcs[ty.index()];
                    let sig = self.state.types.table.core_signature(fty, Context::Lower);
                    // The structural check is what matters; the flat one
                    // guards the generated shim's calling convention.
                    let same = world.matches(func, fty, &self.state.types.table);
                    if (sig.params, sig.results) != wanted || !same {
                        return link_error(
                            format!(
                                "the component imports function `{export}` of `{name}` with a \
                                 type that is not the one of smelt's {version} host"
                            ),
                            f.offset,
                        );
                    }
                    ItemDef::Func(FuncDef::Host(Rc::new(HostFunc {
                        func,
                        ty,
                        name: format!("{name}#{export}"),
                    })))
                }
                _ => {
                    return link_error(
                        format!(
                            "the component imports `{export}` of `{name}` as something other \
                             than a function or a type, which smelt's host does not provide"
                        ),
                        f.offset,
                    );
                }
            };
            exports.push((export.clone(), item));
        }
        Ok(ItemDef::Instance(Rc::new(InstanceDef { exports })))
    }

    /// The root component's import `import`, not a WASI interface, as
    /// native functions (see [`Flattener::with_native_imports`]): a
    /// function, or an instance of functions (and of types that are not
    /// resources).
    fn native_import(
        &mut self,
        f: &mut Frame<'_>,
        import: &wasmparser::ComponentImport<'data>,
    ) -> Result<ItemDef> {
        let name = import.name.name;
        let types = f.types;
        match import.ty {
            ComponentTypeRef::Func(_) => {
                let id = types.component_function_at(f.funcs.len() as u32);
                let func = self.native_func(f, name.to_string(), id)?;
                Ok(ItemDef::Func(func))
            }
            ComponentTypeRef::Instance(_) => {
                let ty = types.component_instance_at(f.instances.len() as u32);
                let mut exports = Vec::new();
                for (export, entity) in types[ty].exports.iter() {
                    let item = match &entity.ty {
                        ComponentEntityType::Func(id) => {
                            ItemDef::Func(self.native_func(f, format!("{name}#{export}"), *id)?)
                        }
                        ComponentEntityType::Type {
                            created: ComponentAnyTypeId::Resource(id),
                            ..
                        } => {
                            let r = self.native_resource(f, name, export);
                            f.resources.insert(id.resource(), r);
                            ItemDef::Type(TypeDef::Resource(r))
                        }
                        ComponentEntityType::Type { .. } => ItemDef::Type(TypeDef::Other),
                        _ => {
                            return link_error(
                                format!(
                                    "the component imports `{export}` of `{name}` as something \
                                     other than a function or a type, which native code cannot \
                                     provide"
                                ),
                                f.offset,
                            );
                        }
                    };
                    exports.push((export.clone(), item));
                }
                Ok(ItemDef::Instance(Rc::new(InstanceDef { exports })))
            }
            _ => link_error(
                format!(
                    "the component imports `{name}`, which is neither a WASI interface nor a \
                     function or instance that native code can provide"
                ),
                f.offset,
            ),
        }
    }

    /// A new resource type `resource` of the native import `import`, which
    /// the user's native code implements: the host's, its handles'
    /// representations the implementation's own, and its destructor the
    /// native function `<import>#[dtor]<resource>`, of type `func(rep:
    /// u32)` (the glue of the header's `P_impl_<interface>_<resource>_drop`).
    fn native_resource(&mut self, f: &Frame<'_>, import: &str, resource: &str) -> ResourceIndex {
        let rep = self.state.types.unlabeled(ValType::U32);
        let ty = self.state.types.func(FuncType {
            params: vec![rep],
            result: None,
            async_: false,
        });
        // The runtime calls the destructor itself (a `resource.drop` of
        // the last handle): no code, no type for `call_indirect`.
        let options = self.options(f, &[]).expect("no options to check");
        let kind = TrampolineKind::Native {
            key: format!("{import}#[dtor]{resource}"),
            ty,
            options: options.abi(),
        };
        let refs = TrampolineRefs::Host(side_refs(f.instance, &options));
        let dtor = self.new_trampoline(kind, None, u32::MAX, refs);
        let r = ResourceIndex::from_u32(self.state.resources);
        self.state.resources += 1;
        self.ops.push(InitOp::Resource {
            instance: HOST_INSTANCE,
            dtor: Ref::Trampoline(dtor),
        });
        self.native_resources.insert(r);
        r
    }

    /// The native function `key` of type `id` (as `f` sees it).
    fn native_func(
        &mut self,
        f: &Frame<'_>,
        key: String,
        id: ComponentFuncTypeId,
    ) -> Result<FuncDef> {
        let ty = Converter {
            types: f.types,
            resources: &f.resources,
            offset: f.offset,
        }
        .func(&mut self.state.types, id)?;
        let fty = &self.state.types.funcs[ty.index()];
        let table = &self.state.types.table;
        if let Some(what) = fty
            .params
            .iter()
            .chain(&fty.result)
            .find_map(|&t| not_native(table, &self.native_resources, t))
        {
            return link_error(
                format!(
                    "the component imports function `{key}`, whose type holds {what}: \
                     native imports cannot pass it yet"
                ),
                f.offset,
            );
        }
        Ok(FuncDef::Native(Rc::new(NativeFunc { key, ty })))
    }

    /// Adds a trampoline that core instances import as the next core
    /// function of `f`.
    fn push_trampoline(
        &mut self,
        f: &mut Frame<'_>,
        kind: TrampolineKind,
        signature: CoreSignature,
        refs: TrampolineRefs<Ref>,
    ) {
        let type_id = f.types.core_function_at(f.core_funcs.len() as u32).index() as u32;
        let t = self.new_trampoline(kind, Some(signature), type_id, refs);
        f.core_funcs.push(CoreDef::Trampoline(t));
    }
}

/// Binds the resource types exported by an instance of type `ty` (as seen
/// from `f`) to those of its definition `def`.
fn bind_instance(f: &mut Frame<'_>, ty: ComponentInstanceTypeId, def: &InstanceDef) {
    let types = f.types;
    let mut pending = vec![(ty, def)];
    while let Some((ty, def)) = pending.pop() {
        for (name, item) in types[ty].exports.iter() {
            match (&item.ty, def.get(name.as_str())) {
                (
                    ComponentEntityType::Type {
                        created: ComponentAnyTypeId::Resource(id),
                        ..
                    },
                    Some(ItemDef::Type(TypeDef::Resource(r))),
                ) => {
                    f.resources.insert(id.resource(), *r);
                }
                (ComponentEntityType::Instance(inner), Some(ItemDef::Instance(d))) => {
                    pending.push((*inner, d));
                }
                _ => {}
            }
        }
    }
}

/// What in type `ty` native code cannot pass (a handle of a resource
/// type that is not one of `native`, those native code implements; a
/// stream, a future or an error context), if anything.
fn not_native(
    table: &smelt_abi::component::TypeTable,
    native: &HashSet<ResourceIndex>,
    ty: TypeId,
) -> Option<&'static str> {
    let inner = |t: TypeId| not_native(table, native, t);
    match table.get(ty) {
        ValType::Own(r) | ValType::Borrow(r) if native.contains(r) => None,
        ValType::Own(_) | ValType::Borrow(_) => {
            Some("a handle of a resource that native code does not implement")
        }
        ValType::Stream(_) => Some("a stream"),
        ValType::Future(_) => Some("a future"),
        ValType::ErrorContext => Some("an error-context"),
        ValType::List(e) => inner(*e),
        ValType::Record(fields) => fields.iter().find_map(|&t| inner(t)),
        ValType::Variant(cases) => cases.iter().flatten().find_map(|&t| inner(t)),
        _ => None,
    }
}

/// The kind of item an import declares.
fn import_kind(ty: &ComponentTypeRef) -> ComponentExternalKind {
    match ty {
        ComponentTypeRef::Module(_) => ComponentExternalKind::Module,
        ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
        ComponentTypeRef::Value(_) => ComponentExternalKind::Value,
        ComponentTypeRef::Type(TypeBounds::Eq(_) | TypeBounds::SubResource) => {
            ComponentExternalKind::Type
        }
        ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
        ComponentTypeRef::Component(_) => ComponentExternalKind::Component,
    }
}

/// The item with `index` in the index space of `kind`.
fn item_of(f: &Frame<'_>, kind: ComponentExternalKind, index: u32) -> Result<ItemDef> {
    let i = index as usize;
    Ok(match kind {
        ComponentExternalKind::Func => ItemDef::Func(f.funcs[i].clone()),
        ComponentExternalKind::Instance => ItemDef::Instance(f.instances[i].clone()),
        ComponentExternalKind::Type => ItemDef::Type(f.types_defs[i]),
        ComponentExternalKind::Component => ItemDef::Component(f.components[i].clone()),
        ComponentExternalKind::Module => ItemDef::Module(f.modules[i]),
        ComponentExternalKind::Value => {
            return Err(CompileError::unsupported("component values", f.offset));
        }
    })
}

fn builtin_name(canon: &CanonicalFunction) -> String {
    let debug = format!("{canon:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or(&debug)
        .to_string()
}
