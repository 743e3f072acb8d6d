#!/usr/bin/env bash
# Runner overhead benchmark: calls/s and p50/p99 latency of the echo function (fn-test/fdk)
# through one fn-runner (fnlb bench, one function, warm containers) at concurrency 1 and 8,
# next to the physical limit: the same requests sent straight to a hot container's socket
# (fnlb bench --direct-socket, HTTP/1.1 keep-alive POST /call). Also the runner's CPU time per
# call and its RSS, from /proc.
#
# Two floors sit between them: "bare gRPC", the same Engage-shaped exchange between two
# processes with nothing else (tests/bench/grpc_floor_bench, callback API as fn-runner, with
# and without the one thread crossing fn-runner's agent adds), and the runner refusing the
# stream at admission (no agent, no function).
#
# Every path is measured ROUNDS times, interleaved (one round runs each path once), so drift
# in this shared machine's load lands on all paths alike. The summary gives means with 95 %
# confidence intervals, and the ratios that matter computed within each round.
#
# usage: tests/bench/runner_bench.sh [--build DIR] [--out FILE]
#   Settings (environment): ROUNDS (5), DURATION (s per run, 10), WARMUP (s, 3), BODY_BYTES (64).
# Appends a dated section to tests/bench/results/runner.md (or --out). Needs the build
# (fn-runner, fnlb, grpc_floor_bench), a running dockerd, fn-test/fdk:latest, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$here/results/runner.md
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
BODY_BYTES=${BODY_BYTES:-64}

source "$here/bench_lib.sh"
require_bench_build "$build"
floor_bench=$build/tests/bench/grpc_floor_bench
[[ -x $floor_bench ]] || { echo "missing $floor_bench: build grpc_floor_bench first" >&2; exit 1; }

work=$(mktemp -d /tmp/fnlb-bench-XXXXXX)
results=$work/runner.jsonl
runner_pid=""
container=""
bare_pids=()
tag=fn-runner-test-bench-runner

cleanup() {
  if [[ -n $runner_pid ]]; then kill -TERM "$runner_pid" 2>/dev/null || true; wait "$runner_pid" 2>/dev/null || true; fi
  if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  local p
  for p in "${bare_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  remove_tagged_containers "$tag"
  rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }  # heap and stacks, not code
hz=$(getconf CLK_TCK)

# record ROUND LABEL CONCURRENCY JSON [CPU_TICKS] [RSS_KB] [ANON_KB]
record() {
  local round=$1
  shift
  python3 -c '
import json, sys
d = json.loads(sys.argv[3])
d["label"], d["concurrency"], d["round"] = sys.argv[1], int(sys.argv[2]), int(sys.argv[7])
ticks, hz = sys.argv[4], int(sys.argv[6])
d["runner_cpu_ms_per_call"] = (int(ticks) * 1000.0 / hz / max(d["calls"], 1)) if ticks else None
d["runner_rss_mb"] = (int(sys.argv[5]) / 1024.0) if sys.argv[5] else None
d["runner_anon_mb"] = (int(sys.argv[8]) / 1024.0) if sys.argv[8] else None
print(json.dumps(d))' "$1" "$2" "$3" "${4:-}" "${5:-}" "$hz" "$round" "${6:-}" >>"$results"
}

# fnlb's --duration includes its warm-up: DURATION seconds are recorded after WARMUP.
bench_args=(--json --functions 1 --duration "$((DURATION + WARMUP))" --warmup "$WARMUP"
  --body-bytes "$BODY_BYTES" --placer naive --fn-prefix runner-bench-)

# --- Start every server once; the rounds reuse them warm ---
grpc=$(free_port)
http=$(free_port)
FN_CONTAINER_LABEL_TAG=$tag "$runner_bin" --listen-host=127.0.0.1 --grpc-port="$grpc" \
  --port="$http" --instance=fn-runner-test-instance-bench-runner \
  >"$work/runner.out" 2>"$work/runner.err" &
runner_pid=$!
await_serving "$work/runner.err"

iofs=$work/iofs
mkdir -p "$iofs" && chmod 0777 "$iofs"
container=$(docker run -d --init --read-only --tmpfs /tmp --user 1000:1000 \
  -v "$iofs:/tmp/iofs" -e FN_LISTENER=unix:/tmp/iofs/lsnr.sock -e FN_FORMAT=http-stream \
  --memory 128m --label fn-runner-test=1 fn-test/fdk:latest)
for ((t = 0; t < 100; t++)); do [[ -S $iofs/lsnr.sock ]] && break; sleep 0.1; done

bare_port=$(free_port)
"$floor_bench" serve --api=callback --port="$bare_port" 2>"$work/bare.err" &
bare_pids+=($!)
hop_port=$(free_port)
"$floor_bench" serve --api=callback --port="$hop_port" --handoff=true 2>"$work/hop.err" &
bare_pids+=($!)

# measure ROUND LABEL CONCURRENCY [fnlb bench args...]: one run through the runner, recorded
# with the runner's CPU per call and RSS.
measure() {
  local round=$1 label=$2 concurrency=$3 before after line ticks
  shift 3
  before=$(cpu_ticks "$runner_pid")
  line=$("$fnlb" bench --runners "127.0.0.1:$grpc" --concurrency "$concurrency" \
    "${bench_args[@]}" "$@")
  after=$(cpu_ticks "$runner_pid")
  # CPU over the whole run includes the warm-up's calls; count them in by scaling to the
  # recorded share of the run (the warm-up has the same rate once containers are warm).
  ticks=$(python3 -c "print(round(($after - $before) * $DURATION / ($DURATION + $WARMUP)))")
  record "$round" "$label" "$concurrency" "$line" "$ticks" "$(rss_kb "$runner_pid")" \
    "$(anon_kb "$runner_pid")"
}

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS" >&2
  measure "$round" runner 1
  measure "$round" runner 8
  # The same Engage stream (TryCall, body, eof) answered at once by the runner's admission
  # with a refusal (memory no machine has: 400). Every such call is an "error".
  measure "$round" refused 1 --memory 100000000
  for bare in "bare:$bare_port" "hop:$hop_port"; do
    line=$("$floor_bench" ping --target="127.0.0.1:${bare#*:}" --seconds="$DURATION" \
      --warmup="$WARMUP")
    record "$round" "${bare%%:*}" 1 "$line"
  done
  for c in 1 8; do
    line=$("$fnlb" bench --direct-socket "$iofs/lsnr.sock" --concurrency "$c" "${bench_args[@]}")
    record "$round" direct "$c" "$line"
  done
done

python3 "$here/runner_bench_report.py" "$results" "$ROUNDS" "$DURATION" "$WARMUP" "$BODY_BYTES" \
  | tee -a "$out"
