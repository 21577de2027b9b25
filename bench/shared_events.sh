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

# One run of Fanin with kart's flags: prints "<wall s> <events in the shared log>".
once() {
  rm -rf "$tmp/ws"
  redis-cli -p "$port" flushall >/dev/null
  local start end
  start=$(date +%s.%N)
  "$bin" Fanin --n "$n" --no-fsync --workspace "$tmp/ws" "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $(( $(cat "$tmp"/ws/.kart/events/*.jsonl 2>/dev/null | wc -l) + $(redis-cli -p "$port" xlen bench:events) ))"
}
median() { sort -n | sed -n "$(((runs + 1) / 2))p"; }

# A backend, off and on in turn (the machine drifts; alternating keeps the pair comparable):
# the median of each, the overhead of the medians, and the events shared.
pair() {
  local label=$1
  shift
  : >"$tmp/off"
  : >"$tmp/on"
  for _ in $(seq "$runs"); do
    once "$@" --no-shared-events >>"$tmp/off"
    once "$@" >>"$tmp/on"
  done
  local off on
  off=$(cut -d' ' -f1 "$tmp/off" | median)
  on=$(cut -d' ' -f1 "$tmp/on" | median)
  printf '%-28s %10.3f %10.3f %+9.1f%% %14s\n' "$label" "$off" "$on" \
    "$(echo "($on - $off) * 100 / $off" | bc -l)" "$(tail -1 "$tmp/on" | cut -d' ' -f2)"
}

echo "Fanin($n), one process, $(nproc) cores, median of $runs runs each, off and on alternating"
printf '%-28s %10s %10s %10s %14s\n' "where events are shared" "off s" "on s" "overhead" "events shared"
pair "workspace event log"
pair "Redis stream" "${redis_flags[@]}"
