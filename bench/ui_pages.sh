#!/usr/bin/env bash
# How quickly `ui` answers for a large run: Fanin(n) (n + 1 tasks, about 3 events each) is
# run once into a tmpfs workspace, sharing its events in the workspace's event log; then
# `kart-bench ui` reads that log and each page is fetched RUNS times (curl's total time, a
# loopback connection each). Also how long the ui took to read the whole log before answering.
#
#   bash bench/ui_pages.sh            # N=100000 RUNS=5
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
runs=${RUNS:-5}
cargo build --release -q -p kart-bench
bin=target/release/kart-bench
. bench/lib.sh
tmp=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
ui=
trap '[ -n "$ui" ] && kill $ui; rm -rf "$tmp"' EXIT

"$bin" Fanin --n "$n" --no-fsync --workspace "$tmp/ws" >/dev/null 2>&1
events=$(cat "$tmp"/ws/.kart/events/*.jsonl | wc -l)
port=$(free_port)
start=$(date +%s.%N)
"$bin" ui --bind "127.0.0.1:$port" --workspace "$tmp/ws" >/dev/null 2>&1 &
ui=$!
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.05; done
ready=$(echo "$(date +%s.%N) - $start" | bc)
task=$(grep -m1 -oh '"task_id":"Leaf_[^"]*"' "$tmp"/ws/.kart/events/*.jsonl | cut -d'"' -f4)
family=${task%%_*}
run=$(basename "$(ls "$tmp"/ws/.kart/events/*.jsonl | head -1)" .jsonl)

median() { sort -n | sed -n "$(((runs + 1) / 2))p"; }
echo "Fanin($n): $events events in the log; the ui answered $(printf '%.2f' "$ready") s after it started; $(nproc) cores"
printf '%-48s %10s %12s\n' "page (median of $runs)" "ms" "bytes"
for path in / /families "/family/$family" "/task/$task" "/run/$run"; do
  ms=$(for _ in $(seq "$runs"); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port$path"; done | median)
  bytes=$(curl -s "http://127.0.0.1:$port$path" | wc -c)
  printf '%-48s %10.1f %12s\n' "$path" "$(echo "$ms * 1000" | bc -l)" "$bytes"
done
