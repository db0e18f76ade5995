//! Streams and futures (CanonicalABI.md "Buffer State", "Stream State",
//! "Future State" and the `stream.*`/`future.*` built-ins).
//!
//! A stream or future is one [`Shared`] state and two ends; each end is a
//! waitable (`waitable::Kind::End`) in its owner's handle table. A copy
//! (`stream.read`, `stream.write`, `future.*`) gives its end a [`Buffer`]
//! of guest memory; when the other end has no buffer waiting, this end's
//! becomes the stream's *pending* one; otherwise the elements move
//! directly from the writer's memory into the reader's (one canonical ABI
//! copy, no intermediate buffer) and both ends get their events. A pending
//! end's buffer stays pending, filling up, until its event is delivered.
//!
//! The host (WASI 0.3) can hold one end of a stream or future instead of a
//! guest ([`HostEnd`]): then a guest's copy goes straight to the host's
//! side — a [`HostSink`] gets the bytes a guest writes as a slice of the
//! guest's memory, a [`HostSource`] reads into the guest's buffer, a host
//! future's value is lowered into the reader's memory — with no buffer in
//! between. A source that has no data yet leaves the guest's end pending
//! and registers a [`Wait`] with the event loop.

use std::rc::Rc;

use smelt_abi::component::{BuiltinOp, StringEncoding, TypeId, ValType};
use smelt_abi::vm::ValRaw;

use super::builtins::{BLOCKED, same_type};
use super::canonical::{Dst, Side, Src, Transfer};
use super::handles::Slot;
use super::hostio::Wait;
use super::task::event;
use super::trap::ComponentTrap;
use super::waitable::{End, Kind, Pending};
use super::{InstanceState, Memory, Realloc, Runtime, runtime};

/// Most elements one copy may name (CanonicalABI.md `Buffer.MAX_LENGTH`).
const MAX_LENGTH: u32 = (1 << 28) - 1;

/// How a copy ended (CanonicalABI.md `CopyResult`).
pub mod copy_result {
    /// Elements were copied (maybe none), and the other end is still open.
    pub const COMPLETED: u32 = 0;
    /// The other end was dropped.
    pub const DROPPED: u32 = 1;
    /// The copy was cancelled.
    pub const CANCELLED: u32 = 2;
}

/// What a stream or future end is doing (CanonicalABI.md `CopyState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyState {
    /// No copy.
    Idle,
    /// A synchronous copy is waiting.
    SyncCopying,
    /// An asynchronous copy is in progress.
    AsyncCopying,
    /// An asynchronous copy is being cancelled.
    CancellingCopy,
    /// The other end dropped (or, for a future, the value moved).
    Done,
}

impl CopyState {
    fn copying(self) -> bool {
        matches!(
            self,
            CopyState::SyncCopying | CopyState::AsyncCopying | CopyState::CancellingCopy
        )
    }
}

/// The guest memory of one copy (CanonicalABI.md `BufferGuestImpl`).
#[derive(Debug, Clone, Copy)]
pub struct Buffer {
    inst: *const InstanceState,
    memory: Option<Memory>,
    realloc: Option<Realloc>,
    encoding: StringEncoding,
    ptr: u32,
    length: u32,
    /// Elements copied so far.
    pub progress: u32,
}

impl Buffer {
    fn remain(&self) -> u32 {
        self.length - self.progress
    }

    fn side(&self) -> Side<'static> {
        Side {
            // SAFETY: instance states live as long as the program.
            instance: unsafe { &*self.inst },
            memory: self.memory,
            realloc: self.realloc,
            encoding: self.encoding,
            host: false,
        }
    }
}

/// The host's reading end of a guest's `stream<u8>` (stdout, a file
/// written through `write-via-stream`).
pub trait HostSink {
    /// Takes bytes the guest wrote, straight from its memory, without
    /// blocking; returns how many were taken (at least one, unless `bytes`
    /// is empty). `WouldBlock` when it cannot take any now: the write goes
    /// on once [`HostSink::writable`] is over. Another error ends the
    /// stream: the guest's write reports `DROPPED`.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize>;
    /// What to wait for after `WouldBlock`.
    fn writable(&self) -> Wait;
    /// The guest dropped its writable end (or a write failed): no more
    /// bytes come. `error` is the failed write's error, if any.
    ///
    /// # Errors
    ///
    /// A trap, from lowering a value into a guest (resolving a future).
    fn end(&mut self, error: Option<std::io::Error>) -> Result<(), ComponentTrap>;
}

/// What a [`HostSource`] read did.
#[derive(Debug)]
pub enum SourceRead {
    /// This many bytes were read into the guest's buffer.
    Data(usize),
    /// The source is at its end (or failed): the host drops its end.
    End,
    /// No data yet: read again once this wait is over.
    Wait(Wait),
}

