#!/usr/bin/env bash
# Builds a relocatable distribution of smelt for this machine:
#
#   bash targets/dist.sh [TARGET...]    # default: the six supported targets
#
# Writes target/dist/smelt-VERSION-HOST.tar.gz, holding one folder:
#
#   bin/smelt                                   the compiler
#   lib/smelt/TRIPLE/libsmelt_runtime.a         each target's runtime library
#   lib/smelt/TRIPLE/self-contained/            musl targets: the C runtime
#                                               (start files, libc.a, libunwind.a)
#
# Unpacked anywhere, `bin/smelt` finds its runtime libraries and start files
# beside itself: it compiles for the musl targets (static executables) on a
# machine with no Rust toolchain and no C compiler, given a linker, `ld.lld`
# (Debian's `lld`) when there is no Rust toolchain; the glibc targets also
# need that machine's C compiler driver and libc (see the README). Debug
# information is stripped.
#
# Each target's runtime library is built here (targets/runtime.sh), as
# tests/run.sh builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
sysroot=$(rustc --print sysroot)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu riscv64gc-unknown-linux-gnu
    x86_64-unknown-linux-musl aarch64-unknown-linux-musl riscv64gc-unknown-linux-musl)
fi
target_dir=${CARGO_TARGET_DIR:-target}
name=smelt-$version-$host
out=$target_dir/dist/$name
rm -rf "$out" "$out.tar.gz"
mkdir -p "$out/bin" "$out/lib/smelt"
# llvm-objcopy (Debian's, beside clang) strips archives of every
# architecture; without it they are copied as they are.
strip_copy() {
  if command -v llvm-objcopy >/dev/null; then llvm-objcopy --strip-debug "$1" "$2"; else cp "$1" "$2"; fi
}

cargo build --release --locked -p smelt -p smelt-runtime
strip_copy "$target_dir/release/smelt" "$out/bin/smelt"
for t in "${targets[@]}"; do
  lib=$out/lib/smelt/$t
  mkdir -p "$lib"
  if [ "$t" = "$host" ]; then
    built=$target_dir/release
  else
    built=$target_dir/$t/release
    bash targets/runtime.sh "$t"
  fi
  strip_copy "$built/libsmelt_runtime.a" "$lib/libsmelt_runtime.a"
  if [[ "$t" == *-musl ]]; then
    crt=$sysroot/lib/rustlib/$t/lib/self-contained
    [ -d "$crt" ] || crt=$built/self-contained
    mkdir -p "$lib/self-contained"
    for f in crt1.o crti.o crtn.o crtbegin.o crtend.o libc.a libunwind.a; do
      cp "$crt/$f" "$lib/self-contained/"
    done
  fi
done
tar -C "$target_dir/dist" -czf "$out.tar.gz" "$name"
echo "$out.tar.gz"
