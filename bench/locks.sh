#!/usr/bin/env bash
# Lock benchmark: kart's acquire+release cycles per second and release-to-wake-up delay on a
# loopback redis-server, next to `redis-benchmark` SET on the same server in the same run.
# Each figure is the median of RUNS runs (default 3), kart and redis-benchmark alternating.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-3}
cargo build --release -q -p kart-bench --bin lock_bench
. bench/lib.sh
start_redis
port=$redis_port pid=$redis_pid
trap 'kill $pid' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
setrps() { redis-benchmark -p "$port" -t set -c "$1" -n "$2" -q 2>/dev/null | tr '\r' '\n' | sed -n 's/^SET: \([0-9.]*\) requests.*/\1/p'; }

out=$(mktemp)
for _ in $(seq "$runs"); do
  target/release/lock_bench --port "$port" --seconds "$secs" >>"$out"
  echo "set1 $(setrps 1 100000)" >>"$out"
  echo "set8 $(setrps 8 300000)" >>"$out"
done
files=$(mktemp -d)
target/release/lock_bench --file-dir "$files" --seconds "$secs" >"$out.file"

pick() { grep -F "$1" "$out" | awk -F'\t' '{print $NF}' | median; }
set1=$(grep '^set1' "$out" | awk '{print $2}' | median)
set8=$(grep '^set8' "$out" | awk '{print $2}' | median)
c1=$(pick "1 client, distinct keys")
c8=$(pick "8 clients, distinct keys")
cc=$(pick "8 clients, one contended key")
rt=$(pick "serial PING")
wm=$(pick "median")
wp=$(pick "p95")

echo "machine: $(nproc) cores, $(uname -sr), redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), loopback"
printf '%-40s %12s %12s %8s\n' "what (median of $runs)" "kart cyc/s" "SET rps" "ratio"
printf '%-40s %12.0f %12.0f %7.0f%%\n' "1 client, distinct keys" "$c1" "$set1" "$(echo "$c1 / $set1 * 100" | bc -l)"
printf '%-40s %12.0f %12.0f %7.0f%%\n' "8 clients, distinct keys" "$c8" "$set8" "$(echo "$c8 / $set8 * 100" | bc -l)"
printf '%-40s %12.0f %12.0f %7.0f%%\n' "8 clients, one contended key" "$cc" "$set8" "$(echo "$cc / $set8 * 100" | bc -l)"
printf '%-40s %12.0f %12s %7.0f%%\n' "  the same vs serial round trips (floor)" "$cc" "$(printf '%.0f' "$rt")" "$(echo "$cc / $rt * 100" | bc -l)"
printf '%-40s %12s ms\n' "release -> waiter wake-up, median" "$wm"
printf '%-40s %12s ms\n' "release -> waiter wake-up, p95" "$wp"
echo "file locks (one machine, for comparison):"
sed 's/^/  /' "$out.file"