/// The host's writable end of a `stream<u8>` a guest reads (stdin, a file
/// read through `read-via-stream`).
pub trait HostSource {
    /// Reads into `buf`, a slice of the guest's memory, without blocking.
    fn read(&mut self, buf: &mut [u8]) -> SourceRead;
}

/// The host's writable end of a stream of values other than bytes (a
/// directory listing, the connections a socket accepts), which it lowers
/// one by one.
pub trait HostValues {
    /// Lowers up to `n` values into the guest's memory at `ptr` (values
    /// laid out one after another) through `cx`; returns how many,
    /// [`SourceRead::End`] when there are no more, or [`SourceRead::Wait`]
    /// when none is there yet (the read goes on once the wait is over).
    ///
    /// # Errors
    ///
    /// A trap from lowering a value.
    fn fill(
        &mut self,
        cx: &mut super::host::Cx<'_>,
        ptr: u32,
        n: u32,
    ) -> Result<SourceRead, ComponentTrap>;
}

/// Lowers a host future's value into a guest's memory at an address.
pub type StoreFn = Box<dyn FnOnce(&mut super::host::Cx<'_>, u32) -> Result<(), ComponentTrap>>;

/// Lifts the value a guest wrote into a future the host reads, from the
/// guest's memory at an address.
pub type LoadFn = Box<dyn FnOnce(&mut super::host::Cx<'_>, u32) -> Result<(), ComponentTrap>>;

/// The end of a stream or future the host holds.
pub enum HostEnd {
    /// The host reads the stream.
    Sink(Box<dyn HostSink>),
    /// The host writes the stream.
    Source(Box<dyn HostSource>),
    /// The host writes the stream's values.
    Values(Box<dyn HostValues>),
    /// The host writes the future: its value once resolved.
    Future(Option<StoreFn>),
    /// The host reads the future: what takes its value once written.
    FutureSink(LoadFn),
}

impl core::fmt::Debug for HostEnd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            HostEnd::Sink(_) => "Sink",
            HostEnd::Source(_) => "Source",
            HostEnd::Values(_) => "Values",
            HostEnd::Future(Some(_)) => "Future(resolved)",
            HostEnd::Future(None) => "Future(unresolved)",
            HostEnd::FutureSink(_) => "FutureSink",
        })
    }
}

/// The state both ends of a stream or future share.
#[derive(Debug)]
pub struct Shared {
    /// The element type.
    pub elem: Option<TypeId>,
    /// Whether it is a future.
    pub future: bool,
    /// Whether one end was dropped.
    pub dropped: bool,
    /// The end whose buffer waits for the other end, if any.
    pub pending: Option<u32>,
    /// The end the host holds, once it has attached to it.
    pub host: Option<HostEnd>,
}

fn numeric(rt: &Runtime, t: Option<TypeId>) -> bool {
    t.is_none_or(|t| {
        matches!(
            rt.desc.types.get(t),
            ValType::U8
                | ValType::S8
                | ValType::U16
                | ValType::S16
                | ValType::U32
                | ValType::S32
                | ValType::U64
                | ValType::S64
                | ValType::F32
                | ValType::F64
        )
    })
}

fn end(rt: &Runtime, w: u32) -> (u32, bool, CopyState, Option<Buffer>) {
    let items = rt.sched.waitables.items.borrow();
    let Kind::End(e) = &items.get(w).kind else {
        unreachable!("an end")
    };
    (e.shared, e.writable, e.state, e.buffer)
}

fn with_end<R>(rt: &Runtime, w: u32, f: impl FnOnce(&mut End) -> R) -> R {
    let mut items = rt.sched.waitables.items.borrow_mut();
    let Kind::End(e) = &mut items.get_mut(w).kind else {
        unreachable!("an end")
    };
    f(e)
}

fn set_event(rt: &Runtime, w: u32, result: u32, reclaim: bool) {
    rt.sched.waitables.items.borrow_mut().get_mut(w).pending =
        Some(Pending::Copy { result, reclaim });
}

/// Copies `n` elements from the writer's buffer to the reader's.
fn move_elems(
    rt: &Runtime,
    elem: Option<TypeId>,
    src: u32,
    dst: u32,
    n: u32,
) -> Result<(), ComponentTrap> {
    let (_, _, _, Some(sb)) = end(rt, src) else {
        unreachable!("a copying end has a buffer")
    };
    let (_, _, _, Some(db)) = end(rt, dst) else {
        unreachable!("a copying end has a buffer")
    };
    if let Some(t) = elem
        && numeric(rt, elem)
    {
        // Numbers copy as bytes, with `memmove` semantics: a copy within
        // one memory may overlap.
        let size = rt.layouts.size(t);
        let (sm, dm) = (sb.memory.expect("checked"), db.memory.expect("checked"));
        // SAFETY: both ranges were checked when the buffers were made.
        unsafe {
            core::ptr::copy(
                sm.ptr(sb.ptr + sb.progress * size),
                dm.ptr(db.ptr + db.progress * size),
                (n * size) as usize,
            )
        };
    } else if let Some(t) = elem {
        let size = rt.layouts.size(t);
        let (from, to) = (sb.side(), db.side());
        let cx = Transfer {
            rt,
            from: &from,
            to: &to,
            scope: 0,
        };
        for i in 0..n {
            cx.value(
                t,
                &mut Src::Mem(sb.ptr + (sb.progress + i) * size),
                &mut Dst::Mem(db.ptr + (db.progress + i) * size),
            )?;
        }
    }
    for w in [src, dst] {
        with_end(rt, w, |e| {
            if let Some(b) = &mut e.buffer {
                b.progress += n;
            }
        });
    }
    Ok(())
}

