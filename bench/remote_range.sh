#!/usr/bin/env bash
# Range completeness on object storage vs local disk: RangeDaily / RangeDailyBase of one daily
# family over 10 years (3 649 days, 90 % present), deciding what is missing, on a local
# directory and on an S3 bucket served by moto on loopback (installed into /opt/kart-moto as
# .ci/run does). Prints kart's decision time and the requests it sent.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
work=$(mktemp -d)
moto=/opt/kart-moto/bin/moto_server
if [ ! -x "$moto" ]; then
  python3 -m venv /opt/kart-moto && /opt/kart-moto/bin/pip install -q 'moto[server]==5.2.5'
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port

cargo build --release -q -p kart-bench
bin=target/release/kart-bench

# The same 3 285 outputs on disk and in the bucket.
/opt/kart-moto/bin/python - "$work" "$AWS_ENDPOINT_URL" <<'PY'
import datetime, os, sys, time, boto3
root, endpoint = sys.argv[1], sys.argv[2]
for _ in range(100):
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint); s3.create_bucket(Bucket="bench"); break
    except Exception:
        time.sleep(0.1)
days = [datetime.date(2010, 1, 1) + datetime.timedelta(days=i) for i in range(3650)]
os.makedirs(f"{root}/local/daily/D07")
for i, day in enumerate(days):
    if i % 10 != 3:
        open(f"{root}/local/daily/D07/{day}.json", "w").write("1")
        s3.put_object(Bucket="bench", Key=f"ws/daily/D07/{day}.json", Body=b"1")
PY

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
        print(' '.join(f'{k}={e[k]}' for k in ('head', 'list')))" "$events" 2>/dev/null || true)
  echo "$ms ${req:--}"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(uname -sr); moto $(/opt/kart-moto/bin/pip show moto | sed -n 's/^Version: //p') on loopback"
printf '%-40s %10s  %s\n' "what (median of $runs runs)" "ms" "requests"
for spec in "RangeDaily --of D07" "RangeDailyBase --of D07"; do
  for ws in "$work/local" "s3://bench/ws"; do
    results=$(for _ in $(seq "$runs"); do decide "$ws" $spec; done)
    t=$(echo "$results" | awk '{print $1}' | median)
    r=$(echo "$results" | tail -1 | cut -d' ' -f2-)
    where=local; [[ $ws == s3://* ]] && where=s3
    printf '%-40s %10s  %s\n' "$spec ($where)" "$t" "$r"
  done
done
