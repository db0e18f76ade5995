//! The WASI capabilities an executable is built with.
//!
//! `smelt build --dir`, `--env`, `--inherit-env` and the network flags
//! ([`crate::net`]) are decided when the executable is built; the compiler
//! encodes them as a [`WasiConfig`] into
//! [`crate::program::ProgramDesc::wasi`], and the WASI host reads it at
//! start-up. Nothing is granted by default: no directory, no environment
//! variable, no network access.

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
        };
        let bytes = crate::codec::to_bytes(&c);
        assert_eq!(crate::codec::from_bytes::<WasiConfig>(&bytes), Ok(c));
    }
}
