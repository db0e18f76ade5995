//! The host objects guests hold handles to: a typed resource table.
//!
//! One [`Table`] holds every object of the host; a guest's handle to a
//! host resource has the object's slot number as its representation
//! (rep). Slot numbers are reused after the object is dropped (most
//! recently freed first).
//!
//! The table is typed two ways. Each kind of host object is a Rust type
//! ([`HostObject`]: [`Descriptor`], [`InputStream`], ...) stored as one
//! case of [`Object`]. And each WIT resource type of the generated
//! bindings names the host object type behind its handles
//! ([`Resource`]: WASI 0.2's and 0.3's `descriptor` are both a
//! [`Descriptor`]), so [`Table::resource`] of a `Borrow<R>` returns an
//! `&R::Object` and [`Table::own`] makes an `Own<R>` only of an
//! `R::Object`: handing a guest the wrong kind of object is a type error.
//! The component runtime checks a handle's resource type before the host
//! sees its rep, so a rep always names an object of the type its handle
//! says; the table still checks and traps on a mismatch, which would be a
//! bug in smelt.

use smelt_rt::component::host::{Borrow, HostResult, HostTrap, Own};

use std::cell::RefCell;
use std::rc::Rc;

use crate::fs::{Descriptor, DirectoryEntries, Errno};
use crate::net::tcp::TcpSocket;
use crate::net::udp::UdpSocket;
use crate::p2::http::{
    Fields, FutureTrailers, IncomingBody, IncomingRequest, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam,
};
use crate::p2::io::{InputStream, OutputStream, Pollable};
use crate::p2::sockets::{IncomingDatagrams, OutgoingDatagrams, ResolvedAddresses};

/// A host object.
#[derive(Debug)]
pub enum Object {
    /// `wasi:io/error#error`: a description of what failed, and the
    /// filesystem error code it stands for, if any.
    Error {
        /// The description.
        message: String,
        /// The `errno` of the failure, for `filesystem-error-code`.
        code: Option<Errno>,
        /// The `wasi:sockets` error code, for `network-error-code`.
        net: Option<crate::net::ErrorCode>,
        /// What failed in an outgoing HTTP request, for `http-error-code`.
        http: Option<crate::http::client::ClientError>,
    },
    /// `wasi:io/poll#pollable`.
    Pollable(Pollable),
    /// `wasi:io/streams#input-stream`.
    InputStream(InputStream),
    /// `wasi:io/streams#output-stream`.
    OutputStream(OutputStream),
    /// `wasi:filesystem/types#descriptor` (WASI 0.2 and 0.3).
    Descriptor(Descriptor),
    /// `wasi:filesystem/types#directory-entry-stream`.
    DirectoryEntries(DirectoryEntries),
    /// `wasi:cli/terminal-input#terminal-input` or
    /// `wasi:cli/terminal-output#terminal-output`.
    Terminal,
    /// `wasi:sockets/network#network` (what it grants is the host's
    /// [`crate::WasiHost::network`]).
    Network,
    /// `wasi:sockets/tcp#tcp-socket` (WASI 0.2) or
    /// `wasi:sockets/types#tcp-socket` (WASI 0.3); shared with the
    /// operations in progress that refer to it.
    TcpSocket(Rc<RefCell<TcpSocket>>),
    /// `wasi:sockets/udp#udp-socket` or `wasi:sockets/types#udp-socket`.
    UdpSocket(Rc<RefCell<UdpSocket>>),
    /// `wasi:sockets/ip-name-lookup#resolve-address-stream`.
    ResolvedAddresses(ResolvedAddresses),
    /// `wasi:sockets/udp#incoming-datagram-stream`.
    IncomingDatagrams(IncomingDatagrams),
    /// `wasi:sockets/udp#outgoing-datagram-stream`.
    OutgoingDatagrams(OutgoingDatagrams),
    /// `wasi:http/types#fields`.
    Fields(Fields),
    /// `wasi:http/types#outgoing-request`.
    OutgoingRequest(OutgoingRequest),
    /// `wasi:http/types#outgoing-body`.
    OutgoingBody(OutgoingBody),
    /// `wasi:http/types#request-options`.
    RequestOptions(RequestOptions),
    /// `wasi:http/types#incoming-request`.
    IncomingRequest(IncomingRequest),
    /// `wasi:http/types#incoming-body`.
    IncomingBody(IncomingBody),
    /// `wasi:http/types#future-trailers`.
    FutureTrailers(FutureTrailers),
    /// `wasi:http/types#response-outparam`.
    ResponseOutparam(ResponseOutparam),
    /// `wasi:http/types#outgoing-response`.
    OutgoingResponse(OutgoingResponse),
    /// `wasi:http/types#future-incoming-response`.
    FutureIncomingResponse(crate::p2::http_client::FutureIncomingResponse),
    /// `wasi:http/types#incoming-response`.
    IncomingResponse(crate::p2::http_client::IncomingResponse),
    /// `wasi:http/types@0.3#request`.
    Request3(crate::p3::http::Request),
    /// `wasi:http/types@0.3#response`.
    Response3(crate::p3::http::Response),
    /// `wasi:http/types@0.3#request-options`.
    RequestOptions3(crate::p3::http::RequestOptions),
}

