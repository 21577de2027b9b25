#!/usr/bin/env bash
# What sharing every event costs: Fanin(n) on a tmpfs workspace (--no-fsync), one process,
# shared events off and on, into the workspace's event log (file locks) and into a Redis
# stream (a loopback redis-server started here). Also the events the log received, counted
# from it, so a run that lost events shows. Medians of RUNS runs (default 5), wall time.
#
#   bash bench/shared_events.sh            # N=10000 RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10000}
runs=${RUNS:-5}
cargo build --release -q -p kart-bench
bin=target/release/kart-bench
. bench/lib.sh
start_redis
port=$redis_port redis=$redis_pid
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap 'kill $redis; rm -rf "$tmp"' EXIT
redis_flags=(--redis-host 127.0.0.1 --redis-port "$port" --redis-prefix bench)

# label, then kart's flags: the median wall time, and the events the shared log holds.
measure() {
  local label=$1
  shift
  local times=() shared=0
  for _ in $(seq "$runs"); do
    rm -rf "$tmp/ws"
    redis-cli -p "$port" flushall >/dev/null
    local start end
    start=$(date +%s.%N)
    "$bin" Fanin --n "$n" --no-fsync --workspace "$tmp/ws" "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
    shared=$(( $(cat "$tmp"/ws/.kart/events/*.jsonl 2>/dev/null | wc -l) + $(redis-cli -p "$port" xlen bench:events) ))
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  printf '%-36s %10.3f %14s\n' "$label" "$median" "$shared"
}

echo "Fanin($n), one process, $(nproc) cores, median of $runs runs"
printf '%-36s %10s %14s\n' "setup" "wall s" "events shared"
measure "file locks, not shared" --no-shared-events
measure "file locks, workspace event log"
measure "redis, not shared" "${redis_flags[@]}" --no-shared-events
measure "redis, Redis stream" "${redis_flags[@]}"
