#!/usr/bin/env bash
# Table outputs against the driver alone, on a local PostgreSQL cluster (made here with initdb,
# started with pg_ctl on a free port, fsync on) and a SQLite file on the same disk: a range's
# decision over N markers from one query against N single-row checks, and a bulk insert of R
# rows through kart's transaction-with-marker against the driver alone, each into a fresh table,
# alternating which goes first, best of three rounds.
#
#   N=3650 R=30000 bash bench/tables.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-3650}
rows=${R:-30000}
cargo build --release -q -p kart-bench --bin table_bench
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d -p "${BENCH_DIR:-/tmp}")
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; as_pg=(runuser -u postgres --); fi
cleanup() { "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U bench --auth trust >/dev/null
. bench/lib.sh
port=$(free_port)
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null
echo "machine: $(nproc) cores, $(uname -sr); PostgreSQL $("$bin/postgres" --version | awk '{print $3}'), SQLite bundled; disk: $(df --output=fstype "$dir" | tail -1)"
target/release/table_bench "postgres://bench@127.0.0.1:$port/postgres" "$dir/bench.db" "$n" "$rows"
