//! The WASI capabilities and resource limits an executable is built with.
//!
//! `smelt build --dir`, `--env`, `--inherit-env` and the network flags
//! ([`crate::net`]) are decided when the executable is built; the compiler
//! encodes them as a [`WasiConfig`] into
//! [`crate::program::ProgramDesc::wasi`], and the WASI host reads it at
//! start-up. Nothing is granted by default: no directory, no environment
//! variable, no network access. The resource limits ([`Limits`]:
//! `--max-memory`, `--max-table-elements`, `--timeout`) travel in the same
//! configuration, for every kind of program, and the runtime reads them at
//! start-up.

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::net::NetGrants;

/// A host directory made visible to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// The host path, as given at build time; a relative path is resolved
    /// against the working directory of the process when it starts.
    pub host: String,
    /// The name the guest sees (`wasi:filesystem/preopens`).
    pub guest: String,
}

/// An environment variable granted to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value; `None`: the value the process has when it starts (the
    /// variable is left out when the process does not have it).
    pub value: Option<String>,
}

/// How an HTTP server executable serves
/// ([`crate::program::ProgramKind::HttpServer`]): what `smelt build` chose,
/// which the executable's own flags can override when it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The address to listen on (`HOST:PORT`; port 0 picks a free port).
    pub addr: String,
    /// The WASI minor version of the handler: 2 (`wasi:http/incoming-handler`,
    /// a fresh instance per request) or 3 (`wasi:http/handler`, requests as
    /// concurrent tasks of one instance per worker).
    pub wasi_minor: u8,
    /// Worker threads, each with its own event loop and instances; 0: one
    /// per CPU.
    pub workers: u32,
}

/// The capabilities of a component executable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WasiConfig {
    /// Preopened directories, in order.
    pub preopens: Vec<Preopen>,
    /// Environment variables, in order; after the inherited ones, which
    /// they override.
    pub env: Vec<EnvVar>,
    /// Whether the guest sees the whole environment of the process.
    pub inherit_env: bool,
    /// The network operations granted (`wasi:sockets`).
    pub network: NetGrants,
    /// How an HTTP server serves; `None` for a command.
    pub serve: Option<ServeConfig>,
    /// The authorities (`host`, `host:port`, or `*`) outgoing HTTP
    /// requests may go to; none by default.
    pub allow_http: Vec<String>,
    /// Resource limits chosen at build time (the executable's environment
    /// may override them when it starts: [`Limits::ENV`]).
    pub limits: Limits,
}

/// Resource limits of a program, in the manner of `wasmtime run -W
/// max-memory-size=…,timeout=…`: `None` is no limit beyond the
/// specification's and the runtime's own (a 32-bit memory's 4 GiB, the
/// 8 GiB reservation of a 64-bit memory, 10,000,000 elements per table).
///
/// The memory and table limits count what the instances of one store
/// have together (the store is per thread: a command's whole program, or
/// one HTTP server worker's instances): past them `memory.grow` and
/// `table.grow` return -1, and an instantiation that needs more traps.
/// The time limit ends guest code that runs past it with the trap
/// `interrupt`: a command's whole run, or one request of an HTTP server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of linear memory, all memories together.
    pub max_memory: Option<u64>,
    /// Most table elements, all tables together.
    pub max_table_elements: Option<u64>,
    /// Most wall-clock time guest code may run, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// Why a limit given as text is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError(pub String);

impl core::fmt::Display for LimitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitError {}

impl Limits {
    /// The environment variables of an executable that override its
    /// build-time limits when it starts, with the fields they set:
    /// `SMELT_MAX_MEMORY` (bytes, as [`Limits::parse_bytes`] reads them),
    /// `SMELT_MAX_TABLE_ELEMENTS` (a count), `SMELT_TIMEOUT` (seconds, as
    /// [`Limits::parse_seconds`] reads them). The value `none` removes the
    /// limit.
    pub const ENV: [&'static str; 3] = [
        "SMELT_MAX_MEMORY",
        "SMELT_MAX_TABLE_ELEMENTS",
        "SMELT_TIMEOUT",
    ];

    /// A size in bytes: a number, optionally followed by `K`/`KiB`,
    /// `M`/`MiB`, `G`/`GiB` or `T`/`TiB` (powers of 1024), or `none`.
    pub fn parse_bytes(text: &str) -> Result<Option<u64>, LimitError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(digits);
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kib" => 10,
            "m" | "mib" => 20,
            "g" | "gib" => 30,
            "t" | "tib" => 40,
            _ => {
                return Err(LimitError(format!(
                    "`{text}` is not a size in bytes (examples: 65536, 64MiB, 4G, none)"
                )));
            }
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1 << shift))
            .map(Some)
            .ok_or_else(|| {
                LimitError(format!(
                    "`{text}` is not a size in bytes (examples: 65536, 64MiB, 4G, none)"
                ))
            })
    }

    /// A count (`none`: no limit).
    pub fn parse_count(text: &str) -> Result<Option<u64>, LimitError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        t.parse::<u64>()
            .map(Some)
            .map_err(|_| LimitError(format!("`{text}` is not a number of elements (or none)")))
    }

    /// A duration in seconds, as milliseconds: a positive decimal number
    /// (`0.5`, `30`), or `none`.
    pub fn parse_seconds(text: &str) -> Result<Option<u64>, LimitError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s * 1000.0 < u64::MAX as f64 => {
                Ok(Some(((s * 1000.0).ceil() as u64).max(1)))
            }
            _ => Err(LimitError(format!(
                "`{text}` is not a number of seconds (examples: 10, 0.5, none)"
            ))),
        }
    }

    /// These limits with the overrides of [`Limits::ENV`] that `var`
    /// finds (`var(name)`: the variable's value, if set). A variable that
    /// does not parse is an error naming it.
    pub fn with_overrides(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Limits, LimitError> {
        let named = |name: &str, e: LimitError| LimitError(format!("{name}: {e}"));
        if let Some(v) = var(Self::ENV[0]) {
            self.max_memory = Self::parse_bytes(&v).map_err(|e| named(Self::ENV[0], e))?;
        }
        if let Some(v) = var(Self::ENV[1]) {
            self.max_table_elements = Self::parse_count(&v).map_err(|e| named(Self::ENV[1], e))?;
        }
        if let Some(v) = var(Self::ENV[2]) {
            self.timeout_ms = Self::parse_seconds(&v).map_err(|e| named(Self::ENV[2], e))?;
        }
        Ok(self)
    }
}

