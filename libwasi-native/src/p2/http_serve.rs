//! Serving a WASI 0.2 `wasi:http/incoming-handler`: each request gets a
//! fresh instance of the component, as the proxy world requires.
//!
//! For every request the worker installs a fresh host state, creates a
//! component runtime and runs the program's initializers in it, hands the
//! guest an `incoming-request` and a `response-outparam` (two `own`
//! handles) through the `handle` export, and drops the runtime when
//! `handle` returns. The response the handler set is then sent whole: its
//! status, headers, the body bytes it wrote and the trailers it finished
//! the body with. A handler that traps, sets no response, sets an error,
//! or does not finish its body gets `500`, and the trap or the reason is
//! written to stderr.

use std::cell::RefCell;
use std::rc::Rc;

use smelt_abi::component::InitOp;
use smelt_abi::program::ProgramDesc;
use smelt_abi::vm::ValRaw;
use smelt_rt::component::host::HostResource;
use smelt_rt::component::{HostTable, Runtime};

use super::http::{IncomingRequest, ResponseOutparam, ResponseSet};
use crate::WasiHost;
use crate::bindings::wasi_http_types::{
    IncomingRequest as IncomingRequestRes, ResponseOutparam as ResponseOutparamRes,
};
use crate::http::server::{Reply, Request, Response, Service};
use crate::table::Object;

/// The WASI 0.2 face of the server: one per worker.
pub struct Serve {
    program: &'static ProgramDesc,
    host: &'static HostTable,
    /// The program's initializers, decoded once.
    ops: Vec<InitOp>,
    /// The adapter of the `handle` export.
    entry: smelt_abi::component::TrampolineIndex,
}

impl Serve {
    /// The service of `program`, whose initializers are `ops` and whose
    /// entry adapter lifts `wasi:http/incoming-handler#handle`.
    pub fn new(program: &'static ProgramDesc, host: &'static HostTable, ops: Vec<InitOp>) -> Self {
        Serve {
            program,
            host,
            ops,
            entry: smelt_abi::component::TrampolineIndex::from_u32(program.entry_export),
        }
    }

    /// Runs the handler on a fresh instance; the answer lands in `slot`.
    fn handle(
        &self,
        request: Request,
        slot: &Rc<RefCell<Option<ResponseSet>>>,
    ) -> Result<(), String> {
        let host = crate::host();
        let request = host
            .table
            .push(Object::IncomingRequest(IncomingRequest::new(request)))
            .map_err(|e| e.to_string())?;
        let outparam = host
            .table
            .push(Object::ResponseOutparam(ResponseOutparam {
                slot: slot.clone(),
            }))
            .map_err(|e| e.to_string())?;
        // SAFETY: the executable's own descriptor.
        let rt = unsafe { Runtime::new(self.program, self.host) }
            .map_err(|e| format!("cannot start the component runtime: {e:?}"))?;
        let _current = rt.enter();
        // SAFETY: the initializers of this program.
        unsafe { rt.run(&self.ops) }.map_err(|trap| trap.to_string())?;
        let request = rt
            .host_own(IncomingRequestRes::TYPE, request)
            .map_err(|e| e.to_string())?;
        let outparam = rt
            .host_own(ResponseOutparamRes::TYPE, outparam)
            .map_err(|e| e.to_string())?;
        let args = [ValRaw::from(request), ValRaw::from(outparam)];
        // SAFETY: the entry adapter lifts `handle(own<incoming-request>,
        // own<response-outparam>)`, checked by the compiler.
        unsafe { rt.call_from_host(self.entry, &args, &[]) }.map_err(|trap| trap.to_string())?;
        Ok(())
    }
}

impl Service for Serve {
    fn call(&mut self, request: Request, reply: Reply) {
        reply.send(self.answer(request));
    }
}

impl Serve {
    /// The response to `request`.
    fn answer(&mut self, request: Request) -> Response {
        let what = format!("{} {}", request.method, request.path_with_query);
        let slot = Rc::new(RefCell::new(None));
        crate::install(WasiHost::fresh());
        let handled = self.handle(request, &slot);
        // The request's host objects go with its host state.
        crate::install(WasiHost::fresh());
        let failure = match (handled, slot.borrow_mut().take()) {
            (Err(e), _) => e,
            (
                Ok(()),
                Some(ResponseSet::Response {
                    status,
                    headers,
                    body,
                }),
            ) => {
                let mut body = body.borrow_mut();
                if body.finished {
                    return Response {
                        status,
                        headers,
                        body: core::mem::take(&mut body.bytes),
                        trailers: body.trailers.take(),
                    };
                }
                "the handler did not finish the response body (outgoing-body.finish)".into()
            }
            (Ok(()), Some(ResponseSet::Error(e))) => {
                format!("the handler answered with an error: {e:?}")
            }
            (Ok(()), None) => "the handler returned without setting a response".into(),
        };
        eprintln!("smelt: {what}: {failure}");
        Response::text(500, "internal server error\n")
    }
}
