//! The C API of a component built as a library (`smelt build --emit
//! staticlib`): the functions the generated header's inline functions
//! call. Each instance has its own component runtime and its own WASI
//! host state (arguments, environment, preopened directories, open
//! descriptors), installed on the calling thread for the length of each
//! call. An instance is used from the thread that created it.
//!
//! Errors come back as messages in memory from `malloc`, which the caller
//! frees with `free`; a trap ends the call, not the process.

use core::ffi::{CStr, c_char, c_int};
use std::sync::OnceLock;

use smelt_abi::component::LibraryDesc;
use smelt_abi::program::ProgramDesc;
use smelt_rt::component::Runtime;

use crate::{HOST_TABLE, WasiHost, swap};

unsafe extern "C" {
    /// The program descriptor the compiler emits into the library's
    /// object (`smelt_abi::PROGRAM_SYMBOL`).
    #[link_name = concat!("smelt_program_v", smelt_abi::abi_version!())]
    static PROGRAM: ProgramDesc;
}

/// The capabilities of a new instance (`smelt_config` in the header).
/// Each field pairs a pointer to an array of C strings with its length;
/// a null pointer is an empty array.
#[repr(C)]
pub struct Config {
    /// The guest's arguments (`wasi:cli/environment#get-arguments`), the
    /// program name first.
    pub args: *const *const c_char,
    /// Number of `args`.
    pub args_len: usize,
    /// The guest's environment, as `NAME=VALUE` strings.
    pub env: *const *const c_char,
    /// Number of `env`.
    pub env_len: usize,
    /// Preopened directories: `HOST_PATH` (the same path in the guest) or
    /// `HOST_PATH::GUEST_PATH`.
    pub dirs: *const *const c_char,
    /// Number of `dirs`.
    pub dirs_len: usize,
}

/// A live instance of the library's component (`smelt_instance`).
///
/// A call reaches it through a shared reference, its changing state in
/// cells: an implementation of a native import may call `smelt_lib_call`
/// on the same instance while a call is in progress, which must see that
/// call's state (a `&mut` held across the call would let the compiler keep
/// that state from memory, and make the second reference undefined
/// behavior).
pub struct Instance {
    rt: Box<Runtime>,
    /// The instance's WASI host state while no call runs (a call installs
    /// it on the thread); `None` during a call.
    host: core::cell::Cell<Option<Box<WasiHost>>>,
    /// The first line of the trap that ended a call, after which the
    /// instance may not be entered again (Explainer.md: a trap leaves the
    /// component instance unusable).
    trapped: core::cell::RefCell<Option<String>>,
    /// The thread that created it ([`thread_token`]), the only one that
    /// may call it: the runtime and its host state are the thread's.
    thread: usize,
}

/// An address unique to the calling thread while it lives (a
/// thread-local's).
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| core::ptr::from_ref(t) as usize)
}

