#!/usr/bin/env bash
# Does kart's cost grow linearly with the number of tasks? For each size in SIZES it runs
# `Fanin --n N` and `Layered --layers 10 --width N/10` (bench/src/main.rs) into a fresh
# workspace, then reruns them over the complete outputs, recording wall time and peak RSS
# (/usr/bin/time). At the largest size it also runs Fanin with `--events` (a line per event)
# to show what the event stream costs, and with its live bar on a pseudo-terminal; and Fanin
# without task claims at the smallest and largest sizes. Medians of RUNS runs (sizes of a
# million or more run once); kart runs with --no-fsync, since the point is kart's own cost,
# not the disk's.
#
# The workspaces live on a tmpfs (/dev/shm) by default: on a VM disk the latency of creating
# files swings more from minute to minute than the growth being measured. A first run keeps
# two files per task (the output and its claim's lock file), so a million tasks need some
# 2.5 million inodes with the temporaries: a default /dev/shm may have fewer.
# Mount a tmpfs without an inode limit and point DIR at it:
#
#   bash bench/growth.sh
#   mount -t tmpfs -o size=20G,nr_inodes=0 tmpfs /mnt/kart && DIR=/mnt/kart bash bench/growth.sh
#   SIZES="10000 100000" RUNS=5 bash bench/growth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
sizes=${SIZES:-"10000 100000 1000000"}
base=${DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || { echo "growth.sh: $base is not a writable directory; set DIR" >&2; exit 2; }
largest=$(tr ' ' '\n' <<<"$sizes" | sort -n | tail -1)
free_inodes=$(df --output=iavail "$base" | tail -1 | tr -d ' ')
if [ "$free_inodes" != "-" ] && [ "$free_inodes" -gt 0 ] && [ "$free_inodes" -lt $((largest * 5 / 2)) ]; then
  echo "growth.sh: $base has $free_inodes free inodes; $largest tasks need about $((largest * 5 / 2))." >&2
  echo "  mount -t tmpfs -o size=20G,nr_inodes=0 tmpfs /mnt/kart && DIR=/mnt/kart bash bench/growth.sh" >&2
  exit 2
fi
cargo build --release -q -p kart-bench
bin=target/release/kart-bench
work=$(mktemp -d "$base/kart-growth.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One run: prints "seconds KiB" of `kart-bench "$@" --workspace $work/ws`; with on_tty set,
# on a pseudo-terminal from `script`, where kart draws its live bar.
measure() {
  local cmd=(/usr/bin/time -f '%e %M' -o "$work/time" "$bin" "$@" --no-fsync --workspace "$work/ws")
  if [ -n "${on_tty:-}" ]; then
    script -qec "$(printf '%q ' "${cmd[@]}")" /dev/null >"$work/err" 2>&1 || { tail -5 "$work/err" >&2; exit 1; }
  else
    "${cmd[@]}" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  fi
  cat "$work/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Runs shape "$@" RUNS times from empty and again complete; prints one table row.
row() {
  local label=$1 tasks=$2 extra=$3
  shift 3
  local n=$runs
  [ "$tasks" -ge 1000000 ] && n=1
  : >"$work/first"
  : >"$work/rerun"
  for _ in $(seq "$n"); do
    rm -rf "$work/ws" && mkdir "$work/ws"
    # shellcheck disable=SC2086
    measure "$@" $extra >>"$work/first"
    # shellcheck disable=SC2086
    measure "$@" $extra >>"$work/rerun"
  done
  rm -rf "$work/ws"
  local f fm r rm_
  f=$(awk '{print $1}' "$work/first" | median)
  fm=$(awk '{print $2}' "$work/first" | median)
  r=$(awk '{print $1}' "$work/rerun" | median)
  rm_=$(awk '{print $2}' "$work/rerun" | median)
  printf '| %s | %d | %.2f s | %.1f µs | %.0f MiB (%.0f B/task) | %.2f s | %.2f µs | %.0f MiB |\n' \
    "$label" "$tasks" "$f" "$(echo "$f * 1000000 / $tasks" | bc -l)" "$(echo "$fm / 1024" | bc -l)" \
    "$(echo "$fm * 1024 / $tasks" | bc -l)" "$r" "$(echo "$r * 1000000 / $tasks" | bc -l)" \
    "$(echo "$rm_ / 1024" | bc -l)"
}

echo "machine: $(nproc) cores, $(uname -sr), workspace on $(df -T "$work" | awk 'NR==2 {print $2}'), runs: $runs (1 at a million)"
echo "| shape | tasks | first run | per task | peak RSS | rerun | per task | rerun RSS |"
echo "|---|---|---|---|---|---|---|---|"
for n in $sizes; do
  row "Fanin($n)" $((n + 1)) "" Fanin --n "$n"
done
for n in $sizes; do
  row "Layered(10, $((n / 10)))" $((n + 1)) "" Layered --layers 10 --width $((n / 10))
done
row "Fanin($largest) --events" $((largest + 1)) "--events $work/events.jsonl" Fanin --n "$largest"
on_tty=1 row "Fanin($largest) with the bar" $((largest + 1)) "" Fanin --n "$largest"
# Without claims a task keeps one file instead of two (bench/fsync_floor.sh's write_floor
# shows what the file count alone costs at each size).
smallest=$(tr ' ' '\n' <<<"$sizes" | sort -n | head -1)
for n in $smallest $largest; do
  row "Fanin($n) --no-claims" $((n + 1)) "--no-claims" Fanin --n "$n"
done
