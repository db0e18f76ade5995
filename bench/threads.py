#!/usr/bin/env python3
"""wasi-threads: rayon's parallel sum (tests/programs-threads' `rayon_sum
THREADS bench N`) built natively and for wasm32-wasip1-threads and compiled
by smelt, timed with a pool of 1 and of 2 threads.

In one run it

 1. builds tests/programs-threads natively and for wasm32-wasip1-threads
    (`cargo build --release`) and compiles `rayon_sum.wasm` with `smelt
    build`;
 2. checks that both versions print the same sum with 1 and 2 threads;
 3. runs the four configurations in alternation, --runs times each, and
    takes the median wall and user time;
 4. prints the figures (speed-up from 1 to 2 threads of each version, and
    smelt's time over the native build's) and, with --write, puts them in
    docs/benchmarks.json ("threads") and rewrites docs/benchmarks.md with
    bench/run.py's renderer, which shows them in a "wasi-threads" section.

Goals (issue 17): smelt's build at least 1.8x faster with 2 threads than
with 1 on a 2-core machine, and within 15% of the native build's time. A
machine busy with other work cannot show the speed-up: the load average at
start is recorded. Only the Python 3 standard library is used. Exit
status: 0 when everything built and every output agreed, 1 otherwise, 2 on
bad arguments.
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
PROJECT = os.path.join(ROOT, "tests", "programs-threads")
WASM_TARGET = "wasm32-wasip1-threads"
WORK = os.path.join(ROOT, "bench", "target", "threads")
SPEEDUP_GOAL = 1.8
NATIVE_GOAL = 1.15


def log(msg: str) -> None:
    print(f"bench/threads: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def timed(cmd: list[str]) -> tuple[float, float, bytes]:
    """Wall and user seconds of one run of `cmd`, and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed with status {status}")
    return wall, usage.ru_utime, out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/threads.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    ap.add_argument("--n", type=int, default=1_000_000_000,
                    help="the elements summed (default 10^9)")
    ap.add_argument("--smelt", metavar="PATH",
                    default=os.path.join(ROOT, "target", "release", "smelt"),
                    help="the smelt binary (default target/release/smelt)")
    ap.add_argument("--write", action="store_true",
                    help="put the figures in docs/benchmarks.json and docs/benchmarks.md")
    ap.add_argument("--note", action="append", default=[], metavar="TEXT",
                    help="a line to add to the report (repeatable)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    os.makedirs(WORK, exist_ok=True)
    manifest = os.path.join(PROJECT, "Cargo.toml")
    target_dir = os.path.join(PROJECT, "target")
    log("building tests/programs-threads natively and for " + WASM_TARGET)
    for extra in ([], ["--target", WASM_TARGET]):
        run(["cargo", "build", "--release", "--locked", "--bin", "rayon_sum", "--manifest-path",
             manifest, "--target-dir", target_dir, *extra])
    native = os.path.join(target_dir, "release", "rayon_sum")
    wasm = os.path.join(target_dir, WASM_TARGET, "release", "rayon_sum.wasm")
    exe = os.path.join(WORK, "rayon_sum.smelt")
    log("smelt build rayon_sum.wasm")
    run([args.smelt, "build", wasm, "-o", exe])

    configs = {(name, threads): [path, str(threads), "bench", str(args.n)]
               for name, path in (("native", native), ("smelt", exe)) for threads in (1, 2)}
    load = os.getloadavg()[0]
    failed = False
    outputs = {key: timed(cmd)[2] for key, cmd in configs.items()}
    if len(set(outputs.values())) != 1:
        log(f"the versions print different sums: {outputs}")
        failed = True
    samples: dict[tuple[str, int], list[tuple[float, float]]] = {k: [] for k in configs}
    for _ in range(args.runs):
        for key, cmd in configs.items():
            wall, user, _ = timed(cmd)
            samples[key].append((wall, user))
    result = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": round(load, 2),
        "cpus": os.cpu_count(),
        "command": f"rayon_sum THREADS bench {args.n}",
        "runs": args.runs,
        "notes": args.note,
        "versions": {},
    }
    for (name, threads), s in samples.items():
        result["versions"][f"{name}, {threads} thread{'s' if threads > 1 else ''}"] = {
            "wall_s": statistics.median(x[0] for x in s),
            "user_s": statistics.median(x[1] for x in s),
        }
    v = result["versions"]
    result["speedup_native"] = v["native, 1 thread"]["wall_s"] / v["native, 2 threads"]["wall_s"]
    result["speedup_smelt"] = v["smelt, 1 thread"]["wall_s"] / v["smelt, 2 threads"]["wall_s"]
    result["smelt_over_native_2_threads"] = (v["smelt, 2 threads"]["wall_s"]
                                             / v["native, 2 threads"]["wall_s"])
    print("\n".join(markdown(result)))
    if args.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import run as harness
        path = os.path.join(ROOT, "docs", "benchmarks.json")
        with open(path) as f:
            rep = json.load(f)
        rep["threads"] = result
        harness.write_report(rep)
    return 1 if failed else 0


def markdown(r: dict) -> list[str]:
    """The wasi-threads section of docs/benchmarks.md."""
    out = ["## wasi-threads: rayon", "",
           f"`bench/threads.py` (run {r['generated']} on {r['cpus']} CPUs, load average at "
           f"start {r['load_average_at_start']}, median of {r['runs']} runs in alternation): "
           f"tests/programs-threads' `{r['command']}`, a rayon parallel sum on a pool of 1 or "
           "2 threads, built natively and for `wasm32-wasip1-threads` and compiled by `smelt "
           "build`. Both print the same sum. Goals (issue 17): smelt's build "
           f"{SPEEDUP_GOAL}× faster with 2 threads than with 1, and within "
           f"{round((NATIVE_GOAL - 1) * 100)}% of the native build's time.", ""]
    out += [f"- **note**: {n}" for n in r.get("notes", [])]
    if r.get("notes"):
        out.append("")
    out.append("| version | wall | user |")
    out.append("| --- | --- | --- |")
    for name, v in r["versions"].items():
        out.append(f"| {name} | {v['wall_s']:.3f} s | {v['user_s']:.3f} s |")
    out.append("")
    out.append(f"Speed-up from 1 to 2 threads: native {r['speedup_native']:.2f}×, smelt "
               f"{r['speedup_smelt']:.2f}×; smelt with 2 threads takes "
               f"{r['smelt_over_native_2_threads']:.2f}× the native build's time.")
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