/// Starts or completes a copy at end `w`, whose buffer is set
/// (CanonicalABI.md `SharedStreamImpl.read`/`write`,
/// `SharedFutureImpl.read`/`write`).
fn copy(rt: &Runtime, w: u32) -> Result<(), ComponentTrap> {
    let (sid, writable, _, buf) = end(rt, w);
    let buf = buf.expect("a copying end has a buffer");
    let (elem, future, dropped, pending) = {
        let shared = rt.sched.waitables.shared.borrow();
        let s = shared.get(sid);
        (s.elem, s.future, s.dropped, s.pending)
    };
    let set_pending = |p: Option<u32>| {
        rt.sched.waitables.with_shared(sid, |s| s.pending = p);
    };
    if dropped {
        set_event(rt, w, copy_result::DROPPED, false);
        return Ok(());
    }
    if rt.sched.waitables.shared.borrow().get(sid).host.is_some() {
        return host_copy(rt, w, sid);
    }
    let Some(p) = pending else {
        set_pending(Some(w));
        return Ok(());
    };
    let (_, _, _, pbuf) = end(rt, p);
    let pbuf = pbuf.expect("a pending end has a buffer");
    if core::ptr::eq(pbuf.inst, buf.inst) && !numeric(rt, elem) {
        return Err(ComponentTrap::IntraComponent);
    }
    let (src, dst) = if writable { (w, p) } else { (p, w) };
    if future {
        move_elems(rt, elem, src, dst, 1)?;
        set_pending(None);
        set_event(rt, p, copy_result::COMPLETED, false);
        set_event(rt, w, copy_result::COMPLETED, false);
        return Ok(());
    }
    if pbuf.remain() > 0 {
        if buf.remain() > 0 {
            let n = buf.remain().min(pbuf.remain());
            move_elems(rt, elem, src, dst, n)?;
            set_event(rt, p, copy_result::COMPLETED, true);
        }
        set_event(rt, w, copy_result::COMPLETED, false);
    } else if writable && buf.length == 0 && pbuf.length == 0 {
        set_event(rt, w, copy_result::COMPLETED, false);
    } else {
        set_pending(None);
        set_event(rt, p, copy_result::COMPLETED, false);
        set_pending(Some(w));
    }
    Ok(())
}

/// A host [`Cx`](super::host::Cx) for lowering into the memory of
/// buffer `b`.
fn host_cx(b: &Buffer) -> super::host::Cx<'static> {
    super::host::Cx::new(
        // SAFETY: instance states live as long as the program.
        unsafe { &*b.inst },
        b.memory,
        match b.realloc {
            Some(Realloc::Core(f)) => Some(f),
            _ => None,
        },
        b.encoding,
    )
}

/// The bytes of the elements of buffer `b` not copied yet, and the size of
/// one element.
fn remaining_bytes<'a>(rt: &Runtime, sid: u32, b: &Buffer) -> (&'a mut [u8], u32) {
    let size = rt
        .sched
        .waitables
        .shared
        .borrow()
        .get(sid)
        .elem
        .map_or(0, |t| rt.layouts.size(t));
    let bytes = match b.memory {
        // SAFETY: the range was checked when the buffer was made; the
        // guest does not run while the host uses it.
        Some(m) if size > 0 => unsafe { m.slice(b.ptr + b.progress * size, b.remain() * size) },
        _ => &mut [],
    };
    (bytes, size.max(1))
}

