//! `wasi:random` of WASI 0.3, on the randomness core ([`crate::random`]).
//!
//! WASI 0.3 asks for "up to `max-len`" bytes and forbids a trap: a
//! request past [`MAX_BYTES`] gets that many (a short read).

use smelt_rt::component::host::{Cx, HostResult};

use crate::WasiHost;
use crate::bindings::p3::{wasi_random_insecure, wasi_random_insecure_seed, wasi_random_random};
use crate::random::{MAX_BYTES, bytes, insecure_seed, u64_random};

impl wasi_random_random::Host for WasiHost {
    fn get_random_bytes(&mut self, _: &mut Cx<'_>, max_len: u64) -> HostResult<Vec<u8>> {
        bytes(max_len.min(MAX_BYTES))
    }

    fn get_random_u64(&mut self, _: &mut Cx<'_>) -> HostResult<u64> {
        u64_random()
    }
}

impl wasi_random_insecure::Host for WasiHost {
    fn get_insecure_random_bytes(&mut self, _: &mut Cx<'_>, max_len: u64) -> HostResult<Vec<u8>> {
        bytes(max_len.min(MAX_BYTES))
    }

    fn get_insecure_random_u64(&mut self, _: &mut Cx<'_>) -> HostResult<u64> {
        u64_random()
    }
}

impl wasi_random_insecure_seed::Host for WasiHost {
    fn get_insecure_seed(&mut self, _: &mut Cx<'_>) -> HostResult<(u64, u64)> {
        insecure_seed()
    }
}
