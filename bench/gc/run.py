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
results replace the section between `<!-- gc -->` and `<!-- /gc -->` of
docs/benchmarks.md (appended when missing). Ends with `bench-gc: N passed,
N failed` and exits 1 when a program fails.
"""

import argparse
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
    lines = [
        "<!-- gc -->",
        "## GC stress (`bench/gc/run.py`)",
        "",
        f"WebAssembly GC programs in text format (`bench/gc/`), each run {runs}× "
        f"on {platform.machine()} with {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the end: on a busy machine, compare CPU "
        "times); median wall-clock and CPU (user + system) time, largest peak "
        "resident set.",
        "",
        "| program | what | engine | wall | CPU | peak RSS |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for name, engine, wall, cpu, peak in rows:
        lines.append(f"| {name} | {PROGRAMS[name][3]} | {engine} | {wall:.2f} s | "
                     f"{cpu:.2f} s | {peak / 1024:.0f} MiB |")
    lines.append("<!-- /gc -->")
    section = "\n".join(lines)
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as f:
        text = f.read()
    start, end = text.find("<!-- gc -->"), text.find("<!-- /gc -->")
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len("<!-- /gc -->"):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