/// A copy at guest end `w` of a stream or future whose other end the host
/// holds: the host takes or gives what it can now. A source with no data
/// leaves `w` pending and has the event loop try again when its wait is
/// over.
fn host_copy(rt: &Runtime, w: u32, sid: u32) -> Result<(), ComponentTrap> {
    let (_, writable, _, buf) = end(rt, w);
    let buf = buf.expect("a copying end has a buffer");
    let Some(mut host) = rt.sched.waitables.with_shared(sid, |s| s.host.take()) else {
        unreachable!("checked by the caller")
    };
    let mut keep = true;
    match (&mut host, writable) {
        (HostEnd::Sink(sink), true) => {
            let (bytes, size) = remaining_bytes(rt, sid, &buf);
            let mut done = 0;
            let mut failed = None;
            let mut full = false;
            while done < bytes.len() {
                match sink.write(&bytes[done..]) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        full = true;
                        break;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            advance(rt, w, done as u32 / size);
            if full && done == 0 {
                // Nothing taken: the write waits until the sink has room.
                wait_for_host(rt, w, sid, sink.writable());
            } else if let Some(e) = failed {
                keep = false;
                rt.sched.waitables.with_shared(sid, |s| s.dropped = true);
                sink.end(Some(e))?;
                set_event(rt, w, copy_result::DROPPED, false);
            } else {
                set_event(rt, w, copy_result::COMPLETED, false);
            }
        }
        (HostEnd::Source(source), false) => {
            if buf.remain() == 0 {
                set_event(rt, w, copy_result::COMPLETED, false);
            } else {
                let (bytes, size) = remaining_bytes(rt, sid, &buf);
                match source.read(bytes) {
                    SourceRead::Data(n) => {
                        advance(rt, w, n as u32 / size);
                        set_event(rt, w, copy_result::COMPLETED, false);
                    }
                    SourceRead::End => {
                        keep = false;
                        rt.sched.waitables.with_shared(sid, |s| s.dropped = true);
                        set_event(rt, w, copy_result::DROPPED, false);
                    }
                    SourceRead::Wait(wait) => wait_for_host(rt, w, sid, wait),
                }
            }
        }
        (HostEnd::Values(values), false) => {
            if buf.remain() == 0 {
                set_event(rt, w, copy_result::COMPLETED, false);
            } else {
                let (_, size) = remaining_bytes(rt, sid, &buf);
                let ptr = buf.ptr + buf.progress * size;
                match values.fill(&mut host_cx(&buf), ptr, buf.remain())? {
                    SourceRead::Data(n) => {
                        advance(rt, w, n as u32);
                        set_event(rt, w, copy_result::COMPLETED, false);
                    }
                    SourceRead::Wait(wait) => wait_for_host(rt, w, sid, wait),
                    SourceRead::End => {
                        keep = false;
                        rt.sched.waitables.with_shared(sid, |s| s.dropped = true);
                        set_event(rt, w, copy_result::DROPPED, false);
                    }
                }
            }
        }
        (HostEnd::FutureSink(_), true) => {
            let HostEnd::FutureSink(load) = host else {
                unreachable!("matched above")
            };
            load(&mut host_cx(&buf), buf.ptr)?;
            advance(rt, w, 1);
            set_event(rt, w, copy_result::COMPLETED, false);
            return Ok(());
        }
        (HostEnd::Future(value), false) => match value.take() {
            Some(store) => {
                keep = false;
                store(&mut host_cx(&buf), buf.ptr)?;
                advance(rt, w, 1);
                set_event(rt, w, copy_result::COMPLETED, false);
            }
            None => {
                rt.sched.waitables.with_shared(sid, |s| s.pending = Some(w));
            }
        },
        _ => unreachable!("the guest holds the other end than the host"),
    }
    if keep {
        rt.sched.waitables.with_shared(sid, |s| s.host = Some(host));
    }
    Ok(())
}

/// Leaves guest end `w`'s copy pending until `wait` is over, then tries
/// it again (unless it was cancelled meanwhile).
fn wait_for_host(rt: &Runtime, w: u32, sid: u32, wait: Wait) {
    rt.sched.waitables.with_shared(sid, |s| s.pending = Some(w));
    let live = move || runtime().sched.waitables.shared.borrow().get(sid).pending == Some(w);
    rt.sched.host.add(
        wait,
        Box::new(live),
        Box::new(move || {
            let rt = runtime();
            rt.sched.waitables.with_shared(sid, |s| s.pending = None);
            host_copy(rt, w, sid)
        }),
    );
}

/// Records `n` more elements copied at end `w`.
fn advance(rt: &Runtime, w: u32, n: u32) {
    with_end(rt, w, |e| {
        if let Some(b) = &mut e.buffer {
            b.progress += n;
        }
    });
}

/// A stream or future shared state with the host at one end and no guest
/// end yet (the guest's readable end is made when it is lowered).
pub fn host_shared(future: bool, host: HostEnd) -> u32 {
    runtime().sched.waitables.shared.borrow_mut().add(Shared {
        elem: None,
        future,
        dropped: false,
        pending: None,
        host: Some(host),
    })
}

/// Attaches the host as the reader of stream `sid`, whose readable end a
/// guest gave it: a write the guest started before goes on now, and a
/// guest that already dropped its writable end ends the sink at once.
///
/// # Errors
///
/// A trap from the copy or from the sink's end.
pub fn attach_sink(sid: u32, mut sink: Box<dyn HostSink>) -> Result<(), ComponentTrap> {
    let rt = runtime();
    let (dropped, pending) = {
        let shared = rt.sched.waitables.shared.borrow();
        let s = shared.get(sid);
        (s.dropped, s.pending)
    };
    if dropped {
        // A dropped end is never in a copy: nothing is pending.
        return sink.end(None);
    }
    let host = rt.sched.waitables.with_shared(sid, |s| s.host.take());
    match host {
        // The guest handed back a stream the host writes: no guest buffer
        // will ever come between the two, so the host moves the bytes.
        Some(HostEnd::Source(source)) => return pump(source, sink),
        Some(other) => {
            rt.sched
                .waitables
                .with_shared(sid, |s| s.host = Some(other));
            return Err(ComponentTrap::Pending(
                "a stream of values the host writes was given back to the host as bytes".into(),
            ));
        }
        None => {}
    }
    rt.sched
        .waitables
        .with_shared(sid, |s| s.host = Some(HostEnd::Sink(sink)));
    if let Some(p) = pending {
        rt.sched.waitables.with_shared(sid, |s| s.pending = None);
        host_copy(rt, p, sid)?;
    }
    Ok(())
}

/// Bytes one step of [`pump`] moves at most.
const PUMP_CHUNK: usize = 64 << 10;

/// Moves what `source` reads into `sink` until the source ends, through
/// a host buffer; when the source has no data yet, or the sink no room
/// (a socket whose peer reads slowly), the event loop goes on and the
/// pump resumes once the wait is over. Ends the sink (with the failed
/// write's error, if any).
fn pump(source: Box<dyn HostSource>, sink: Box<dyn HostSink>) -> Result<(), ComponentTrap> {
    pump_from(source, sink, vec![0u8; PUMP_CHUNK], 0..0)
}

/// [`pump`], with `buf[unwritten]` read from the source and not written
/// yet.
fn pump_from(
    mut source: Box<dyn HostSource>,
    mut sink: Box<dyn HostSink>,
    mut buf: Vec<u8>,
    mut unwritten: core::ops::Range<usize>,
) -> Result<(), ComponentTrap> {
    loop {
        while !unwritten.is_empty() {
            match sink.write(&buf[unwritten.clone()]) {
                Ok(0) => return sink.end(None),
                Ok(k) => unwritten.start += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let wait = sink.writable();
                    runtime().sched.host.add(
                        wait,
                        Box::new(|| true),
                        Box::new(move || pump_from(source, sink, buf, unwritten)),
                    );
                    return Ok(());
                }
                Err(e) => return sink.end(Some(e)),
            }
        }
        match source.read(&mut buf) {
            SourceRead::Data(n) => unwritten = 0..n,
            SourceRead::End => return sink.end(None),
            SourceRead::Wait(wait) => {
                runtime().sched.host.add(
                    wait,
                    Box::new(|| true),
                    Box::new(move || pump_from(source, sink, buf, 0..0)),
                );
                return Ok(());
            }
        }
    }
}

