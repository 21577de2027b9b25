#!/usr/bin/env bash
# Does kart's cost grow linearly with the number of tasks? Runs `Fanin --n 2000` and
# `Fanin --n 10000` (bench/src/main.rs) alternately, RUNS times each, each into a fresh
# workspace, and prints the median wall times and their ratio (linear growth is 5.0).
#
# The workspaces live on a tmpfs (/dev/shm) by default: on a VM disk the latency of creating
# files swings more from minute to minute than the ratio being measured. Set DIR to measure
# another filesystem.
#
#   bash bench/growth.sh
#   RUNS=9 DIR=/var/tmp bash bench/growth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
base=${DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || { echo "growth.sh: $base is not a writable directory; set DIR" >&2; exit 2; }
cargo build --release -q -p kart-bench
bin=target/release/kart-bench
work=$(mktemp -d "$base/kart-growth.XXXXXX")
trap 'rm -rf "$work"' EXIT

run() { # prints the wall seconds of one fresh run of Fanin --n $1
  rm -rf "$work/ws"
  mkdir "$work/ws"
  local start=$EPOCHREALTIME
  "$bin" Fanin --n "$1" --no-fsync --workspace "$work/ws" >/dev/null 2>&1
  echo "$EPOCHREALTIME - $start" | bc -l | xargs printf '%.4f\n'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$work/small"
: >"$work/large"
for _ in $(seq "$runs"); do
  run 2000 >>"$work/small"
  run 10000 >>"$work/large"
done
small=$(median <"$work/small")
large=$(median <"$work/large")
echo "machine: $(nproc) cores, $(uname -sr), workspace on $(df -T "$work" | awk 'NR==2 {print $2}')"
echo "Fanin 2000:  median $small s of $(tr '\n' ' ' <"$work/small")"
echo "Fanin 10000: median $large s of $(tr '\n' ' ' <"$work/large")"
echo "ratio 10000/2000: $(echo "scale=2; $large/$small" | bc -l) (linear: 5.0)"
