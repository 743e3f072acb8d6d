#!/usr/bin/env bash
# Runs every test of fn-runner on a fresh Debian 12 machine or a warm one:
#   1. installs missing packages (scripts/setup.sh) and ensures a Docker engine (scripts/dockerd.sh);
#   2. compiles everything with clang -Wthread-safety -Werror (lock annotations checked);
#   3. builds with g++ under ASan+UBSan and runs the unit and integration tests;
#   4. builds the main (RelWithDebInfo, g++) tree, the FDK test images and the runner image
#      (deploy/image/build.sh), and runs every test (unit, integration, e2e, deploy);
#   5. fails if any test left a container, an iofs directory or a temp dir behind.
# Options: --quick skips stages 2 and 3 (the inner loop). Build trees: build/, build-asan/,
# build-clang/ (reused between runs, so a second run only rebuilds what changed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

stage() { echo; echo "==== $* ($(date +%T))"; }

stage "dependencies"
scripts/setup.sh
scripts/dockerd.sh

jobs=$(nproc)
# ccache with paths relative to the checkout: a fresh clone (CI) reuses objects compiled from
# the same sources in any other clone on this machine.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
configure() {  # configure <dir> [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja -Wno-dev "${launcher[@]}" "$@" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; return 1; }
}

# Removes what an interrupted or failed run could leave, before and after the tests.
scripts/check_leftovers.sh --clean-only

if ((quick == 0)); then
  stage "clang -Wthread-safety build"
  mkdir -p build-clang
  CC=clang CXX=clang++ configure build-clang -DCMAKE_BUILD_TYPE=Debug -DFN_THREAD_SAFETY=ON
  cmake --build build-clang -j "$jobs"

  stage "ASan+UBSan build and tests (unit, integration)"
  mkdir -p build-asan
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DFN_SANITIZE=ON
  cmake --build build-asan -j "$jobs"
  tests/functions/build_images.sh build-asan
  # Same binaries as the last passing sanitizer run means the same verdict: skip them, so a
  # second run stays fast. A fresh checkout (CI) has no stamp and always runs them.
  stamp=build-asan/.passed-stamp
  # The e2e binaries do not run in this stage, so they are not part of its verdict.
  fingerprint=$(find build-asan -type f -perm -u+x \( -name '*_test' -o -name 'fn-runner' \
      -o -name 'fdk-test-function' \) ! -name '*e2e_test' -print0 | sort -z |
    xargs -0 sha256sum | sha256sum)
  if [[ -f $stamp && $(cat "$stamp") == "$fingerprint" ]]; then
    echo "ASan+UBSan: test binaries unchanged since their last passing run; not rerun" \
      "(rm $stamp to force)"
  else
    rm -f "$stamp"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan -L 'unit|integration' --output-on-failure -j "$jobs" \
        --timeout 600
    scripts/check_leftovers.sh
    echo "$fingerprint" >"$stamp"
  fi
fi

stage "main build and all tests"
mkdir -p build
configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
tests/functions/build_images.sh build
# The image the deploy tests run: the same sources in the Dockerfile's own build (cached when
# nothing changed; ccache in a BuildKit cache mount otherwise).
deploy/image/build.sh
# The leftover check runs after ctest and prints nothing when clean, so ctest's summary stays
# the last lines of the output.
status=0
# Twice as many tests as cores: the dockerd-bound tests mostly wait on the engine.
ctest --test-dir build --output-on-failure -j $((jobs * 2)) --timeout 600 || status=$?
scripts/check_leftovers.sh || status=1
exit $status
