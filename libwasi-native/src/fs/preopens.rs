//! The preopened directories.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, PoisonError};

use crate::WasiHost;
use crate::bindings::wasi_filesystem_types::DescriptorFlags;

/// The preopened directories, opened by [`open_preopens`]: each
/// `get-directories` call hands out new descriptors duplicated from these.
///
/// A static rather than a field of [`WasiHost`] so that the host state
/// keeps its plain `(host path, guest name)` list; a `Mutex` only to be
/// `Sync` (the host is single-threaded).
pub(crate) static PREOPENED: Mutex<Vec<(OwnedFd, String)>> = Mutex::new(Vec::new());

/// The `descriptor-flags` of a preopened directory: it may be read and its
/// contents changed.
pub(crate) const PREOPEN_FLAGS: DescriptorFlags = DescriptorFlags {
    bits: DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
};

/// Opens the preopened directories of `host` (relative host paths are
/// relative to the process's working directory).
///
/// # Errors
///
/// A message naming a directory that cannot be opened.
pub fn open_preopens(host: &mut WasiHost) -> Result<(), String> {
    let mut opened = Vec::with_capacity(host.preopens.len());
    for (host_path, guest_name) in &host.preopens {
        let dir = open_host_dir(host_path).map_err(|e| {
            format!(
                "cannot open preopened directory `{host_path}` (`{guest_name}` in the guest): {e}"
            )
        })?;
        opened.push((dir, guest_name.clone()));
    }
    *PREOPENED.lock().unwrap_or_else(PoisonError::into_inner) = opened;
    Ok(())
}

/// Opens directory `path` of the host, for reading.
pub(crate) fn open_host_dir(path: &str) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?;
    Ok(OwnedFd::from(file))
}
