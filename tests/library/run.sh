#!/usr/bin/env bash
# smelt's library test (issue 18): a component used from C as a static
# library.
#
#   usage: tests/library/run.sh TARGET_DIR
#
# 1. builds the component of guest/ (cargo, wasm32-wasip2);
# 2. compiles it with `smelt build --emit staticlib` into
#    TARGET_DIR/libshapes.a and its header TARGET_DIR/shapes.h;
# 3. compiles c/main.c against them with AddressSanitizer and runs it;
# 4. builds and runs native/'s `expected` (the same calls on the same
#    functions built as a native Rust crate);
# 5. diffs the two outputs.
#
# Exits non-zero when a step fails, main reports an error (AddressSanitizer
# included: leaks too), or the outputs differ. $SMELT is the smelt to use
# (default: target/release/smelt of this checkout); $CC the C compiler
# (default gcc).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ $# -ne 1 ]; then
    echo "usage: $0 TARGET_DIR" >&2
    exit 2
fi
mkdir -p "$1"
out="$(cd "$1" && pwd)"
smelt="${SMELT:-$root/target/release/smelt}"
cc="${CC:-gcc}"
target=wasm32-wasip2

if [ ! -x "$smelt" ]; then
    echo "library/run.sh: no smelt at $smelt (build it with \`cargo build --release -p smelt\`, or set SMELT)" >&2
    exit 1
fi

# 1. The component.
cargo build --release --locked --target "$target" \
    --manifest-path "$here/guest/Cargo.toml" --target-dir "$here/guest/target"
cp "$here/guest/target/$target/release/smelt_library_guest.wasm" "$out/shapes.wasm"

# 2. The library and its header.
rm -f "$out/libshapes.a" "$out/shapes.h"
"$smelt" build "$out/shapes.wasm" --emit staticlib -o "$out/libshapes.a"
for f in libshapes.a shapes.h; do
    if [ ! -f "$out/$f" ]; then
        echo "library/run.sh: smelt build --emit staticlib wrote no $out/$f" >&2
        exit 1
    fi
done

# 3. The C program (a Rust staticlib needs -lpthread -ldl -lm).
"$cc" -std=c11 -Wall -Wextra -Werror -fsanitize=address -g -I"$out" \
    "$here/c/main.c" "$out/libshapes.a" -lpthread -ldl -lm -o "$out/main"
status=0
"$out/main" > "$out/actual.txt" 2> "$out/main.stderr" || status=$?
if [ "$status" -ne 0 ]; then
    echo "library/run.sh: $out/main exited with status $status; its stderr:" >&2
    cat "$out/main.stderr" >&2
    echo "library/run.sh: its stdout ($out/actual.txt):" >&2
    cat "$out/actual.txt" >&2
    exit 1
fi

# 4. The expected output. (Its stderr has the message of the panic it
#    catches, as main.stderr has the trap's.)
cargo build --release --locked \
    --manifest-path "$here/native/Cargo.toml" --target-dir "$here/native/target"
"$here/native/target/release/expected" > "$out/expected.txt" 2> "$out/expected.stderr"

# 5. Compare.
if ! diff -u "$out/expected.txt" "$out/actual.txt"; then
    echo "library/run.sh: FAILED: the C program's output ($out/actual.txt) differs from the native crate's ($out/expected.txt)" >&2
    exit 1
fi
echo "library/run.sh: ok: $(wc -l < "$out/actual.txt") lines as expected"
