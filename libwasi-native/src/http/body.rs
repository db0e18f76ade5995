//! Bodies a guest writes: the bytes it wrote through the body's
//! `output-stream`, whether it finished the body, and the trailers it gave.
//!
//! The guest's stream and the host side that sends the body (the server's
//! response, the client's request) hold the same [`SharedBody`].

use std::cell::RefCell;
use std::rc::Rc;

use super::wire::Field;

/// A body being written.
#[derive(Debug, Default)]
pub struct OutgoingBytes {
    /// The bytes written and not yet sent.
    pub bytes: Vec<u8>,
    /// Bytes written in all (sent or not).
    pub written: u64,
    /// Whether the guest finished the body (`outgoing-body.finish`).
    pub finished: bool,
    /// The trailers it finished the body with.
    pub trailers: Option<Vec<Field>>,
}

/// A body shared by the guest's stream and its sender.
pub type SharedBody = Rc<RefCell<OutgoingBytes>>;

impl OutgoingBytes {
    /// Appends what the guest wrote; `false` once the body is finished
    /// (the stream is then closed).
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        if self.finished {
            return false;
        }
        self.bytes.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        true
    }
}
