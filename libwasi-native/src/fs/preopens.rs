//! The preopened directories.

use std::os::fd::OwnedFd;
use std::sync::{Mutex, PoisonError};

use super::types::Flags;
use crate::WasiHost;

/// The preopened directories, opened by [`open_preopens`]: each
/// `get-directories` call hands out new descriptors duplicated from these.
///
/// A static rather than a field of [`WasiHost`] so that the host state
/// keeps its plain `(host path, guest name)` list; a `Mutex` only to be
/// `Sync` (the host is single-threaded).
static PREOPENED: Mutex<Vec<(OwnedFd, String)>> = Mutex::new(Vec::new());

/// The flags of a preopened directory: it may be read and its contents
/// changed.
pub const PREOPEN_FLAGS: Flags = Flags(Flags::READ | Flags::MUTATE_DIRECTORY);

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

/// New descriptors of the preopened directories (duplicated from the ones
/// [`open_preopens`] opened), with their guest names, in the order they
/// were granted.
///
/// # Errors
///
/// The error of `dup`.
pub fn preopened() -> std::io::Result<Vec<(super::Descriptor, String)>> {
    let preopened = PREOPENED.lock().unwrap_or_else(PoisonError::into_inner);
    preopened
        .iter()
        .map(|(fd, name)| {
            let file = std::fs::File::from(fd.try_clone()?);
            Ok((
                super::Descriptor::new(file, PREOPEN_FLAGS, true),
                name.clone(),
            ))
        })
        .collect()
}
