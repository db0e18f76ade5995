#!/usr/bin/env python3
"""HTTP serving benchmark: requests per second and latency of a hello-world
proxy component served by its smelt executable, against `wasmtime serve` of
the same component on the same machine, for WASI 0.2
(`tests/programs-http/examples/hello_http.rs`) and WASI 0.3
(`tests/programs-http-p3/examples/hello_http.rs`).

Each server listens on 127.0.0.1 with its defaults (smelt: one worker per
CPU; wasmtime: its own), and `wrk` (Debian's) loads it for `--duration`
seconds with `--connections` connections after a one-second warm-up; the
servers take turns, `--rounds` times, and the medians are reported. The load
generator runs on the same machine, so both servers share the CPUs with it
alike. `wasmtime` is looked for on the PATH and in /opt/wasmtime/bin; without
it only smelt's figures are given.

Usage: python3 bench/http_bench.py [--quick] [--duration S] [--connections N]
                             [--rounds N] [--smelt PATH] [--json FILE] [--write]

`--write` puts the figures in docs/benchmarks.json ("http") and rewrites
docs/benchmarks.md with bench/run.py's renderer (an "HTTP serving" section,
which later runs of run.py keep).

`--quick` (what CI runs, through bench/run.py --quick) builds everything,
checks that each server answers, and measures nothing. The closing line is
`bench-http: N passed, N failed` (servers that answered); exit status 1 if
a smelt server did not (a wasmtime that cannot serve a component only loses
the comparison). As a module, `run(...)` gives the figures as a dict.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "bench-http")

GUESTS = {
    "0.2": "tests/programs-http",
    "0.3": "tests/programs-http-p3",
}


def log(msg):
    print(f"bench-http: {msg}", file=sys.stderr, flush=True)


def find_wasmtime():
    found = shutil.which("wasmtime")
    if found:
        return found
    candidate = "/opt/wasmtime/bin/wasmtime"
    return candidate if os.access(candidate, os.X_OK) else None


def build_guests():
    """Builds the two hello-world components; returns {version: path}."""
    out = {}
    for version, project in GUESTS.items():
        manifest = os.path.join(ROOT, project, "Cargo.toml")
        subprocess.run(["cargo", "build", "--release", "--locked", "--examples", "--target",
                        "wasm32-wasip2", "--manifest-path", manifest], check=True,
                       stdout=subprocess.DEVNULL)
        out[version] = os.path.join(ROOT, project,
                                    "target/wasm32-wasip2/release/examples/hello_http.wasm")
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port):
    """Starts a server; waits (30 s at most) until it answers on `port`."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    url = f"http://127.0.0.1:{port}/"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read()
            if r.status == 200 and body.startswith(b"Hello"):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not answer on {url}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wrk(port, duration, connections):
    """Runs wrk; returns (requests/s, p50 ms, p99 ms, non-2xx + errors)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
            f"http://127.0.0.1:{port}/"]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        bad += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        bad += sum(int(g) for g in m.groups())
    return rps, pct(50), pct(99), bad


def servers(smelt, wasmtime, guests):
    """The servers to compare: {(version, name): (argv for a port)}."""
    os.makedirs(WORK, exist_ok=True)
    out = {}
    for version, wasm in guests.items():
        exe = os.path.join(WORK, f"hello-{version}")
        subprocess.run([smelt, "build", wasm, "-o", exe], check=True)
        out[(version, "smelt")] = lambda port, exe=exe: [exe, "--addr", f"127.0.0.1:{port}"]
        if wasmtime:
            # A proxy component built by rustc also imports wasi:cli
            # (environment, stdio); `wasmtime serve` adds it only on request.
            flags = ["-Scli=y"] if version == "0.2" else [
                "-Wcomponent-model-async=y", "-Sp3=y,cli=y"]
            out[(version, "wasmtime")] = lambda port, wasm=wasm, flags=flags: [
                wasmtime, "serve", *flags, "--addr", f"127.0.0.1:{port}", wasm]
    return out


def run(smelt, quick=False, duration=10, connections=32, rounds=3):
    """Measures every server; returns the report (see the module doc)."""
    guests = build_guests()
    load_at_start = round(os.getloadavg()[0], 2)
    wasmtime = find_wasmtime()
    table = servers(smelt, wasmtime, guests)
    results, failed = {}, []
    for r in range(1 if quick else rounds):
        for key, argv in table.items():
            port = free_port()
            try:
                proc = start(argv(port), port)
            except (RuntimeError, OSError) as e:
                log(f"{key}: {e}")
                if key[1] == "smelt":
                    failed.append(key)
                else:
                    # The reference is optional; an installed wasmtime that
                    # cannot serve this component only drops the comparison.
                    log(f"{key}: no comparison for WASI {key[0]}")
                continue
            try:
                if not quick:
                    wrk(port, 1, connections)
                    rps, p50, p99, bad = wrk(port, duration, connections)
                    results.setdefault(key, []).append((rps, p50, p99, bad))
                    log(f"round {r + 1}: {key[1]} {key[0]}: {rps:.0f} req/s, "
                        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {bad} errors")
            finally:
                stop(proc)
    report = {"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "load_average_at_start": load_at_start,
              "duration_s": duration, "connections": connections, "rounds": rounds,
              "wasmtime": wasmtime is not None, "servers": {}}
    for (version, name), runs in results.items():
        report["servers"][f"{name} {version}"] = {
            "rps": statistics.median(x[0] for x in runs),
            "p50_ms": statistics.median(x[1] for x in runs),
            "p99_ms": statistics.median(x[2] for x in runs),
            "errors": sum(x[3] for x in runs),
        }
    report["failed"] = [f"{n} {v}" for v, n in failed]
    report["checked"] = len(table)
    return report


def markdown(report):
    """The HTTP section of docs/benchmarks.md."""
    out = ["## HTTP serving", "",
           f"A hello-world proxy component served on 127.0.0.1, loaded by `wrk -t1 "
           f"-c{report['connections']} -d{report['duration_s']}s` on the same machine "
           f"(median of {report['rounds']} rounds; `bench/http_bench.py`, run "
           f"{report.get('generated', '?')}, load average at start "
           f"{report.get('load_average_at_start', '?')}). Goal (issue 15): at least 1.5x "
           "`wasmtime serve`'s requests per second, with a lower p99 latency.", "",
           "| server | requests/s | p50 latency | p99 latency | errors | smelt/wasmtime req/s |",
           "| --- | --- | --- | --- | --- | --- |"]
    servers = report["servers"]
    for key in sorted(servers):
        s = servers[key]
        name, version = key.split(" ")
        ratio = ""
        other = servers.get(f"wasmtime {version}")
        if name == "smelt" and other and other["rps"]:
            ratio = f"{s['rps'] / other['rps']:.2f}x"
        out.append(f"| {name} (WASI {version}) | {s['rps']:.0f} | {s['p50_ms']:.2f} ms | "
                   f"{s['p99_ms']:.2f} ms | {s['errors']} | {ratio} |")
    if not report["wasmtime"]:
        out += ["", "(`wasmtime` was not installed: no comparison.)"]
    return "\n".join(out) + "\n"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="check that every server answers")
    ap.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smelt", default=os.path.join(ROOT, "target", "release", "smelt"))
    ap.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ap.add_argument("--write", action="store_true",
                    help="put the figures in docs/benchmarks.json and docs/benchmarks.md")
    args = ap.parse_args(argv)
    report = run(args.smelt, args.quick, args.duration, args.connections, args.rounds)
    if not args.quick:
        print(markdown(report))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=1)
        if args.write:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import run as harness
            path = os.path.join(ROOT, "docs", "benchmarks.json")
            with open(path) as f:
                rep = json.load(f)
            rep["http"] = report
            harness.write_report(rep)
    failed = len(report["failed"])
    print(f"bench-http: {report['checked'] - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
