#!/usr/bin/env bash
# The test command of the README: builds the workspace (the `smelt`
# executable and the runtime library the tests link against) and the
# runtime library for every other target, runs every test (unit tests,
# end-to-end tests, the conformance scripts as test trials, the
# cross-compilation tests), then, for each other target, the trap tests,
# the tests/programs suite, the sockets, HTTP server and HTTP client tests
# and `smelt wast` compiled for that target and
# run here (under qemu-user for aarch64 and riscv64; for riscv64 also with
# `--cpu rv64gcv`, the vector extension SIMD needs there; for aarch64 the
# threads scripts also with `--cpu armv8.1-a`, LSE atomics), then what
# `file` and `ldd` say of each target's executable (musl ones are static) and that it
# runs here, and last `smelt wast` for this machine over the core
# specification scripts (with the threads proposal's), the Component Model
# reference tests and smelt's own scripts (tests/wast). It ends with one closing line
# `N passed, N failed, N skipped` per target, this machine's last.
#
# SMELT_CROSS selects the other targets: `all` (the default: every
# supported target, each of which must be ready, see `smelt targets`),
# `none`, or a comma-separated list of triples.
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-tools (tests/setup.sh installs it with pip) may live in Python's
# scripts folder rather than on PATH.
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export PATH
host=$(rustc -vV | sed -n 's/^host: //p')
all_targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu riscv64gc-unknown-linux-gnu
  x86_64-unknown-linux-musl aarch64-unknown-linux-musl riscv64gc-unknown-linux-musl)
case "${SMELT_CROSS:-all}" in
  all) targets=("${all_targets[@]}"); export SMELT_CROSS_REQUIRED=1 ;;
  none) targets=() ;;
  *) IFS=, read -r -a targets <<< "$SMELT_CROSS" ;;
esac
cross=()
for t in "${targets[@]}"; do
  [ "$t" = "$host" ] || cross+=("$t")
done

# The wall time of each step, printed as it ends and all together at the end.
source tests/steps.sh
cargo build --release --workspace --locked
mark "cargo build"
# The runtime library for each other target. A musl target that rustup
# cannot install here is built from source (targets/musl-from-source.sh).
for t in "${cross[@]}"; do
  bash targets/runtime.sh "$t"
  mark "$t: runtime library"
done
# Every suite runs even when one before it failed; the script fails at the
# end if any did.
failed=()
cargo test --release --workspace --locked || failed+=("cargo test")
mark "cargo test"