/// Attaches the host as the reader of future `sid`, whose readable end a
/// guest gave it: `load` lifts the value from the writer's memory when the
/// guest writes it (now, if it has already started the write).
///
/// # Errors
///
/// A trap from lifting the value.
pub fn attach_future_sink(sid: u32, load: LoadFn) -> Result<(), ComponentTrap> {
    let rt = runtime();
    let (dropped, pending) = {
        let shared = rt.sched.waitables.shared.borrow();
        let s = shared.get(sid);
        (s.dropped, s.pending)
    };
    if dropped {
        // A guest cannot drop a future's writable end before writing it
        // (it traps), so the value was taken already: nothing comes.
        return Ok(());
    }
    rt.sched
        .waitables
        .with_shared(sid, |s| s.host = Some(HostEnd::FutureSink(load)));
    if let Some(p) = pending {
        rt.sched.waitables.with_shared(sid, |s| s.pending = None);
        host_copy(rt, p, sid)?;
    }
    Ok(())
}

/// Resolves host future `sid` with the value `store` lowers: a guest
/// read waiting for it completes now, a later one gets it at once; a
/// guest that dropped its readable end never sees it.
///
/// # Errors
///
/// A trap from lowering the value.
pub fn resolve_future(sid: u32, store: StoreFn) -> Result<(), ComponentTrap> {
    let rt = runtime();
    let (dropped, pending) = {
        let shared = rt.sched.waitables.shared.borrow();
        let s = shared.get(sid);
        (s.dropped, s.pending)
    };
    if dropped {
        return Ok(());
    }
    rt.sched
        .waitables
        .with_shared(sid, |s| s.host = Some(HostEnd::Future(Some(store))));
    if let Some(w) = pending {
        rt.sched.waitables.with_shared(sid, |s| s.pending = None);
        host_copy(rt, w, sid)?;
    }
    Ok(())
}

/// Whether readable end `w`, in `state`, may leave its handle table (be
/// lifted into a call): not after its stream or future is done, not while
/// it copies, not while it is in a waitable set (CanonicalABI.md
/// `lift_async_value`).
fn check_movable(
    rt: &Runtime,
    w: u32,
    state: CopyState,
    future: bool,
) -> Result<(), ComponentTrap> {
    match state {
        CopyState::Done => {
            return Err(if future {
                ComponentTrap::LiftFutureDone
            } else {
                ComponentTrap::LiftStreamDone
            });
        }
        s if s.copying() => return Err(ComponentTrap::BusyRemove),
        _ => {}
    }
    if rt.sched.waitables.items.borrow().get(w).set.is_some() {
        return Err(if future {
            ComponentTrap::LiftFutureInSet
        } else {
            ComponentTrap::LiftStreamInSet
        });
    }
    Ok(())
}

