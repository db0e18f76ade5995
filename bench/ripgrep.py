#!/usr/bin/env python3
"""The cost of a WASI call, on a file-heavy real tool: ripgrep 14.1.1 searching
a tree of crate sources with one thread (`rg -j1 -c unsafe`), built natively
and for WASI (wasm32-wasip2, a component, and wasm32-wasip1, a preview1
module, both with simd128 as the native build has SSE2) and compiled by
smelt; the time of each and its system calls (`strace -c -f`).

In one run it

 1. installs ripgrep natively and for the two WASI targets with `cargo
    install` under bench/target/ripgrep/ (once; `--rebuild` again). The
    wasm32-wasip2 build takes the newest compatible dependencies (ripgrep's
    lock has lexopt 0.3.0, which uses `std::os::wasi::ffi`, unstable on that
    target); the others build as locked;
 2. copies the tree to search once, into bench/target/ripgrep/tree: the
    crates of Cargo's registry (`$CARGO_HOME/registry/src`) in name order,
    up to --tree-mb megabytes (`--tree DIR` searches DIR instead);
 3. compiles each .wasm with `smelt build --dir TREE::/tree`;
 4. checks that every version prints the same counts;
 5. runs the versions in alternation, --runs times each, and takes the
    median wall, user and system time;
 6. counts the system calls of one run of each with `strace -c -f`;
 7. prints the figures and, with --write, puts them in docs/benchmarks.json
    ("ripgrep") and rewrites docs/benchmarks.md with bench/run.py's
    renderer, which shows them in a "ripgrep" section.

Goals (issue 16): at most 1.2x the native build's system calls and 1.3x its
time. Only the Python 3 standard library is used; `strace` is needed for
the counts. Exit status: 0 when everything built and every output agreed, 1
otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "target", "ripgrep")
VERSION = "14.1.1"
PATTERN = "unsafe"
GUEST_TREE = "/tree"
CALLS_GOAL = 1.2
TIME_GOAL = 1.3
# The WASI builds: target, whether `--locked`, and the name of the version.
WASM_BUILDS = [("wasm32-wasip2", False, "smelt (wasip2)"), ("wasm32-wasip1", True, "smelt (wasip1)")]


def log(msg: str) -> None:
    print(f"ripgrep: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def install(target: str | None, locked: bool, rebuild: bool) -> str:
    """Installs ripgrep for `target` (native when None); returns the
    executable or .wasm."""
    name = target or "native"
    root = os.path.join(WORK, name)
    exe = os.path.join(root, "bin", "rg.wasm" if target else "rg")
    if os.path.exists(exe) and not rebuild:
        return exe
    cmd = ["cargo", "install", f"ripgrep@{VERSION}", "--root", root, "--force"]
    if locked:
        cmd.append("--locked")
    env = dict(os.environ)
    if target:
        cmd += ["--target", target]
        env[f"CARGO_TARGET_{target.upper().replace('-', '_')}_RUSTFLAGS"] = \
            "-C target-feature=+simd128"
    log(" ".join(cmd))
    run(cmd, env=env)
    return exe


def make_tree(megabytes: int) -> str:
    """The tree to search: a copy of the registry's crates, made once."""
    tree = os.path.join(WORK, "tree")
    if os.path.isdir(tree):
        return tree
    cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    sources = sorted(glob.glob(os.path.join(cargo_home, "registry", "src", "*")))
    if not sources:
        raise SystemExit("ripgrep: no crates in $CARGO_HOME/registry/src to search "
                         "(pass --tree DIR)")
    partial = tree + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    total, cap = 0, megabytes << 20
    for crate in sorted(os.listdir(sources[0])):
        path = os.path.join(sources[0], crate)
        size = sum(os.lstat(os.path.join(r, f)).st_size
                   for r, _, fs in os.walk(path) for f in fs)
        if total + size > cap:
            continue
        shutil.copytree(path, os.path.join(partial, crate), symlinks=True)
        total += size
    os.rename(partial, tree)
    return tree


def tree_stats(tree: str) -> dict:
    files = dirs = size = 0
    for r, ds, fs in os.walk(tree):
        dirs += len(ds)
        for f in fs:
            files += 1
            size += os.lstat(os.path.join(r, f)).st_size
    return {"files": files, "directories": dirs, "megabytes": round(size / (1 << 20))}


