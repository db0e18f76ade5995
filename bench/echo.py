"""The TCP echo benchmark of bench/run.py: throughput of an echo over loopback
through smelt-compiled servers, WASI 0.2 and WASI 0.3, against the same
program built natively.

The programs:

- tests/programs' `net_echo` (Rust, `std::net` only; built by
  bench/echo/Cargo.toml natively and for wasm32-wasip2, where `std::net` is
  WASI 0.2's `wasi:sockets` through wasi-libc): `echo server ADDRESS 1`
  listens and echoes one connection, reading into one 256 KiB buffer and
  writing back what it read; `echo client ADDRESS BYTES` sends BYTES in
  64 KiB writes, reading the echo of each before the next, and checks every
  byte.
- its WASI 0.3 twin, tests/programs-p3's `net_echo` (the `wasip3` crate,
  same arguments and output; built as the tests build tests/programs-p3,
  from its Cargo.lock, into bench/echo/target/p3 with the same release
  profile as bench/echo/Cargo.toml): `server` reads each connection's
  `receive` stream 256 KiB at a time into guest memory and writes what it
  read to the `stream<u8>` given to `send` (the same work as the WASI 0.2
  server); `server-splice` hands the `receive` stream straight to `send`,
  so the host moves the bytes itself without the guest touching them: an
  extra row, not the same work.
- `echo server-copy`, built natively: the native server, but each read
  goes into a second buffer and is copied into the one written back, as
  wasi-libc's `recv` copies out of the list `input-stream.read` returns.
  An extra row: the WASI 0.2 server's floor, what the native program
  achieves with only that copy added.

The servers are what is measured: the native client (the load generator)
against the native server, the smelt WASI 0.2 server and the smelt WASI 0.3
servers, in alternation (the order rotating each round), median of the
runs. (The client checks every byte it gets back, which in wasm is
wasi-libc's scalar `memcmp` against glibc's vectorized one natively: a
measure of that, not of sockets, so no smelt client is timed here.)

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
# The WASI 0.3 twin: tests/programs-p3, built from its own Cargo.lock into a
# target directory of the benchmark's (so that the tests' builds stay as
# they are), with bench/echo/Cargo.toml's release profile.
P3_MANIFEST = os.path.join(ROOT, "tests", "programs-p3", "Cargo.toml")
P3_TARGET = os.path.join(TARGET, "p3")
P3_PROFILE = ["--config", "profile.release.codegen-units=1",
              "--config", 'profile.release.panic="abort"']
SIZES = {"tiny": 1 << 20, "full": 1 << 30}
# The smelt executable's grants: a free port on loopback, connects to it.
GRANTS = ["--allow-tcp-listen", "127.0.0.1:0", "--allow-tcp-connect", "127.0.0.1"]
GOAL = 1.10  # throughput within 10% of native (issue 15)
# The servers measured, in the order of the tables: key, label, whether the
# goal applies (the splice server does not do the same work as the others).
SERVERS = [
    ("native", "native (`std::net`)", False),
    ("native_copy", "native, copying each read once more (extra: the copy wasi-libc's `recv` "
     "makes out of the list `input-stream.read` returns, the WASI 0.2 server's floor)", False),
    ("smelt_p2", "smelt, WASI 0.2 (`std::net` through wasi-libc)", True),
    ("smelt_p3", "smelt, WASI 0.3 (`wasip3` streams)", True),
    ("smelt_p3_splice", "smelt, WASI 0.3 splice (extra: the host moves the bytes, "
     "the guest never sees them)", False),
]
VERSION = {"smelt_p2": "WASI 0.2", "smelt_p3": "WASI 0.3"}


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
    """One echo of `size` bytes: starts the server (`server`: its argv up to
    the mode, `server` or `server-splice`), reads its address, runs the
    client against it."""
    srv = _spawn([*server, "127.0.0.1:0", "1"], subprocess.PIPE)
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


def _build(h, log, run_checked) -> dict[str, list[str]] | None:
    """Builds the programs (the WASI 0.2 one natively and for wasm32-wasip2,
    its WASI 0.3 twin for wasm32-wasip2) and compiles the wasm with smelt;
    returns each server's argv up to its address, by key of SERVERS, and the
    client's under "client"; None after `h.fail`."""
    env = dict(os.environ)
    env.pop("CARGO_BUILD_TARGET", None)
    builds = [("WASI 0.2 program, native", PROJECT, ["--target-dir", TARGET]),
              ("WASI 0.2 program, wasm32-wasip2", PROJECT,
               ["--target-dir", TARGET, "--target", "wasm32-wasip2"]),
              ("WASI 0.3 program, wasm32-wasip2", ROOT,
               ["--target-dir", P3_TARGET, "--target", "wasm32-wasip2",
                "--manifest-path", P3_MANIFEST, "--bin", "net_echo", *P3_PROFILE])]
    for what, cwd, extra in builds:
        log(f"building the echo benchmark's {what}")
        ok, _, out = run_checked(["cargo", "build", "--release", "--locked", *extra],
                                 f"building the echo benchmark's {what}", cwd=cwd, env=env)
        if not ok:
            h.fail(out, NAME)
            return None
    os.makedirs(OUT, exist_ok=True)
    native = os.path.join(TARGET, "release", "echo")
    exes = {}
    for key, wasm in (("p2", os.path.join(TARGET, "wasm32-wasip2", "release", "echo.wasm")),
                      ("p3", os.path.join(P3_TARGET, "wasm32-wasip2", "release",
                                          "net_echo.wasm"))):
        exes[key] = os.path.join(OUT, f"echo-{key}.smelt")
        ok, _, out = run_checked([h.smelt, "build", "--cpu", h.cfg.smelt_cpu, wasm,
                                  "-o", exes[key], *GRANTS],
                                 f"smelt build {os.path.relpath(wasm, ROOT)}")
        if not ok:
            h.fail(out, NAME)
            return None
    return {"native": [native, "server"], "native_copy": [native, "server-copy"],
            "smelt_p2": [exes["p2"], "server"],
            "smelt_p3": [exes["p3"], "server"],
            "smelt_p3_splice": [exes["p3"], "server-splice"], "client": [native]}


