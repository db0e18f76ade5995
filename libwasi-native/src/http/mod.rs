//! HTTP, version-neutral: what the `wasi:http` faces of WASI 0.2 and 0.3
//! share.
//!
//! - [`wire`]: HTTP/1.1 messages on the wire (heads, framing, chunked
//!   bodies), on `httparse`;
//! - [`fields`]: the rules `wasi:http` puts on field names and values,
//!   methods, schemes, authorities and paths;
//! - [`body`]: the bytes of a body a guest writes, shared between the
//!   guest's stream and whoever sends them;
//! - [`server`]: the server an executable runs for a component that exports
//!   a `wasi:http` handler (workers, connections, limits, shutdown).

pub mod body;
pub mod fields;
pub mod server;
pub mod wire;
