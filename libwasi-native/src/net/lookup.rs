//! Name resolution (`wasi:sockets/ip-name-lookup`), for both versions.
//!
//! An IP address (IPv6 with or without brackets) is its own answer, and
//! `localhost` and the names under it answer `127.0.0.1` and `::1`
//! (RFC 6761), without asking anyone: neither ever blocks. Other names go
//! to the C library's `getaddrinfo(3)` (`/etc/hosts`, then DNS, as the
//! system is configured), which blocks the process until it answers — the
//! one host call that may wait outside the event loop. Names must be ASCII
//! (internationalized names in their `xn--` form); a name that is not a
//! syntactically valid host name is `invalid-argument`. The answer never
//! has an IPv4-mapped IPv6 address, nor the same address twice.

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{ErrorCode, NetResult};

/// Whether `name` is a syntactically valid host name: dot-separated
/// labels of 1 to 63 letters, digits, hyphens and underscores, 253
/// characters at most (a final dot aside).
fn valid_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether `name` is `localhost` or a name under it.
fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The IP addresses of `name`, in the order to try them.
///
/// # Errors
///
/// `invalid-argument` for a name that is neither an IP address nor a valid
/// host name; `name-unresolvable`, `temporary-resolver-failure`,
/// `permanent-resolver-failure` from the resolver.
pub fn resolve(name: &str) -> NetResult<Vec<IpAddr>> {
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![unmapped(ip)]);
    }
    if !valid_host_name(name) {
        return Err(ErrorCode::InvalidArgument);
    }
    if is_localhost(name) {
        return Ok(vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]);
    }
    getaddrinfo(name)
}

/// `EAI_ADDRFAMILY` (no address of the family asked for), the same in
/// glibc and musl, which the `libc` crate leaves out.
const EAI_ADDRFAMILY: libc::c_int = -9;

/// Asks `getaddrinfo(3)` for the stream-socket addresses of `name`.
fn getaddrinfo(name: &str) -> NetResult<Vec<IpAddr>> {
    let c_name = CString::new(name).map_err(|_| ErrorCode::InvalidArgument)?;
    // SAFETY: all-zero bytes are a valid addrinfo (the hints).
    let mut hints: libc::addrinfo = unsafe { core::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_ADDRCONFIG;
    let mut list: *mut libc::addrinfo = core::ptr::null_mut();
    // SAFETY: valid C strings and hints; `list` receives the answer.
    let r = unsafe { libc::getaddrinfo(c_name.as_ptr(), core::ptr::null(), &hints, &mut list) };
    if r != 0 {
        return Err(match r {
            libc::EAI_NONAME | libc::EAI_NODATA | EAI_ADDRFAMILY => ErrorCode::NameUnresolvable,
            libc::EAI_AGAIN => ErrorCode::TemporaryResolverFailure,
            libc::EAI_FAIL => ErrorCode::PermanentResolverFailure,
            libc::EAI_MEMORY => ErrorCode::OutOfMemory,
            libc::EAI_SYSTEM => ErrorCode::from_io(&std::io::Error::last_os_error()),
            _ => ErrorCode::Other(0),
        });
    }
    let mut out: Vec<IpAddr> = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: a node of the list getaddrinfo returned.
        let ai = unsafe { &*at };
        let ip = match ai.ai_family {
            libc::AF_INET if !ai.ai_addr.is_null() => {
                // SAFETY: the family says the address is a sockaddr_in.
                let sin = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in>() };
                Some(IpAddr::V4(Ipv4Addr::from(
                    sin.sin_addr.s_addr.to_ne_bytes(),
                )))
            }
            libc::AF_INET6 if !ai.ai_addr.is_null() => {
                // SAFETY: the family says the address is a sockaddr_in6.
                let sin6 = unsafe { &*ai.ai_addr.cast::<libc::sockaddr_in6>() };
                Some(unmapped(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))))
            }
            _ => None,
        };
        if let Some(ip) = ip
            && !out.contains(&ip)
        {
            out.push(ip);
        }
        at = ai.ai_next;
    }
    // SAFETY: the list getaddrinfo returned, freed once.
    unsafe { libc::freeaddrinfo(list) };
    if out.is_empty() {
        return Err(ErrorCode::NameUnresolvable);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_localhost_answer_at_once() {
        assert_eq!(resolve("127.0.0.1"), Ok(vec![Ipv4Addr::LOCALHOST.into()]));
        assert_eq!(resolve("[::1]"), Ok(vec![Ipv6Addr::LOCALHOST.into()]));
        assert_eq!(
            resolve("::ffff:10.0.0.1"),
            Ok(vec![Ipv4Addr::new(10, 0, 0, 1).into()])
        );
        let local = resolve("LocalHost.").unwrap();
        assert!(local.contains(&Ipv4Addr::LOCALHOST.into()));
        assert!(local.contains(&Ipv6Addr::LOCALHOST.into()));
        assert_eq!(resolve("a.localhost").unwrap(), local);
    }

    #[test]
    fn malformed_names_are_invalid_arguments() {
        for bad in [
            "",
            "a..b",
            "exa mple.com",
            &"a".repeat(64),
            "bücher.de",
            "a\0b",
        ] {
            assert_eq!(resolve(bad), Err(ErrorCode::InvalidArgument), "{bad:?}");
        }
    }
}
