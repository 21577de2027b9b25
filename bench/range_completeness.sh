#!/usr/bin/env bash
# Bulk completeness benchmark: RangeDaily over 10 years (2010-01-01 .. 2019-12-29, 3 649 days)
# of 100 daily families (the `AllDaily` wrapper of bench/src/main.rs), with 90 % of the days
# complete. Prints kart's decision time (bulk and one-by-one, single family and all 100) next
# to the raw cost of listing the same directories, measured in the same run.
# DIR=/dev/shm puts the data set on another filesystem (default: the system's temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
ws=$(mktemp -d "${DIR:-${TMPDIR:-/tmp}}/kart-range.XXXXXX")
trap 'rm -rf "$ws"' EXIT

cargo build --release -q -p kart-bench
bin=target/release/kart-bench

python3 - "$ws" <<'PY'
import datetime, os, sys
root = sys.argv[1]
days = [datetime.date(2010, 1, 1) + datetime.timedelta(days=i) for i in range(3650)]
for f in range(100):
    d = f"{root}/daily/D{f:02}"
    os.makedirs(d)
    for i, day in enumerate(days):
        if i % 10 != 3:  # every tenth day missing in every family
            open(f"{d}/{day}.json", "w").write("1")
PY

decide() { # prints the decision time in ms reported by kart
  "$bin" "$@" --start 2010-01-01 --stop 2019-12-29 --days-back 100000 --task-limit 10 \
    --workspace "$ws" --dry-run -v 2>&1 | sed -n 's/.*decided in \([0-9.]*\) ms.*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(uname -sr), $(df -T "$ws" | awk 'NR==2 {print $2}') filesystem"
printf '%-46s %10s\n' "what (median of $runs runs)" "ms"
for spec in "RangeDaily --of AllDaily" "RangeDailyBase --of AllDaily" "RangeDaily --of D07" "RangeDailyBase --of D07"; do
  t=$(for _ in $(seq "$runs"); do decide $spec; done | median)
  printf '%-46s %10s\n' "$spec" "$t"
done
dirs=$(cd "$ws" && echo daily/D*)
for t in 1 "$(nproc)"; do
  # shellcheck disable=SC2086
  floor=$(for _ in $(seq "$runs"); do target/release/list_floor "$ws" $dirs --threads "$t" 2>/dev/null; done | median)
  printf '%-46s %10s\n' "floor: kart's listing alone, $t thread(s)" "$floor"
done
floor=$(for _ in $(seq "$runs"); do python3 -c "
import os, sys, time
root = sys.argv[1] + '/daily'
t = time.perf_counter()
n = sum(len(os.listdir(os.path.join(root, d))) for d in os.listdir(root))
print((time.perf_counter() - t) * 1000)" "$ws"; done | median)
printf '%-46s %10.1f\n' "floor: python os.listdir of the 100 directories" "$floor"
