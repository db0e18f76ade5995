//! The network capabilities an executable is built with.
//!
//! Nothing is granted by default: `smelt build` flags (`--allow-tcp-connect`,
//! `--allow-tcp-listen`, `--allow-udp-bind`, `--allow-udp-send`,
//! `--allow-udp`, `--allow-ip-name-lookup`, `--inherit-network`) add
//! [`AddrRange`]s to the lists of a [`NetGrants`], which the compiler
//! encodes with the rest of [`crate::wasi::WasiConfig`]. The WASI host
//! checks every address a guest binds, connects or sends to against the
//! list of its operation ([`NetGrants::allows`]); an address no range
//! contains is refused with `access-denied`.
//!
//! A range is written `ADDRESS[/PREFIX][:PORTS]`: an IPv4 address
//! (`127.0.0.1`, `10.0.0.0/8`), an IPv6 address in brackets when a port
//! follows (`[::1]:8080`, `[fd00::]/8:*`; bare when none does: `::1`),
//! `localhost` (`127.0.0.0/8` and `::1`) or `*` (every address of both
//! families); PORTS is `*` (the default: every port), one port (`8080`) or
//! an inclusive range (`1024-65535`). Port 0, which asks the system for any
//! free port when binding, is one port like the others: a range grants it
//! only when it contains 0 (`*`, `0`, `0-1023`). Several ranges may be
//! given in one flag, separated by commas.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// The addresses of a range: every address, or an IP network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpNet {
    /// Every address, IPv4 and IPv6.
    Any,
    /// The IPv4 addresses whose first `prefix` bits are `addr`'s.
    V4 {
        /// The network address (bits past the prefix are zero).
        addr: Ipv4Addr,
        /// The prefix length, 0 to 32.
        prefix: u8,
    },
    /// The IPv6 addresses whose first `prefix` bits are `addr`'s.
    V6 {
        /// The network address (bits past the prefix are zero).
        addr: Ipv6Addr,
        /// The prefix length, 0 to 128.
        prefix: u8,
    },
}

impl IpNet {
    /// The network of `addr`'s first `prefix` bits (the others cleared).
    pub fn new(addr: IpAddr, prefix: u8) -> IpNet {
        match addr {
            IpAddr::V4(a) => {
                let prefix = prefix.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpNet::V4 {
                    addr: Ipv4Addr::from(u32::from(a) & mask),
                    prefix,
                }
            }
            IpAddr::V6(a) => {
                let prefix = prefix.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpNet::V6 {
                    addr: Ipv6Addr::from(u128::from(a) & mask),
                    prefix,
                }
            }
        }
    }

    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (IpNet::Any, _) => true,
            (IpNet::V4 { addr, prefix }, IpAddr::V4(ip)) => {
                IpNet::new(IpAddr::V4(ip), prefix) == IpNet::V4 { addr, prefix }
            }
            (IpNet::V6 { addr, prefix }, IpAddr::V6(ip)) => {
                IpNet::new(IpAddr::V6(ip), prefix) == IpNet::V6 { addr, prefix }
            }
            _ => false,
        }
    }
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port of the range.
    pub first: u16,
    /// The last port of the range (at least `first`).
    pub last: u16,
}

impl PortRange {
    /// Every port, 0 included.
    pub const ALL: PortRange = PortRange {
        first: 0,
        last: u16::MAX,
    };

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

/// Socket addresses: the addresses of a network and a range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    /// The addresses.
    pub net: IpNet,
    /// The ports.
    pub ports: PortRange,
}

/// Why a range given to a flag does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrRangeError {
    /// The range as written.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for AddrRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: {} (expected ADDRESS[/PREFIX][:PORTS], for example 127.0.0.1:8080, \
             10.0.0.0/8:1024-65535, [::1]:80, localhost, *:443 or *)",
            self.spec, self.reason
        )
    }
}

impl std::error::Error for AddrRangeError {}

impl AddrRange {
    /// Every address and every port.
    pub const ANY: AddrRange = AddrRange {
        net: IpNet::Any,
        ports: PortRange::ALL,
    };

    /// Whether `addr` is in the range.
    pub fn contains(&self, addr: SocketAddr) -> bool {
        self.net.contains(addr.ip()) && self.ports.contains(addr.port())
    }

    /// Parses a comma-separated list of ranges (see the module
    /// documentation); `localhost` stands for two ranges.
    ///
    /// # Errors
    ///
    /// The first range that does not parse, and why.
    pub fn parse_list(spec: &str) -> Result<Vec<AddrRange>, AddrRangeError> {
        let mut out = Vec::new();
        for item in spec.split(',') {
            out.extend(parse_one(item.trim())?);
        }
        Ok(out)
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.net {
            IpNet::Any => f.write_str("*")?,
            IpNet::V4 { addr, prefix } => write!(f, "{addr}/{prefix}")?,
            IpNet::V6 { addr, prefix } => write!(f, "[{addr}]/{prefix}")?,
        }
        match self.ports {
            PortRange::ALL => f.write_str(":*"),
            PortRange { first, last } if first == last => write!(f, ":{first}"),
            PortRange { first, last } => write!(f, ":{first}-{last}"),
        }
    }
}