/// Takes readable end `handle` of a stream (or, with `future`, a future)
/// out of `inst`'s table for the host (CanonicalABI.md `lift_stream`,
/// `lift_future` with the host as the receiver); returns its shared
/// state.
///
/// # Errors
///
/// The traps of lifting a stream or future end: not such an end (or one
/// whose elements are not `elem_size` bytes), a writable end, an end in a
/// copy or a waitable set, a finished one.
pub fn take_readable(
    inst: &InstanceState,
    handle: u32,
    future: bool,
    elem_size: u32,
) -> Result<u32, ComponentTrap> {
    let rt = runtime();
    let w = match (inst.table.borrow().get(handle)?, future) {
        (Slot::Stream { end }, false) | (Slot::Future { end }, true) => end,
        _ => return Err(ComponentTrap::WrongHandleType(handle)),
    };
    let (sid, writable, state, _) = end(rt, w);
    let elem = rt.sched.waitables.shared.borrow().get(sid).elem;
    // The host function's signature was checked when the component was
    // compiled, but flat types do not tell streams of one element type from
    // another: the element size does, for the host's streams.
    if writable || elem.map_or(0, |t| rt.layouts.size(t)) != elem_size {
        return Err(ComponentTrap::WrongHandleType(handle));
    }
    check_movable(rt, w, state, future)?;
    inst.table.borrow_mut().remove(handle)?;
    rt.sched.waitables.remove(w);
    Ok(sid)
}

/// Gives `inst` the readable end of host stream or future `sid`, whose
/// elements have type `elem` (CanonicalABI.md `lower_stream`,
/// `lower_future` from the host); returns its handle.
///
/// # Errors
///
/// A full handle table.
pub fn give_readable(
    inst: &InstanceState,
    sid: u32,
    elem: Option<TypeId>,
    future: bool,
) -> Result<u32, ComponentTrap> {
    let rt = runtime();
    rt.sched.waitables.with_shared(sid, |s| s.elem = elem);
    new_end(rt, inst, sid, false, future)
}

/// Whether waitable `w` is a stream or future end in a synchronous copy.
pub fn sync_copying(rt: &Runtime, w: u32) -> bool {
    matches!(
        &rt.sched.waitables.items.borrow().get(w).kind,
        Kind::End(End {
            state: CopyState::SyncCopying,
            ..
        })
    )
}

/// Takes end `w`'s pending event (the copy's end): its payload, after
/// moving the end out of its copy.
pub fn take_end_event(rt: &Runtime, w: u32, result: u32, reclaim: bool) -> (u32, u32, u32) {
    let (sid, writable, _, buf) = end(rt, w);
    let future = rt.sched.waitables.shared.borrow().get(sid).future;
    if reclaim {
        let mut shared = rt.sched.waitables.shared.borrow_mut();
        let s = shared.get_mut(sid);
        if s.pending == Some(w) {
            s.pending = None;
        }
    }
    let done = result == copy_result::DROPPED || (future && result == copy_result::COMPLETED);
    with_end(rt, w, |e| {
        e.state = if done {
            CopyState::Done
        } else {
            CopyState::Idle
        };
        e.buffer = None;
    });
    let index = rt.sched.waitables.items.borrow().get(w).index;
    let (code, payload) = match (future, writable) {
        (false, false) => (
            event::STREAM_READ,
            result | buf.map_or(0, |b| b.progress) << 4,
        ),
        (false, true) => (
            event::STREAM_WRITE,
            result | buf.map_or(0, |b| b.progress) << 4,
        ),
        (true, false) => (event::FUTURE_READ, result),
        (true, true) => (event::FUTURE_WRITE, result),
    };
    (code, index, payload)
}

/// Moves the readable end `handle` of a stream or future of type `ty`
/// from `from`'s table to a new end in `to`'s (CanonicalABI.md
/// `lift_async_value`, `lower_stream`, `lower_future`); returns its new
/// handle.
pub fn transfer(
    rt: &Runtime,
    ty: TypeId,
    from: &InstanceState,
    to: &InstanceState,
    handle: u32,
) -> Result<u32, ComponentTrap> {
    let (future, elem) = match rt.desc.types.get(ty) {
        ValType::Stream(e) => (false, *e),
        ValType::Future(e) => (true, *e),
        _ => unreachable!("a stream or future type"),
    };
    let w = match from.table.borrow().get(handle)? {
        Slot::Stream { end } | Slot::Future { end } => end,
        _ => return Err(ComponentTrap::WrongHandleType(handle)),
    };
    let (sid, writable, state, _) = end(rt, w);
    let (sfuture, selem) = {
        let shared = rt.sched.waitables.shared.borrow();
        let s = shared.get(sid);
        (s.future, s.elem)
    };
    if writable || sfuture != future || !same_type(rt, selem, elem) {
        return Err(ComponentTrap::WrongHandleType(handle));
    }
    check_movable(rt, w, state, future)?;
    from.table.borrow_mut().remove(handle)?;
    rt.sched.waitables.remove(w);
    new_end(rt, to, sid, false, future)
}

