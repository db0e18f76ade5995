//! WASI 0.2, by package.

pub mod cli;
pub mod clocks;
pub mod filesystem;
pub mod http;
pub mod http_client;
pub mod http_serve;
pub mod io;
pub mod random;
pub mod sockets;