def run(h, log, run_checked) -> dict | None:
    """Builds the programs, compiles the wasm with smelt, and runs every
    server against the native client in alternation, for bench/run.py's
    harness `h` (its `log` and `run_checked`); failures go to `h.fail`."""
    cfg = h.cfg
    argv = _build(h, log, run_checked)
    if argv is None:
        return None
    size = SIZES[cfg.size]
    kinds = [key for key, _, _ in SERVERS]
    log(f"running the echo benchmark ({cfg.size}: {size} bytes, {cfg.runs}× each of "
        f"{', '.join(kinds)})")
    result = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "size": cfg.size, "bytes": size, "runs": cfg.runs,
              "load_average_at_start": h.info["machine"]["load_average_at_start"],
              "notes": list(cfg.notes)}
    got: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    try:
        for i in range(cfg.runs):
            # Rotate the order each round so no server always runs first.
            r = i % len(kinds)
            for kind in kinds[r:] + kinds[:r]:
                got[kind].append(_once(argv[kind], argv["client"], size, cfg.timeout))
    except Failed as e:
        h.fail(f"echo ({kind}): {e}", NAME)
        return None
    figures = {}
    for kind, runs in got.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        cpu = statistics.median(r["server_cpu_s"] for r in runs)
        best = min(r["wall_s"] for r in runs)
        figures[kind] = {"wall_s": wall, "bps": size / wall, "best_bps": size / best,
                         "cpu_s_per_gib": cpu * (1 << 30) / size,
                         "runs_wall_s": [round(r["wall_s"], 4) for r in runs],
                         "runs_server_cpu_s": [round(r["server_cpu_s"], 4) for r in runs]}
    native = figures["native"]
    for kind in kinds[1:]:
        f = figures[kind]
        f["over_native"] = {"throughput": f["bps"] / native["bps"],
                            "best": f["best_bps"] / native["best_bps"],
                            "cpu": f["cpu_s_per_gib"] / native["cpu_s_per_gib"]}
    result["server"] = figures
    log(f"  echo server, native: {native['bps'] / 1e9:.2f} GB/s "
        f"(fastest {native['best_bps'] / 1e9:.2f})")
    for kind in kinds[1:]:
        f = figures[kind]
        log(f"  echo server, {kind}: {f['bps'] / 1e9:.2f} GB/s "
            f"(fastest {f['best_bps'] / 1e9:.2f}): {f['over_native']['throughput']:.2f}× "
            f"native (fastest runs {f['over_native']['best']:.2f}×), "
            f"CPU {f['over_native']['cpu']:.2f}× native")
    return result