fn new_end(
    rt: &Runtime,
    inst: &InstanceState,
    shared: u32,
    writable: bool,
    future: bool,
) -> Result<u32, ComponentTrap> {
    let w = rt.sched.waitables.add(Kind::End(End {
        shared,
        writable,
        state: CopyState::Idle,
        buffer: None,
    }));
    let slot = if future {
        Slot::Future { end: w }
    } else {
        Slot::Stream { end: w }
    };
    let index = inst.table.borrow_mut().add(slot)?;
    rt.sched.waitables.items.borrow_mut().get_mut(w).index = index;
    Ok(index)
}

/// The stream and future built-ins, for [`super::builtins`].
pub(super) struct Op<'a> {
    pub rt: &'a Runtime,
    pub inst: &'static InstanceState,
    pub memory: Option<Memory>,
    pub realloc: Option<Realloc>,
    pub b: smelt_abi::component::Builtin,
}

impl Op<'_> {
    fn elem(&self) -> (bool, Option<TypeId>) {
        match self
            .rt
            .desc
            .types
            .get(self.b.ty.expect("stream built-ins have a type"))
        {
            ValType::Stream(e) => (false, *e),
            ValType::Future(e) => (true, *e),
            _ => unreachable!("a stream or future type"),
        }
    }

    /// The end `i` of this built-in's type, and whether it is the
    /// writable end.
    fn get_end(&self, i: u32, writable: bool) -> Result<u32, ComponentTrap> {
        let (future, elem) = self.elem();
        let w = match (self.inst.table.borrow().get(i)?, future) {
            (Slot::Stream { end }, false) | (Slot::Future { end }, true) => end,
            _ => return Err(ComponentTrap::WrongHandleType(i)),
        };
        let (sid, is_writable, _, _) = end(self.rt, w);
        let selem = self.rt.sched.waitables.shared.borrow().get(sid).elem;
        if is_writable != writable || !same_type(self.rt, selem, elem) {
            return Err(ComponentTrap::WrongHandleType(i));
        }
        Ok(w)
    }

    pub fn run(&self, arg: &dyn Fn(usize) -> u32) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        if !self.inst.may_leave.get() {
            return Err(ComponentTrap::CannotLeave);
        }
        match self.b.op {
            BuiltinOp::StreamNew | BuiltinOp::FutureNew => {
                let (future, elem) = self.elem();
                let sid = rt.sched.waitables.shared.borrow_mut().add(Shared {
                    elem,
                    future,
                    dropped: false,
                    pending: None,
                    host: None,
                });
                let r = new_end(rt, self.inst, sid, false, future)?;
                let w = new_end(rt, self.inst, sid, true, future)?;
                Ok(Some(ValRaw::from(u64::from(r) | u64::from(w) << 32)))
            }
            BuiltinOp::StreamRead | BuiltinOp::StreamWrite => {
                let writable = self.b.op == BuiltinOp::StreamWrite;
                self.copy(arg(0), writable, arg(1), arg(2))
            }
            BuiltinOp::FutureRead | BuiltinOp::FutureWrite => {
                let writable = self.b.op == BuiltinOp::FutureWrite;
                self.copy(arg(0), writable, arg(1), 1)
            }
            BuiltinOp::StreamCancelRead | BuiltinOp::FutureCancelRead => self.cancel(arg(0), false),
            BuiltinOp::StreamCancelWrite | BuiltinOp::FutureCancelWrite => {
                self.cancel(arg(0), true)
            }
            BuiltinOp::StreamDropReadable | BuiltinOp::FutureDropReadable => {
                self.drop_end(arg(0), false)
            }
            BuiltinOp::StreamDropWritable | BuiltinOp::FutureDropWritable => {
                self.drop_end(arg(0), true)
            }
            _ => unreachable!("a stream or future built-in"),
        }
    }

    /// CanonicalABI.md `stream_copy` and `future_copy`.
    fn copy(
        &self,
        i: u32,
        writable: bool,
        ptr: u32,
        n: u32,
    ) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        let sched = &rt.sched;
        let async_ = self.b.options.async_;
        if !async_ && !sched.may_block() {
            return Err(ComponentTrap::CannotBlockSync);
        }
        let (future, elem) = self.elem();
        let w = self.get_end(i, writable)?;
        let (_, _, state, _) = end(rt, w);
        match state {
            CopyState::Idle => {}
            CopyState::Done => {
                return Err(match (future, writable) {
                    (false, true) => ComponentTrap::StreamWriteDone,
                    (false, false) => ComponentTrap::StreamReadDone,
                    (true, true) => ComponentTrap::FutureWriteDone,
                    (true, false) => ComponentTrap::FutureReadDone,
                });
            }
            _ => return Err(ComponentTrap::Concurrent),
        }
        if !async_ && sched.waitables.items.borrow().get(w).set.is_some() {
            return Err(ComponentTrap::SyncInSet);
        }
        if n > MAX_LENGTH {
            return Err(ComponentTrap::TooLarge);
        }
        if let Some(t) = elem
            && n > 0
        {
            let align = rt.layouts.align(t);
            let size = rt.layouts.size(t);
            if !smelt_abi::component::is_aligned(ptr, align) {
                return Err(ComponentTrap::UnalignedPointer);
            }
            let mem = self.memory.expect("validated: a memory option");
            if !mem.contains(u64::from(ptr), u64::from(n) * u64::from(size)) {
                return Err(ComponentTrap::ListOutOfBounds { host: false });
            }
        }
        let buffer = Buffer {
            inst: self.inst,
            memory: self.memory,
            realloc: self.realloc,
            encoding: self.b.options.string_encoding,
            ptr,
            length: n,
            progress: 0,
        };
        with_end(rt, w, |e| e.buffer = Some(buffer));
        copy(rt, w)?;
        if !sched.waitables.has_pending(w) {
            if async_ {
                with_end(rt, w, |e| e.state = CopyState::AsyncCopying);
                return Ok(Some(ValRaw::from(BLOCKED)));
            }
            with_end(rt, w, |e| e.state = CopyState::SyncCopying);
            let thread = sched.current().ok_or(ComponentTrap::NoTask)?;
            let ready = Rc::new(move || runtime().sched.waitables.has_pending(w));
            sched.block_until(thread, ready);
        }
        let ((_, _, payload), _) = sched.waitables.take_event(w);
        Ok(Some(ValRaw::from(payload)))
    }

    /// CanonicalABI.md `cancel_copy`.
    fn cancel(&self, i: u32, writable: bool) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        let sched = &rt.sched;
        let async_ = self.b.async_;
        if !async_ && !sched.may_block() {
            return Err(ComponentTrap::CannotBlockSync);
        }
        let w = self.get_end(i, writable)?;
        let (sid, _, state, _) = end(rt, w);
        if state != CopyState::AsyncCopying {
            return Err(ComponentTrap::NotCopying);
        }
        if !async_ && sched.waitables.items.borrow().get(w).set.is_some() {
            return Err(ComponentTrap::SyncInSet);
        }
        with_end(rt, w, |e| e.state = CopyState::CancellingCopy);
        // A buffer still pending is cancelled, even when an event for the
        // elements copied into it so far awaits delivery: the event reports
        // them with the cancellation.
        let was_pending = {
            let mut shared = sched.waitables.shared.borrow_mut();
            let s = shared.get_mut(sid);
            let was = s.pending == Some(w);
            if was {
                s.pending = None;
            }
            was
        };
        if was_pending {
            set_event(rt, w, copy_result::CANCELLED, false);
        }
        if !sched.waitables.has_pending(w) {
            if async_ {
                return Ok(Some(ValRaw::from(BLOCKED)));
            }
            let thread = sched.current().ok_or(ComponentTrap::NoTask)?;
            let ready = Rc::new(move || runtime().sched.waitables.has_pending(w));
            sched.block_until(thread, ready);
        }
        let ((_, _, payload), _) = sched.waitables.take_event(w);
        Ok(Some(ValRaw::from(payload)))
    }

    /// CanonicalABI.md `drop` of a stream or future end.
    fn drop_end(&self, i: u32, writable: bool) -> Result<Option<ValRaw>, ComponentTrap> {
        let rt = self.rt;
        let (future, _) = self.elem();
        let w = self.get_end(i, writable)?;
        let (sid, _, state, _) = end(rt, w);
        if state.copying() {
            return Err(if writable {
                ComponentTrap::BusyDrop
            } else {
                ComponentTrap::BusyRemove
            });
        }
        if future && writable && state != CopyState::Done {
            return Err(ComponentTrap::FutureNotWritten);
        }
        self.inst.table.borrow_mut().remove(i)?;
        rt.sched.waitables.remove(w);
        let (pending, host) = {
            let mut shared = rt.sched.waitables.shared.borrow_mut();
            let s = shared.get_mut(sid);
            if s.dropped {
                (None, None)
            } else {
                s.dropped = true;
                (s.pending.take(), s.host.take())
            }
        };
        if let Some(p) = pending {
            set_event(rt, p, copy_result::DROPPED, false);
        }
        // The host's end learns that the guest's is gone: a sink that no
        // more bytes come.
        if let Some(HostEnd::Sink(mut sink)) = host {
            sink.end(None)?;
        }
        Ok(None)
    }
}
