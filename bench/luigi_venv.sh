# Sourced by the benchmark scripts: installs Luigi 3.8.1 into bench/.venv unless it is there.
if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import luigi' 2>/dev/null; then
  echo "installing Luigi 3.8.1 into bench/.venv" >&2
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q luigi==3.8.1
fi