impl Encode for Limits {
    fn encode(&self, w: &mut Writer) {
        w.option(&self.max_memory);
        w.option(&self.max_table_elements);
        w.option(&self.timeout_ms);
    }
}

impl Decode for Limits {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Limits {
            max_memory: r.option()?,
            max_table_elements: r.option()?,
            timeout_ms: r.option()?,
        })
    }
}

impl Encode for ServeConfig {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.addr.as_bytes());
        w.u8(self.wasi_minor);
        w.u32(self.workers);
    }
}

impl Decode for ServeConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ServeConfig {
            addr: string(r)?,
            wasi_minor: r.u8()?,
            workers: r.u32()?,
        })
    }
}

fn string(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    String::decode(r)
}

impl Encode for Preopen {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.host.as_bytes());
        w.bytes(self.guest.as_bytes());
    }
}

impl Decode for Preopen {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Preopen {
            host: string(r)?,
            guest: string(r)?,
        })
    }
}

impl Encode for EnvVar {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.name.as_bytes());
        w.option(&self.value);
    }
}

impl Decode for EnvVar {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EnvVar {
            name: string(r)?,
            value: r.option()?,
        })
    }
}

impl Encode for WasiConfig {
    fn encode(&self, w: &mut Writer) {
        w.list(&self.preopens);
        w.list(&self.env);
        w.u8(u8::from(self.inherit_env));
        self.network.encode(w);
        w.option(&self.serve);
        w.list(&self.allow_http);
        self.limits.encode(w);
    }
}

impl Decode for WasiConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(WasiConfig {
            preopens: r.list()?,
            env: r.list()?,
            inherit_env: r.u8()? != 0,
            network: NetGrants::decode(r)?,
            serve: r.option()?,
            allow_http: r.list()?,
            limits: Limits::decode(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let c = WasiConfig {
            preopens: vec![Preopen {
                host: "data".into(),
                guest: "/".into(),
            }],
            env: vec![
                EnvVar {
                    name: "A".into(),
                    value: Some("1".into()),
                },
                EnvVar {
                    name: "HOME".into(),
                    value: None,
                },
            ],
            inherit_env: true,
            network: NetGrants {
                ip_name_lookup: true,
                tcp_connect: vec![crate::net::AddrRange::ANY],
                ..NetGrants::default()
            },
            serve: Some(ServeConfig {
                addr: "127.0.0.1:0".into(),
                wasi_minor: 2,
                workers: 0,
            }),
            allow_http: vec!["example.com".into(), "127.0.0.1:8080".into()],
            limits: Limits {
                max_memory: Some(64 << 20),
                max_table_elements: None,
                timeout_ms: Some(1500),
            },
        };
        let bytes = crate::codec::to_bytes(&c);
        assert_eq!(crate::codec::from_bytes::<WasiConfig>(&bytes), Ok(c));
    }

    #[test]
    fn limits_parse_sizes_counts_and_seconds() {
        assert_eq!(Limits::parse_bytes("65536"), Ok(Some(65536)));
        assert_eq!(Limits::parse_bytes("64MiB"), Ok(Some(64 << 20)));
        assert_eq!(Limits::parse_bytes("4G"), Ok(Some(4 << 30)));
        assert_eq!(Limits::parse_bytes("none"), Ok(None));
        assert!(Limits::parse_bytes("64 MB?").is_err());
        assert!(Limits::parse_bytes("99999999999T").is_err(), "overflow");
        assert!(Limits::parse_bytes("").is_err());
        assert_eq!(Limits::parse_count("10"), Ok(Some(10)));
        assert!(Limits::parse_count("-1").is_err());
        assert_eq!(Limits::parse_seconds("0.5"), Ok(Some(500)));
        assert_eq!(Limits::parse_seconds("2"), Ok(Some(2000)));
        assert!(Limits::parse_seconds("0").is_err());
        assert!(Limits::parse_seconds("nan").is_err());
    }

    #[test]
    fn environment_overrides_build_time_limits() {
        let built = Limits {
            max_memory: Some(1 << 20),
            max_table_elements: Some(100),
            timeout_ms: None,
        };
        let env = |name: &str| match name {
            "SMELT_MAX_MEMORY" => Some("none".to_string()),
            "SMELT_TIMEOUT" => Some("3".to_string()),
            _ => None,
        };
        let got = built.with_overrides(env).unwrap();
        assert_eq!(got.max_memory, None);
        assert_eq!(got.max_table_elements, Some(100));
        assert_eq!(got.timeout_ms, Some(3000));
        let bad = built.with_overrides(|n| (n == "SMELT_MAX_TABLE_ELEMENTS").then(|| "x".into()));
        assert!(bad.unwrap_err().0.starts_with("SMELT_MAX_TABLE_ELEMENTS: "));
    }
}
