//! The WASI 0.3 host: `wasi:cli`, `wasi:clocks`, `wasi:random`,
//! `wasi:filesystem` and `wasi:sockets` of WASI 0.3.x, over the
//! version-neutral core (`crate::{cli, clocks, fs, random}`) and the
//! socket core ([`crate::net`]).
//!
//! What is new in 0.3 is the shape of the calls: standard streams and file
//! contents are `stream<u8>`s whose other end the host holds (a
//! [`smelt_rt::component::stream::HostSink`] or
//! [`smelt_rt::component::stream::HostSource`] on a file descriptor), their
//! outcome a `future<result<_, error-code>>` the host resolves, and waits
//! are `async` functions that return to the guest as subtasks.

pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod http;
pub mod http_client;
pub mod http_serve;
pub mod random;
pub mod sockets;
pub mod stream;
