#!/usr/bin/env python3
"""GC stress benchmarks: time and peak memory of allocation-heavy programs.

Two WebAssembly GC programs in text format, compiled by `smelt build` and
run as commands (each checks its own results and traps on a wrong one):

- `binary_trees.wat`: the Benchmarks Game's binary-trees at depth 18
  (allocates 1.6 GiB of 24-byte nodes, 12 MiB live in a long-lived tree);
- `bounded.wat`: a 100 MiB tree kept live while 10 GiB of short-lived trees
  are allocated (the heap must stay bounded by the live data).

Each is run `--runs` times; the median wall-clock time, the CPU time (user
and system) and the peak resident set size (from `wait4`) are reported.
With `wasmtime` on the PATH, the same programs run under
`wasmtime run -W gc=y,exceptions=y` for comparison.

    python3 bench/gc/run.py [--runs N] [--smelt PATH] [--quick] [--no-write]

`--quick` (CI) runs tiny sizes once and writes nothing. Otherwise the
results go to docs/benchmarks.json ("gc") and docs/benchmarks.md is
rewritten from it, as bench/threads.py does. Ends with `bench-gc: N passed,
N failed` and exits 1 when a program fails.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# name: (file, substitutions, substitutions for --quick, what)
PROGRAMS = {
    "binary-trees": ("binary_trees.wat", {"MAX_PLUS_ONE": 19, "MAX": 18},
                     {"MAX_PLUS_ONE": 9, "MAX": 8},
                     "binary-trees, depth 18: 1.6 GiB allocated, 12 MiB live"),
    "bounded": ("bounded.wat", {"LIVE": 21, "ITERS": 3300}, {"LIVE": 10, "ITERS": 10},
                "100 MiB live while 10.3 GiB is allocated"),
}


def source(name: str, quick: bool) -> str:
    file, subs, quick_subs, _ = PROGRAMS[name]
    with open(os.path.join(HERE, file)) as f:
        text = f.read()
    for key, value in (quick_subs if quick else subs).items():
        text = text.replace(key, str(value))
    return text


def run_measured(argv: list[str]) -> tuple[int, float, float, int]:
    """Runs argv; returns (status, wall seconds, CPU seconds, peak KiB)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    return code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smelt", default=os.path.join(ROOT, "target/release/smelt"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    wasmtime = shutil.which("wasmtime")
    passed = failed = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PROGRAMS:
            wat = os.path.join(tmp, f"{name}.wat")
            with open(wat, "w") as f:
                f.write(source(name, args.quick))
            exe = os.path.join(tmp, name)
            build = subprocess.run([args.smelt, "build", wat, "-o", exe],
                                   capture_output=True, text=True)
            if build.returncode != 0:
                print(f"bench-gc: {name}: smelt build failed:\n{build.stderr}", file=sys.stderr)
                failed += 1
                continue
            engines = [("smelt", [exe])]
            if wasmtime:
                engines.append(("wasmtime", [wasmtime, "run", "-W", "gc=y,exceptions=y", wat]))
            for engine, argv in engines:
                samples = []
                for _ in range(runs):
                    code, wall, cpu, peak = run_measured(argv)
                    if code != 0:
                        print(f"bench-gc: {name} under {engine} exited {code}", file=sys.stderr)
                        break
                    samples.append((wall, cpu, peak))
                if len(samples) != runs:
                    failed += 1
                    continue
                passed += 1
                wall = statistics.median(s[0] for s in samples)
                cpu = statistics.median(s[1] for s in samples)
                peak = max(s[2] for s in samples)
                rows.append((name, engine, wall, cpu, peak))
                print(f"bench-gc: {name} ({engine}): {wall:.2f} s wall, {cpu:.2f} s CPU, "
                      f"peak {peak / 1024:.0f} MiB")
    if not args.quick and not args.no_write and rows:
        write(rows, runs)
    print(f"bench-gc: {passed} passed, {failed} failed")
    return 1 if failed else 0


def write(rows, runs: int) -> None:
    """Puts the figures in docs/benchmarks.json ("gc") and rewrites
    docs/benchmarks.md from it with bench/run.py's `write_report`, which
    keeps this section when the whole suite is run again."""
    result = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "runs": runs,
        "arch": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "rows": [{"program": name, "what": PROGRAMS[name][3], "engine": engine,
                  "wall_s": wall, "cpu_s": cpu, "peak_kib": peak}
                 for name, engine, wall, cpu, peak in rows],
    }
    sys.path.insert(0, os.path.dirname(HERE))
    import run as harness
    path = os.path.join(ROOT, "docs", "benchmarks.json")
    with open(path) as f:
        rep = json.load(f)
    rep["gc"] = result
    harness.write_report(rep)


def markdown(r: dict) -> list[str]:
    """The GC stress section of docs/benchmarks.md."""
    out = ["## GC stress", "",
           f"`bench/gc/run.py` (run {r['generated']} on {r['arch']} with {r['cpus']} CPUs, "
           f"load average {r['load_average_at_end']} at the end: on a busy machine, compare "
           f"CPU times): WebAssembly GC programs in text format (`bench/gc/`), each run "
           f"{r['runs']}×; median wall-clock and CPU (user + system) time, largest peak "
           "resident set.", "",
           "| program | what | engine | wall | CPU | peak RSS |",
           "| --- | --- | --- | ---: | ---: | ---: |"]
    for row in r["rows"]:
        out.append(f"| {row['program']} | {row['what']} | {row['engine']} | "
                   f"{row['wall_s']:.2f} s | {row['cpu_s']:.2f} s | "
                   f"{row['peak_kib'] / 1024:.0f} MiB |")
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main())
