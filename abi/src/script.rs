//! `.wast` scripts compiled into test executables.
//!
//! `smelt wast` compiles every module of a script into one executable and
//! turns the script's commands into a list of [`Command`]s that only refer
//! to modules, instances and exports by index. The runtime runs them in
//! order and prints one [`Outcome`] line per command on stdout; `smelt
//! wast` reads the lines back and checks each assertion. The same
//! executable runs unchanged under an emulator for a foreign target.
//!
//! # Encoding
//!
//! A script is a sequence of commands, each a little-endian `u32` tag
//! followed by its fields: `u32` and `u64` integers little-endian, a
//! `u128` value as 16 little-endian bytes, a list as a `u32` count and its
//! elements.
//!
//! # Outcome lines
//!
//! `<command index> ok [<value>...]`, each value as `0x` and 32 hex digits,
//! followed for component calls by `memory <hex bytes>`;
//! `<command index> trap <message>`; `<command index> exception` (an
//! exception no handler caught); `<command index> unlinkable <message>`.
//!
//! # Threads
//!
//! A [`Command::Thread`] runs its own commands on a new OS thread while the
//! commands after it go on (the threads proposal's `thread` and `wait`
//! script commands). Commands are numbered in script order, a thread's own
//! commands right after the thread command ([`Command::count`]), and each
//! outcome line carries its command's number: the lines of concurrent
//! threads interleave, each line whole.

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::component::{InitOp, TrampolineIndex};
use crate::vm::ValRaw;

/// A check that an import's current size allows linking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportCheck {
    /// Nothing to check at run time.
    None,
    /// The memory must have at least this many pages now.
    MemoryMinPages(u64),
    /// The table must have at least this many elements now.
    TableMinElements(u64),
}

/// Where one import of an instantiation comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSource {
    /// Instance slot that exports the entity.
    pub instance: u32,
    /// Index of the export in that instance's module.
    pub export: u32,
    /// Size check made when linking.
    pub check: ImportCheck,
}

/// One step of a compiled script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Instantiate module `module` into slot `instance` with `imports` (in
    /// import order). Prints `ok`, `unlinkable` or `trap`.
    Instantiate {
        /// Index in [`crate::program::ProgramDesc::modules`].
        module: u32,
        /// Instance slot to fill.
        instance: u32,
        /// One source per import.
        imports: Vec<ImportSource>,
    },
    /// Call export `export` of instance `instance` with `args`. Prints `ok`
    /// with the results, or `trap`.
    Invoke {
        /// Instance slot.
        instance: u32,
        /// Export index (a function).
        export: u32,
        /// Arguments.
        args: Vec<ValRaw>,
        /// Bit `i` set: result `i` is a reference of the `any`, `extern` or
        /// `exn` hierarchy, printed with its [`RefKind`] in bits 64..72.
        classify: u64,
    },
    /// Read export `export` (a global) of instance `instance`. Prints `ok`
    /// with its value.
    Get {
        /// Instance slot.
        instance: u32,
        /// Export index (a global).
        export: u32,
        /// Bit 0 set: the global holds a reference to classify (see
        /// `Invoke`).
        classify: u64,
    },
    /// Instantiate a flattened component by running its initializers.
    /// Prints `ok` or `trap`.
    InstantiateComponent {
        /// The initializers.
        ops: Vec<InitOp>,
    },
    /// Call a component export through its adapter `trampoline` with the
    /// host as the caller: `args` are the caller's flat arguments and
    /// `memory` the initial contents of the host's memory (where they
    /// point). Prints `ok` with the flat results and the host memory after
    /// the call, or `trap`.
    CallComponent {
        /// The adapter.
        trampoline: TrampolineIndex,
        /// Flat arguments.
        args: Vec<ValRaw>,
        /// Initial host memory.
        memory: Vec<u8>,
    },
    /// Start thread `thread`, which runs `commands` on a new OS thread,
    /// seeing the instances in the slots of `shared` (all others it makes
    /// itself). Prints `ok` once the thread runs, or `trap` when it cannot
    /// be started.
    Thread {
        /// Number of the thread, for [`Command::Wait`].
        thread: u32,
        /// Instance slots the thread shares with the one starting it.
        shared: Vec<u32>,
        /// What the thread does.
        commands: Vec<Command>,
    },
    /// Wait for thread `thread` to finish its commands. Prints `ok`.
    Wait {
        /// The thread.
        thread: u32,
    },
}

impl Command {
    /// How many commands this one is, counting a thread's own commands
    /// (which are numbered right after it).
    pub fn count(&self) -> usize {
        match self {
            Command::Thread { commands, .. } => {
                1 + commands.iter().map(Command::count).sum::<usize>()
            }
            _ => 1,
        }
    }
}

