# Sourced by the benchmark scripts: a free loopback port, and a throwaway redis-server.

# A TCP port free on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts redis-server on a free loopback port, no persistence, and waits until it answers.
# Sets redis_port and redis_pid; the caller kills it.
start_redis() {
  command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install -y redis-server)" >&2; exit 2; }
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "${TMPDIR:-/tmp}" >/dev/null &
  redis_pid=$!
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
}
