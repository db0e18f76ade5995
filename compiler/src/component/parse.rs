//! Parsing a component into its static structure.
//!
//! In: a component's bytes. Out: one [`StaticComponent`] per component in
//! it (the root and every nested one), each the list of its definitions in
//! order, with the types the validator computed; and every core module in
//! it, parsed into the program like a standalone module. Nothing is
//! instantiated here: a nested component can be instantiated any number of
//! times by [`super::flatten`].

use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExport, ComponentImport, ComponentInstance,
    ComponentType, Encoding, Instance, Parser, Payload, ValidPayload, Validator,
};

use crate::core::module::ModuleBuilder;
use crate::core::types::ModuleIndex;
use crate::error::{CompileError, Result};
use crate::program::ProgramBuilder;

/// A type definition, as far as instantiation cares.
#[derive(Debug, Clone, Copy)]
pub enum TypeItem {
    /// A resource type, with its destructor (a core function index).
    Resource {
        /// The destructor.
        dtor: Option<u32>,
    },
    /// Any other type.
    Other,
}

/// One definition of a component, in order.
#[derive(Debug)]
pub enum Item<'data> {
    /// An import.
    Import(ComponentImport<'data>),
    /// A core module defined inline.
    Module(ModuleIndex),
    /// A core instance.
    CoreInstance(Instance<'data>),
    /// A component defined inline (index in the program's components).
    Component(usize),
    /// A component instance.
    Instance(ComponentInstance<'data>),
    /// An alias.
    Alias(ComponentAlias<'data>),
    /// A type definition.
    Type(TypeItem),
    /// A `canon` definition.
    Canonical(CanonicalFunction),
    /// An export.
    Export(ComponentExport<'data>),
}

/// A component's definitions and types.
pub struct StaticComponent<'data> {
    /// Its definitions, each with its byte offset.
    pub items: Vec<(u64, Item<'data>)>,
    /// Its types (set when its end is parsed).
    pub types: Option<wasmparser::types::Types>,
}

impl StaticComponent<'_> {
    fn new() -> Self {
        StaticComponent {
            items: Vec::new(),
            types: None,
        }
    }

    /// Its types.
    pub fn types(&self) -> wasmparser::types::TypesRef<'_> {
        self.types.as_ref().expect("parsed to its end").as_ref()
    }
}

enum Frame<'data> {
    Module(Box<ModuleBuilder<'data>>),
    Component(Box<StaticComponent<'data>>),
}

fn unsupported<T>(what: &str, offset: u64) -> Result<T> {
    Err(CompileError::unsupported(what, offset))
}

/// Adds the definitions of one section to `c`.
fn section<'data>(c: &mut StaticComponent<'data>, payload: &Payload<'data>) -> Result<()> {
    match payload {
        Payload::ComponentImportSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, import) = item?;
                c.items.push((offset, Item::Import(import)));
            }
        }
        Payload::ComponentTypeSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, ty) = item?;
                let ty = match ty {
                    ComponentType::Resource { dtor, .. } => TypeItem::Resource { dtor },
                    _ => TypeItem::Other,
                };
                c.items.push((offset, Item::Type(ty)));
            }
        }
        Payload::ComponentAliasSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, alias) = item?;
                c.items.push((offset, Item::Alias(alias)));
            }
        }
        Payload::InstanceSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, instance) = item?;
                c.items.push((offset, Item::CoreInstance(instance)));
            }
        }
        Payload::ComponentInstanceSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, instance) = item?;
                c.items.push((offset, Item::Instance(instance)));
            }
        }
        Payload::ComponentCanonicalSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, canon) = item?;
                c.items.push((offset, Item::Canonical(canon)));
            }
        }
        Payload::ComponentExportSection(r) => {
            for item in r.clone().into_iter_with_offsets() {
                let (offset, export) = item?;
                c.items.push((offset, Item::Export(export)));
            }
        }
        Payload::ComponentStartSection { range, .. } => {
            return unsupported("component start functions (value imports)", range.start);
        }
        _ => {}
    }
    Ok(())
}