/// What a classified reference result is, printed in bits 64..72 of its
/// value (the reference itself is in the low 64 bits).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// Null.
    Null = 0,
    /// An `i31ref`.
    I31 = 1,
    /// A struct.
    Struct = 2,
    /// An array.
    Array = 3,
    /// A host value.
    Host = 4,
    /// An exception.
    Exception = 5,
}

const TAG_INSTANTIATE: u32 = 0;
const TAG_INVOKE: u32 = 1;
const TAG_GET: u32 = 2;
const TAG_INSTANTIATE_COMPONENT: u32 = 3;
const TAG_CALL_COMPONENT: u32 = 4;
const TAG_THREAD: u32 = 5;
const TAG_WAIT: u32 = 6;

impl Encode for ImportSource {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.instance);
        w.u32(self.export);
        let (kind, value) = match self.check {
            ImportCheck::None => (0, 0),
            ImportCheck::MemoryMinPages(n) => (1, n),
            ImportCheck::TableMinElements(n) => (2, n),
        };
        w.u32(kind);
        w.u64(value);
    }
}

impl Decode for ImportSource {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let instance = r.u32()?;
        let export = r.u32()?;
        let kind_at = r.pos();
        let kind = r.u32()?;
        let value = r.u64()?;
        let check = match kind {
            0 => ImportCheck::None,
            1 => ImportCheck::MemoryMinPages(value),
            2 => ImportCheck::TableMinElements(value),
            _ => return Err(DecodeError(kind_at)),
        };
        Ok(ImportSource {
            instance,
            export,
            check,
        })
    }
}

impl Encode for Command {
    fn encode(&self, w: &mut Writer) {
        match self {
            Command::Instantiate {
                module,
                instance,
                imports,
            } => {
                w.u32(TAG_INSTANTIATE);
                w.u32(*module);
                w.u32(*instance);
                w.list(imports);
            }
            Command::Invoke {
                instance,
                export,
                args,
                classify,
            } => {
                w.u32(TAG_INVOKE);
                w.u32(*instance);
                w.u32(*export);
                w.list(args);
                w.u64(*classify);
            }
            Command::Get {
                instance,
                export,
                classify,
            } => {
                w.u32(TAG_GET);
                w.u32(*instance);
                w.u32(*export);
                w.u64(*classify);
            }
            Command::InstantiateComponent { ops } => {
                w.u32(TAG_INSTANTIATE_COMPONENT);
                w.list(ops);
            }
            Command::CallComponent {
                trampoline,
                args,
                memory,
            } => {
                w.u32(TAG_CALL_COMPONENT);
                trampoline.encode(w);
                w.list(args);
                w.bytes(memory);
            }
            Command::Thread {
                thread,
                shared,
                commands,
            } => {
                w.u32(TAG_THREAD);
                w.u32(*thread);
                w.list(shared);
                w.list(commands);
            }
            Command::Wait { thread } => {
                w.u32(TAG_WAIT);
                w.u32(*thread);
            }
        }
    }
}

impl Decode for Command {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        Ok(match r.u32()? {
            TAG_INSTANTIATE => Command::Instantiate {
                module: r.u32()?,
                instance: r.u32()?,
                imports: r.list()?,
            },
            TAG_INVOKE => Command::Invoke {
                instance: r.u32()?,
                export: r.u32()?,
                args: r.list()?,
                classify: r.u64()?,
            },
            TAG_GET => Command::Get {
                instance: r.u32()?,
                export: r.u32()?,
                classify: r.u64()?,
            },
            TAG_INSTANTIATE_COMPONENT => Command::InstantiateComponent { ops: r.list()? },
            TAG_CALL_COMPONENT => Command::CallComponent {
                trampoline: TrampolineIndex::decode(r)?,
                args: r.list()?,
                memory: r.bytes()?.to_vec(),
            },
            TAG_THREAD => Command::Thread {
                thread: r.u32()?,
                shared: r.list()?,
                commands: r.list()?,
            },
            TAG_WAIT => Command::Wait { thread: r.u32()? },
            _ => return Err(DecodeError(at)),
        })
    }
}

/// Encodes `commands` in the script encoding.
pub fn encode(commands: &[Command]) -> Vec<u8> {
    let mut w = Writer::default();
    for command in commands {
        command.encode(&mut w);
    }
    w.bytes
}

/// Decodes a script produced by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<Command>, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut commands = Vec::new();
    while !r.is_empty() {
        commands.push(Command::decode(&mut r)?);
    }
    Ok(commands)
}

