//! Serving a WASI 0.3 `wasi:http/handler`: the requests of a worker run
//! concurrently, as tasks of one instance.
//!
//! Each request becomes a `request` whose body the host holds, and the
//! handler's `handle` is called `async` from the host
//! ([`Runtime::start_host_call`]): it runs until it returns or blocks, and
//! the worker's event loop carries every call on together with the
//! connections (the scheduler's ready threads run between network
//! events; its host waits and the worker's `epoll` are polled together).
//! When a call returns a `response`, its head goes out, then its body as
//! the guest writes it into its `stream<u8>` (a host sink feeding the
//! connection, which makes the guest wait while the client is slow), then
//! the trailers its future resolves to; the future `response.new`
//! returned resolves once the response is out.
//!
//! A trap in the instance answers `500` to every request it had in
//! progress (or cuts responses already started), is written to stderr,
//! and the worker starts a fresh instance for the next request: a trap
//! leaves an instance unusable. An error the handler returns is a `500`.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Instant;

use smelt_abi::component::InitOp;
use smelt_abi::program::ProgramDesc;
use smelt_abi::vm::ValRaw;
use smelt_rt::component::host::{FutureWriter, HostResource, Own};
use smelt_rt::component::hostio::Wait;
use smelt_rt::component::stream::HostSink;
use smelt_rt::component::trap::ComponentTrap;
use smelt_rt::component::{HostCall, HostTable, Runtime};

use super::http::{Body, Request, Response, TrailersFuture};
use crate::WasiHost;
use crate::bindings::p3::wasi_http_types::{
    self as t, ErrorCode, Request as RequestRes, Response as ResponseRes,
};
use crate::http::server::{Reply, Service};
use crate::table::Object;

/// A request the handler has not answered yet.
struct InFlight {
    call: HostCall,
    reply: Reply,
    what: String,
}

/// The WASI 0.3 face of the server: one instance per worker.
pub struct Serve {
    program: &'static ProgramDesc,
    host: &'static HostTable,
    /// The program's initializers, decoded once.
    ops: Vec<InitOp>,
    /// The adapter of the `handle` export.
    entry: smelt_abi::component::TrampolineIndex,
    /// The worker's instance, made at the first request.
    rt: Option<Box<Runtime>>,
    /// Calls in progress.
    calls: Vec<InFlight>,
    /// Responses whose bodies are being sent, to fail after a trap.
    sending: Rc<RefCell<Vec<Reply>>>,
}

type CallResult = Result<Own<ResponseRes>, ErrorCode>;