/// Parses and validates a component into `program`; returns the index of
/// its root in the program's components. `validator` handling is as for
/// core modules (see `crate::core::module::parse`).
pub fn parse<'data>(program: &mut ProgramBuilder<'data>, bytes: &'data [u8]) -> Result<usize> {
    let mut scratch = Validator::new_with_features(crate::core::features());
    scratch.validate_all(bytes)?;
    let mut validator = std::mem::replace(
        &mut program.validator,
        Validator::new_with_features(crate::core::features()),
    );
    let first = program.components.len();
    let result = parse_with(program, &mut validator, bytes);
    validator.reset();
    program.validator = validator;
    let root = result?;
    let uses_threads = program.components[first..].iter().any(|c| {
        c.items.iter().any(|(_, item)| {
            matches!(
                item,
                Item::Canonical(CanonicalFunction::ThreadNewIndirect { .. })
            )
        })
    });
    if uses_threads && program.component_state.thread_helper.is_none() {
        program.component_state.thread_helper = Some(thread_helper(program)?);
    }
    Ok(root)
}

/// The core module through which the runtime starts a thread of
/// `thread.new-indirect`: its export `start(index, arg)` calls element
/// `index` of the table it imports with `arg` (a `call_indirect`, so the
/// element's type is checked as the built-in requires). One per program,
/// instantiated once per use with the built-in's table.
fn thread_helper(program: &mut ProgramBuilder<'_>) -> Result<ModuleIndex> {
    const HELPER: &str = r#"(module
        (type $start (func (param i32)))
        (import "" "table" (table 0 funcref))
        (func (export "start") (param $index i32) (param $arg i32)
          (call_indirect (type $start) (local.get $arg) (local.get $index))))"#;
    let bytes = wat::parse_str(HELPER).expect("the thread helper is valid");
    program.add_module(Box::leak(bytes.into_boxed_slice()))
}

fn parse_with<'data>(
    program: &mut ProgramBuilder<'data>,
    validator: &mut Validator,
    bytes: &'data [u8],
) -> Result<usize> {
    let mut stack: Vec<Frame<'data>> = Vec::new();
    let mut error: Option<CompileError> = None;
    let mut root = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        match &payload {
            Payload::Version {
                encoding, range, ..
            } => match encoding {
                Encoding::Module => {
                    if stack.is_empty() {
                        return unsupported(
                            "a core module where a component is expected",
                            range.start,
                        );
                    }
                    stack.push(Frame::Module(Box::default()));
                }
                Encoding::Component => {
                    stack.push(Frame::Component(Box::new(StaticComponent::new())))
                }
            },
            Payload::End(_) => match stack.pop().expect("a frame per nesting level") {
                Frame::Module(mut builder) => {
                    if error.is_none() {
                        match builder.payload(&payload, valid) {
                            Ok(()) => {
                                let (info, bodies) = (*builder).finish();
                                let m = program.push_module(info, bodies);
                                if let Some(Frame::Component(parent)) = stack.last_mut() {
                                    parent.items.push((0, Item::Module(m)));
                                }
                            }
                            Err(e) => error = Some(e),
                        }
                    }
                }
                Frame::Component(mut c) => {
                    if let ValidPayload::End(types) = valid {
                        c.types = Some(types);
                    }
                    let index = program.components.len();
                    program.components.push(*c);
                    match stack.last_mut() {
                        Some(Frame::Component(parent)) => {
                            parent.items.push((0, Item::Component(index)));
                        }
                        Some(Frame::Module(_)) => unreachable!("modules contain no components"),
                        None => {
                            root = Some(index);
                            break;
                        }
                    }
                }
            },
            _ => {
                if error.is_some() {
                    continue;
                }
                let result = match stack.last_mut() {
                    Some(Frame::Module(builder)) => builder.payload(&payload, valid),
                    Some(Frame::Component(c)) => section(c, &payload),
                    None => Ok(()),
                };
                if let Err(e) = result {
                    error = Some(e);
                }
            }
        }
    }
    match (error, root) {
        (Some(e), _) => Err(e),
        (None, Some(root)) => Ok(root),
        (None, None) => unsupported("a component that does not end", bytes.len() as u64),
    }
}