/// What running one command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It completed with these values (results of an invoke, the value of
    /// a global; none for an instantiation).
    Ok(Vec<ValRaw>),
    /// A component call completed with these flat results, leaving the
    /// host memory with these contents.
    Component(Vec<ValRaw>, Vec<u8>),
    /// It trapped with this message.
    Trap(String),
    /// It threw an exception that no handler caught.
    Exception,
    /// The instantiation failed to link, for this reason.
    Unlinkable(String),
}

impl Outcome {
    /// Formats the outcome line of command `index` (without the newline).
    pub fn line(&self, index: usize) -> String {
        match self {
            Outcome::Ok(values) => {
                let mut line = format!("{index} ok");
                for v in values {
                    line.push_str(&format!(" 0x{v:032x}"));
                }
                line
            }
            Outcome::Component(values, memory) => {
                let mut line = Outcome::Ok(values.clone()).line(index);
                line.push_str(" memory ");
                for b in memory {
                    line.push_str(&format!("{b:02x}"));
                }
                line
            }
            Outcome::Trap(message) => format!("{index} trap {message}"),
            Outcome::Exception => format!("{index} exception"),
            Outcome::Unlinkable(message) => format!("{index} unlinkable {message}"),
        }
    }

    /// Parses an outcome line into its command index and outcome.
    pub fn parse(line: &str) -> Option<(usize, Outcome)> {
        let (index, rest) = line.split_once(' ')?;
        let index = index.parse().ok()?;
        let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let outcome = match word {
            "ok" => {
                let (values, memory) = match rest.split_once("memory") {
                    Some((values, memory)) => (values, Some(memory.trim())),
                    None => (rest, None),
                };
                let values = values
                    .split_whitespace()
                    .map(|v| u128::from_str_radix(v.strip_prefix("0x")?, 16).ok())
                    .collect::<Option<Vec<_>>>()?;
                match memory {
                    None => Outcome::Ok(values),
                    Some(hex) => {
                        if hex.len() % 2 != 0 {
                            return None;
                        }
                        let bytes = (0..hex.len())
                            .step_by(2)
                            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                            .collect::<Option<Vec<_>>>()?;
                        Outcome::Component(values, bytes)
                    }
                }
            }
            "trap" => Outcome::Trap(rest.to_string()),
            "exception" if rest.is_empty() => Outcome::Exception,
            "unlinkable" => Outcome::Unlinkable(rest.to_string()),
            _ => return None,
        };
        Some((index, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        let commands = vec![
            Command::Instantiate {
                module: 3,
                instance: 1,
                imports: vec![
                    ImportSource {
                        instance: 0,
                        export: 7,
                        check: ImportCheck::MemoryMinPages(2),
                    },
                    ImportSource {
                        instance: 0,
                        export: 1,
                        check: ImportCheck::None,
                    },
                ],
            },
            Command::Invoke {
                instance: 1,
                export: 2,
                args: vec![u128::MAX, 5],
                classify: 2,
            },
            Command::Get {
                instance: 1,
                export: 4,
                classify: 0,
            },
            Command::InstantiateComponent {
                ops: vec![InitOp::ComponentInstance { parent: None }],
            },
            Command::CallComponent {
                trampoline: TrampolineIndex::from_u32(3),
                args: vec![7],
                memory: vec![1, 2, 3],
            },
            Command::Thread {
                thread: 1,
                shared: vec![0, 2],
                commands: vec![
                    Command::Get {
                        instance: 2,
                        export: 0,
                        classify: 1,
                    },
                    Command::Thread {
                        thread: 2,
                        shared: vec![],
                        commands: vec![Command::Wait { thread: 9 }],
                    },
                ],
            },
            Command::Wait { thread: 1 },
        ];
        assert_eq!(decode(&encode(&commands)).unwrap(), commands);
        assert_eq!(commands[5].count(), 4);
    }

    #[test]
    fn truncated_script_is_an_error() {
        let bytes = encode(&[Command::Get {
            instance: 1,
            export: 4,
            classify: 0,
        }]);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(DecodeError(12)));
        assert_eq!(decode(&[9, 0, 0, 0]), Err(DecodeError(0)));
    }

    #[test]
    fn outcome_lines_round_trip() {
        for outcome in [
            Outcome::Ok(vec![]),
            Outcome::Ok(vec![1, u128::MAX]),
            Outcome::Trap("integer divide by zero".into()),
            Outcome::Exception,
            Outcome::Unlinkable("memory too small".into()),
            Outcome::Component(vec![3], vec![0, 0xab, 0x10]),
            Outcome::Component(vec![], vec![]),
        ] {
            assert_eq!(Outcome::parse(&outcome.line(12)), Some((12, outcome)));
        }
        assert_eq!(Outcome::parse("x ok"), None);
        assert_eq!(Outcome::parse("1 maybe"), None);
    }
}
