#!/usr/bin/env bash
# kart vs Luigi 3.8.1, side by side in one run, on the shapes of bench/src/main.rs and
# bench/luigi/pipeline.py (same output files). Installs Luigi into bench/.venv itself.
#
#   bash bench/compare.sh                 # every shape, 3 runs each (Luigi takes a while)
#   RUNS=1 SHAPES="fanin2000 rerun" bash bench/compare.sh
#
# Each run gets a fresh workspace; kart and Luigi alternate; the table shows medians of wall
# time and peak RSS (/usr/bin/time), per-task time, and Luigi/kart ratios. kart runs with
# --no-fsync, since Luigi's LocalTarget renames without fsync either.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${RUNS:-3}
shapes=${SHAPES:-"fanin2000 fanin10000 fanin10000w2 layered rerun range1 range100"}

. bench/luigi_venv.sh
cargo build --release -q -p kart-bench
kart=$root/target/release/kart-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The 10-year daily data set: 100 families, every tenth day missing in all of them.
make_days() {
  python3 - "$1" <<'PY'
import datetime, os, sys
root = sys.argv[1]
days = [datetime.date(2010, 1, 1) + datetime.timedelta(days=i) for i in range(3650)]
for f in range(100):
    d = f"{root}/daily/D{f:02}"
    os.makedirs(d, exist_ok=True)
    for i, day in enumerate(days):
        if i % 10 != 3:
            open(f"{d}/{day}.json", "w").write("1")
PY
}

# shape -> "tasks|kart args|luigi args|setup"
spec() {
  local range="--start 2010-01-01 --stop 2019-12-29 --days-back 100000 --task-limit 0"
  case $1 in
    fanin2000) echo "2001|Fanin --n 2000|Fanin --n 2000|" ;;
    fanin10000) echo "10001|Fanin --n 10000|Fanin --n 10000|" ;;
    fanin10000w2) echo "10001|Fanin --n 10000 --workers 2|Fanin --n 10000 --workers 2|" ;;
    layered) echo "10500|Layered --layers 20 --width 500|Layered --layers 20 --width 500|" ;;
    rerun) echo "10001|Fanin --n 10000|Fanin --n 10000|rerun" ;;
    range1) echo "3649|RangeDaily --of D07 $range|RangeDaily --of D07 $range|days" ;;
    range100) echo "3649|RangeDaily --of AllDaily $range|RangeDaily --of AllDaily $range|days" ;;
    *) echo "unknown shape $1" >&2; exit 2 ;;
  esac
}

measure() { # prints "seconds kib" of the command
  local out=$work/time.txt
  /usr/bin/time -f "%e %M" -o "$out" "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; echo "failed: $*" >&2; exit 1; }
  cat "$out"
}

prepare() { # prints the workspace for one run: fresh, or the shared read-only data set
  local ws=$1 setup=$2
  if [ "$setup" = days ]; then
    # With --task-limit 0 neither side writes: both read the one prepared data set.
    echo "$work/days"
    return
  fi
  rm -rf "$ws"; mkdir -p "$ws"
  if [ "$setup" = rerun ]; then "$kart" Fanin --n 10000 --no-fsync --workspace "$ws" >/dev/null; fi
  # Let the filesystem settle (deleting the last run's files keeps the journal busy).
  sync; sleep 1
  echo "$ws"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [[ " $shapes " == *" range"* ]]; then make_days "$work/days"; fi

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(python3 --version), Luigi $(bench/.venv/bin/python -c 'import luigi; print(luigi.__version__)'), $(rustc --version)"
printf '%-14s %6s | %9s %9s %8s | %9s %9s %8s | %7s\n' shape tasks "kart s" "kart MiB" "kart µs" "luigi s" "luigi MiB" "luigi µs" "luigi/kart"
for shape in $shapes; do
  IFS='|' read -r tasks kart_args luigi_args setup <<<"$(spec "$shape")"
  : >"$work/k"; : >"$work/l"
  for _ in $(seq "$runs"); do
    ws=$(prepare "$work/ws" "$setup")
    # shellcheck disable=SC2086
    measure "$kart" $kart_args --no-fsync --workspace "$ws" >>"$work/k"
    ws=$(prepare "$work/ws" "$setup")
    # shellcheck disable=SC2086
    (cd bench/luigi && BENCH_WORKSPACE=$ws PYTHONPATH=. measure ../.venv/bin/python -m luigi --module pipeline $luigi_args --local-scheduler) >>"$work/l"
  done
  ks=$(awk '{print $1}' "$work/k" | median); km=$(awk '{print $2}' "$work/k" | median)
  ls_=$(awk '{print $1}' "$work/l" | median); lm=$(awk '{print $2}' "$work/l" | median)
  printf '%-14s %6d | %9.3f %9.1f %8.1f | %9.3f %9.1f %8.1f | %7.0fx\n' "$shape" "$tasks" \
    "$ks" "$(echo "$km/1024" | bc -l)" "$(echo "$ks*1000000/$tasks" | bc -l)" \
    "$ls_" "$(echo "$lm/1024" | bc -l)" "$(echo "$ls_*1000000/$tasks" | bc -l)" \
    "$(echo "$ls_/($ks+0.0005)" | bc -l)"
done