/// A kind of host object: one case of [`Object`].
pub trait HostObject: Sized {
    /// What it is called in a trap message.
    const WHAT: &'static str;
    /// The object, as a table entry.
    fn into_object(self) -> Object;
    /// The entry, if it is one of these.
    fn of(object: &Object) -> Option<&Self>;
    /// The entry, if it is one of these.
    fn of_mut(object: &mut Object) -> Option<&mut Self>;
}

/// A WIT resource type of the generated bindings whose handles name host
/// objects of type [`Resource::Object`].
pub trait Resource {
    /// The host object behind a handle.
    type Object: HostObject;
}

macro_rules! resources {
    ($($res:path => $obj:ty;)*) => {$(
        impl Resource for $res {
            type Object = $obj;
        }
    )*};
}

resources! {
    crate::bindings::wasi_io_poll::Pollable => Pollable;
    crate::bindings::wasi_io_streams::InputStream => InputStream;
    crate::bindings::wasi_io_streams::OutputStream => OutputStream;
    crate::bindings::wasi_filesystem_types::Descriptor => Descriptor;
    crate::bindings::wasi_filesystem_types::DirectoryEntryStream => DirectoryEntries;
    crate::bindings::p3::wasi_filesystem_types::Descriptor => Descriptor;
}

/// The host's objects, by rep.
#[derive(Debug, Default)]
pub struct Table {
    slots: Vec<Option<Object>>,
    free: Vec<u32>,
}

/// Most host objects a program can hold at once.
pub const MAX_OBJECTS: usize = 1 << 20;

impl Table {
    /// Adds `object`; returns its rep.
    ///
    /// # Errors
    ///
    /// A trap when the table already holds [`MAX_OBJECTS`] objects.
    pub fn push(&mut self, object: Object) -> HostResult<u32> {
        if let Some(rep) = self.free.pop() {
            self.slots[rep as usize] = Some(object);
            return Ok(rep);
        }
        if self.slots.len() >= MAX_OBJECTS {
            return Err(HostTrap::Message(format!(
                "the program holds more than {MAX_OBJECTS} WASI host objects"
            )));
        }
        self.slots.push(Some(object));
        Ok(self.slots.len() as u32 - 1)
    }

    /// Adds `object`, the host object of a new handle of resource type
    /// `R`.
    ///
    /// # Errors
    ///
    /// As [`Table::push`].
    pub fn own<R: Resource>(&mut self, object: R::Object) -> HostResult<Own<R>> {
        Ok(Own::new(self.push(object.into_object())?))
    }

    /// The object `rep`.
    ///
    /// # Errors
    ///
    /// A trap when there is no such object (a bug in smelt: the runtime
    /// checks handles first).
    pub fn get(&mut self, rep: u32) -> HostResult<&mut Object> {
        self.slots
            .get_mut(rep as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| no_object(rep))
    }

    /// The object `rep`, of type `T`.
    ///
    /// # Errors
    ///
    /// A trap when there is no such object or it is not a `T` (a bug in
    /// smelt).
    pub fn get_as<T: HostObject>(&self, rep: u32) -> HostResult<&T> {
        let object = self
            .slots
            .get(rep as usize)
            .and_then(Option::as_ref)
            .ok_or_else(|| no_object(rep))?;
        T::of(object).ok_or_else(|| wrong_type(rep, T::WHAT))
    }

    /// The object `rep`, of type `T`, to change.
    ///
    /// # Errors
    ///
    /// As [`Table::get_as`].
    pub fn get_as_mut<T: HostObject>(&mut self, rep: u32) -> HostResult<&mut T> {
        let object = self.get(rep)?;
        T::of_mut(object).ok_or_else(|| wrong_type(rep, T::WHAT))
    }

