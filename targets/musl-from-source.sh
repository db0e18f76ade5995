#!/usr/bin/env bash
# Provides a musl target that `rustup target add` cannot install on this
# machine (its rust-std component is not reachable): builds the Rust
# standard library from source (the toolchain's rust-src) together with
# smelt's runtime library, and the musl C runtime that Rust's target would
# ship in its "self-contained" folder with Zig (PyPI package `ziglang`,
# which carries musl's source).
#
#   bash targets/musl-from-source.sh riscv64gc-unknown-linux-musl
#
# Leaves target/<triple>/release/libsmelt_runtime.a and, beside it,
# self-contained/ (crt1.o, crti.o, crtn.o, crtbegin.o, crtend.o, libc.a,
# libunwind.a), which smelt uses when the toolchain has no self-contained
# folder for the target. Needs network access to crates.io and PyPI.
set -euo pipefail
triple=${1:?usage: musl-from-source.sh TRIPLE}
cd "$(dirname "$0")/.."
case "$triple" in
  x86_64-unknown-linux-musl) zig_target=x86_64-linux-musl ;;
  aarch64-unknown-linux-musl) zig_target=aarch64-linux-musl ;;
  riscv64gc-unknown-linux-musl) zig_target=riscv64-linux-musl ;;
  *) echo "musl-from-source: unsupported target $triple" >&2; exit 2 ;;
esac
target_dir=${CARGO_TARGET_DIR:-target}
out=$target_dir/$triple/release/self-contained

# 1. The standard library and the runtime library, from source.
rustup component add rust-src
RUSTC_BOOTSTRAP=1 cargo build --release --locked -p smelt-runtime --target "$triple" \
  -Z build-std=std,panic_abort

# 2. musl's start files and libc, and LLVM's libunwind, built by Zig for
#    the target; Zig prints the link line that names them.
python3 -m pip install --quiet --disable-pip-version-check ziglang==0.17.1
zig=(python3 -m ziglang)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'int main(void) { return 0; }\n' > "$work/main.c"
"${zig[@]}" cc -target "$zig_target" -static -o "$work/main" "$work/main.c" -lunwind -v \
  2> "$work/link.txt"
line=$(grep -E '(^| )ld\.lld ' "$work/link.txt" | tail -1)
pick() { tr ' ' '\n' <<< "$line" | grep -E "/$1\$" | head -1; }
crt1=$(pick crt1.o)
libc=$(pick libc.a)
libunwind=$(pick libunwind.a)
# Zig's libc is musl's (libc.a) plus the functions Zig implements itself
# (libzigc.a) and its compiler runtime; merged into one libc.a.
extra=()
for lib in libzigc.a libcompiler_rt.a; do
  path=$(pick "$lib") && [ -n "$path" ] && extra+=("$path")
done
for f in "$crt1" "$libc" "$libunwind"; do
  [ -f "$f" ] || { echo "musl-from-source: Zig did not build the C runtime:" >&2; cat "$work/link.txt" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
cp "$crt1" "$out/crt1.o"
cp "$libunwind" "$out/libunwind.a"
{
  echo "create $out/libc.a"
  for lib in "$libc" "${extra[@]}"; do echo "addlib $lib"; done
  echo "save"
  echo "end"
} | "${zig[@]}" ar -M
# musl needs no code in these for a static executable; Rust's own
# self-contained folder has them, and the link line names them.
printf '' > "$work/empty.c"
for f in crti.o crtn.o crtbegin.o crtend.o; do
  "${zig[@]}" cc -target "$zig_target" -c -o "$out/$f" "$work/empty.c"
done
echo "musl-from-source: $triple ready ($out)"
