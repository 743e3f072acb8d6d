#!/usr/bin/env bash
# Sets up a machine (packages, Docker engine), builds fn-runner and runs it in the foreground.
# Arguments are passed to fn-runner (see `fn-runner --help`); FN_* environment variables work
# as in fn's runner.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/dockerd.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -Wno-dev >build/configure.log 2>&1 ||
  { cat build/configure.log; exit 1; }

if ! grep -q 'fn-runner' build/build.ninja 2>/dev/null || [[ ! -f runner/main.cc ]]; then
  echo "run.sh: the fn-runner binary does not exist yet (runner issue not landed)." >&2
  exit 1
fi
cmake --build build --target fn-runner
echo "run.sh: starting build/runner/fn-runner $*"
exec build/runner/fn-runner "$@"
