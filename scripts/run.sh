#!/usr/bin/env bash
# Sets up a machine (packages, Docker engine), builds fn-runner and runs it in the foreground.
# Arguments are passed to fn-runner (see `fn-runner --help`); FN_* environment variables work
# as in fn's runner.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/dockerd.sh
mkdir -p build
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -Wno-dev "${launcher[@]}" \
  >build/configure.log 2>&1 ||
  { cat build/configure.log; exit 1; }

cmake --build build --target fn-runner
echo "run.sh: starting build/runner/fn-runner $*"
exec build/runner/fn-runner "$@"