def _servers(f: dict) -> dict:
    """The `server` figures by key of SERVERS; those written before WASI 0.3
    was measured (one `smelt` server, its ratios beside it) are read too."""
    if "smelt" in f and "smelt_p2" not in f:
        f = {"native": f["native"],
             "smelt_p2": dict(f["smelt"], over_native={
                 "throughput": f["smelt_over_native_throughput"],
                 "best": f["smelt_over_native_best"],
                 "cpu": f["smelt_over_native_cpu"]})}
    return f


def markdown(e: dict) -> list[str]:
    """The TCP echo section of docs/benchmarks.md."""
    out = ["## TCP echo", "",
           f"`bench/echo.py` (run {e['generated']}, load average at start "
           f"{e['load_average_at_start']}, median of {e['runs']} runs): tests/programs' "
           "`net_echo` (`std::net`), built natively and for `wasm32-wasip2` (WASI 0.2 "
           "sockets through wasi-libc), and its WASI 0.3 twin of tests/programs-p3 (the "
           "`wasip3` crate: each 256 KiB read of the `receive` stream goes into guest "
           "memory and is written back to the stream given to `send`), both compiled by "
           "smelt, echo "
           f"{e['bytes']} bytes over loopback (64 KiB writes, each echoed before the next) "
           "for a native client (the 0.2 program built natively), each server in turn, the "
           "order rotating each round. Throughput: bytes echoed per second of the client's "
           "run (median, and of the fastest run, less disturbed by other work on a busy "
           "machine); CPU: user + system time of the server (median). The splice row is "
           "the 0.3 program's `server-splice`, which hands the `receive` stream to `send` "
           "so that the host moves the bytes itself: not the same work, and not held to "
           "the goal. The copy row is the native program copying each read once more, "
           "as wasi-libc's `recv` does with the list WASI 0.2's `input-stream.read` "
           "returns: the most the WASI 0.2 server can reach, given that copy.",
           ""]
    if e.get("size") == "tiny":
        out += ["**Tiny input, one run: a check that it builds and runs, not a measurement.**", ""]
    out += [f"**Note**: {n}" for n in e.get("notes", [])]
    if e.get("notes"):
        out.append("")
    f = _servers(e.get("server") or {})
    out.append("| server | throughput (median, fastest) | CPU | /native throughput "
               "(median, fastest) | /native CPU |")
    out.append("| --- | --- | --- | --- | --- |")
    for key, label, _ in SERVERS:
        s = f.get(key)
        if not s:
            continue
        ratio = s.get("over_native")
        out.append(f"| {label} | {s['bps'] / 1e9:.2f} GB/s ({s['best_bps'] / 1e9:.2f}) | "
                   f"{s['cpu_s_per_gib']:.3f} s/GiB | "
                   + (f"{ratio['throughput']:.2f}×, {ratio['best']:.2f}× | "
                      f"{ratio['cpu']:.2f}× |" if ratio else "| |"))
    out.append("")
    if e.get("size") == "full" and f:
        out += ["| goal (issue 15) | measured | |", "| --- | --- | --- |"]
        for key, _, held in SERVERS:
            if not held or key not in f:
                continue
            for what, which in (("median", "throughput"), ("fastest runs", "best")):
                r = f[key]["over_native"][which]
                verdict = "met" if r >= 1 / GOAL else "**not met**"
                out.append(f"| {VERSION[key]} server throughput within 10% of native "
                           f"({what}) | {r:.2f}× native | {verdict} |")
        out.append("")
    return out
