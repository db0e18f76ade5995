//! libwasi-native: the WASI 0.2 and 0.3 host of smelt executables, on
//! Linux.
//!
//! In: the capabilities baked into the executable
//! ([`smelt_abi::wasi::WasiConfig`]) and the process's arguments. Out: the
//! host functions that the component runtime binds a component's WASI
//! imports to (each an exported symbol, which the compiled program refers
//! to), and the [`HOST_TABLE`] of host resource types.
//!
//! The bindings (Rust types of the WIT types, one `Host` trait per
//! interface, the canonical ABI shims) are generated from the WIT files by
//! `smelt-wit` at build time; this crate implements the traits, laid out
//! by version and package (`p2/cli.rs`, `p2/io.rs`, `p3/cli.rs`, ...); the
//! WASI 0.3 host reuses the 0.2 one's OS code. Every host object
//! a guest holds a handle to (a stream, a pollable, a descriptor, ...) is
//! an [`table::Object`] in one [`table::Table`]; a handle's representation
//! (rep) is the object's slot number there.
//!
//! The host is single-threaded, as the component runtime is: the guest
//! runs on the process's main thread and host calls never re-enter.

#![deny(missing_docs)]

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

pub mod net;
pub mod p2;
pub mod p3;
pub mod table;

use table::Table;

/// The state of the WASI host.
pub struct WasiHost {
    /// Every host object a guest has a handle to.
    pub table: Table,
    /// The program's arguments (`wasi:cli/environment#get-arguments`),
    /// starting with the program name.
    pub args: Vec<String>,
    /// The guest's environment variables.
    pub env: Vec<(String, String)>,
    /// Preopened directories: host path and guest name.
    pub preopens: Vec<(String, String)>,
    /// Host calls so far (each shim's [`host`] counts one): what tells a
    /// host function that no other host call came between it and the one
    /// before.
    pub calls: u64,
    /// The last `stat-at`'s result, for a `metadata-hash-at` of the same
    /// path right after it ([`p2::filesystem::LastStat`]).
    pub last_stat: Option<p2::filesystem::LastStat>,
    /// The network operations granted (`wasi:sockets`, [`net`]).
    pub network: smelt_abi::net::NetGrants,
}

struct HostCell(UnsafeCell<Option<WasiHost>>);

// SAFETY: the host is only used from the thread that runs the guest (see
// the module documentation).
unsafe impl Sync for HostCell {}

static HOST: HostCell = HostCell(UnsafeCell::new(None));

/// The host state, for the generated shims.
///
/// # Panics
///
/// When [`init`] has not run: the runtime calls it before the guest.
pub fn host() -> &'static mut WasiHost {
    // SAFETY: single-threaded, and no host call keeps a reference across
    // a call into the guest (see the module documentation).
    let host = unsafe { (*HOST.0.get()).as_mut() }.expect("smelt_wasi::init runs before the guest");
    host.calls = host.calls.wrapping_add(1);
    host
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
    let args = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: guaranteed by the caller.
            unsafe { CStr::from_ptr(*argv.add(i)) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut env: Vec<(String, String)> = Vec::new();
    if config.inherit_env {
        env.extend(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }));
    }
    for var in &config.env {
        let value = match &var.value {
            Some(v) => v.clone(),
            None => match std::env::var_os(&var.name) {
                Some(v) => v.to_string_lossy().into_owned(),
                None => continue,
            },
        };
        env.retain(|(k, _)| *k != var.name);
        env.push((var.name.clone(), value));
    }
    let mut host = WasiHost {
        table: Table::default(),
        args,
        env,
        preopens: Vec::new(),
        calls: 0,
        last_stat: None,
        network: config.network.clone(),
    };
    for p in &config.preopens {
        host.preopens.push((p.host.clone(), p.guest.clone()));
    }
    p2::filesystem::open_preopens(&mut host).map_err(InitError)?;
    // SAFETY: before the guest runs, nothing else holds the host.
    unsafe { *HOST.0.get() = Some(host) };
    Ok(())
}

/// Frees the host object behind a guest's last owned handle to host
/// resource type `ty` (called by the component runtime's `resource.drop`).
pub fn drop_resource(ty: u32, rep: u32) {
    let _ = ty;
    host().table.remove(rep);
}
