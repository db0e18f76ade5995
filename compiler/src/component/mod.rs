//! Components: parsing ([`parse`]), compile-time instantiation
//! ([`flatten`]), their value types ([`types`]), and the code of the
//! trampolines core instances import from the component layer
//! ([`trampoline`]).

pub mod flatten;
pub mod parse;
pub mod trampoline;
pub mod types;