/// The library descriptor, decoded by the first instance; with the
/// process-wide set-up done, or why it failed.
fn library() -> Result<&'static LibraryDesc, String> {
    static LIBRARY: OnceLock<Result<LibraryDesc, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| {
            // SAFETY: the descriptor the compiler emitted into this library.
            let program: &'static ProgramDesc = unsafe { &*core::ptr::addr_of!(PROGRAM) };
            if program.abi_version != smelt_abi::ABI_VERSION {
                return Err(format!(
                    "the library's code was compiled for runtime ABI {}, but its runtime has ABI {}",
                    program.abi_version,
                    smelt_abi::ABI_VERSION
                ));
            }
            smelt_rt::program::set(program);
            let limits = smelt_rt::limits::of_program(program)?;
            smelt_rt::limits::install(limits, program);
            // SAFETY: no arguments: the template takes the configuration
            // baked into the library; each instance gets its own below.
            unsafe { crate::init(program, 0, core::ptr::null()) }.map_err(|e| e.to_string())?;
            crate::LIBRARY.store(true, core::sync::atomic::Ordering::Relaxed);
            // SAFETY: the compiler emits the descriptor with this length.
            let bytes = unsafe { smelt_rt::entry::slice(program.init, program.init_len) };
            smelt_abi::codec::from_bytes(bytes)
                .map_err(|e| format!("malformed library descriptor: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The C strings of one of [`Config`]'s arrays, as bytes.
///
/// # Safety
///
/// `ptr` must be null or point to `len` valid C strings.
unsafe fn strings(ptr: *const *const c_char, len: usize) -> Vec<Vec<u8>> {
    if ptr.is_null() {
        return Vec::new();
    }
    (0..len)
        .map(|i| {
            // SAFETY: the caller's contract.
            unsafe { CStr::from_ptr(*ptr.add(i)) }.to_bytes().to_vec()
        })
        .collect()
}

/// The WASI host state `config` asks for.
///
/// # Safety
///
/// `config` must be null or valid (see [`Config`]).
unsafe fn host_of(config: *const Config) -> Result<WasiHost, String> {
    let mut host = WasiHost::fresh();
    host.args = Vec::new();
    host.env = Vec::new();
    host.preopens = Vec::new();
    // SAFETY: the caller's contract.
    let Some(config) = (unsafe { config.as_ref() }) else {
        return Ok(host);
    };
    // SAFETY: the caller's contract.
    let (args, env, dirs) = unsafe {
        (
            strings(config.args, config.args_len),
            strings(config.env, config.env_len),
            strings(config.dirs, config.dirs_len),
        )
    };
    host.args = args;
    for var in env {
        let Some(eq) = var.iter().position(|&b| b == b'=') else {
            return Err(format!(
                "environment entry `{}` is not NAME=VALUE",
                String::from_utf8_lossy(&var)
            ));
        };
        host.env.push((var[..eq].to_vec(), var[eq + 1..].to_vec()));
    }
    for dir in dirs {
        let dir = String::from_utf8(dir)
            .map_err(|e| format!("directory `{}` is not UTF-8", e.into_bytes().escape_ascii()))?;
        let (host_path, guest) = match dir.split_once("::") {
            Some((h, g)) => (h.to_string(), g.to_string()),
            None => (dir.clone(), dir),
        };
        host.preopens.push((host_path, guest));
    }
    crate::fs::open_preopens(&mut host)?;
    Ok(host)
}

/// Writes `message` to `*error` (when `error` is not null) as a C string
/// in memory from `malloc`.
///
/// # Safety
///
/// `error` must be null or valid for a write.
unsafe fn set_error(error: *mut *mut c_char, message: &str) {
    if error.is_null() {
        return;
    }
    let bytes = message.as_bytes();
    // SAFETY: a plain allocation, checked for null.
    let out = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
    if !out.is_null() {
        // SAFETY: `out` has room for the message and its NUL.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
            *out.add(bytes.len()) = 0;
        }
    }
    // SAFETY: the caller's contract.
    unsafe { *error = out.cast() };
}

/// Creates an instance of the library's component with the capabilities
/// `config` (null: no arguments, environment or directories): runs its
/// initializers (start functions, data segments).
///
/// Returns null on failure, with the message in `*error` (when `error` is
/// not null): a directory that cannot be opened, a malformed entry in
/// `config`, a trap during instantiation.
///
/// # Safety
///
/// `config` must be null or valid (see [`Config`]); `error` null or valid
/// for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smelt_lib_new(
    config: *const Config,
    error: *mut *mut c_char,
) -> *mut Instance {
    let made = (|| {
        library()?;
        smelt_rt::traps::init();
        // SAFETY: the caller's contract.
        let host = unsafe { host_of(config) }?;
        // SAFETY: the descriptor the compiler emitted into this library.
        let program: &'static ProgramDesc = unsafe { &*core::ptr::addr_of!(PROGRAM) };
        // SAFETY: as above.
        let rt = unsafe { Runtime::new(program, &HOST_TABLE) }
            .map_err(|e| format!("cannot start the component runtime: {e:?}"))?;
        let instance = Instance {
            rt,
            host: core::cell::Cell::new(Some(Box::new(host))),
            trapped: core::cell::RefCell::new(None),
            thread: thread_token(),
        };
        let init = &library()?.init;
        // SAFETY: the initializers of this program.
        with_instance(&instance, |rt| unsafe { rt.run(init) }).map_err(|trap| trap.to_string())?;
        Ok::<_, String>(instance)
    })();
    match made {
        Ok(instance) => Box::into_raw(Box::new(instance)),
        Err(message) => {
            // SAFETY: the caller's contract.
            unsafe { set_error(error, &message) };
            core::ptr::null_mut()
        }
    }
}

/// Runs `f` with `instance`'s runtime current and its host state
/// installed on this thread.
fn with_instance<T>(instance: &Instance, f: impl FnOnce(&Runtime) -> T) -> T {
    let previous = swap(Some(instance.host.take().expect("no call is in progress")));
    let result = {
        let _current = instance.rt.enter();
        f(&instance.rt)
    };
    instance.host.set(swap(previous));
    result
}

/// Frees an instance made by [`smelt_lib_new`] (null: nothing), with its
/// memories and the host objects its guest held. From another thread than
/// the one that created it, it says so on stderr and leaves the instance
/// allocated.
///
/// # Safety
///
/// `instance` must be null or an instance not yet freed, with no call in
/// progress.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smelt_lib_free(instance: *mut Instance) {
    if instance.is_null() {
        return;
    }
    // SAFETY: the caller's contract: made by `smelt_lib_new`.
    let instance = unsafe { Box::from_raw(instance) };
    if instance.thread != thread_token() {
        // Its runtime shares state with the thread that made it: freeing
        // it here could race with that thread. Left allocated.
        eprintln!(
            "smelt: an instance was freed from another thread than the one that created it; \
             it is left allocated"
        );
        core::mem::forget(instance);
    }
}

