#!/usr/bin/env bash
# What task claims cost, and what several processes sharing one run gain: Fanin(n) on a tmpfs
# workspace, with file locks and with a loopback Redis, claims on and off, by 1, 2 and 4
# processes started together on the same run. Medians of RUNS runs (default 3).
#
#   bash bench/claims.sh            # N=10000 RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10000}
runs=${RUNS:-3}
cargo build --release -q -p kart-bench
bin=target/release/kart-bench
. bench/lib.sh
start_redis
port=$redis_port redis=$redis_pid
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'kill $redis; rm -rf "$tmp"' EXIT

# One setup: label, processes, extra flags. Prints the median wall time of `runs` runs.
measure() {
  local label=$1 procs=$2
  shift 2
  local times=()
  for _ in $(seq "$runs"); do
    rm -rf "$tmp/ws"
    redis-cli -p "$port" flushall >/dev/null
    local start end
    start=$(date +%s.%N)
    for _ in $(seq "$procs"); do
      "$bin" Fanin --n "$n" --no-fsync --workspace "$tmp/ws" "$@" >/dev/null 2>&1 &
    done
    wait $(jobs -p | grep -v "^$redis$") 2>/dev/null || true
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  printf '%-28s %9s %10.3f %12.1f\n' "$label" "$procs" "$median" "$(echo "$median * 1000000 / ($n + 1)" | bc -l)"
}

echo "machine: $(nproc) cores, $(uname -sr); Fanin($n), tmpfs, --no-fsync, $runs runs each (median)"
printf '%-28s %9s %10s %12s\n' setup processes "wall s" "µs per task"
measure "file locks, no claims" 1 --no-claims
measure "file locks, claims" 1
measure "file locks, claims" 2
measure "file locks, claims" 4
measure "redis, no claims" 1 --no-claims --redis-host 127.0.0.1 --redis-port "$port"
measure "redis, claims" 1 --redis-host 127.0.0.1 --redis-port "$port"
measure "redis, claims" 2 --redis-host 127.0.0.1 --redis-port "$port"
measure "redis, claims" 4 --redis-host 127.0.0.1 --redis-port "$port"
