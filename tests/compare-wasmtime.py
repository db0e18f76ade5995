#!/usr/bin/env python3
"""Runs the preview1 test program (tests/programs/c/preview1.c, built by the
programs test into tests/programs/target/wasm32-wasi-c/preview1.wasm) under
smelt and under Wasmtime (the `wasmtime` Python package: wasmtime's own
preview1 implementation) with the same arguments, environment, stdin and
directory, and prints where their outputs or exit statuses differ.

Usage: python3 tests/compare-wasmtime.py [--smelt PATH]
(needs `pip install wasmtime`; the differences are listed in the report of
issue 16, not checked by CI).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WASM = os.path.join(ROOT, "tests", "programs", "target", "wasm32-wasi-c", "preview1.wasm")

ENV = [("QUOTED", 'say "hi"'), ("NEWLINE", "one\ntwo"), ("UNICODE", "ünï"), ("EMPTY", "")]

CASES = [
    ("exit 33", ["exit", "33"], False),
    ("exit 255", ["exit", "255"], False),
    ("args", ["args", 'say "hi"', "a b", "one\ntwo", "ünï", ""], False),
    ("environ", ["environ"], False),
    ("bad fds", ["bad-fds"], True),
    ("path_open", ["path-open"], True),
    ("path_open, valid flags only", ["path-open", "valid-flags"], True),
    ("readdir cookies", ["readdir"], True),
    ("fdstat", ["fdstat"], True),
    ("poll", ["poll"], False),
]


def layout(root: str, readdir: bool) -> None:
    data = os.path.join(root, "data")
    os.makedirs(data)
    if readdir:
        for name in ["a", "bb", "ccc"]:
            with open(os.path.join(data, name), "w") as f:
                f.write(name)
        os.mkdir(os.path.join(data, "d"))
        return
    with open(os.path.join(data, "file.txt"), "w") as f:
        f.write("hello\n")
    os.mkdir(os.path.join(data, "dir"))
    os.symlink("file.txt", os.path.join(data, "link"))
    os.symlink("loop", os.path.join(data, "loop"))
    os.symlink("../outside.txt", os.path.join(data, "out"))
    with open(os.path.join(root, "outside.txt"), "w") as f:
        f.write("outside\n")


def under_smelt(smelt: str, root: str, args: list[str]) -> tuple[int, str]:
    exe = os.path.join(root, "p1")
    flags = ["--dir", f"{root}/data::/data"]
    for k, v in ENV:
        flags += ["--env", f"{k}={v}"]
    subprocess.run([smelt, "build", WASM, "-o", exe] + flags, check=True)
    p = subprocess.run([exe] + args, input=b"hi\n", capture_output=True)
    return p.returncode, p.stdout.decode(errors="replace")


def under_wasmtime(root: str, args: list[str]) -> tuple[int, str]:
    import wasmtime

    out = os.path.join(root, "wasmtime.out")
    stdin = os.path.join(root, "stdin")
    with open(stdin, "w") as f:
        f.write("hi\n")
    config = wasmtime.WasiConfig()
    config.argv = ["p1"] + args
    config.env = ENV
    config.preopen_dir(os.path.join(root, "data"), "/data")
    config.stdout_file = out
    config.stdin_file = stdin
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, WASM)
    instance = linker.instantiate(store, module)
    status = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        status = e.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        lines = str(e).splitlines()
        status = f"error: {lines[-1] if lines else e}"
    with open(out, errors="replace") as f:
        return status, f.read()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smelt", default=os.path.join(ROOT, "target", "release", "smelt"))
    args = ap.parse_args()
    if not os.path.exists(WASM):
        print(f"{WASM} is missing: run the programs test first", file=sys.stderr)
        return 2
    differences = 0
    for name, argv, needs_data in CASES:
        results = []
        for runner in ("smelt", "wasmtime"):
            root = tempfile.mkdtemp(prefix="smelt-compare-")
            try:
                layout(root, readdir=argv[0] == "readdir")
                if runner == "smelt":
                    results.append(under_smelt(args.smelt, root, argv))
                else:
                    results.append(under_wasmtime(root, argv))
            finally:
                shutil.rmtree(root, ignore_errors=True)
        (s_status, s_out), (w_status, w_out) = results
        if (s_status, s_out) == (w_status, w_out):
            print(f"same: {name}")
            continue
        differences += 1
        print(f"differs: {name}")
        if s_status != w_status:
            print(f"  exit status: smelt {s_status}, wasmtime {w_status}")
        s_lines, w_lines = s_out.splitlines(), w_out.splitlines()
        for i in range(max(len(s_lines), len(w_lines))):
            a = s_lines[i] if i < len(s_lines) else "(none)"
            b = w_lines[i] if i < len(w_lines) else "(none)"
            if a != b:
                print(f"  smelt:    {a}\n  wasmtime: {b}")
    print(f"{differences} of {len(CASES)} cases differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
