//! The runtime built-ins that generated code calls.
//!
//! [`foreach_builtin!`] is the one list of them. The compiler expands it
//! into [`Builtin`] (names and signatures, for declaring the imports of an
//! object); the runtime expands it into compile-time checks that each of
//! its `extern "C"` definitions has exactly the listed signature. Every
//! built-in uses the platform C calling convention and is exported by the
//! runtime as `smelt_rt_<name>`.
//!
//! Built-ins never unwind or trap themselves: one that can fail returns a
//! status (0 on success), and the generated code that called it traps with
//! the code given in the built-in's documentation. That keeps every trap at
//! a site in compiled code, where the trap table and frame pointers give an
//! exact wasm backtrace.

/// Invokes `$mac!` with the list of built-ins.
///
/// Each entry reads `name(param: type, ...) -> type;` where a type is
/// `pointer`, `i32` or `i64`.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// Creates a linear memory in the `VMMemoryDefinition` at `memory`
            /// with `min_pages` pages, growable to `max_pages` (`-1`: no
            /// declared maximum), reserving `reservation` bytes of address
            /// space. `flags`: `MEMORY_FLAG_64`. Returns 0, or 1 when the
            /// address space cannot be reserved.
            memory_new(memory: pointer, min_pages: i64, max_pages: i64, reservation: i64, flags: i32) -> i32;
            /// `memory.grow`: returns the old size in pages, or -1.
            memory_grow(memory: pointer, delta_pages: i64) -> i64;
            /// The copy of a `memory.copy` whose bounds the generated code
            /// has checked: `len` bytes from native address `src` to native
            /// address `dst` (the ranges may overlap). Returns `dst`, as C's
            /// `memmove` does.
            memmove(dst: pointer, src: pointer, len: i64) -> pointer;
            /// The stores of a `memory.fill` whose bounds the generated code
            /// has checked: `len` bytes at native address `dst` set to the
            /// low byte of `value`. Returns `dst`, as C's `memset` does.
            memset(dst: pointer, value: i32, len: i64) -> pointer;
            /// `memory.init` from the `VMSegment` at `segment`: returns 0, or
            /// 1 when out of bounds (`MemoryOutOfBounds`).
            memory_init(memory: pointer, dst: i64, segment: pointer, src: i64, len: i64) -> i32;
            /// Creates a table in the `VMTableDefinition` at `table` with
            /// `min` elements set to `init`, growable to `max` (`-1`: no
            /// declared maximum). Returns 0, or 1 when it cannot be
            /// allocated.
            table_new(table: pointer, min: i64, max: i64, init: i64) -> i32;
            /// `table.grow`: returns the old length, or -1.
            table_grow(table: pointer, delta: i64, init: i64) -> i64;
            /// `table.fill`: returns 0, or 1 when out of bounds
            /// (`TableOutOfBounds`).
            table_fill(table: pointer, dst: i64, value: i64, len: i64) -> i32;
            /// `table.copy`: returns 0, or 1 when out of bounds
            /// (`TableOutOfBounds`).
            table_copy(dst_table: pointer, dst: i64, src_table: pointer, src: i64, len: i64) -> i32;
            /// `table.init` from the `VMSegment` at `segment`: returns 0, or
            /// 1 when out of bounds (`TableOutOfBounds`).
            table_init(table: pointer, dst: i64, segment: pointer, src: i64, len: i64) -> i32;
            /// Allocates `size` bytes (a multiple of 8) of zeroed memory in
            /// the GC heap, collecting garbage first when the allocation area
            /// is full (`vm::VMStoreContext`). Returns the address, or 0 when
            /// the heap cannot grow (the caller traps with
            /// `GcHeapExhausted`). Called through an exit stub: the
            /// collector finds the references in the guest's frames from
            /// there.
            gc_alloc(size: i64, exit_fp: pointer) -> pointer;
            /// Registers the roots of the instance at `vmctx` (a
            /// `gc::GcRootsDesc`) with the collector; returns 0.
            gc_register_roots(vmctx: pointer, roots: pointer) -> i32;
            /// `throw`, `throw_ref` and a rethrow that leaves a function:
            /// unwinds to the innermost handler on the stack (a call site
            /// with an exception handler, see `program::HandlerSite`) and
            /// resumes there with `exn` in the first exception payload
            /// register, or, when none is found before the host, makes the
            /// call into wasm end with `TrapCode::UncaughtException`. Never
            /// returns. Called through an exit stub (see
            /// [`Builtin::takes_exit_frame`]).
            throw(exn: pointer, exit_fp: pointer) -> i32;
            /// `memory.atomic.notify` on a shared memory: wakes up to
            /// `count` (unsigned) threads waiting at the native address
            /// `addr` and returns how many it woke. The caller has checked
            /// bounds and alignment.
            memory_atomic_notify(addr: pointer, count: i32) -> i32;
            /// `memory.atomic.wait32` on a shared memory: 1 ("not-equal")
            /// when the `i32` at the native address `addr` is not
            /// `expected`, else blocks until a notify at `addr` (0, "ok") or
            /// until `timeout` nanoseconds pass (2, "timed-out"; a negative
            /// timeout never expires). The caller has checked bounds,
            /// alignment and that the memory is shared.
            memory_atomic_wait32(addr: pointer, expected: i32, timeout: i64) -> i32;
            /// `memory.atomic.wait64`: as `memory_atomic_wait32` for the
            /// `i64` at `addr`.
            memory_atomic_wait64(addr: pointer, expected: i64, timeout: i64) -> i32;
        }
    };
}

/// A parameter or result type of a built-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiType {
    /// A pointer (64 bits on every smelt target).
    Pointer,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
}

macro_rules! define_builtin_enum {
    ($( $(#[$attr:meta])* $name:ident($($pname:ident: $pty:ident),*) -> $rty:ident; )*) => {
        /// One runtime built-in.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Builtin {
            $( $(#[$attr])* $name, )*
        }

        impl Builtin {
            /// Every built-in, in list order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$name,)*];

            /// The built-in's name without the `smelt_rt_` prefix.
            pub const fn name(self) -> &'static str {
                match self { $(Builtin::$name => stringify!($name),)* }
            }

            /// The built-in's parameter types.
            pub const fn params(self) -> &'static [AbiType] {
                match self { $(Builtin::$name => &[$(abi_type!($pty)),*],)* }
            }

            /// The built-in's result type.
            pub const fn result(self) -> AbiType {
                match self { $(Builtin::$name => abi_type!($rty),)* }
            }

            /// Whether the built-in's last parameter is `exit_fp`: the
            /// frame pointer of an exit stub, a function the compiler
            /// generates that calls the built-in with its own frame pointer
            /// as that argument (the rest unchanged). Generated code calls
            /// such a built-in through its stub, so that the runtime can
            /// walk the frames of the guest from there (the stub's frame
            /// record holds the guest's frame pointer and the return
            /// address into it).
            pub fn takes_exit_frame(self) -> bool {
                match self { $(Builtin::$name => [$(stringify!($pname)),*].last() == Some(&"exit_fp"),)* }
            }
        }
    };
}

macro_rules! abi_type {
    (pointer) => {
        AbiType::Pointer
    };
    (i32) => {
        AbiType::I32
    };
    (i64) => {
        AbiType::I64
    };
}

foreach_builtin!(define_builtin_enum);

impl Builtin {
    /// The built-in's symbol name: `smelt_rt_<name>`.
    pub fn symbol(self) -> String {
        format!("{}{}", crate::BUILTIN_PREFIX, self.name())
    }
}
