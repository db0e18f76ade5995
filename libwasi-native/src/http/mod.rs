//! HTTP, version-neutral: what the `wasi:http` faces of WASI 0.2 and 0.3
//! share.
//!
//! - [`wire`]: HTTP/1.1 messages on the wire (heads, framing, chunked
//!   bodies), on `httparse`;
//! - [`fields`]: the rules `wasi:http` puts on field names and values,
//!   methods, schemes, authorities and paths;
//! - [`body`]: the bytes of a body a guest writes, shared between the
//!   guest's stream and whoever sends them;
//! - [`client`]: the client of outgoing requests (HTTP/1.1 over TCP or
//!   TLS), a state machine driven by the faces' event loops;
//! - [`server`]: the server an executable runs for a component that exports
//!   a `wasi:http` handler (workers, connections, limits, shutdown).

pub mod body;
pub mod client;
pub mod fields;
pub mod server;
pub mod wire;
