//! The operating system's sockets, non-blocking: a thin layer over
//! `socket(2)`, `bind(2)`, `connect(2)`, `listen(2)`, `accept4(2)`,
//! `send(2)`/`recv(2)` and their `*to`/`*from` forms, `shutdown(2)` and
//! socket options, in terms of `std::net` addresses and `io::Result`s.
//!
//! Every socket is created non-blocking and close-on-exec (an accepted one
//! too); an IPv6 socket is `IPV6_V6ONLY`, as WASI requires. Sends never
//! raise `SIGPIPE` (`MSG_NOSIGNAL`): a broken connection is an `EPIPE`
//! error. A call interrupted by a signal is retried.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libc::{c_int, socklen_t};

/// An address family of WASI sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: &SocketAddr) -> Family {
        match addr {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        }
    }

    fn af(self) -> c_int {
        match self {
            Family::V4 => libc::AF_INET,
            Family::V6 => libc::AF_INET6,
        }
    }

    /// The unspecified address of the family with port 0 (what a socket
    /// binds to implicitly).
    pub fn unspecified(self) -> SocketAddr {
        match self {
            Family::V4 => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            Family::V6 => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
        }
    }
}

/// `-1` from a system call: the error in `errno`.
fn check(r: c_int) -> io::Result<c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Runs `f` until it is not interrupted by a signal.
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// `addr` as a `sockaddr_storage` and its length.
fn to_raw(addr: &SocketAddr) -> (libc::sockaddr_storage, socklen_t) {
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for
            // sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as socklen_t)
}

/// The address in `storage`, which the OS filled in.
fn from_raw(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says it holds a sockaddr_in.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says it holds a sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

/// An OS socket, closed when dropped.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The descriptor's number goes back to the OS with it.
        crate::io::forget_has_bytes(self.fd());
    }
}

