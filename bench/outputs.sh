#!/usr/bin/env bash
# Large outputs through kart against the floor, in one run: a MIB-MiB file output (kart's
# temporary, fsync and rename) against the same bytes written straight to the final path and
# fsynced; a Parquet value output of ROWS rows against the parquet crate writing the same
# batches to a file and fsyncing it. Both on the same disk (BENCH_DIR, default target/), each
# process timed whole, alternating, medians of RUNS runs.
#
#   MIB=1024 ROWS=10000000 RUNS=3 bash bench/outputs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${MIB:-1024}
rows=${ROWS:-10000000}
runs=${RUNS:-3}
cargo build --release -q -p kart-bench
kart=$PWD/target/release/kart-bench
floor=$PWD/target/release/output_floor
dir=$(mktemp -d -p "${BENCH_DIR:-$PWD/target}")
trap 'rm -rf "$dir"' EXIT

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

echo "machine: $(nproc) cores, $(uname -sr); disk: $(df --output=fstype "$dir" | tail -1) at $dir; $runs runs, medians"
floor_file=() kart_file=() floor_pq=() kart_pq=()
for _ in $(seq "$runs"); do
  rm -rf "$dir"/*
  floor_file+=("$(seconds "$floor" file "$dir/floor.bin" "$mib")")
  kart_file+=("$(seconds "$kart" BigOutput --mib "$mib" --workspace "$dir/ws")")
  floor_pq+=("$(seconds "$floor" parquet "$dir/floor.parquet" "$rows")")
  kart_pq+=("$(seconds "$kart" ParquetTable --rows "$rows" --workspace "$dir/ws")")
done
test "$(stat -c %s "$dir/ws/big/$mib.bin")" = "$((mib << 20))"
ff=$(median "${floor_file[@]}") kf=$(median "${kart_file[@]}")
fp=$(median "${floor_pq[@]}") kp=$(median "${kart_pq[@]}")
printf '%-40s %10s %12s\n' "" seconds throughput
printf '%-40s %10.2f %9.0f MiB/s\n' "file, straight to the path + fsync" "$ff" "$(echo "$mib / $ff" | bc -l)"
printf '%-40s %10.2f %9.0f MiB/s\n' "file output through kart" "$kf" "$(echo "$mib / $kf" | bc -l)"
printf '%-40s %9.0f %%\n' "kart / floor throughput" "$(echo "100 * $ff / $kf" | bc -l)"
printf '%-40s %10.2f %9.0f rows/s\n' "parquet crate alone + fsync" "$fp" "$(echo "$rows / $fp" | bc -l)"
printf '%-40s %10.2f %9.0f rows/s\n' "Parquet value output through kart" "$kp" "$(echo "$rows / $kp" | bc -l)"
printf '%-40s %9.0f %%\n' "kart / floor throughput" "$(echo "100 * $fp / $kp" | bc -l)"
