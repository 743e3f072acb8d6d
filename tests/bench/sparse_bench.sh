#!/usr/bin/env bash
# Sparse traffic: one caller, a think time after every answer longer than the freeze delay,
# so every call finds its container frozen (issue #12 (a)). The echo function
# (fn-test/fdk:latest), one function, through fnlb bench with --think; p50/p90/p99 per runner.
#
# Runners this script starts itself, each on its own loopback port and label tag:
#   warm     fn-runner that never freezes (FN_FREEZE_IDLE_MSECS=-1): the warm-call floor
#   cgroup   fn-runner freezing through the cgroup freezer (FN_DOCKER_FREEZER=cgroup)
#   engine   fn-runner freezing through Docker's pause (FN_DOCKER_FREEZER=engine), fn's way
# plus any NAME=HOST:PORT given (e.g. fn's own pure runner, started by hand: nothing of fn is
# in this repository). ROUNDS interleaved rounds; the report gives means with 95 % CIs and,
# within each round, each runner's p50 minus the warm p50.
#
# usage: tests/bench/sparse_bench.sh [--build DIR] [--out FILE] [NAME=HOST:PORT ...]
#   Settings (environment): ROUNDS (5), DURATION (s recorded per run, 20), WARMUP (s, 2),
#   THINK (s between calls, 0.3).
# Appends a dated section to tests/bench/results/sparse.md (or --out).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$here/results/sparse.md
extra=()
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *=*) extra+=("$1"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-2}
THINK=${THINK:-0.3}

source "$here/bench_lib.sh"
require_bench_build "$build"

work=$(mktemp -d /tmp/fnlb-sparse-XXXXXX)
results=$work/sparse.jsonl
pids=()
tags=()
cleanup() {
  local p t
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for t in "${tags[@]}"; do remove_tagged_containers "$t"; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_runner NAME ENV...: an fn-runner on a free port with ENV; appends NAME=HOST:PORT.
targets=()
start_runner() {
  local name=$1 port
  shift
  port=$(free_port)
  tags+=("fn-runner-test-bench-sparse-$name")
  env "$@" FN_CONTAINER_LABEL_TAG="fn-runner-test-bench-sparse-$name" \
    "$runner_bin" --grpc-port "$port" --port 0 --iofs-path "$work" 2>"$work/$name.log" &
  pids+=($!)
  await_serving "$work/$name.log"
  targets+=("$name=127.0.0.1:$port")
}
start_runner warm FN_FREEZE_IDLE_MSECS=-1
start_runner cgroup FN_DOCKER_FREEZER=cgroup
start_runner engine FN_DOCKER_FREEZER=engine
targets+=("${extra[@]}")

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS" >&2
  for target in "${targets[@]}"; do
    name=${target%%=*}
    line=$("$fnlb" bench --runners "${target#*=}" --concurrency 1 --think "$THINK" --json \
      --functions 1 --duration "$((DURATION + WARMUP))" --warmup "$WARMUP" --placer naive \
      --fn-prefix "sparse-$name-")
    python3 -c 'import json, sys
d = json.loads(sys.argv[1]); d.update(label=sys.argv[2], round=int(sys.argv[3]))
print(json.dumps(d))' "$line" "$name" "$round" >>"$results"
  done
done

python3 "$here/sparse_bench_report.py" "$results" "$ROUNDS" "$DURATION" "$WARMUP" "$THINK" \
  "${targets[@]%%=*}" | tee -a "$out"