impl Socket {
    /// A new socket of `family`: TCP when `stream`, else UDP.
    ///
    /// # Errors
    ///
    /// The OS's: no more descriptors (`EMFILE`), an unsupported family.
    pub fn new(family: Family, stream: bool) -> io::Result<Socket> {
        let ty = if stream {
            libc::SOCK_STREAM
        } else {
            libc::SOCK_DGRAM
        };
        // SAFETY: plain system call.
        let fd = check(unsafe {
            libc::socket(
                family.af(),
                ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        })?;
        let socket = Socket {
            // SAFETY: a new descriptor nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        };
        if family == Family::V6 {
            socket.set_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
        }
        Ok(socket)
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `bind(2)`.
    pub fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        let (raw, len) = to_raw(addr);
        // SAFETY: `raw` holds `len` bytes of a socket address.
        check(unsafe { libc::bind(self.fd(), (&raw const raw).cast(), len) }).map(drop)
    }

    /// `connect(2)`; on a TCP socket usually `EINPROGRESS`: the connection
    /// is then made in the background ([`Socket::take_error`] says how it
    /// went once the socket is writable).
    pub fn connect(&self, addr: &SocketAddr) -> io::Result<()> {
        let (raw, len) = to_raw(addr);
        // SAFETY: `raw` holds `len` bytes of a socket address. An
        // interrupted connect goes on in the background: not retried.
        check(unsafe { libc::connect(self.fd(), (&raw const raw).cast(), len) }).map(drop)
    }

    /// Dissolves a UDP socket's association with its peer (`connect(2)`
    /// to an `AF_UNSPEC` address).
    pub fn disconnect(&self) -> io::Result<()> {
        // SAFETY: all-zero bytes are a valid sockaddr.
        let mut raw: libc::sockaddr = unsafe { MaybeUninit::zeroed().assume_init() };
        raw.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        // SAFETY: a valid sockaddr of its size.
        let r = unsafe {
            libc::connect(
                self.fd(),
                &raw const raw,
                size_of::<libc::sockaddr>() as socklen_t,
            )
        };
        match check(r) {
            // Linux may report a dissolved association this way.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => Ok(()),
            r => r.map(drop),
        }
    }

    /// `listen(2)` with a backlog of `backlog` (also to change the backlog
    /// of a listening socket).
    pub fn listen(&self, backlog: c_int) -> io::Result<()> {
        // SAFETY: plain system call.
        check(unsafe { libc::listen(self.fd(), backlog) }).map(drop)
    }

    /// `accept4(2)`: the next connection, non-blocking and close-on-exec,
    /// and its peer's address.
    pub fn accept(&self) -> io::Result<(Socket, SocketAddr)> {
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut raw: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
        let fd = retry(|| {
            // SAFETY: `raw` has room for `len` bytes.
            check(unsafe {
                libc::accept4(
                    self.fd(),
                    (&raw mut raw).cast(),
                    &mut len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            })
        })?;
        let socket = Socket {
            // SAFETY: a new descriptor nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        };
        Ok((socket, from_raw(&raw)?))
    }

    fn name(
        &self,
        f: unsafe extern "C" fn(c_int, *mut libc::sockaddr, *mut socklen_t) -> c_int,
    ) -> io::Result<SocketAddr> {
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut raw: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
        // SAFETY: `raw` has room for `len` bytes.
        check(unsafe { f(self.fd(), (&raw mut raw).cast(), &mut len) })?;
        from_raw(&raw)
    }

    /// `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.name(libc::getsockname)
    }

    /// `getpeername(2)`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.name(libc::getpeername)
    }

    /// The pending error of the socket (`SO_ERROR`), cleared by reading
    /// it: how a background connect ended.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let e = self.get_int(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((e != 0).then(|| io::Error::from_raw_os_error(e)))
    }

    /// `send(2)` without blocking and without `SIGPIPE`.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        retry(|| {
            // SAFETY: `buf` is valid for reads of its length.
            let n = unsafe {
                libc::send(
                    self.fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    /// `sendto(2)` to `addr` (or `send(2)` to the connected peer when
    /// `None`), without blocking and without `SIGPIPE`.
    pub fn send_to(&self, buf: &[u8], addr: Option<&SocketAddr>) -> io::Result<usize> {
        let Some(addr) = addr else {
            return self.send(buf);
        };
        let (raw, len) = to_raw(addr);
        retry(|| {
            // SAFETY: `buf` is valid for reads of its length; `raw` holds
            // `len` bytes of a socket address.
            let n = unsafe {
                libc::sendto(
                    self.fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                    (&raw const raw).cast(),
                    len,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    /// `recv(2)` without blocking into `buf`, which need not be
    /// initialized; returns how many bytes it filled (0: the peer shut
    /// its side down).
    pub fn recv(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        crate::io::forget_has_bytes(self.fd());
        retry(|| {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::recv(self.fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    /// `recvfrom(2)` without blocking into `buf`: one datagram, its length
    /// (at most `buf`'s; the rest of a longer one is dropped) and its
    /// sender.
    pub fn recv_from(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<(usize, SocketAddr)> {
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut raw: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        let n = retry(|| {
            let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
            // SAFETY: `buf` is valid for writes of its length, `raw` for
            // `len` bytes.
            let n = unsafe {
                libc::recvfrom(
                    self.fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw mut raw).cast(),
                    &mut len,
                )
            };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })?;
        Ok((n.min(buf.len()), from_raw(&raw)?))
    }

    /// Bytes in the send queue not acknowledged by the peer yet
    /// (`SIOCOUTQ`).
    pub fn unsent(&self) -> io::Result<usize> {
        let mut n: c_int = 0;
        // SAFETY: SIOCOUTQ writes one int.
        check(unsafe { libc::ioctl(self.fd(), libc::TIOCOUTQ, &mut n) })?;
        Ok(n.max(0) as usize)
    }

    /// Bytes received and not read yet (`FIONREAD`).
    pub fn queued(&self) -> io::Result<usize> {
        let mut n: c_int = 0;
        // SAFETY: FIONREAD writes one int.
        check(unsafe { libc::ioctl(self.fd(), libc::FIONREAD, &mut n) })?;
        Ok(n.max(0) as usize)
    }

    /// `shutdown(2)`: `libc::SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    pub fn shutdown(&self, how: c_int) -> io::Result<()> {
        crate::io::forget_has_bytes(self.fd());
        // SAFETY: plain system call.
        check(unsafe { libc::shutdown(self.fd(), how) }).map(drop)
    }

    /// Sets the integer socket option `level`/`name`.
    pub fn set_int(&self, level: c_int, name: c_int, value: c_int) -> io::Result<()> {
        // SAFETY: `value` is an int, as the option's length says.
        check(unsafe {
            libc::setsockopt(
                self.fd(),
                level,
                name,
                (&raw const value).cast(),
                size_of::<c_int>() as socklen_t,
            )
        })
        .map(drop)
    }

    /// Reads the integer socket option `level`/`name`.
    pub fn get_int(&self, level: c_int, name: c_int) -> io::Result<c_int> {
        let mut value: c_int = 0;
        let mut len = size_of::<c_int>() as socklen_t;
        // SAFETY: room for an int, as `len` says.
        check(unsafe {
            libc::getsockopt(self.fd(), level, name, (&raw mut value).cast(), &mut len)
        })?;
        Ok(value)
    }
}

/// Whether `fd` has one of `events` now (a `poll(2)` that does not
/// wait); an error or hang-up counts, as the operation then finds out what
/// happened.
pub fn ready_now(fd: RawFd, events: i16) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    unsafe { libc::poll(&mut p, 1, 0) > 0 }
}

/// Blocks until `fd` has one of `events` (or an error or hang-up).
pub fn wait_for(fd: RawFd, events: i16) {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd; an interrupted poll is retried.
    while unsafe { libc::poll(&mut p, 1, -1) } < 0
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_the_os_form() {
        for a in ["127.0.0.1:80", "[::1]:8080", "[fe80::1%3]:1", "0.0.0.0:0"] {
            let addr: SocketAddr = a.parse().unwrap();
            let (raw, _) = to_raw(&addr);
            assert_eq!(from_raw(&raw).unwrap(), addr);
        }
    }

    #[test]
    fn loopback_connect_send_recv() {
        let listener = Socket::new(Family::V4, true).unwrap();
        listener.bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
        listener.listen(8).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let client = Socket::new(Family::V4, true).unwrap();
        match client.connect(&addr) {
            Ok(()) => {}
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EINPROGRESS)),
        }
        wait_for(client.fd(), libc::POLLOUT);
        assert!(client.take_error().unwrap().is_none());
        wait_for(listener.fd(), libc::POLLIN);
        let (server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(client.send(b"ping").unwrap(), 4);
        wait_for(server.fd(), libc::POLLIN);
        let mut buf = [MaybeUninit::uninit(); 8];
        assert_eq!(server.recv(&mut buf).unwrap(), 4);
        // Nothing more: a non-blocking recv would block.
        let e = server.recv(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }
}