    /// The host object a guest's borrowed handle `handle` names.
    ///
    /// # Errors
    ///
    /// As [`Table::get_as`].
    pub fn resource<R: Resource>(&self, handle: &Borrow<R>) -> HostResult<&R::Object> {
        self.get_as(handle.rep)
    }

    /// The host object a guest's borrowed handle `handle` names, to
    /// change.
    ///
    /// # Errors
    ///
    /// As [`Table::get_as`].
    pub fn resource_mut<R: Resource>(&mut self, handle: &Borrow<R>) -> HostResult<&mut R::Object> {
        self.get_as_mut(handle.rep)
    }

    /// Removes object `rep`, if there is one.
    pub fn remove(&mut self, rep: u32) -> Option<Object> {
        let object = self.slots.get_mut(rep as usize)?.take()?;
        self.free.push(rep);
        Some(object)
    }
}

fn no_object(rep: u32) -> HostTrap {
    HostTrap::Message(format!("smelt bug: no WASI host object {rep}"))
}

/// The trap of a rep that names an object of another type than its
/// handle's (a bug in smelt).
pub fn wrong_type(rep: u32, wanted: &str) -> HostTrap {
    HostTrap::Message(format!(
        "smelt bug: WASI host object {rep} is not a {wanted}"
    ))
}

/// One kind of host object: its [`HostObject`] implementation, and its
/// accessor by rep (`Table::pollable(rep)`, ...).
macro_rules! accessor {
    ($name:ident, $variant:ident, $ty:ty, $what:literal) => {
        impl HostObject for $ty {
            const WHAT: &'static str = $what;
            fn into_object(self) -> Object {
                Object::$variant(self)
            }
            fn of(object: &Object) -> Option<&Self> {
                match object {
                    Object::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn of_mut(object: &mut Object) -> Option<&mut Self> {
                match object {
                    Object::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }

        impl Table {
            #[doc = concat!("The ", $what, " `rep`.")]
            ///
            /// # Errors
            ///
            /// A trap when `rep` is not one (a bug in smelt).
            pub fn $name(&mut self, rep: u32) -> HostResult<&mut $ty> {
                self.get_as_mut(rep)
            }
        }
    };
}

accessor!(pollable, Pollable, Pollable, "pollable");
accessor!(input_stream, InputStream, InputStream, "input-stream");
accessor!(output_stream, OutputStream, OutputStream, "output-stream");
accessor!(descriptor, Descriptor, Descriptor, "descriptor");
accessor!(
    directory_entries,
    DirectoryEntries,
    DirectoryEntries,
    "directory-entry-stream"
);
accessor!(tcp_socket, TcpSocket, Rc<RefCell<TcpSocket>>, "tcp-socket");
accessor!(udp_socket, UdpSocket, Rc<RefCell<UdpSocket>>, "udp-socket");
accessor!(
    resolved_addresses,
    ResolvedAddresses,
    ResolvedAddresses,
    "resolve-address-stream"
);
accessor!(
    incoming_datagrams,
    IncomingDatagrams,
    IncomingDatagrams,
    "incoming-datagram-stream"
);
accessor!(
    outgoing_datagrams,
    OutgoingDatagrams,
    OutgoingDatagrams,
    "outgoing-datagram-stream"
);
accessor!(fields, Fields, Fields, "fields");
accessor!(
    outgoing_request,
    OutgoingRequest,
    OutgoingRequest,
    "outgoing-request"
);
accessor!(outgoing_body, OutgoingBody, OutgoingBody, "outgoing-body");
accessor!(
    request_options,
    RequestOptions,
    RequestOptions,
    "request-options"
);
accessor!(
    incoming_request,
    IncomingRequest,
    IncomingRequest,
    "incoming-request"
);
accessor!(incoming_body, IncomingBody, IncomingBody, "incoming-body");
accessor!(
    future_trailers,
    FutureTrailers,
    FutureTrailers,
    "future-trailers"
);
accessor!(
    future_incoming_response,
    FutureIncomingResponse,
    crate::p2::http_client::FutureIncomingResponse,
    "future-incoming-response"
);
accessor!(
    incoming_response,
    IncomingResponse,
    crate::p2::http_client::IncomingResponse,
    "incoming-response"
);
accessor!(
    outgoing_response,
    OutgoingResponse,
    OutgoingResponse,
    "outgoing-response"
);