impl Serve {
    /// The service of `program`, whose initializers are `ops` and whose
    /// entry adapter lifts `wasi:http/handler#handle` with an `async`
    /// lowering by the host.
    pub fn new(program: &'static ProgramDesc, host: &'static HostTable, ops: Vec<InitOp>) -> Self {
        Serve {
            program,
            host,
            ops,
            entry: smelt_abi::component::TrampolineIndex::from_u32(program.entry_export),
            rt: None,
            calls: Vec::new(),
            sending: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// The worker's instance: made (with a fresh host state) if there is
    /// none.
    fn instance(&mut self) -> Result<&Runtime, String> {
        if self.rt.is_none() {
            crate::install(WasiHost::fresh());
            // SAFETY: the executable's own descriptor.
            let rt = unsafe { Runtime::new(self.program, self.host) }
                .map_err(|e| format!("cannot start the component runtime: {e:?}"))?;
            {
                let _current = rt.enter();
                // SAFETY: the initializers of this program.
                unsafe { rt.run(&self.ops) }.map_err(|trap| trap.to_string())?;
            }
            self.rt = Some(rt);
        }
        Ok(self.rt.as_deref().expect("made above"))
    }

    /// After a trap (or a failure to instantiate): every request in
    /// progress gets its 500 or is cut, and the instance goes.
    fn reset(&mut self, why: &str) {
        eprintln!("smelt: {why}");
        for c in self.calls.drain(..) {
            eprintln!("smelt: {}: not answered (the instance trapped)", c.what);
            c.reply.fail();
        }
        for reply in self.sending.borrow_mut().drain(..) {
            reply.fail();
        }
        self.rt = None;
        crate::install(WasiHost::fresh());
    }

    /// Sends the responses of the calls that have returned.
    fn answer_returned(&mut self) {
        let Some(rt) = self.rt.as_deref() else { return };
        let mut i = 0;
        while i < self.calls.len() {
            if !rt.host_call_returned(&self.calls[i].call) {
                i += 1;
                continue;
            }
            let InFlight { call, reply, what } = self.calls.swap_remove(i);
            let _current = rt.enter();
            match rt.finish_host_call_as::<CallResult>(call) {
                Ok(Ok(response)) => {
                    if let Err(e) = start_response(response.rep, reply.clone(), &self.sending) {
                        eprintln!("smelt: {what}: {e}");
                        reply.fail();
                    }
                }
                Ok(Err(code)) => {
                    eprintln!("smelt: {what}: the handler answered with an error: {code:?}");
                    reply.fail();
                }
                Err(e) => {
                    eprintln!("smelt: {what}: the handler's result: {e}");
                    reply.fail();
                }
            }
        }
    }

    /// Runs what is ready in the instance: waiting threads whose
    /// condition holds and host waits that are over, without blocking;
    /// then, with `block`, blocks until `epoll` or a host wait is ready
    /// (or `deadline`). A trap resets the instance.
    fn drive(&mut self, block: Option<(RawFd, Instant)>) {
        let Some(rt) = self.rt.as_deref() else {
            if let Some((epoll, deadline)) = block {
                poll_one(epoll, deadline);
            }
            return;
        };
        let _current = rt.enter();
        let mut outcome: Result<(), ComponentTrap> = Ok(());
        // SAFETY: the instance's code runs on this thread, with its
        // runtime current.
        let caught = unsafe {
            smelt_rt::traps::catch(|| {
                outcome = (|| {
                    while rt.sched.tick()? {}
                    rt.sched.host.poll_now()?;
                    while rt.sched.tick()? {}
                    if let Some((epoll, deadline)) = block {
                        rt.sched.host.poll_also(epoll, deadline)?;
                        while rt.sched.tick()? {}
                    }
                    Ok(())
                })();
            })
        };
        drop(_current);
        match (caught, outcome) {
            (Err(trap), _) => self.reset(&trap.to_string()),
            (Ok(()), Err(trap)) => self.reset(&format!("wasm trap: {trap}")),
            (Ok(()), Ok(())) => {}
        }
        self.answer_returned();
    }
}

fn poll_one(fd: RawFd, deadline: Instant) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = deadline
        .saturating_duration_since(Instant::now())
        .as_millis()
        .min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
}

impl Service for Serve {
    fn call(&mut self, request: crate::http::server::Request, reply: Reply) {
        let what = format!("{} {}", request.method, request.path_with_query);
        let entry = self.entry;
        let started = (|| {
            let rt = self.instance()?;
            let _current = rt.enter();
            let rep = crate::host()
                .table
                .push(Object::Request3(Request::received(request)))
                .map_err(|e| e.to_string())?;
            let handle = rt
                .host_own(RequestRes::TYPE, rep)
                .map_err(|e| e.to_string())?;
            // SAFETY: the entry adapter lifts `handle(own<request>)` and
            // is lowered async by the host (checked by the compiler).
            unsafe { rt.start_host_call(entry, &[ValRaw::from(handle)]) }
                .map_err(|trap| trap.to_string())
        })();
        match started {
            Ok(call) => {
                self.calls.push(InFlight { call, reply, what });
                self.answer_returned();
            }
            Err(e) => {
                reply.fail();
                self.reset(&format!("{what}: {e}"));
            }
        }
    }

    fn has_waits(&self) -> bool {
        self.rt.is_some()
    }

