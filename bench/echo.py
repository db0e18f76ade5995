"""The TCP echo benchmark of bench/run.py: throughput of an echo over loopback
through the smelt-compiled program against the same program built natively.

The program is tests/programs' `net_echo` (Rust, `std::net` only; built by
bench/echo/Cargo.toml natively and for wasm32-wasip2, where `std::net` is
WASI 0.2's `wasi:sockets` through wasi-libc): `echo server ADDRESS 1` listens
and echoes one connection; `echo client ADDRESS BYTES` sends BYTES in 64 KiB
writes, reading the echo of each before the next, and checks every byte.

The server is what is measured: the native client (the load generator)
against the native server, then against the smelt server, in alternation,
median of the runs. (The client checks every byte it gets back, which in
wasm is wasi-libc's scalar `memcmp` against glibc's vectorized one natively:
a measure of that, not of sockets, so its smelt build is not timed here.)

Figures: bytes echoed per second (BYTES over the client's wall time, spawn to
exit) and the CPU time (user + system) of the server, per GiB. Only the
Python 3 standard library is used.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time

NAME = "echo"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "bench", "echo")
TARGET = os.path.join(PROJECT, "target")
OUT = os.path.join(TARGET, "bench")
SIZES = {"tiny": 1 << 20, "full": 1 << 30}
# The smelt executable's grants: a free port on loopback, connects to it.
GRANTS = ["--allow-tcp-listen", "127.0.0.1:0", "--allow-tcp-connect", "127.0.0.1"]
GOAL = 1.10  # throughput within 10% of native (issue 15)


class Failed(Exception):
    pass


def _spawn(argv: list[str], stdout) -> subprocess.Popen:
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.PIPE)
    except OSError as e:
        raise Failed(f"cannot run {argv[0]}: {e}") from e


def _reap(p: subprocess.Popen, timeout: float, what: str) -> tuple[float, float]:
    """Waits for `p` (killing it after `timeout`); returns its wall time
    since `p.started` and its CPU time (user + system), in seconds."""
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(p.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - p.started
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode("utf-8", "replace").strip() if p.stderr else ""
    if p.returncode != 0:
        raise Failed(f"{what}: exit status {p.returncode}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _once(server: list[str], client: list[str], size: int, timeout: float) -> dict[str, float]:
    """One echo of `size` bytes: starts the server, reads its address, runs
    the client against it."""
    srv = _spawn([*server, "server", "127.0.0.1:0", "1"], subprocess.PIPE)
    srv.started = time.perf_counter()
    timer = threading.Timer(timeout, srv.kill)
    timer.start()
    try:
        line = srv.stdout.readline().decode("utf-8", "replace").strip()
    finally:
        timer.cancel()
    if not line.startswith("listening on "):
        srv.kill()
        srv.wait()
        raise Failed(f"the echo server printed {line!r}: "
                     f"{srv.stderr.read().decode('utf-8', 'replace')[-2000:]}")
    addr = line.removeprefix("listening on ")
    cl = _spawn([*client, "client", addr, str(size)], subprocess.PIPE)
    cl.started = time.perf_counter()
    try:
        client_wall, client_cpu = _reap(cl, timeout, "echo client")
    except Failed:
        srv.kill()
        srv.wait()
        raise
    out = cl.stdout.read().decode("utf-8", "replace").strip()
    if out != f"echoed {size} bytes":
        srv.kill()
        srv.wait()
        raise Failed(f"the echo client printed {out!r}")
    _, server_cpu = _reap(srv, timeout, "echo server")
    return {"wall_s": client_wall, "client_cpu_s": client_cpu, "server_cpu_s": server_cpu}


def run(h, log, run_checked) -> dict | None:
    """Builds the program both ways, compiles the wasm with smelt, and runs
    both measurements, for bench/run.py's harness `h` (its `log` and
    `run_checked`); failures go to `h.fail`."""
    cfg = h.cfg
    env = dict(os.environ)
    env.pop("CARGO_BUILD_TARGET", None)
    for what, extra in (("native", []), ("wasm32-wasip2", ["--target", "wasm32-wasip2"])):
        log(f"building bench/echo ({what})")
        ok, _, out = run_checked(["cargo", "build", "--release", "--locked",
                                    "--target-dir", TARGET, *extra],
                                   f"building bench/echo for {what}", cwd=PROJECT, env=env)
        if not ok:
            h.fail(out, NAME)
            return None
    os.makedirs(OUT, exist_ok=True)
    native = os.path.join(TARGET, "release", "echo")
    wasm = os.path.join(TARGET, "wasm32-wasip2", "release", "echo.wasm")
    exe = os.path.join(OUT, "echo.smelt")
    ok, _, out = run_checked([h.smelt, "build", "--cpu", cfg.smelt_cpu, wasm, "-o", exe,
                                *GRANTS], "smelt build echo.wasm")
    if not ok:
        h.fail(out, NAME)
        return None
    size = SIZES[cfg.size]
    setups = {
        # what is measured: (server, client) per version
        "server": {"native": ([native], [native]), "smelt": ([exe], [native])},
    }
    log(f"running the echo benchmark ({cfg.size}: {size} bytes, {cfg.runs}× each)")
    result = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "size": cfg.size, "bytes": size, "runs": cfg.runs,
              "load_average_at_start": h.info["machine"]["load_average_at_start"],
              "notes": list(cfg.notes)}
    for role, versions in setups.items():
        got: dict[str, list[dict[str, float]]] = {k: [] for k in versions}
        kinds = list(versions)
        try:
            for i in range(cfg.runs):
                for kind in kinds[i % 2:] + kinds[:i % 2]:
                    server, client = versions[kind]
                    got[kind].append(_once(server, client, size, cfg.timeout))
        except Failed as e:
            h.fail(f"echo ({role}): {e}", NAME)
            return None
        figures = {}
        for kind, runs in got.items():
            wall = statistics.median(r["wall_s"] for r in runs)
            cpu = statistics.median(r[f"{role}_cpu_s"] for r in runs)
            best = min(r["wall_s"] for r in runs)
            figures[kind] = {"wall_s": wall, "bps": size / wall, "best_bps": size / best,
                             "cpu_s_per_gib": cpu * (1 << 30) / size,
                             "runs_wall_s": [round(r["wall_s"], 4) for r in runs]}
        figures["smelt_over_native_throughput"] = (figures["smelt"]["bps"]
                                                   / figures["native"]["bps"])
        figures["smelt_over_native_best"] = (figures["smelt"]["best_bps"]
                                             / figures["native"]["best_bps"])
        figures["smelt_over_native_cpu"] = (figures["smelt"]["cpu_s_per_gib"]
                                            / figures["native"]["cpu_s_per_gib"])
        result[role] = figures
        log(f"  echo {role}: native {figures['native']['bps'] / 1e9:.2f} GB/s, "
              f"smelt {figures['smelt']['bps'] / 1e9:.2f} GB/s "
              f"({figures['smelt_over_native_throughput']:.2f}× native; fastest runs "
              f"{figures['smelt_over_native_best']:.2f}×), "
              f"CPU {figures['smelt_over_native_cpu']:.2f}× native")
    return result


def markdown(e: dict) -> list[str]:
    """The TCP echo section of docs/benchmarks.md."""
    out = ["## TCP echo", "",
           f"`bench/echo.py` (run {e['generated']}, load average at start "
           f"{e['load_average_at_start']}, median of {e['runs']} runs): tests/programs' "
           "`net_echo` (`std::net`), built natively and for `wasm32-wasip2` (WASI 0.2 "
           "sockets through wasi-libc) and compiled by smelt, echoes "
           f"{e['bytes']} bytes over loopback (64 KiB writes, each echoed before the next) "
           "for a native client (the same program built natively), in alternation with the "
           "native server. Throughput: bytes echoed per second of the client's run (median, "
           "and of the fastest run, less disturbed by other work on a busy machine); CPU: user "
           "+ system time of the server (median).",
           ""]
    if e.get("size") == "tiny":
        out += ["**Tiny input, one run: a check that it builds and runs, not a measurement.**", ""]
    out += [f"**Note**: {n}" for n in e.get("notes", [])]
    if e.get("notes"):
        out.append("")
    out.append("| measured | native | smelt | smelt/native throughput (median, fastest) "
               "| smelt/native CPU |")
    out.append("| --- | --- | --- | --- | --- |")
    for role in ("server",):
        f = e.get(role)
        if not f:
            continue
        cell = {k: f"{f[k]['bps'] / 1e9:.2f} GB/s (fastest {f[k]['best_bps'] / 1e9:.2f}), "
                   f"{f[k]['cpu_s_per_gib']:.3f} s CPU/GiB" for k in ("native", "smelt")}
        out.append(f"| {role} | {cell['native']} | {cell['smelt']} | "
                   f"{f['smelt_over_native_throughput']:.2f}×, "
                   f"{f['smelt_over_native_best']:.2f}× | "
                   f"{f['smelt_over_native_cpu']:.2f}× |")
    out.append("")
    if e.get("size") == "full" and e.get("server"):
        out += ["| goal (issue 15) | measured | |", "| --- | --- | --- |"]
        for what, key in (("median", "smelt_over_native_throughput"),
                          ("fastest runs", "smelt_over_native_best")):
            r = e["server"][key]
            verdict = "met" if r >= 1 / GOAL else "**not met**"
            out.append(f"| server throughput within 10% of native ({what}) | {r:.2f}× native "
                       f"| {verdict} |")
        out.append("")
    return out
