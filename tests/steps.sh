# Sourced by .ci/run and tests/run.sh: `mark NAME` records the wall time
# since the previous mark (or since this file was sourced) as step NAME,
# prints it, and adds it to `times`, which the caller prints at the end.
last=$SECONDS
times=()
mark() {
  times+=("$(printf '%6d s  %s' $((SECONDS - last)) "$1")")
  echo "== ${times[-1]}"
  last=$SECONDS
}
