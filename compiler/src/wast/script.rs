//! Reading a `.wast` script into owned [`Step`]s.
//!
//! The `wast` crate's directives borrow the script text; this turns each
//! into a step that owns what the later passes need: encoded modules,
//! argument values as raw slots, and expected results as patterns.

use std::path::Path;

use anyhow::Result;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, Wat};

use super::cvalue::CVal;
use super::values::{self, Pattern};

/// A module's binary, or why it could not be encoded (a text-format
/// error, i.e. a malformed module).
pub type ModuleBytes = Result<Vec<u8>, String>;

/// What a step expects.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Completes normally, whatever it returns.
    Success,
    /// Returns values matching these patterns.
    Return(Vec<Pattern>),
    /// Traps (or exhausts the stack) with a message containing this.
    Trap(String),
    /// Throws an exception that no handler catches.
    Exception,
    /// Fails to link.
    Unlinkable,
}

/// An argument of an invocation.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A core value as a raw slot.
    Core(u128),
    /// A component value.
    Component(CVal),
}

/// An action on an instance.
#[derive(Debug, Clone)]
pub enum Action {
    /// Call an exported function.
    Invoke {
        /// Instance name (`None`: the most recent instance).
        instance: Option<String>,
        /// Export name.
        export: String,
        /// Arguments, or why they cannot be encoded.
        args: Result<Vec<Arg>, String>,
    },
    /// Read an exported global.
    Get {
        /// Instance name (`None`: the most recent instance).
        instance: Option<String>,
        /// Export name.
        export: String,
    },
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Defines a module or component, and instantiates it unless
    /// `instantiate` is false.
    Module {
        /// Its binary.
        module: ModuleBytes,
        /// Its name (for the definition and its instance).
        name: Option<String>,
        /// Whether to instantiate it now.
        instantiate: bool,
        /// Whether it is a component.
        component: bool,
    },
    /// Instantiates a defined module.
    Instance {
        /// Name of the new instance.
        instance: Option<String>,
        /// The module definition (`None`: the most recent).
        module: Option<String>,
    },
    /// Makes an instance's exports importable under `name`.
    Register {
        /// Import module name.
        name: String,
        /// Instance (`None`: the most recent).
        instance: Option<String>,
    },
    /// Runs an action and checks what it does.
    Action {
        /// The action.
        action: Action,
        /// What it must do.
        expect: Expect,
    },
    /// Instantiates a module that must fail to (trap or not link).
    AssertInstantiate {
        /// Its binary.
        module: ModuleBytes,
        /// How it must fail.
        expect: Expect,
        /// Whether it is a component.
        component: bool,
    },
    /// A module that must fail to decode or validate.
    AssertRejected {
        /// Its binary.
        module: ModuleBytes,
        /// The expected error message.
        message: String,
    },
    /// Runs `steps` on a new thread (threads proposal), which sees the
    /// instance (and module definition) named `shared`, if any.
    Thread {
        /// The thread's name, for `wait`.
        name: String,
        /// The name the thread shares with the script.
        shared: Option<String>,
        /// What the thread does.
        steps: Vec<Step>,
    },
    /// Waits for the thread named `thread` to finish.
    Wait {
        /// The thread.
        thread: String,
    },
    /// Something smelt does not support yet.
    Unsupported(String),
}

/// One step with its line in the script (1-based).
#[derive(Debug, Clone)]
pub struct Step {
    /// Line of the directive.
    pub line: usize,
    /// What it does.
    pub kind: StepKind,
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

fn encode(mut module: QuoteWat<'_>) -> ModuleBytes {
    module.encode().map_err(|e| e.to_string())
}

fn encode_wat(mut module: Wat<'_>) -> ModuleBytes {
    module.encode().map_err(|e| e.to_string())
}

fn invoke(invoke: WastInvoke<'_>) -> Action {
    let args = invoke
        .args
        .iter()
        .map(|a| match a {
            WastArg::Component(v) => CVal::from_wast(v).map(Arg::Component),
            a => values::encode_arg(a).map(Arg::Core),
        })
        .collect();
    Action::Invoke {
        instance: invoke.module.map(|id| id.name().to_string()),
        export: invoke.name.to_string(),
        args,
    }
}

/// Reads the script in `text` (from `path`, for messages).
pub fn read(path: &Path, text: &str) -> Result<Vec<Step>> {
    let with_path = |mut e: wast::Error| {
        e.set_path(path);
        e.set_text(text);
        anyhow::Error::new(e)
    };
    // The legacy exception-handling scripts fold `try` blocks, which the
    // `wast` crate only parses flat.
    let flat;
    let text = if text.contains("(do") {
        flat = super::legacy::flatten_try(text);
        flat.as_str()
    } else {
        text
    };
    // Scripts test names with any Unicode, so the lexer must not reject
    // bidirectional-override and similar characters.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(with_path)?;
    let wast = parser::parse::<Wast<'_>>(&buf).map_err(with_path)?;
    Ok(steps(wast.directives, text))
}

/// The steps of `directives` of the script `text`.
fn steps(directives: Vec<WastDirective<'_>>, text: &str) -> Vec<Step> {
    directives
        .into_iter()
        .map(|directive| {
            let (line, _) = directive.span().linecol_in(text);
            Step {
                line: line + 1,
                kind: step(directive, text),
            }
        })
        .collect()
}

fn step(directive: WastDirective<'_>, text: &str) -> StepKind {
    match directive {
        WastDirective::Module(module) => StepKind::Module {
            name: module.name().map(|id| id.name().to_string()),
            component: is_component(&module),
            module: encode(module),
            instantiate: true,
        },
        WastDirective::ModuleDefinition(module) => StepKind::Module {
            name: module.name().map(|id| id.name().to_string()),
            component: is_component(&module),
            module: encode(module),
            instantiate: false,
        },
        WastDirective::ModuleInstance {
            instance, module, ..
        } => StepKind::Instance {
            instance: instance.map(|id| id.name().to_string()),
            module: module.map(|id| id.name().to_string()),
        },
        WastDirective::Register { name, module, .. } => StepKind::Register {
            name: name.to_string(),
            instance: module.map(|id| id.name().to_string()),
        },
        WastDirective::Invoke(i) => StepKind::Action {
            action: invoke(i),
            expect: Expect::Success,
        },
        WastDirective::AssertReturn { exec, results, .. } => {
            let expect = Expect::Return(results.iter().map(values::pattern).collect());
            execute(exec, expect)
        }
        WastDirective::AssertTrap { exec, message, .. } => {
            execute(exec, Expect::Trap(message.to_string()))
        }
        WastDirective::AssertExhaustion { call, message, .. } => StepKind::Action {
            action: invoke(call),
            expect: Expect::Trap(message.to_string()),
        },
        WastDirective::AssertUnlinkable { module, .. } => StepKind::AssertInstantiate {
            component: matches!(module, Wat::Component(_)),
            module: encode_wat(module),
            expect: Expect::Unlinkable,
        },
        WastDirective::AssertMalformed {
            module, message, ..
        }
        | WastDirective::AssertInvalid {
            module, message, ..
        } => StepKind::AssertRejected {
            module: encode(module),
            message: message.to_string(),
        },
        WastDirective::AssertException { exec, .. } => execute(exec, Expect::Exception),
        WastDirective::AssertSuspension { .. } => {
            StepKind::Unsupported("assert_suspension (stack switching proposal)".into())
        }
        WastDirective::Thread(thread) => StepKind::Thread {
            name: thread.name.name().to_string(),
            shared: thread.shared_module.map(|id| id.name().to_string()),
            steps: steps(thread.directives, text),
        },
        WastDirective::Wait { thread, .. } => StepKind::Wait {
            thread: thread.name().to_string(),
        },
        WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
            StepKind::Unsupported("custom section assertions (annotations proposal)".into())
        }
    }
}