    fn wait(&mut self, epoll: RawFd, deadline: Instant) {
        self.drive(Some((epoll, deadline)));
    }
}

/// Sends the head of response `rep` (the host's object) and starts
/// sending its body.
fn start_response(rep: u32, reply: Reply, sending: &Rc<RefCell<Vec<Reply>>>) -> Result<(), String> {
    let response = match crate::host().table.remove(rep) {
        Some(Object::Response3(r)) => r,
        _ => return Err("the handler's response is not a response".into()),
    };
    let Response {
        status,
        headers,
        body,
        sent,
    } = response;
    let length = headers
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    reply.start(status, &headers.entries, length);
    match body {
        Some(Body::Guest { contents, trailers }) => {
            sending.borrow_mut().push(reply.clone());
            let end = End {
                reply,
                trailers: Some(Trailers::Guest(trailers)),
                sent,
                sending: sending.clone(),
            };
            match contents {
                Some(stream) => stream
                    .attach_sink(Box::new(BodySink { end: Some(end) }))
                    .map_err(|e| e.to_string()),
                None => end.body_done(None).map_err(|e| e.to_string()),
            }
        }
        Some(Body::Client(ex)) => {
            // The response to an outgoing request, passed on (a proxy):
            // its body goes from the exchange to the connection.
            sending.borrow_mut().push(reply.clone());
            let end = End {
                reply,
                trailers: Some(Trailers::Exchange(ex.clone())),
                sent,
                sending: sending.clone(),
            };
            let source = super::http_client::ResponseSource { ex, trailers: None };
            smelt_rt::component::host::StreamReader::from_source(Box::new(source))
                .attach_sink(Box::new(BodySink { end: Some(end) }))
                .map_err(|e| e.to_string())
        }
        Some(Body::Received { bytes, trailers }) => {
            // A response made of a request's body (a guest that moved one
            // into the other): the bytes are here.
            let _ = reply.write(&bytes);
            reply.finish(trailers);
            if let Some(sent) = sent {
                let _ = sent.resolve(Ok(()));
            }
            Ok(())
        }
        None => {
            reply.finish(None);
            Ok(())
        }
    }
}

/// Where a response's trailers come from.
enum Trailers {
    /// The future a guest gave `response.new`.
    Guest(TrailersFuture),
    /// The response to an outgoing request.
    Exchange(crate::p2::io::SharedExchange),
}

/// What ends a response: its trailers, and the outcome for the guest.
struct End {
    reply: Reply,
    trailers: Option<Trailers>,
    sent: Option<FutureWriter<Result<(), ErrorCode>>>,
    sending: Rc<RefCell<Vec<Reply>>>,
}

impl End {
    /// The body's bytes are out (or failed, with `error`): the trailers
    /// come next, then the response is complete.
    fn body_done(mut self, error: Option<std::io::Error>) -> Result<(), ComponentTrap> {
        if let Some(e) = error {
            self.reply.fail();
            self.forget();
            if let Some(sent) = self.sent.take() {
                sent.resolve(Err(ErrorCode::ConnectionTerminated))?;
            }
            drop(e);
            return Ok(());
        }
        let trailers = match self.trailers.take() {
            None => return Ok(()),
            Some(Trailers::Guest(t)) => t,
            Some(Trailers::Exchange(ex)) => {
                let outcome = ex.borrow_mut().take_trailers();
                self.forget();
                match outcome {
                    Some(Ok(trailers)) => self.reply.finish(trailers),
                    _ => self.reply.fail(),
                }
                return Ok(());
            }
        };
        let mut end = self;
        trailers
            .attach(move |value: Result<Option<Own<t::Fields>>, ErrorCode>| {
                let (reply, sent) = (end.reply.clone(), end.sent.take());
                end.forget();
                match value {
                    Ok(fields) => {
                        let trailers = match fields {
                            Some(own) => match crate::host().table.remove(own.rep) {
                                Some(Object::Fields(f)) => Some(f.entries),
                                _ => None,
                            },
                            None => None,
                        };
                        reply.finish(trailers);
                        if let Some(sent) = sent {
                            sent.resolve(Ok(()))?;
                        }
                    }
                    Err(code) => {
                        reply.fail();
                        if let Some(sent) = sent {
                            sent.resolve(Err(code))?;
                        }
                    }
                }
                Ok(())
            })
            .map_err(|e| match e {
                smelt_rt::component::host::HostTrap::Abi(t) => t,
                smelt_rt::component::host::HostTrap::Message(m) => ComponentTrap::Pending(m),
            })
    }

    /// The response no longer needs failing after a trap.
    fn forget(&self) {
        let out = &self.reply;
        self.sending.borrow_mut().retain(|r| !Reply::same(r, out));
    }
}

/// The host's reading end of a response body: what the guest writes goes
/// to the connection.
struct BodySink {
    end: Option<End>,
}

impl HostSink for BodySink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &self.end {
            Some(end) => end.reply.write(bytes),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }

    fn writable(&self) -> Wait {
        match self.end.as_ref().and_then(|e| e.reply.fd()) {
            Some(fd) => Wait::Writable(fd),
            None => Wait::Until(Instant::now()),
        }
    }

    fn end(&mut self, error: Option<std::io::Error>) -> Result<(), ComponentTrap> {
        match self.end.take() {
            Some(end) => end.body_done(error),
            None => Ok(()),
        }
    }
}
