//! Forwarding functions: direct calls through them resolved at compile
//! time.
//!
//! Toolchains leave chains of functions whose whole body passes some of
//! their parameters on to another function: Rust's `__rust_alloc` calls
//! `__rdl_alloc`, wasi-libc's `malloc` calls `dlmalloc` and `free` calls
//! `dlfree`; and functions that do nothing at all, such as Rust's
//! `__rust_no_alloc_shim_is_unstable_v2`, called before every allocation.
//! Each such call costs a frame, a stack check and an interruption check
//! (about 18 instructions on x86_64), where LLVM, compiling the same code
//! natively or through wasm2c, inlines it away.
//!
//! A [`Forward`] says what a direct `call` (or `return_call`) of such a
//! function does instead: call the final target of the chain with the
//! parameters it takes, or nothing. Only direct calls are resolved: the
//! function is still compiled for calls through tables, references, exports
//! and the start function. A trap in the target shows no frame of the
//! forwarding functions in the backtrace, since they never run.

use std::collections::HashMap;

use wasmparser::{FunctionBody, Operator};

use super::module::{FunctionInput, ModuleInfo};
use super::types::FuncIndex;
use cranelift_entity::EntityRef;

/// Longest chain of forwarding functions followed.
const MAX_CHAIN: usize = 16;

/// What a direct call of a forwarding function does instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forward {
    /// Calls `target` with the caller's arguments at `args` (indices into
    /// the forwarding function's parameters, in `target`'s order): same
    /// results, same effects.
    Call {
        /// The function called in the end (defined or imported).
        target: FuncIndex,
        /// Which of the call's arguments `target` takes.
        args: Box<[u32]>,
    },
    /// Nothing: the function has no results and an empty body.
    Nothing,
}

/// The forwarding functions of a module, by function index: those whose
/// body, whatever locals it declares, is `local.get`s of parameters
/// followed by one `call` or `return_call` of a function whose parameter
/// types are those parameters' and whose results are the function's own
/// (as in any valid body; checked, as the body is validated later),
/// and those with no results and an empty body; each resolved to the end
/// of its chain. A chain that comes back to itself is left alone (each of
/// its calls is kept). A body that cannot be read is no forwarding
/// function: its translation reports the error.
pub fn forwarders(
    info: &ModuleInfo<'_>,
    bodies: &[FunctionInput<'_>],
) -> HashMap<FuncIndex, Forward> {
    let direct: HashMap<FuncIndex, Forward> = bodies
        .iter()
        .enumerate()
        .filter_map(|(i, input)| {
            let f = FuncIndex::new(info.num_imported_funcs + i);
            forward_of(info, f, &input.body).map(|fw| (f, fw))
        })
        .collect();
    direct
        .keys()
        .filter_map(|&f| resolve(&direct, f).map(|fw| (f, fw)))
        .collect()
}

/// `f`'s own [`Forward`], one step, if its body has one of the shapes of
/// [`forwarders`].
fn forward_of(info: &ModuleInfo<'_>, f: FuncIndex, body: &FunctionBody<'_>) -> Option<Forward> {
    let ty = info.func_type(f);
    let mut reader = body.get_operators_reader().ok()?;
    let mut args = Vec::new();
    loop {
        match reader.read().ok()? {
            Operator::LocalGet { local_index } if (local_index as usize) < ty.params.len() => {
                args.push(local_index);
            }
            Operator::End if args.is_empty() && ty.results.is_empty() => {
                return reader.eof().then_some(Forward::Nothing);
            }
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                let target = FuncIndex::from_u32(function_index);
                if target.index() >= info.funcs.len() {
                    return None;
                }
                let callee = info.func_type(target);
                let types_match = callee.params.len() == args.len()
                    && args
                        .iter()
                        .zip(callee.params.iter())
                        .all(|(&a, p)| ty.params[a as usize] == *p)
                    && callee.results == ty.results;
                let ends = matches!(reader.read().ok()?, Operator::End) && reader.eof();
                return (types_match && ends).then(|| Forward::Call {
                    target,
                    args: args.into(),
                });
            }
            _ => return None,
        }
    }
}

/// Follows `f`'s chain to its end; `None` when it comes back to itself or
/// is longer than [`MAX_CHAIN`].
fn resolve(direct: &HashMap<FuncIndex, Forward>, f: FuncIndex) -> Option<Forward> {
    let mut forward = direct.get(&f)?.clone();
    for _ in 0..MAX_CHAIN {
        let Forward::Call { target, args } = &forward else {
            return Some(forward);
        };
        if *target == f {
            return None;
        }
        match direct.get(target) {
            None => return Some(forward),
            Some(Forward::Nothing) => return Some(Forward::Nothing),
            Some(Forward::Call {
                target: next,
                args: next_args,
            }) => {
                forward = Forward::Call {
                    target: *next,
                    args: next_args.iter().map(|&i| args[i as usize]).collect(),
                };
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwards(wat: &str) -> Vec<(u32, Forward)> {
        let wasm = wat::parse_str(wat).unwrap();
        let mut validator = wasmparser::Validator::new_with_features(crate::core::features());
        let (info, bodies) = crate::core::module::parse(&mut validator, &wasm).unwrap();
        let mut all: Vec<_> = forwarders(&info, &bodies)
            .into_iter()
            .map(|(f, fw)| (f.index() as u32, fw))
            .collect();
        all.sort_by_key(|(f, _)| *f);
        all
    }

    fn call(target: u32, args: &[u32]) -> Forward {
        Forward::Call {
            target: FuncIndex::from_u32(target),
            args: args.into(),
        }
    }

    #[test]
    fn chains_resolve_to_their_end_with_the_arguments_each_step_keeps() {
        let got = forwards(
            r#"(module
                (import "env" "host" (func (param i32) (result i32)))      ;; 0
                (func (param i32 i64) (result i32) local.get 0 call 2)     ;; 1
                (func (param i32) (result i32) local.get 0 call 3)         ;; 2
                (func (param i32) (result i32) local.get 0 return_call 0)  ;; 3
                (func (param i32 i32) (result i32) local.get 1 local.get 0 call 5) ;; 4
                (func (param i32 i32) (result i32) local.get 0 i32.const 1 i32.add) ;; 5
                (func)                                                     ;; 6
                (func (param i32) call 6)                                  ;; 7
            )"#,
        );
        assert_eq!(
            got,
            vec![
                (1, call(0, &[0])),
                (2, call(0, &[0])),
                (3, call(0, &[0])),
                (4, call(5, &[1, 0])),
                (6, Forward::Nothing),
                (7, Forward::Nothing),
            ]
        );
    }

    #[test]
    fn other_shapes_and_cycles_are_not_forwarded() {
        let got = forwards(
            r#"(module
                (func (param i32) (result i32) local.get 0 call 1)         ;; 0: cycle
                (func (param i32) (result i32) local.get 0 call 0)         ;; 1: cycle
                (func (param i32) (result i32) local.get 0 call 3 drop local.get 0) ;; 2
                (func (param i32) (result i32) (local i32) local.get 1 call 4) ;; 3: a local
                (func (param i32) (result i32) local.get 0)                ;; 4
                (func (result i32) i32.const 0)                            ;; 5
                (func (param i32) (result i32) (local i32) local.get 0 call 7) ;; 6
                (func (param i32) (result i64) i64.const 0)                ;; 7
                (func (param i32) nop)                                     ;; 8
            )"#,
        );
        assert_eq!(got, vec![]);
    }
}
