#!/usr/bin/env bash
# The test command of the README: builds the workspace (the `smelt`
# executable and the runtime library the tests link against), then runs
# every test: unit tests, end-to-end tests and the conformance scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --locked
cargo test --release --workspace --locked
