//! `wasi:sockets/ip-name-lookup@0.2` (the `wasip2` crate): the addresses of
//! `localhost` (both loopback addresses, without asking a resolver), of
//! IP address literals (themselves; an IPv4-mapped one as IPv4), and the
//! `invalid-argument` of names that are not host names. Run without
//! `--allow-ip-name-lookup`, each lookup is `access-denied`.

use wasip2::io::poll::poll;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{ErrorCode, IpAddress, Network};

fn lookup(net: &Network, name: &str) -> Result<Vec<String>, ErrorCode> {
    let stream = resolve_addresses(net, name)?;
    let ready = stream.subscribe();
    let mut out = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => out.push(format!("{a}.{b}.{c}.{d}")),
            Ok(Some(IpAddress::Ipv6(s))) => {
                let ip = std::net::Ipv6Addr::new(s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7);
                out.push(ip.to_string());
            }
            Ok(None) => return Ok(out),
            Err(ErrorCode::WouldBlock) => {
                poll(&[&ready]);
            }
            Err(e) => return Err(e),
        }
    }
}

fn main() {
    let net = instance_network();
    for name in ["localhost", "LocalHost.", "127.0.0.1", "::1", "[::1]", "::ffff:10.0.0.1", "", "a..b", "not a name"] {
        match lookup(&net, name) {
            Ok(mut addresses) => {
                addresses.sort();
                println!("{name:?}: {}", addresses.join(" "));
            }
            Err(e) => println!("{name:?}: {}", e.name()),
        }
    }
}