fn execute(exec: WastExecute<'_>, expect: Expect) -> StepKind {
    match exec {
        WastExecute::Invoke(i) => StepKind::Action {
            action: invoke(i),
            expect,
        },
        WastExecute::Get { module, global, .. } => StepKind::Action {
            action: Action::Get {
                instance: module.map(|id| id.name().to_string()),
                export: global.to_string(),
            },
            expect,
        },
        WastExecute::Wat(module) => {
            let component = matches!(module, Wat::Component(_));
            match expect {
                Expect::Trap(_) | Expect::Exception | Expect::Unlinkable => {
                    StepKind::AssertInstantiate {
                        module: encode_wat(module),
                        expect,
                        component,
                    }
                }
                Expect::Success | Expect::Return(_) => StepKind::Module {
                    module: encode_wat(module),
                    name: None,
                    instantiate: true,
                    component,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_directives_into_steps() {
        let text = r#"
            (module $m (func (export "f") (param i32) (result i32) local.get 0))
            (assert_return (invoke "f" (i32.const 7)) (i32.const 7))
            (assert_trap (invoke $m "f" (i32.const 0)) "unreachable")
            (assert_malformed (module quote "(func") "unexpected end")
            (register "m" $m)
        "#;
        let steps = read(Path::new("t.wast"), text).unwrap();
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[0].line, 2);
        assert!(matches!(
            &steps[0].kind,
            StepKind::Module { name: Some(n), module: Ok(_), instantiate: true, component: false } if n == "m"
        ));
        match &steps[1].kind {
            StepKind::Action {
                action:
                    Action::Invoke {
                        args: Ok(args),
                        export,
                        instance: None,
                    },
                expect: Expect::Return(r),
            } => {
                assert!(matches!(args[..], [Arg::Core(7)]));
                assert_eq!(export, "f");
                assert_eq!(r, &[Pattern::I32(7)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &steps[2].kind,
            StepKind::Action { expect: Expect::Trap(m), action: Action::Invoke { instance: Some(i), .. } }
                if m == "unreachable" && i == "m"
        ));
        assert!(matches!(
            &steps[3].kind,
            StepKind::AssertRejected { module: Err(_), .. }
        ));
        assert!(
            matches!(&steps[4].kind, StepKind::Register { name, instance: Some(_) } if name == "m")
        );
    }

    #[test]
    fn reads_threads_with_their_own_steps() {
        let text = "(module $Mem (memory (export \"m\") 1 1 shared))\n\
                    (thread $T (shared (module $Mem))\n  (register \"mem\" $Mem)\n  (invoke $Mem \"f\"))\n\
                    (wait $T)";
        let steps = read(Path::new("t.wast"), text).unwrap();
        assert_eq!(steps.len(), 3);
        match &steps[1].kind {
            StepKind::Thread {
                name,
                shared: Some(shared),
                steps: inner,
            } => {
                assert_eq!((name.as_str(), shared.as_str()), ("T", "Mem"));
                assert_eq!(inner.len(), 2);
                assert_eq!((inner[0].line, inner[1].line), (3, 4));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&steps[2].kind, StepKind::Wait { thread } if thread == "T"));
    }

    #[test]
    fn a_script_that_does_not_parse_is_an_error_with_its_location() {
        let err = read(Path::new("bad.wast"), "(module\n  (func (nonsense)))").unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("bad.wast:2"), "{message}");
    }
}
