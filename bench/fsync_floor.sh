#!/usr/bin/env bash
# First run of Fanin(N) with fsync on a real disk, next to its physical floor: a plain loop
# writing the same N files (temporary file, fsync, rename; bench/src/bin/write_floor.rs).
# Alternates the two RUNS times, each into a fresh directory under DIR (default /var/tmp,
# which must be on the disk to measure, not a tmpfs), and prints the medians and their ratio.
#
#   bash bench/fsync_floor.sh
#   N=10000 RUNS=5 DIR=/data bash bench/fsync_floor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10000}
runs=${RUNS:-5}
base=${DIR:-/var/tmp}
[ -d "$base" ] && [ -w "$base" ] || { echo "fsync_floor.sh: $base is not a writable directory; set DIR" >&2; exit 2; }
cargo build --release -q -p kart-bench --bin kart-bench --bin write_floor
work=$(mktemp -d "$base/kart-fsync.XXXXXX")
trap 'rm -rf "$work"' EXIT

timed() { # prints the wall seconds of "$@"
  local start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  echo "$EPOCHREALTIME - $start" | bc -l | xargs printf '%.4f\n'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$work/kart"
: >"$work/floor"
for _ in $(seq "$runs"); do
  rm -rf "$work/ws" && mkdir "$work/ws" && sync
  timed target/release/kart-bench Fanin --n "$n" --workspace "$work/ws" >>"$work/kart"
  rm -rf "$work/ws" && mkdir "$work/ws" && sync
  timed target/release/write_floor "$work/ws" "$n" >>"$work/floor"
done
kart=$(median <"$work/kart")
floor=$(median <"$work/floor")
echo "machine: $(nproc) cores, $(uname -sr), $(df -T "$work" | awk 'NR==2 {print $2}') at $base"
echo "kart Fanin $n (fsync):        median $kart s of $(tr '\n' ' ' <"$work/kart")"
echo "floor (temp+fsync+rename) $n: median $floor s of $(tr '\n' ' ' <"$work/floor")"
echo "ratio kart/floor: $(echo "scale=2; $kart/$floor" | bc -l)"
# The disk drifts between minutes; each kart run's ratio to the floor run right after it
# cancels most of that drift.
pairs=$(paste "$work/kart" "$work/floor" | awk '{printf "%.2f\n", $1 / $2}' | median)
echo "median ratio of alternating pairs: $pairs"