# $SMELT_TESTSUITE names the suite of a checkout that is not next to shared/.
suite=${SMELT_TESTSUITE:-../shared/testsuite}
threads_scripts=("$suite"/core/proposals/threads/*.wast tests/wast/threads-*.wast)
scripts=("$suite"/core/*.wast "$suite"/core/legacy/*.wast "$suite"/core/proposals/threads/*.wast
  "$suite"/component-model/{values,resources,linking,validation,binary,async}/*.wast tests/wast/*.wast)
log=target/wast-logs
mkdir -p "$log"
summary=()
# The test binaries are those `cargo test --workspace` built: `-p smelt-tests`
# would resolve the dependencies' features for that package alone and build
# them again (about two minutes).
for t in "${cross[@]}"; do
  echo "== $t: trap tests, tests/programs (with the WASI 0.3 twins of tests/programs-p3), wasi-threads (tests/programs-threads), sockets, HTTP servers and clients, component libraries"
  SMELT_TEST_TARGET=$t cargo test --release --locked --workspace --test traps --test programs \
    --test threads --test sockets --test http_serve --test http_client \
    || failed+=("$t: trap tests, tests/programs, wasi-threads, sockets, HTTP")
  mark "$t: trap tests, tests/programs, wasi-threads, sockets, HTTP"
  # Component libraries (tests/library): from C and from Rust (cargo build
  # --target) on the glibc targets, whose cross C compilers are here; from
  # C alone on the musl targets (Zig's clang and musl: no Rust programs).
  if [[ "$t" == *-gnu ]]; then
    SMELT_TEST_TARGET=$t cargo test --release --locked --workspace --test library \
      || failed+=("$t: component libraries")
  else
    echo "$t: the Rust programs of tests/library are skipped (tested on the glibc targets)"
    SMELT_TEST_TARGET=$t cargo test --release --locked --workspace --test library \
      -- --skip a_rust_program || failed+=("$t: component libraries")
  fi
  mark "$t: component libraries"
  echo "== $t: smelt wast"
  ./target/release/smelt wast --target "$t" --skip-list tests/wast-skip.txt "${scripts[@]}" \
    | tee "$log/$t.txt" || failed+=("$t: smelt wast")
  summary+=("$t: $(tail -1 "$log/$t.txt")")
  mark "$t: smelt wast"
done
# riscv64 with the vector extension (`--cpu rv64gcv`, run by qemu with V):
# the SIMD scripts, which the RV64GC baseline refuses, run there too.
for t in "${cross[@]}"; do
  [ "$t" = riscv64gc-unknown-linux-gnu ] || continue
  echo "== $t --cpu rv64gcv: smelt wast"
  ./target/release/smelt wast --target "$t" --cpu rv64gcv --skip-list tests/wast-skip.txt \
    "${scripts[@]}" | tee "$log/$t-rv64gcv.txt" || failed+=("$t --cpu rv64gcv: smelt wast")
  summary+=("$t --cpu rv64gcv: $(tail -1 "$log/$t-rv64gcv.txt")")
  mark "$t --cpu rv64gcv: smelt wast"
done
# aarch64 with LSE atomics (`--cpu armv8.1-a`, run by qemu's default CPU;
# the baseline runs on a Cortex-A57, which has no LSE): the scripts of the
# threads proposal and smelt's own threads scripts.
for t in "${cross[@]}"; do
  [[ "$t" == aarch64-* ]] || continue
  echo "== $t --cpu armv8.1-a: smelt wast (threads)"
  ./target/release/smelt wast --target "$t" --cpu armv8.1-a --skip-list tests/wast-skip.txt \
    "${threads_scripts[@]}" | tee "$log/$t-armv8.1-a.txt" || failed+=("$t --cpu armv8.1-a: smelt wast")
  summary+=("$t --cpu armv8.1-a (threads scripts): $(tail -1 "$log/$t-armv8.1-a.txt")")
  mark "$t --cpu armv8.1-a: smelt wast (threads)"
done
# What `file` and `ldd` say of each target's executable, and that it runs
# here: the hello program of tests/programs (built by the programs test).
hello=tests/programs/target/wasm32-wasip2/release/hello.wasm
echo "== executables per target"
for t in "$host" "${cross[@]}"; do
  exe=target/cross-hello/$t
  mkdir -p target/cross-hello
  ./target/release/smelt build "$hello" --target "$t" -o "$exe" || { failed+=("$t: smelt build"); continue; }
  desc=$(file -b "$exe")
  echo "$t: $desc"
  case "$t" in
    x86_64-*) want="x86-64" ;;
    aarch64-*) want="ARM aarch64" ;;
    riscv64gc-*) want="RISC-V" ;;
  esac
  [[ "$desc" == *"$want"* ]] || failed+=("$t: file does not say $want")
  if [[ "$t" == *-musl ]]; then
    # ldd exits 1 for a static executable: keep its output, not its status.
    ldd_out=$(ldd "$exe" 2>&1 || true)
    echo "$t: ldd: ${ldd_out//$'\t'/}"
    [[ "$desc" == *"statically linked"* ]] || failed+=("$t: not statically linked")
    [[ "$ldd_out" == *"not a dynamic executable"* ]] || failed+=("$t: ldd finds it dynamic")
  fi
  # A static executable runs under qemu with no sysroot.
  arch=${t%%-*}
  arch=${arch%gc}
  if [ "$arch" = "${host%%-*}" ]; then
    run=("$exe")
  elif [[ "$t" == *-musl ]]; then
    run=("qemu-$arch" "$exe")
  else
    run=("qemu-$arch" -L "/usr/$arch-linux-gnu" "$exe")
  fi
  out=$("${run[@]}" 2>/dev/null) || true
  echo "$t: ${run[*]} prints: $out"
  [ "$out" = "hello from a smelt test program" ] || failed+=("$t: the executable does not run here")
done
mark "executables per target"
./target/release/smelt wast --skip-list tests/wast-skip.txt "${scripts[@]}" \
  | tee "$log/$host.txt" || failed+=("$host: smelt wast")
summary+=("$host: $(tail -1 "$log/$host.txt")")
mark "$host: smelt wast"
echo "== wall time per step"
printf '%s\n' "${times[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "== failed"
  printf '%s\n' "${failed[@]}"
fi
echo "== smelt wast, per target"
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ]
