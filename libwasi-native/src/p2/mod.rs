//! WASI 0.2, by package: the `Host` traits of its interfaces, over the
//! version-neutral core (`crate::{cli, clocks, fs, io, random}`).

pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod http;
pub mod http_client;
pub mod http_serve;
pub mod io;
pub mod random;
pub mod sockets;
