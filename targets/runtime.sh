#!/usr/bin/env bash
# Builds smelt's runtime library for another target than this machine's,
# into target/TRIPLE/release/ (or $CARGO_TARGET_DIR's): with Cargo when the
# Rust target is installed, else, for a musl target rustup cannot install
# here, with targets/musl-from-source.sh.
#
#   bash targets/runtime.sh TRIPLE
set -euo pipefail
t=${1:?usage: runtime.sh TRIPLE}
cd "$(dirname "$0")/.."
if [ -d "$(rustc --print target-libdir --target "$t")" ]; then
  cargo build --release --locked -p smelt-runtime --target "$t"
elif [[ "$t" == *-musl ]]; then
  bash targets/musl-from-source.sh "$t"
else
  echo "the Rust target $t is missing: rustup target add $t" >&2
  exit 1
fi