/// Calls exported function number `func` of `instance` (the header's
/// numbering: the sorted order of the exports' keys) with its parameters
/// at `args` (a struct of the parameter types, in the native layout) and
/// writes its result at `ret` (null when it has none).
///
/// Returns 0; or 1 on a trap, a function number out of range, or a call
/// [`enter`] refuses, with the message in `*error` (when `error` is not
/// null) and nothing written at `ret`.
///
/// # Safety
///
/// `instance` must be live; `args` and `ret` as the function's type says
/// (see `smelt_rt::component::Runtime::call_native`); `error` null or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smelt_lib_call(
    instance: *mut Instance,
    func: u32,
    args: *const u8,
    ret: *mut u8,
    error: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe {
        enter(instance, error, |rt, lib| {
            let export = lib
                .exports
                .get(func as usize)
                .ok_or_else(|| format!("no exported function number {func}"))?;
            Ok(rt.call_native(export, args, ret))
        })
    }
}

/// Drops the owned handle `handle` of resource number `resource` of
/// `instance` (the header's numbering: the sorted order of the resources'
/// keys), running the resource's destructor
/// (`smelt_rt::component::Runtime::drop_native`).
///
/// Returns 0; or 1 when the handle is not an owned handle of that
/// resource, is lent to a call in progress, the destructor traps, the
/// resource number is out of range, or [`enter`] refuses the call, with
/// the message in `*error` (when `error` is not null).
///
/// # Safety
///
/// `instance` must be live; `error` null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn smelt_lib_drop(
    instance: *mut Instance,
    resource: u32,
    handle: u32,
    error: *mut *mut c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe {
        enter(instance, error, |rt, lib| {
            let resource = lib
                .resources
                .get(resource as usize)
                .ok_or_else(|| format!("no resource number {resource}"))?;
            rt.drop_native(resource.resource, handle).map_err(|e| {
                format!(
                    "cannot drop handle {handle} of resource `{}`: {e}",
                    resource.key
                )
            })
        })
    }
}

/// Runs `call` on `instance`'s runtime, made current with its host state
/// installed (see [`with_instance`]): 0 when it succeeds; 1 with the
/// message in `*error` (when `error` is not null) when it fails, or when
/// the call is refused: from another thread than the instance's, into an
/// instance that is already in a call (from an implementation of one of
/// its native imports), or into one that trapped. A trap from `call`
/// poisons the instance.
///
/// # Safety
///
/// `instance` must be live; `error` null or valid for a write; `call`'s
/// own contract is the caller's.
unsafe fn enter(
    instance: *mut Instance,
    error: *mut *mut c_char,
    call: impl FnOnce(
        &Runtime,
        &'static LibraryDesc,
    ) -> Result<Result<(), smelt_rt::traps::Trap>, String>,
) -> c_int {
    // SAFETY: the caller's contract.
    let instance = unsafe { &*instance };
    let refuse = |message: &str| {
        // SAFETY: the caller's contract.
        unsafe { set_error(error, message) };
        1
    };
    if instance.thread != thread_token() {
        return refuse(
            "the instance is called from another thread than the one that created it (an \
             instance is used from the thread that called smelt_lib_new)",
        );
    }
    let lib = match library() {
        Ok(lib) => lib,
        Err(message) => return refuse(&message),
    };
    let in_call = {
        let host = instance.host.take();
        let in_call = host.is_none();
        instance.host.set(host);
        in_call
    };
    if in_call {
        return refuse(
            "the instance is already in a call: an implementation of a native import called back \
             into the instance that called it",
        );
    }
    if let Some(first) = &*instance.trapped.borrow() {
        return refuse(&format!(
            "the instance trapped in an earlier call ({first}) and cannot be called again: free \
             it and create another"
        ));
    }
    match with_instance(instance, |rt| call(rt, lib)) {
        Ok(Ok(())) => 0,
        Ok(Err(trap)) => {
            let message = trap.to_string();
            *instance.trapped.borrow_mut() =
                Some(message.lines().next().unwrap_or_default().to_string());
            refuse(&message)
        }
        Err(message) => refuse(&message),
    }
}

/// What the run pointer of a library's descriptor points to: a library
/// has no `main`, so reaching it means the object was linked as an
/// executable.
///
/// # Safety
///
/// None needed; the signature is `smelt_rt::entry::RunFn`'s.
#[unsafe(export_name = "smelt_run_library")]
pub unsafe fn run_library(
    _program: &'static ProgramDesc,
    _host: &'static smelt_rt::component::HostTable,
) -> i32 {
    eprintln!(
        "smelt: this object is a library (--emit staticlib): link it into a program and call it \
         through its header"
    );
    smelt_rt::entry::EXIT_SOFTWARE
}