/// Parses one range of a list.
fn parse_one(item: &str) -> Result<Vec<AddrRange>, AddrRangeError> {
    let fail = |reason: &str| AddrRangeError {
        spec: item.to_string(),
        reason: reason.to_string(),
    };
    if item.is_empty() {
        return Err(fail("an empty range"));
    }
    // Split the address part from the ports: after a closing bracket, or
    // at the only colon of an IPv4 address, `localhost` or `*`.
    let (host, ports) = if let Some(rest) = item.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| fail("a `[` without its `]`"))?;
        let (prefix, ports) = match after.split_once(':') {
            Some((p, ports)) => (p, Some(ports)),
            None => (after, None),
        };
        (format!("{inside}{prefix}"), ports)
    } else if item.matches(':').count() > 1 {
        (item.to_string(), None)
    } else {
        match item.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (item.to_string(), None),
        }
    };
    let ports = match ports {
        None | Some("*") => PortRange::ALL,
        Some(p) => {
            parse_ports(p).ok_or_else(|| fail("the ports are not `*`, PORT or FIRST-LAST"))?
        }
    };
    let nets = match host.as_str() {
        "*" => vec![IpNet::Any],
        "localhost" => vec![
            IpNet::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8),
            IpNet::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
        ],
        _ => {
            let (addr, prefix) = match host.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (host.as_str(), None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| fail("not an IP address, `localhost` or `*`"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= max)
                    .ok_or_else(|| fail(&format!("the prefix length is not 0 to {max}")))?,
            };
            vec![IpNet::new(ip, prefix)]
        }
    };
    Ok(nets
        .into_iter()
        .map(|net| AddrRange { net, ports })
        .collect())
}

/// `PORT` or `FIRST-LAST`.
fn parse_ports(p: &str) -> Option<PortRange> {
    let (first, last) = match p.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let port = p.parse().ok()?;
            (port, port)
        }
    };
    (first <= last).then_some(PortRange { first, last })
}

/// The network operations granted to a guest, each limited to the socket
/// addresses of its list; all empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetGrants {
    /// Remote addresses TCP sockets may connect to.
    pub tcp_connect: Vec<AddrRange>,
    /// Local addresses TCP sockets may bind to (explicitly, or when they
    /// listen without a bind).
    pub tcp_listen: Vec<AddrRange>,
    /// Local addresses UDP sockets may bind to.
    pub udp_bind: Vec<AddrRange>,
    /// Remote addresses UDP sockets may send to (or connect to).
    pub udp_send: Vec<AddrRange>,
    /// Whether the guest may resolve names (`wasi:sockets/ip-name-lookup`).
    pub ip_name_lookup: bool,
}

/// A network operation that a [`NetGrants`] list governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetOp {
    /// A TCP connect, to the remote address.
    TcpConnect,
    /// A TCP bind, to the local address.
    TcpListen,
    /// A UDP bind, to the local address.
    UdpBind,
    /// A UDP send or connect, to the remote address.
    UdpSend,
}

impl NetGrants {
    /// Every operation, to every address and port (`--inherit-network`).
    pub fn everything() -> NetGrants {
        NetGrants {
            tcp_connect: vec![AddrRange::ANY],
            tcp_listen: vec![AddrRange::ANY],
            udp_bind: vec![AddrRange::ANY],
            udp_send: vec![AddrRange::ANY],
            ip_name_lookup: true,
        }
    }

    /// The list of `op`.
    pub fn list(&self, op: NetOp) -> &[AddrRange] {
        match op {
            NetOp::TcpConnect => &self.tcp_connect,
            NetOp::TcpListen => &self.tcp_listen,
            NetOp::UdpBind => &self.udp_bind,
            NetOp::UdpSend => &self.udp_send,
        }
    }

    /// Whether `op` on `addr` is granted.
    pub fn allows(&self, op: NetOp, addr: SocketAddr) -> bool {
        self.list(op).iter().any(|r| r.contains(addr))
    }
}

impl Encode for AddrRange {
    fn encode(&self, w: &mut Writer) {
        match self.net {
            IpNet::Any => w.u8(0),
            IpNet::V4 { addr, prefix } => {
                w.u8(4);
                w.u32(u32::from(addr));
                w.u8(prefix);
            }
            IpNet::V6 { addr, prefix } => {
                w.u8(6);
                w.u128(u128::from(addr));
                w.u8(prefix);
            }
        }
        w.u32(u32::from(self.ports.first));
        w.u32(u32::from(self.ports.last));
    }
}

