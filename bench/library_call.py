"""What a call from C into a component built as a library costs:
`python3 bench/library_call.py`.

Builds tests/library's component (`wasm32-wasip2`) into `libshapes.a` and
`shapes.h` with `smelt build --emit staticlib`, compiles bench/library/call.c
against them with `cc -O2`, and runs it: it calls the component's
`text.echo(string) -> string` (which returns its argument) N times through
the header (the argument copied in, the result copied out into memory from
malloc and freed), then the same copy written as a C function, and prints
nanoseconds per call of each. The median of --runs runs is reported, with
the load average at the start. The goal (issue 18): under 100 ns a call.

--quick (what CI runs) checks that it builds and runs, with few calls, and
writes nothing. Otherwise the figures go in docs/benchmarks.json
("library") and docs/benchmarks.md is rewritten from it, unless --no-write.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(ROOT, "tests", "library", "guest")
WORK = os.path.join(ROOT, "bench", "target", "library")
GOAL_NS = 100


def log(msg: str) -> None:
    print(f"[library_call] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> str:
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {p.returncode}:\n{p.stderr}")
    return p.stdout


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/library_call.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="check that it builds and runs (1000 calls, one run), write nothing")
    ap.add_argument("--runs", type=int, default=5, help="runs (default 5)")
    ap.add_argument("--calls", type=int, default=2_000_000, help="calls per run (default 2e6)")
    ap.add_argument("--smelt", metavar="PATH",
                    default=os.path.join(ROOT, "target", "release", "smelt"),
                    help="the smelt binary (default target/release/smelt)")
    ap.add_argument("--no-write", action="store_true",
                    help="do not write docs/benchmarks.md and docs/benchmarks.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.calls = 1, 1000
    os.makedirs(WORK, exist_ok=True)
    log("building tests/library/guest for wasm32-wasip2")
    run(["cargo", "build", "--release", "--locked", "--target", "wasm32-wasip2",
         "--manifest-path", os.path.join(GUEST, "Cargo.toml"),
         "--target-dir", os.path.join(GUEST, "target")])
    wasm = os.path.join(GUEST, "target", "wasm32-wasip2", "release", "smelt_library_guest.wasm")
    lib = os.path.join(WORK, "libshapes.a")
    log("smelt build --emit staticlib")
    run([args.smelt, "build", wasm, "--emit", "staticlib", "-o", lib])
    exe = os.path.join(WORK, "call")
    run(["cc", "-O2", "-std=c11", "-Wall", "-Werror", f"-I{WORK}",
         os.path.join(ROOT, "bench", "library", "call.c"), lib,
         "-lpthread", "-ldl", "-lm", "-o", exe])
    load = os.getloadavg()[0]
    samples: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for line in run([exe, str(args.calls)]).splitlines():
            name, ns = line.split()
            samples.setdefault(name, []).append(float(ns))
    if set(samples) != {"smelt", "c"}:
        log(f"unexpected output: {samples}")
        return 1
    result = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": round(load, 2),
        "calls": args.calls,
        "runs": args.runs,
        "smelt_ns": statistics.median(samples["smelt"]),
        "c_ns": statistics.median(samples["c"]),
    }
    print("\n".join(markdown(result)))
    if args.quick or args.no_write:
        return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import run as harness
    path = os.path.join(ROOT, "docs", "benchmarks.json")
    with open(path) as f:
        rep = json.load(f)
    rep["library"] = result
    harness.write_report(rep)
    return 0


def markdown(r: dict) -> list[str]:
    """The library section of docs/benchmarks.md."""
    met = "met" if r["smelt_ns"] < GOAL_NS else "not met"
    return ["## A component as a C library: the cost of a call", "",
            f"`bench/library_call.py` (run {r['generated']}, load average at start "
            f"{r['load_average_at_start']}, median of {r['runs']} runs of {r['calls']} calls): "
            "C calls tests/library's `text.echo(string) -> string` (which returns its argument, "
            "`\"hello, world\"`) through the header of `smelt build --emit staticlib` (the "
            "argument copied in, the result copied out into malloc'd memory and freed), and "
            "the same copy as a C function. "
            f"Goal (issue 18): under {GOAL_NS} ns a call ({met}).", "",
            "| version | per call |", "| --- | --- |",
            f"| smelt library | {r['smelt_ns']:.0f} ns |",
            f"| C function | {r['c_ns']:.0f} ns |", ""]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
