//! The checks the WIT asks of the addresses a guest passes, before any
//! capability check or system call: the socket's address family, no
//! IPv4-mapped IPv6 address (WASI's IPv6 sockets are IPv6-only), and for a
//! remote address a real destination (not `0.0.0.0`/`::`, not port 0).

use std::net::{IpAddr, SocketAddr};

use super::error::{ErrorCode, NetResult};
use super::os::Family;

/// Whether `ip` is an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
pub fn is_v4_mapped(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// Whether `ip` addresses one host (not multicast, not the IPv4 broadcast
/// address).
fn is_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// The family of `addr` is the socket's, and an IPv6 one is not
/// IPv4-mapped (`invalid-argument` otherwise).
fn check_family(family: Family, addr: &SocketAddr) -> NetResult<()> {
    if Family::of(addr) != family || is_v4_mapped(&addr.ip()) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// Checks a local address to bind a socket of `family` to; for TCP it
/// must also be a unicast address.
///
/// # Errors
///
/// `invalid-argument`, as `bind`'s WIT documentation lists.
pub fn check_local(family: Family, addr: &SocketAddr, tcp: bool) -> NetResult<()> {
    check_family(family, addr)?;
    if tcp && !is_unicast(&addr.ip()) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// Checks a remote address for a socket of `family` to connect or send
/// to: not unspecified, not port 0; for TCP also unicast.
///
/// # Errors
///
/// `invalid-argument`, as `connect`'s and `send`'s WIT documentation
/// lists.
pub fn check_remote(family: Family, addr: &SocketAddr, tcp: bool) -> NetResult<()> {
    check_family(family, addr)?;
    if addr.ip().is_unspecified() || addr.port() == 0 || (tcp && !is_unicast(&addr.ip())) {
        return Err(ErrorCode::InvalidArgument);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_checked_as_the_wit_says() {
        let bad = Err(ErrorCode::InvalidArgument);
        assert_eq!(check_local(Family::V4, &sa("127.0.0.1:0"), true), Ok(()));
        assert_eq!(check_local(Family::V6, &sa("127.0.0.1:0"), true), bad);
        assert_eq!(
            check_local(Family::V6, &sa("[::ffff:127.0.0.1]:0"), true),
            bad
        );
        assert_eq!(check_local(Family::V4, &sa("224.0.0.1:0"), true), bad);
        assert_eq!(check_local(Family::V4, &sa("224.0.0.1:0"), false), Ok(()));
        assert_eq!(check_remote(Family::V4, &sa("0.0.0.0:80"), true), bad);
        assert_eq!(check_remote(Family::V6, &sa("[::1]:0"), false), bad);
        assert_eq!(check_remote(Family::V6, &sa("[::1]:80"), true), Ok(()));
    }
}
