//! libwasi-native: the WASI 0.2 and 0.3 host of smelt executables, on
//! Linux.
//!
//! In: the capabilities baked into the executable
//! ([`smelt_abi::wasi::WasiConfig`]) and the process's arguments. Out: the
//! host functions that the component runtime binds a component's WASI
//! imports to (each an exported symbol, which the compiled program refers
//! to), and the [`HOST_TABLE`] of host resource types.
//!
//! The crate is a version-neutral core written once against the OS
//! ([`fs`]: the sandbox, path resolution, descriptors and directory
//! listings; [`io`]; [`cli`]; [`random`]; [`clocks`]), and one thin face
//! per WASI version over it ([`p1`], [`p2`], [`p3`]), laid out by package
//! (`p2/cli.rs`, `p2/io.rs`, `p3/filesystem.rs`, ...): a face converts its
//! version's types to the core's and back, and holds nothing the other
//! versions need. The bindings of WASI 0.2 and 0.3 (Rust types of the WIT
//! types, one `Host` trait per interface, the canonical ABI shims) are
//! generated from the WIT files by `smelt-wit` at build time, those of
//! preview1 from its witx; the faces implement those traits. Every host
//! object a guest holds a handle to (a stream, a pollable, a descriptor,
//! ...) is an [`table::Object`] in one [`table::Table`], typed by the WIT
//! resource its handles have; a handle's representation (rep) is the
//! object's slot number there.
//!
//! The host state is per OS thread, as the component runtime is: a command
//! runs its guest on the process's main thread, a server one runtime per
//! worker thread (or per request), each with its host state ([`install`]);
//! host calls never re-enter.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int};

use smelt_abi::program::ProgramDesc;
use smelt_abi::wasi::WasiConfig;
use smelt_rt::component::HostTable;

/// The generated bindings: WASI 0.2's at the root, WASI 0.3's in `p3`.
#[allow(missing_docs, clippy::all, unused_imports)]
pub mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

    /// The WASI 0.3 bindings.
    pub mod p3 {
        include!(concat!(env!("OUT_DIR"), "/bindings_p3.rs"));
    }
}

pub mod cli;
pub mod clocks;
pub mod fs;
pub mod http;
pub mod io;
pub mod library;
pub mod net;
pub mod p1;
pub mod p2;
pub mod p3;
pub mod random;
pub mod serve;
pub mod table;

use table::Table;

/// The state of the WASI host.
pub struct WasiHost {
    /// Every host object a guest has a handle to.
    pub table: Table,
    /// The program's arguments, starting with the program name, as the
    /// process got them (bytes: preview1 passes them on as they are, WASI
    /// 0.2 and 0.3 as strings, [`cli::lossy`]).
    pub args: Vec<Vec<u8>>,
    /// The guest's environment variables: names and values, as bytes.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Preopened directories: host path and guest name.
    pub preopens: Vec<(String, String)>,
    /// Host calls so far (each shim's [`host`] counts one): what tells a
    /// host function that no other host call came between it and the one
    /// before.
    pub calls: u64,
    /// The last `stat-at`'s result, for a `metadata-hash-at` of the same
    /// path right after it ([`fs::LastStat`]).
    pub last_stat: Option<fs::LastStat>,
    /// The preview1 host, once a preview1 program runs ([`p1::run`]):
    /// shared (an `Arc`), so that the threads of a program can each hold
    /// it in their host state (its descriptor table is behind a lock).
    pub preview1: Option<std::sync::Arc<p1::Preview1Host>>,
    /// The network operations granted (`wasi:sockets`, [`net`]).
    pub network: smelt_abi::net::NetGrants,
}

thread_local! {
    /// The host state of this OS thread: every thread that runs guest code
    /// has its own ([`install`]).
    static HOST: UnsafeCell<Option<Box<WasiHost>>> = const { UnsafeCell::new(None) };
}

/// The host state of the calling thread, for the generated shims.
///
/// # Panics
///
/// When the thread has none: [`init`] installs the main thread's, and
/// every other thread that runs guest code [`install`]s its own first.
pub fn host() -> &'static mut WasiHost {
    // SAFETY: the state is the calling thread's own, and no host call
    // keeps a reference across a call into the guest (see the module
    // documentation); it lives as long as the thread.
    let host = HOST
        .with(|h| unsafe { (*h.get()).as_deref_mut() })
        .expect("the thread's WASI host is installed before the guest runs");
    host.calls = host.calls.wrapping_add(1);
    host
}

/// Makes `host` the calling thread's host state; returns the one it
/// replaces. A server gives each request of a WASI 0.2 component a fresh
/// host ([`WasiHost::fresh`]), as it gives it a fresh instance.
pub fn install(host: WasiHost) -> Option<WasiHost> {
    swap(Some(Box::new(host))).map(|previous| *previous)
}

/// Puts `host` in place of the calling thread's host state (none: takes
/// it out), and returns that: a library's instance installs its own for
/// each call, and takes it back after ([`library`]). Boxed, so that a
/// swap moves a pointer.
pub fn swap(host: Option<Box<WasiHost>>) -> Option<Box<WasiHost>> {
    // SAFETY: no reference to the thread's host state is live between
    // host calls.
    HOST.with(|h| unsafe { core::mem::replace(&mut *h.get(), host) })
}