impl Decode for AddrRange {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.pos();
        let net = match r.u8()? {
            0 => IpNet::Any,
            4 => {
                let addr = Ipv4Addr::from(r.u32()?);
                IpNet::new(IpAddr::V4(addr), r.u8()?)
            }
            6 => {
                let addr = Ipv6Addr::from(r.u128()?);
                IpNet::new(IpAddr::V6(addr), r.u8()?)
            }
            _ => return Err(DecodeError(at)),
        };
        let port = |r: &mut Reader<'_>| {
            let at = r.pos();
            u16::try_from(r.u32()?).map_err(|_| DecodeError(at))
        };
        let (first, last) = (port(r)?, port(r)?);
        if first > last {
            return Err(DecodeError(at));
        }
        Ok(AddrRange {
            net,
            ports: PortRange { first, last },
        })
    }
}

impl Encode for NetGrants {
    fn encode(&self, w: &mut Writer) {
        w.list(&self.tcp_connect);
        w.list(&self.tcp_listen);
        w.list(&self.udp_bind);
        w.list(&self.udp_send);
        w.u8(u8::from(self.ip_name_lookup));
    }
}

impl Decode for NetGrants {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(NetGrants {
            tcp_connect: r.list()?,
            tcp_listen: r.list()?,
            udp_bind: r.list()?,
            udp_send: r.list()?,
            ip_name_lookup: r.u8()? != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_as_documented() {
        let r = AddrRange::parse_list("127.0.0.1/8:1024-65535").unwrap();
        assert_eq!(r.len(), 1);
        assert!(r[0].contains(sa("127.1.2.3:1024")));
        assert!(!r[0].contains(sa("127.1.2.3:1023")));
        assert!(!r[0].contains(sa("128.0.0.1:2000")));
        assert!(!r[0].contains(sa("[::1]:2000")));
        let r = AddrRange::parse_list("[::1]:8080").unwrap();
        assert!(r[0].contains(sa("[::1]:8080")) && !r[0].contains(sa("[::1]:8081")));
        let r = AddrRange::parse_list("[fd00::]/8:*, 10.0.0.1").unwrap();
        assert!(r[0].contains(sa("[fdab::1]:1")) && !r[0].contains(sa("[fe80::1]:1")));
        assert!(r[1].contains(sa("10.0.0.1:0")) && !r[1].contains(sa("10.0.0.2:0")));
        let r = AddrRange::parse_list("::1").unwrap();
        assert!(r[0].contains(sa("[::1]:5")));
        let r = AddrRange::parse_list("localhost:80").unwrap();
        assert_eq!(r.len(), 2);
        assert!(r.iter().any(|r| r.contains(sa("127.0.0.53:80"))));
        assert!(r.iter().any(|r| r.contains(sa("[::1]:80"))));
        assert!(!r.iter().any(|r| r.contains(sa("[::1]:81"))));
        let r = AddrRange::parse_list("*:0").unwrap();
        assert!(r[0].contains(sa("0.0.0.0:0")) && r[0].contains(sa("[::]:0")));
        assert!(!r[0].contains(sa("0.0.0.0:1")));
        assert_eq!(AddrRange::parse_list("*").unwrap(), [AddrRange::ANY]);
    }

    #[test]
    fn bad_ranges_say_why() {
        for bad in [
            "",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "127.0.0.1:9-1",
            "127.0.0.1/33",
            "[::1",
            "[::1]/129",
            "example.com",
            "1.2.3.4:5:6",
        ] {
            let e = AddrRange::parse_list(bad).unwrap_err();
            assert!(e.to_string().contains("expected ADDRESS"), "{bad}: {e}");
        }
    }

    #[test]
    fn grants_round_trip() {
        let mut g = NetGrants {
            tcp_connect: AddrRange::parse_list("127.0.0.1/8:1024-65535").unwrap(),
            tcp_listen: AddrRange::parse_list("[::1]:8080,*:0").unwrap(),
            ..NetGrants::default()
        };
        g.ip_name_lookup = true;
        let bytes = crate::codec::to_bytes(&g);
        assert_eq!(crate::codec::from_bytes::<NetGrants>(&bytes), Ok(g.clone()));
        assert!(g.allows(NetOp::TcpConnect, sa("127.0.0.1:2000")));
        assert!(!g.allows(NetOp::UdpSend, sa("127.0.0.1:2000")));
        let all = NetGrants::everything();
        assert!(all.allows(NetOp::UdpBind, sa("[::]:0")));
    }
}
