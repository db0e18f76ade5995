#!/usr/bin/env bash
# The test command of the README: builds the workspace (the `smelt`
# executable and the runtime library the tests link against), runs every
# test (unit tests, end-to-end tests, the conformance scripts as test
# trials), then `smelt wast` over the core specification scripts and the
# Component Model reference tests that need no async, whose closing line
# `N passed, N failed, N skipped` ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --locked
cargo test --release --workspace --locked
suite=../shared/testsuite
./target/release/smelt wast --skip-list tests/wast-skip.txt "$suite"/core/*.wast \
  "$suite"/component-model/{values,resources,linking,validation,binary}/*.wast
