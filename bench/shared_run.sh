#!/usr/bin/env bash
# Several processes sharing one run, side by side: kart with task claims over a loopback
# Redis, and Luigi 3.8.1 with its central scheduler `luigid` — the same Fanin(n) shape, the
# same number of worker processes (one worker thread each), started together. Prints the
# wall time until the last process ends, and checks each leaf ran once. First, in the same run,
# one kart process without claims: the baseline that gives claims' cost per task.
#
#   N=10000 PROCS="1 2 4" bash bench/shared_run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000}
procs_list=${PROCS:-"1 2 4"}
. bench/luigi_venv.sh
cargo build --release -q -p kart-bench
kart=$PWD/target/release/kart-bench
. bench/lib.sh
work=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
start_redis
rport=$redis_port redis=$redis_pid
lport=$(free_port)
luigid=
trap 'kill $redis $luigid 2>/dev/null; rm -rf "$work"' EXIT

# A fresh luigid (it remembers finished tasks), ready to answer.
start_luigid() {
  if [ -n "$luigid" ]; then kill "$luigid"; wait "$luigid" 2>/dev/null || true; fi
  rm -rf "$work/luigid"; mkdir -p "$work/luigid"
  bench/.venv/bin/luigid --port "$lport" --address 127.0.0.1 --logdir "$work/luigid" \
    --state-path "$work/luigid/state.pickle" >/dev/null 2>&1 &
  luigid=$!
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $lport), 1)" 2>/dev/null && return
    sleep 0.2
  done
}

# Runs `procs` copies of the command given, together; prints the seconds until all ended.
together() {
  local procs=$1
  shift
  local start end pids=()
  start=$(date +%s.%N)
  for _ in $(seq "$procs"); do
    "$@" >>"$work/out.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

echo "machine: $(nproc) cores, $(uname -sr), Luigi $(bench/.venv/bin/python -c 'import luigi; print(luigi.__version__)'); Fanin($n), one worker per process, workspaces on $(df --output=fstype "$work" | tail -1)"
sleep 0.5
kart_run() {
  "$kart" Fanin --n "$n" --no-fsync --workspace "$work/k" \
    --redis-host 127.0.0.1 --redis-port "$rport" --events "$work/k.events" "$@"
}
rm -rf "$work/k"
base=$(together 1 kart_run --no-claims)
rm -f "$work/k.events"
printf 'kart, 1 process, no claims: %.2f s\n' "$base"
printf '%9s | %12s %12s %14s | %12s %12s | %9s\n' processes "kart s" "kart runs" "claims µs/task" "luigid s" "luigi runs" luigi/kart
for procs in $procs_list; do
  rm -rf "$work/k" "$work/l"
  redis-cli -p "$rport" flushall >/dev/null
  ks=$(together "$procs" kart_run)
  kruns=$(grep -c '"event":"started","task_id":"Leaf_' "$work/k.events" || true)
  rm -f "$work/k.events"
  start_luigid
  ls_=$(cd bench/luigi && BENCH_WORKSPACE=$work/l PYTHONPATH=. together "$procs" \
    ../.venv/bin/python -m luigi --module pipeline Fanin --n "$n" --workers 1 \
    --scheduler-host 127.0.0.1 --scheduler-port "$lport")
  lruns=$(find "$work/l" -type f | wc -l)
  printf '%9s | %12.2f %12s %14.0f | %12.2f %12s | %8.0fx\n' "$procs" "$ks" "$kruns" \
    "$(echo "($ks - $base) * 1000000 / ($n + 1)" | bc -l)" "$ls_" "$lruns" "$(echo "$ls_ / $ks" | bc -l)"
done