def rusage_run(cmd: list[str], cwd: str | None = None) -> tuple[float, float, float, bytes]:
    """Wall, user and system seconds of one run (the child's own rusage),
    and its stdout."""
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            if cwd:
                os.chdir(cwd)
            os.execv(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with status {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime, usage.ru_stime, b"".join(chunks)


def normalized(out: bytes, prefix: str) -> list[str]:
    """The output's lines with the tree's own path left out, sorted."""
    lines = out.decode(errors="replace").splitlines()
    return sorted(line[len(prefix):] if line.startswith(prefix) else line for line in lines)


def strace_counts(cmd: list[str], cwd: str) -> dict:
    """`strace -c -f` of one run: the total and the calls per system call."""
    out = os.path.join(WORK, "strace.txt")
    run(["strace", "-c", "-f", "-o", out] + cmd, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=cwd)
    calls: dict[str, int] = {}
    total = 0
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[3].isdigit():
                name = parts[-1]
                if name == "total":
                    total = int(parts[3])
                else:
                    calls[name] = int(parts[3])
    return {"total": total, "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1]))}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/ripgrep.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each version (default 5)")
    ap.add_argument("--tree", metavar="DIR", help="search DIR instead of the copied crates")
    ap.add_argument("--tree-mb", type=int, default=200,
                    help="megabytes of crates to copy into the tree (default 200)")
    ap.add_argument("--smelt", metavar="PATH", default=os.path.join(ROOT, "target", "release",
                                                                     "smelt"),
                    help="the smelt binary (default target/release/smelt)")
    ap.add_argument("--rebuild", action="store_true", help="install ripgrep again")
    ap.add_argument("--write", action="store_true",
                    help="put the figures in docs/benchmarks.json and docs/benchmarks.md")
    ap.add_argument("--note", action="append", default=[], metavar="TEXT",
                    help="a line to add to the report (repeatable)")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    os.makedirs(WORK, exist_ok=True)
    native = install(None, True, args.rebuild)
    wasm = {name: install(t, locked, args.rebuild) for t, locked, name in WASM_BUILDS}
    tree = os.path.abspath(args.tree) if args.tree else make_tree(args.tree_mb)
    # Every version runs in the tree's parent folder and names the tree by one
    # component, as the guests see it (`/tree`): a longer path would cost
    # the native build more system calls (ripgrep reads each component's
    # link).
    versions = {"native": [native, "-j1", "-c", PATTERN, os.path.basename(tree)]}
    for name, path in wasm.items():
        exe = os.path.join(WORK, name.split()[-1].strip("()") + ".smelt")
        log(f"smelt build {os.path.relpath(path, ROOT)}")
        run([args.smelt, "build", path, "-o", exe, "--dir", f"{tree}::{GUEST_TREE}"])
        versions[name] = [exe, "-j1", "-c", PATTERN, GUEST_TREE]

    # The same counts from every version.
    failed = False
    expected = None
    cwd = os.path.dirname(tree)
    for name, cmd in versions.items():
        _, _, _, out = rusage_run(cmd, cwd)
        lines = normalized(out, cmd[-1] + "/")
        if expected is None:
            expected = lines
        elif lines != expected:
            log(f"{name} prints other counts than the native build")
            failed = True

    samples: dict[str, list[tuple[float, float, float]]] = {n: [] for n in versions}
    for _ in range(args.runs):
        for name, cmd in versions.items():
            wall, user, sys_, _ = rusage_run(cmd, cwd)
            samples[name].append((wall, user, sys_))
    result = {
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "ripgrep": VERSION,
        "command": f"rg -j1 -c {PATTERN} TREE",
        "tree": tree_stats(tree),
        "runs": args.runs,
        "notes": args.note,
        "versions": {},
    }
    have_strace = shutil.which("strace") is not None
    for name, cmd in versions.items():
        s = samples[name]
        entry = {
            "wall_s": statistics.median(x[0] for x in s),
            "user_s": statistics.median(x[1] for x in s),
            "system_s": statistics.median(x[2] for x in s),
        }
        if have_strace:
            entry["syscalls"] = strace_counts(cmd, cwd)
        result["versions"][name] = entry
    base = result["versions"]["native"]
    for name, v in result["versions"].items():
        v["time_over_native"] = v["wall_s"] / base["wall_s"]
        if "syscalls" in v:
            v["syscalls_over_native"] = v["syscalls"]["total"] / base["syscalls"]["total"]
    print("\n".join(markdown(result)))
    if args.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import run as harness
        path = os.path.join(ROOT, "docs", "benchmarks.json")
        with open(path) as f:
            rep = json.load(f)
        rep["ripgrep"] = result
        harness.write_report(rep)
    if failed:
        log("outputs differed")
        return 1
    return 0


def markdown(r: dict) -> list[str]:
    """The ripgrep section of docs/benchmarks.md."""
    t = r["tree"]
    out = ["## ripgrep: the cost of a WASI call", "",
           f"`bench/ripgrep.py` (run {r['generated']}, load average at start "
           f"{r['load_average_at_start']}, median of {r['runs']} runs in alternation): "
           f"ripgrep {r['ripgrep']} `{r['command']}` over {t['megabytes']} MB of crate sources "
           f"({t['files']} files, {t['directories']} directories), built natively and for "
           "`wasm32-wasip2` (a component) and `wasm32-wasip1` (a preview1 module, on smelt's "
           "preview1 host), both with `simd128`, and compiled by `smelt build`; system calls "
           "counted by `strace -c -f` over one more run of each. Every version prints the same "
           "counts. Goals (issue 16): at most "
           f"{CALLS_GOAL}× the native build's system calls and {TIME_GOAL}× its time.", ""]
    out += [f"- **note**: {n}" for n in r.get("notes", [])]
    if r.get("notes"):
        out.append("")
    names = list(r["versions"])
    rows = []
    for name in names:
        v = r["versions"][name]
        sc = v.get("syscalls", {})
        rows.append([name, f"{v['wall_s']:.3f} s", f"{v['user_s']:.3f} s",
                     f"{v['system_s']:.3f} s", f"{v['time_over_native']:.2f}×",
                     f"{sc.get('total', '–')}",
                     f"{v['syscalls_over_native']:.2f}×" if "syscalls_over_native" in v else "–"])
    out.append("| version | wall | user | system | time / native | system calls | calls / native |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out.append("")
    if all("syscalls" in r["versions"][n] for n in names):
        most: dict[str, int] = {}
        for n in names:
            for call, count in r["versions"][n]["syscalls"]["calls"].items():
                most[call] = max(most.get(call, 0), count)
        top = sorted(most, key=lambda c: -most[c])[:12]
        out.append("| system call | " + " | ".join(names) + " |")
        out.append("| --- | " + " | ".join("---" for _ in names) + " |")
        for call in top:
            out.append(f"| `{call}` | " + " | ".join(
                str(r["versions"][n]["syscalls"]["calls"].get(call, 0)) for n in names) + " |")
        out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
