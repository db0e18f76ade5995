//! The socket core of the WASI host: `wasi:sockets` written once against
//! the operating system, under the WASI 0.2 face (`p2/sockets/`) and the
//! WASI 0.3 face (`p3/sockets.rs`).
//!
//! In: the guest's requests, as `std::net` addresses and plain values,
//! and the network capabilities the executable was built with
//! ([`smelt_abi::net::NetGrants`]). Out: results and [`ErrorCode`]s, which
//! each face turns into its WIT types, and OS sockets whose descriptors the
//! faces hand to the event loop to wait on.
//!
//! Invariants: every OS socket is non-blocking, so no call here waits
//! unless asked to (`blocking-read`, `blocking-flush` of WASI 0.2); an
//! address the capabilities do not grant is refused with `access-denied`
//! before any system call, and after the checks the WIT asks for
//! (`invalid-argument` for an address of the wrong family, ...), never
//! with a trap.

pub mod addr;
pub mod error;
pub mod lookup;
pub mod os;
pub mod stream;
pub mod tcp;
pub mod udp;

pub use error::{ErrorCode, NetResult};

/// Defines, in a face's module, the conversions between `std::net`
/// addresses and the WIT address types of the bindings module `$wit`
/// (WASI 0.2's `wasi_sockets_network` and WASI 0.3's `wasi_sockets_types`
/// have the same shapes): `to_std`, `from_std`, `ip_from_std`,
/// `family_from_wit` and `family_to_wit`.
macro_rules! wit_addresses {
    ($wit:path) => {
        use $wit as wit_addr;

        /// A WIT socket address as a `std::net` one.
        fn to_std(a: wit_addr::IpSocketAddress) -> std::net::SocketAddr {
            match a {
                wit_addr::IpSocketAddress::Ipv4(a) => {
                    let (x, y, z, w) = a.address;
                    std::net::SocketAddr::new(std::net::Ipv4Addr::new(x, y, z, w).into(), a.port)
                }
                wit_addr::IpSocketAddress::Ipv6(a) => {
                    let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
                    std::net::SocketAddr::V6(std::net::SocketAddrV6::new(
                        std::net::Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                        a.port,
                        a.flow_info,
                        a.scope_id,
                    ))
                }
            }
        }

        /// A `std::net` socket address as a WIT one.
        fn from_std(a: std::net::SocketAddr) -> wit_addr::IpSocketAddress {
            match a {
                std::net::SocketAddr::V4(a) => {
                    let [x, y, z, w] = a.ip().octets();
                    wit_addr::IpSocketAddress::Ipv4(wit_addr::Ipv4SocketAddress {
                        port: a.port(),
                        address: (x, y, z, w),
                    })
                }
                std::net::SocketAddr::V6(a) => {
                    let [s0, s1, s2, s3, s4, s5, s6, s7] = a.ip().segments();
                    wit_addr::IpSocketAddress::Ipv6(wit_addr::Ipv6SocketAddress {
                        port: a.port(),
                        flow_info: a.flowinfo(),
                        address: (s0, s1, s2, s3, s4, s5, s6, s7),
                        scope_id: a.scope_id(),
                    })
                }
            }
        }

        /// A `std::net` IP address as a WIT one.
        fn ip_from_std(ip: std::net::IpAddr) -> wit_addr::IpAddress {
            match ip {
                std::net::IpAddr::V4(v4) => {
                    let [x, y, z, w] = v4.octets();
                    wit_addr::IpAddress::Ipv4((x, y, z, w))
                }
                std::net::IpAddr::V6(v6) => {
                    let [s0, s1, s2, s3, s4, s5, s6, s7] = v6.segments();
                    wit_addr::IpAddress::Ipv6((s0, s1, s2, s3, s4, s5, s6, s7))
                }
            }
        }

        /// A WIT address family as the core's.
        fn family_from_wit(f: wit_addr::IpAddressFamily) -> $crate::net::os::Family {
            match f {
                wit_addr::IpAddressFamily::Ipv4 => $crate::net::os::Family::V4,
                wit_addr::IpAddressFamily::Ipv6 => $crate::net::os::Family::V6,
            }
        }

        /// The core's address family as a WIT one.
        fn family_to_wit(f: $crate::net::os::Family) -> wit_addr::IpAddressFamily {
            match f {
                $crate::net::os::Family::V4 => wit_addr::IpAddressFamily::Ipv4,
                $crate::net::os::Family::V6 => wit_addr::IpAddressFamily::Ipv6,
            }
        }
    };
}

pub(crate) use wit_addresses;
