"""What the interruption checks cost: `bench/run.py --interrupt-cost`.

smelt puts a check for an interruption (`--timeout`, `SMELT_TIMEOUT`) at
function entries and loop headers of every executable (see
compiler/src/core/translate/interrupt.rs for which ones). This builds each
program of bench/programs (full inputs) with the smelt under test twice —
with the checks, and without them (`SMELT_NO_INTERRUPT_CHECKS=1` in smelt's
environment) — and, with `--compare-smelt PATH`, a third time with another
smelt (an older one, to see what a change to the checks gained, in the same
run). It runs every build in alternation (rotating order) `--runs` times,
checks that all print the same bytes, and prints, per program and as a
geometric mean, the CPU time (user + system, from wait4) of each build with
checks over the build without: of the medians, and of the fastest runs
(less sensitive to other load on the machine); with --instructions, also
the instructions each build executes on tiny inputs, counted by valgrind's
callgrind, which other load does not move. The load average at the
start and the end is printed with the table. Unless --no-write (or
--quick, --filter), the figures go in docs/benchmarks.json ("interrupt")
and docs/benchmarks.md is rewritten from it: a full run of bench/run.py
keeps that section as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time

NONE = "none"
CHECKS = "checks"
OTHER = "other"
LABEL = {CHECKS: "checks", OTHER: "other smelt's checks"}
# The inputs of the instruction counts (callgrind runs ~50 times slower).
INSTRUCTIONS_SIZE = "tiny"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def instructions(exe: str, size: str, timeout: float) -> int | None:
    """Instructions `exe size` executes (user space, all threads), counted
    by valgrind's callgrind: a figure that other load on the machine does
    not move. None without valgrind, or when the run fails."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None
    try:
        p = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", exe,
                            size], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(rb"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if p.returncode == 0 and m else None


def run(h, run_timed, run_checked, log, geomean, out_dir: str, wasm_dir: str,
        other: str | None) -> tuple[int, dict | None]:
    """Builds and runs the variants of every program of `h.cfg.benches`;
    prints the table. Returns 0, or 1 when a build or run failed or the
    outputs differed, and the figures (see `markdown`)."""
    cfg = h.cfg
    start_load = loadavg()
    smelts = [(CHECKS, h.smelt, {}), (NONE, h.smelt, {"SMELT_NO_INTERRUPT_CHECKS": "1"})]
    if other:
        smelts.append((OTHER, os.path.abspath(other), {}))
    failed = False
    rows = []
    for bench in cfg.benches:
        if bench.needs_data:
            # (A system-call benchmark: the checks are not what it measures.)
            continue
        wasm = os.path.join(wasm_dir, f"{bench.name}.wasm")
        exes = {}
        for kind, smelt, extra in smelts:
            exe = os.path.join(out_dir, f"{bench.name}.interrupt-{kind}")
            env = dict(os.environ)
            env.pop("SMELT_NO_INTERRUPT_CHECKS", None)
            env.update(extra)
            ok, _, out = run_checked([smelt, "build", "--cpu", cfg.smelt_cpu, wasm, "-o", exe],
                                     f"smelt build ({kind}) {bench.name}.wasm", env=env)
            if not ok:
                log(f"FAILED: {out}")
                failed = True
                break
            exes[kind] = exe
        if failed:
            break
        cpu: dict[str, list[float]] = {k: [] for k in exes}
        kinds = list(exes)
        digest = None
        log(f"running {bench.name} ({cfg.runs}× each of {', '.join(kinds)})")
        for i in range(cfg.runs):
            for kind in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
                base = os.path.join(out_dir, f"{bench.name}.interrupt-{kind}")
                res = run_timed([exes[kind], cfg.size], base + ".out", base + ".err",
                                cfg.timeout)
                if res.timed_out or res.status != 0:
                    log(f"FAILED: {bench.name} ({kind}): exit status {res.status}\n"
                        f"{res.stderr_tail()}")
                    return 1, None
                d = res.digest()
                if digest is not None and d != digest:
                    log(f"FAILED: {bench.name}: the output of the {kind} build differs")
                    return 1, None
                digest = d
                cpu[kind].append(res.cpu_seconds)
        med = {k: statistics.median(v) for k, v in cpu.items()}
        low = {k: min(v) for k, v in cpu.items()}
        count = {k: instructions(exes[k], INSTRUCTIONS_SIZE, cfg.timeout * 20)
                 for k in kinds} if cfg.instructions else {}
        rows.append((bench.name, med, low, count))
        log(f"  {bench.name}: " + ", ".join(
            f"{k} {med[k]:.3f} s (min {low[k]:.3f})" for k in kinds))
    end_load = loadavg()
    result = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "smelt": h.info.get("smelt"),
        "other": os.path.abspath(other) if other else None,
        "size": cfg.size,
        "runs": cfg.runs,
        "load_start": start_load,
        "load_end": end_load,
        "cpu_s": {name: {"median": med, "fastest": low} for name, med, low, _ in rows},
        "instructions": {name: count for name, _, _, count in rows
                         if count and all(count.values())},
        "instructions_size": INSTRUCTIONS_SIZE,
    }
    print("\n".join(markdown(result, geomean)))
    return (1 if failed else 0), result


def markdown(r: dict, geomean) -> list[str]:
    """The section of docs/benchmarks.md: per program, the CPU time of the
    build without checks and each build's ratios to it (CPU time, and
    instructions when counted)."""
    kinds = [CHECKS] + ([OTHER] if r.get("other") else [])
    counts = r.get("instructions") or {}
    whats = ["median", "fastest"] + (["instructions"] if counts else [])
    head = ["program", "no checks"] + [f"{LABEL[k]}: {what}" for what in whats for k in kinds]
    rows = []
    ratios: dict[tuple[str, str], list[float]] = {}
    for name, cpu in r["cpu_s"].items():
        row = [f"`{name}`", f"{cpu['median'][NONE]:.3f} s"]
        for what in whats:
            for k in kinds:
                if what == "instructions":
                    x = counts[name][k] / counts[name][NONE] if name in counts else None
                else:
                    x = cpu[what][k] / cpu[what][NONE]
                if x is not None:
                    ratios.setdefault((k, what), []).append(x)
                row.append(f"{x:.3f}×" if x is not None else "")
        rows.append(row)
    rows.append(["**geometric mean**", ""] + [
        f"**{geomean(ratios.get((k, what), [])) or 0:.3f}×**"
        for what in whats for k in kinds])
    out = ["## Interruption checks", "",
           f"Written by `python3 bench/run.py --interrupt-cost` ({r['generated']}; "
           f"load average {r['load_start']} at the start, {r['load_end']} at the end). "
           f"Each program (`{r['size']}` inputs) built with the interruption checks of "
           "`--timeout` and without them (`SMELT_NO_INTERRUPT_CHECKS=1`), "
           f"{r['runs']} runs of each build in alternation; CPU time (user + system) of the "
           "build with checks over the one without, of the medians and of the fastest runs "
           "(`wasi_calls`, a system-call benchmark, left out)"
           + (f"; and the instructions executed (valgrind's callgrind, `{r['instructions_size']}` "
              "inputs: not moved by other load)" if counts else "") + ".", ""]
    if r.get("other"):
        out += [f"`{LABEL[OTHER]}`: the same programs built by `{r['other']}`, for comparison.",
                ""]
    out.append("| " + " | ".join(head) + " |")
    out.append("| --- |" + " ---: |" * (len(head) - 1))
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")
    return out
