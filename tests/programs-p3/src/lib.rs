//! What the WASI 0.3 test programs share: writing bytes to stdout and
//! stderr through `stream<u8>`s.

use wasip3::cli::types::ErrorCode;
use wasip3::wit_stream;

/// Writes `bytes` to stdout through a stream, waiting for the host to
/// report the stream's outcome.
pub async fn stdout(bytes: Vec<u8>) -> Result<(), ErrorCode> {
    let (mut tx, rx) = wit_stream::new();
    let (done, ()) = futures::join!(async { wasip3::cli::stdout::write_via_stream(rx).await }, async {
        let rest = tx.write_all(bytes).await;
        assert!(rest.is_empty(), "stdout closed early");
        drop(tx);
    });
    done
}

/// Writes `bytes` to stderr through a stream, as [`stdout`].
pub async fn stderr(bytes: Vec<u8>) -> Result<(), ErrorCode> {
    let (mut tx, rx) = wit_stream::new();
    let (done, ()) = futures::join!(async { wasip3::cli::stderr::write_via_stream(rx).await }, async {
        let rest = tx.write_all(bytes).await;
        assert!(rest.is_empty(), "stderr closed early");
        drop(tx);
    });
    done
}

/// What the WASI 0.3 `wasi:sockets` programs share.
pub mod net {
    use wasip3::sockets::types::{
        ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    };

    /// The loopback address of `family` with `port`.
    pub fn loopback(family: IpAddressFamily, port: u16) -> IpSocketAddress {
        match family {
            IpAddressFamily::Ipv4 => IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port,
                address: (127, 0, 0, 1),
            }),
            IpAddressFamily::Ipv6 => IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port,
                flow_info: 0,
                address: (0, 0, 0, 0, 0, 0, 0, 1),
                scope_id: 0,
            }),
        }
    }

    /// The port of `a`.
    pub fn port(a: &IpSocketAddress) -> u16 {
        match a {
            IpSocketAddress::Ipv4(a) => a.port,
            IpSocketAddress::Ipv6(a) => a.port,
        }
    }

    /// `a` as a `std::net` address.
    pub fn std_addr(a: &IpSocketAddress) -> std::net::SocketAddr {
        match *a {
            IpSocketAddress::Ipv4(a) => {
                let (x, y, z, w) = a.address;
                (std::net::Ipv4Addr::new(x, y, z, w), a.port).into()
            }
            IpSocketAddress::Ipv6(a) => {
                let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
                (std::net::Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7), a.port).into()
            }
        }
    }

    /// The `std::io::ErrorKind` (its `Debug` name) that Rust's standard
    /// library gives the same failure on WASI 0.2, so that the WASI 0.3
    /// twins of `std::net` programs print what those print.
    pub fn kind(e: &ErrorCode) -> &'static str {
        match e {
            ErrorCode::AccessDenied => "PermissionDenied",
            ErrorCode::InvalidArgument => "InvalidInput",
            ErrorCode::ConnectionRefused => "ConnectionRefused",
            ErrorCode::ConnectionReset => "ConnectionReset",
            ErrorCode::ConnectionAborted => "ConnectionAborted",
            ErrorCode::AddressInUse => "AddrInUse",
            ErrorCode::AddressNotBindable => "AddrNotAvailable",
            ErrorCode::Timeout => "TimedOut",
            _ => "Other",
        }
    }

    /// The WIT name of `e`.
    pub fn name(e: &ErrorCode) -> String {
        match e {
            ErrorCode::AccessDenied => "access-denied",
            ErrorCode::NotSupported => "not-supported",
            ErrorCode::InvalidArgument => "invalid-argument",
            ErrorCode::OutOfMemory => "out-of-memory",
            ErrorCode::Timeout => "timeout",
            ErrorCode::InvalidState => "invalid-state",
            ErrorCode::AddressNotBindable => "address-not-bindable",
            ErrorCode::AddressInUse => "address-in-use",
            ErrorCode::RemoteUnreachable => "remote-unreachable",
            ErrorCode::ConnectionRefused => "connection-refused",
            ErrorCode::ConnectionBroken => "connection-broken",
            ErrorCode::ConnectionReset => "connection-reset",
            ErrorCode::ConnectionAborted => "connection-aborted",
            ErrorCode::DatagramTooLarge => "datagram-too-large",
            ErrorCode::Other(m) => return format!("other ({})", m.as_deref().unwrap_or("")),
        }
        .to_string()
    }

    /// Lines of output, written to stdout at the end.
    #[derive(Default)]
    pub struct Out(pub String);

    impl Out {
        /// Adds a line.
        pub fn line(&mut self, line: impl AsRef<str>) {
            self.0.push_str(line.as_ref());
            self.0.push('\n');
        }

        /// Writes the lines to stdout.
        pub async fn flush(&mut self) {
            let text = core::mem::take(&mut self.0);
            crate::stdout(text.into_bytes()).await.expect("stdout");
        }
    }
}
