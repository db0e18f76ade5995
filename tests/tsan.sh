#!/usr/bin/env bash
# The preview1 host's thread-safety test (libwasi-native/src/p1/tests.rs:
# eight threads sharing one descriptor table) built with ThreadSanitizer:
# nightly Rust (pinned, so that the flags keep meaning the same), the
# standard library rebuilt with the sanitizer (-Zbuild-std), in a target
# directory of its own. A data race fails the run with ThreadSanitizer's
# report.
set -euo pipefail
cd "$(dirname "$0")/.."
toolchain=nightly-2026-05-20
rustup toolchain install "$toolchain" --profile minimal --component rust-src >/dev/null
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1" \
  CARGO_TARGET_DIR=target/tsan \
  cargo "+$toolchain" test -Zbuild-std --target "$host" -p smelt-wasi --lib p1::tests
