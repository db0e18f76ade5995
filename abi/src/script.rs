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
//! `<command index> ok [<value>...]`, each value as `0x` and 32 hex digits;
//! `<command index> trap <message>`; `<command index> unlinkable <message>`.

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
    },
    /// Read export `export` (a global) of instance `instance`. Prints `ok`
    /// with its value.
    Get {
        /// Instance slot.
        instance: u32,
        /// Export index (a global).
        export: u32,
    },
}

const TAG_INSTANTIATE: u32 = 0;
const TAG_INVOKE: u32 = 1;
const TAG_GET: u32 = 2;

/// Encodes `commands` in the script encoding.
pub fn encode(commands: &[Command]) -> Vec<u8> {
    let mut out = Vec::new();
    let u32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    for command in commands {
        match command {
            Command::Instantiate {
                module,
                instance,
                imports,
            } => {
                u32(&mut out, TAG_INSTANTIATE);
                u32(&mut out, *module);
                u32(&mut out, *instance);
                u32(&mut out, imports.len() as u32);
                for import in imports {
                    u32(&mut out, import.instance);
                    u32(&mut out, import.export);
                    let (kind, value) = match import.check {
                        ImportCheck::None => (0, 0),
                        ImportCheck::MemoryMinPages(n) => (1, n),
                        ImportCheck::TableMinElements(n) => (2, n),
                    };
                    u32(&mut out, kind);
                    out.extend_from_slice(&value.to_le_bytes());
                }
            }
            Command::Invoke {
                instance,
                export,
                args,
            } => {
                u32(&mut out, TAG_INVOKE);
                u32(&mut out, *instance);
                u32(&mut out, *export);
                u32(&mut out, args.len() as u32);
                for arg in args {
                    out.extend_from_slice(&arg.to_le_bytes());
                }
            }
            Command::Get { instance, export } => {
                u32(&mut out, TAG_GET);
                u32(&mut out, *instance);
                u32(&mut out, *export);
            }
        }
    }
    out
}

/// Error decoding a script: the byte offset where decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(pub usize);

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed script at byte {}", self.0)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N).ok_or(DecodeError(self.pos))?;
        let slice = self.bytes.get(self.pos..end).ok_or(DecodeError(self.pos))?;
        self.pos = end;
        Ok(slice.try_into().expect("length checked"))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.take().map(u64::from_le_bytes)
    }
    fn u128(&mut self) -> Result<u128, DecodeError> {
        self.take().map(u128::from_le_bytes)
    }
}

/// Decodes a script produced by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<Command>, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let mut commands = Vec::new();
    while r.pos < bytes.len() {
        let at = r.pos;
        let command = match r.u32()? {
            TAG_INSTANTIATE => {
                let module = r.u32()?;
                let instance = r.u32()?;
                let n = r.u32()?;
                let mut imports = Vec::new();
                for _ in 0..n {
                    let instance = r.u32()?;
                    let export = r.u32()?;
                    let kind_at = r.pos;
                    let kind = r.u32()?;
                    let value = r.u64()?;
                    let check = match kind {
                        0 => ImportCheck::None,
                        1 => ImportCheck::MemoryMinPages(value),
                        2 => ImportCheck::TableMinElements(value),
                        _ => return Err(DecodeError(kind_at)),
                    };
                    imports.push(ImportSource {
                        instance,
                        export,
                        check,
                    });
                }
                Command::Instantiate {
                    module,
                    instance,
                    imports,
                }
            }
            TAG_INVOKE => {
                let instance = r.u32()?;
                let export = r.u32()?;
                let n = r.u32()?;
                let mut args = Vec::new();
                for _ in 0..n {
                    args.push(r.u128()?);
                }
                Command::Invoke {
                    instance,
                    export,
                    args,
                }
            }
            TAG_GET => Command::Get {
                instance: r.u32()?,
                export: r.u32()?,
            },
            _ => return Err(DecodeError(at)),
        };
        commands.push(command);
    }
    Ok(commands)
}

/// What running one command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It completed with these values (results of an invoke, the value of
    /// a global; none for an instantiation).
    Ok(Vec<ValRaw>),
    /// It trapped with this message.
    Trap(String),
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
            Outcome::Trap(message) => format!("{index} trap {message}"),
            Outcome::Unlinkable(message) => format!("{index} unlinkable {message}"),
        }
    }

    /// Parses an outcome line into its command index and outcome.
    pub fn parse(line: &str) -> Option<(usize, Outcome)> {
        let (index, rest) = line.split_once(' ')?;
        let index = index.parse().ok()?;
        let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let outcome = match word {
            "ok" => Outcome::Ok(
                rest.split_whitespace()
                    .map(|v| u128::from_str_radix(v.strip_prefix("0x")?, 16).ok())
                    .collect::<Option<Vec<_>>>()?,
            ),
            "trap" => Outcome::Trap(rest.to_string()),
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
            },
            Command::Get {
                instance: 1,
                export: 4,
            },
        ];
        assert_eq!(decode(&encode(&commands)).unwrap(), commands);
    }

    #[test]
    fn truncated_script_is_an_error() {
        let bytes = encode(&[Command::Get {
            instance: 1,
            export: 4,
        }]);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(DecodeError(8)));
        assert_eq!(decode(&[9, 0, 0, 0]), Err(DecodeError(0)));
    }

    #[test]
    fn outcome_lines_round_trip() {
        for outcome in [
            Outcome::Ok(vec![]),
            Outcome::Ok(vec![1, u128::MAX]),
            Outcome::Trap("integer divide by zero".into()),
            Outcome::Unlinkable("memory too small".into()),
        ] {
            assert_eq!(Outcome::parse(&outcome.line(12)), Some((12, outcome)));
        }
        assert_eq!(Outcome::parse("x ok"), None);
        assert_eq!(Outcome::parse("1 maybe"), None);
    }
}