/// Whether the program is a library ([`library`]): `wasi:cli/exit` then
/// ends the call with a trap, not the embedding process.
static LIBRARY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The capabilities read from the executable by [`init`], from which every
/// thread's host state is made.
#[derive(Debug, Clone)]
struct Template {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    preopens: Vec<(String, String)>,
    serve: Option<smelt_abi::wasi::ServeConfig>,
    /// The authorities outgoing HTTP requests may go to.
    allow_http: Vec<String>,
    /// The network operations granted.
    network: smelt_abi::net::NetGrants,
}

/// The capabilities [`init`] read.
///
/// # Panics
///
/// When [`init`] has not run.
fn template() -> &'static Template {
    TEMPLATE.get().expect("smelt_wasi::init runs first")
}

static TEMPLATE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();

impl WasiHost {
    /// A host state with no objects, with the capabilities [`init`] read.
    ///
    /// # Panics
    ///
    /// When [`init`] has not run.
    pub fn fresh() -> WasiHost {
        let t = template();
        WasiHost {
            table: Table::default(),
            args: t.args.clone(),
            env: t.env.clone(),
            preopens: t.preopens.clone(),
            calls: 0,
            last_stat: None,
            preview1: None,
            network: t.network.clone(),
        }
    }
}

/// What the component runtime binds WASI imports to: the host resource
/// types, by runtime resource type. (The generated shims of the host
/// functions are found by their symbols, which compiled programs refer
/// to.)
pub static HOST_TABLE: HostTable = HostTable {
    resources: &bindings::RESOURCES,
};

/// Why the host cannot start.
#[derive(Debug)]
pub struct InitError(String);

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sets up the host for `program`, run with `argc` arguments `argv`: reads
/// the capabilities baked into the executable and checks that every
/// preopened directory exists.
///
/// # Errors
///
/// A malformed configuration, or a preopened directory that cannot be
/// opened (named in the message).
///
/// # Safety
///
/// `argv` must hold `argc` valid C strings; `program` must be this
/// executable's descriptor.
pub unsafe fn init(
    program: &ProgramDesc,
    argc: c_int,
    argv: *const *const c_char,
) -> Result<(), InitError> {
    let config: WasiConfig = if program.wasi_len == 0 {
        WasiConfig::default()
    } else {
        // SAFETY: the compiler emits `wasi_len` bytes at `wasi`.
        let bytes = unsafe { core::slice::from_raw_parts(program.wasi, program.wasi_len as usize) };
        smelt_abi::codec::from_bytes(bytes)
            .map_err(|e| InitError(format!("malformed WASI configuration: {e:?}")))?
    };
    use std::os::unix::ffi::OsStringExt;
    let args = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: guaranteed by the caller.
            unsafe { CStr::from_ptr(*argv.add(i)) }.to_bytes().to_vec()
        })
        .collect();
    let mut env: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if config.inherit_env {
        env.extend(std::env::vars_os().map(|(k, v)| (k.into_vec(), v.into_vec())));
    }
    for var in &config.env {
        let value = match &var.value {
            Some(v) => v.clone().into_bytes(),
            None => match std::env::var_os(&var.name) {
                Some(v) => v.into_vec(),
                None => continue,
            },
        };
        env.retain(|(k, _)| *k != var.name.as_bytes());
        env.push((var.name.clone().into_bytes(), value));
    }
    let mut host = WasiHost {
        table: Table::default(),
        args,
        env,
        preopens: Vec::new(),
        calls: 0,
        last_stat: None,
        preview1: None,
        network: config.network.clone(),
    };
    for p in &config.preopens {
        host.preopens.push((p.host.clone(), p.guest.clone()));
    }
    fs::open_preopens(&mut host).map_err(InitError)?;
    let _ = TEMPLATE.set(Template {
        args: host.args.clone(),
        env: host.env.clone(),
        preopens: host.preopens.clone(),
        serve: config.serve.clone(),
        allow_http: config.allow_http.clone(),
        network: config.network.clone(),
    });
    install(host);
    Ok(())
}

/// `wasi:cli/exit` of either version: ends the process with `code`, except
/// in an HTTP server, where it ends the request with a trap (the server
/// answers 500 and goes on: one request must not stop it).
///
/// # Errors
///
/// The trap, in a server.
pub fn guest_exit(code: i32) -> smelt_rt::component::host::HostResult<()> {
    if template().serve.is_some() {
        return Err(smelt_rt::component::host::HostTrap::Message(format!(
            "the guest called wasi:cli/exit with status {code} while handling a request"
        )));
    }
    if LIBRARY.load(core::sync::atomic::Ordering::Relaxed) {
        return Err(smelt_rt::component::host::HostTrap::Message(format!(
            "the guest called wasi:cli/exit with status {code}"
        )));
    }
    cli::exit(code)
}

/// Frees the host object behind a guest's last owned handle to host
/// resource type `ty` (called by the component runtime's `resource.drop`).
pub fn drop_resource(ty: u32, rep: u32) {
    let _ = ty;
    host().table.remove(rep);
}
