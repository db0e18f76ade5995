//! `wasi:filesystem` of WASI 0.3.

use crate::WasiHost;
use crate::bindings::p3::{wasi_filesystem_preopens, wasi_filesystem_types};

impl wasi_filesystem_types::Host for WasiHost {}
impl wasi_filesystem_preopens::Host for WasiHost {}
