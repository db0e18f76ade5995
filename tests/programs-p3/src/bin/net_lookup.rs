//! The WASI 0.3 twin of tests/programs' `net_lookup`: the same names
//! through `wasi:sockets/ip-name-lookup@0.3`'s `async` `resolve-addresses`,
//! printing the same lines.

use smelt_test_programs_p3::net::Out;
use wasip3::sockets::ip_name_lookup::{ErrorCode, resolve_addresses};
use wasip3::sockets::types::IpAddress;

wasip3::cli::command::export!(NetLookup);

struct NetLookup;

fn name(e: &ErrorCode) -> &'static str {
    match e {
        ErrorCode::AccessDenied => "access-denied",
        ErrorCode::InvalidArgument => "invalid-argument",
        ErrorCode::NameUnresolvable => "name-unresolvable",
        ErrorCode::TemporaryResolverFailure => "temporary-resolver-failure",
        ErrorCode::PermanentResolverFailure => "permanent-resolver-failure",
        ErrorCode::Other(_) => "other",
    }
}

impl wasip3::exports::cli::run::Guest for NetLookup {
    async fn run() -> Result<(), ()> {
        let mut out = Out::default();
        for n in ["localhost", "LocalHost.", "127.0.0.1", "::1", "[::1]", "::ffff:10.0.0.1", "", "a..b", "not a name"] {
            match resolve_addresses(n.into()).await {
                Ok(ips) => {
                    let mut addresses: Vec<String> = ips
                        .iter()
                        .map(|ip| match *ip {
                            IpAddress::Ipv4((a, b, c, d)) => format!("{a}.{b}.{c}.{d}"),
                            IpAddress::Ipv6(s) => std::net::Ipv6Addr::new(s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7).to_string(),
                        })
                        .collect();
                    addresses.sort();
                    out.line(format!("{n:?}: {}", addresses.join(" ")));
                }
                Err(e) => out.line(format!("{n:?}: {}", name(&e))),
            }
        }
        out.flush().await;
        Ok(())
    }
}

fn main() {}
