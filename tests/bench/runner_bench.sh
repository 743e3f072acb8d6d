#!/usr/bin/env bash
# Runner overhead benchmark: calls/s and p50/p99 latency of the echo function (fn-test/fdk)
# through one fn-runner (fnlb bench, one function, warm containers) at concurrency 1 and 8,
# next to the physical limit: the same requests sent straight to a hot container's socket
# (fnlb bench --direct-socket, HTTP/1.1 keep-alive POST /call). Also the runner's CPU time per
# call and its RSS, from /proc.
#
# usage: tests/bench/runner_bench.sh [--build DIR] [--out FILE]
#   Settings (environment): DURATION (s per run, 20), WARMUP (s, 3), BODY_BYTES (64).
# Also measures the gRPC floor: the same stream refused at admission (no function at all).
# Appends a dated section to tests/bench/results/runner.md (or --out). Needs the build
# (fn-runner, fnlb), a running dockerd, fn-test/fdk:latest, python3.
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
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
BODY_BYTES=${BODY_BYTES:-64}

source "$here/bench_lib.sh"
require_bench_build "$build"

work=$(mktemp -d /tmp/fnlb-bench-XXXXXX)
results=$work/runner.jsonl
runner_pid=""
container=""
tag=fn-runner-test-bench-runner

cleanup() {
  if [[ -n $runner_pid ]]; then kill -TERM "$runner_pid" 2>/dev/null || true; wait "$runner_pid" 2>/dev/null || true; fi
  if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  remove_tagged_containers "$tag"
  rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# record LABEL CONCURRENCY JSON [CPU_TICKS] [RSS_KB]
record() {
  python3 -c '
import json, sys
d = json.loads(sys.argv[3])
d["label"], d["concurrency"] = sys.argv[1], int(sys.argv[2])
ticks, hz = sys.argv[4], int(sys.argv[6])
d["runner_cpu_ms_per_call"] = (int(ticks) * 1000.0 / hz / max(d["calls"], 1)) if ticks else None
d["runner_rss_mb"] = (int(sys.argv[5]) / 1024.0) if sys.argv[5] else None
print(json.dumps(d))' "$1" "$2" "$3" "${4:-}" "${5:-}" "$hz" >>"$results"
}

bench_args=(--json --functions 1 --duration "$DURATION" --warmup "$WARMUP"
  --body-bytes "$BODY_BYTES" --placer naive --fn-prefix runner-bench-)

# --- Through the runner ---
grpc=$(free_port)
http=$(free_port)
FN_CONTAINER_LABEL_TAG=$tag "$runner_bin" --listen-host=127.0.0.1 --grpc-port="$grpc" \
  --port="$http" --instance=fn-runner-test-instance-bench-runner \
  >"$work/runner.out" 2>"$work/runner.err" &
runner_pid=$!
await_serving "$work/runner.err"

# measure LABEL CONCURRENCY [fnlb bench args...]: one run through the runner, recorded with the
# runner's CPU per call and RSS.
measure() {
  local label=$1 concurrency=$2 before after line ticks
  shift 2
  before=$(cpu_ticks "$runner_pid")
  line=$("$fnlb" bench --runners "127.0.0.1:$grpc" --concurrency "$concurrency" \
    "${bench_args[@]}" "$@")
  after=$(cpu_ticks "$runner_pid")
  # CPU over the whole run includes the warm-up's calls; count them in by scaling to the
  # recorded share of the run (the warm-up has the same rate once containers are warm).
  ticks=$(python3 -c "print(round(($after - $before) * $DURATION / ($DURATION + $WARMUP)))")
  record "$label" "$concurrency" "$line" "$ticks" "$(rss_kb "$runner_pid")"
}
for c in 1 8; do
  echo "== runner, concurrency $c" >&2
  measure runner "$c"
done
# The floor of any gRPC runner on this machine and client: the same Engage stream (TryCall,
# body, eof) answered at once by the runner's admission with a refusal (memory no machine
# has: 400), so no agent, container or socket is involved. Every such call is an "error".
echo "== runner, TryCall refused at admission (gRPC floor), concurrency 1" >&2
measure floor 1 --memory 100000000
kill -TERM "$runner_pid"; wait "$runner_pid" || true; runner_pid=""

# --- Straight to a hot container's socket ---
iofs=$work/iofs
mkdir -p "$iofs" && chmod 0777 "$iofs"
container=$(docker run -d --init --read-only --tmpfs /tmp --user 1000:1000 \
  -v "$iofs:/tmp/iofs" -e FN_LISTENER=unix:/tmp/iofs/lsnr.sock -e FN_FORMAT=http-stream \
  --memory 128m --label fn-runner-test=1 fn-test/fdk:latest)
for ((t = 0; t < 100; t++)); do [[ -S $iofs/lsnr.sock ]] && break; sleep 0.1; done
for c in 1 8; do
  echo "== direct socket, concurrency $c" >&2
  line=$("$fnlb" bench --direct-socket "$iofs/lsnr.sock" --concurrency "$c" "${bench_args[@]}")
  record direct "$c" "$line"
done

python3 - "$results" "$out" <<EOF
import datetime, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
now = datetime.datetime.utcnow().strftime("%Y-%m-%d, %H:%M UTC")
load = open("/proc/loadavg").read().split()[0]
lines = [f"\n## {now}\n",
         f"Echo function (fn-test/fdk:latest, $BODY_BYTES-byte body), one function, warm; {int($DURATION)} s per "
         f"run after a {int($WARMUP)} s warm-up; closed loop. Load average at the end: {load}.\n",
         "| path | concurrency | calls/s | p50 ms | p99 ms | max ms | errors | runner CPU ms/call | runner RSS MB |",
         "|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    path = {"runner": "fnlb -> fn-runner -> container",
            "floor": "fnlb -> fn-runner, refused at admission (gRPC floor)",
            "direct": "direct to the container socket"}[r["label"]]
    errors = ", ".join(f"{k}x{v}" for k, v in sorted(r["errors_by_status"].items())) or "none"
    cpu = f"{r['runner_cpu_ms_per_call']:.3f}" if r.get("runner_cpu_ms_per_call") is not None else "-"
    rss = f"{r['runner_rss_mb']:.1f}" if r.get("runner_rss_mb") is not None else "-"
    lines.append(f"| {path} | {r['concurrency']} | {r['calls_per_second']:.0f} | {r['latency_ms']['p50']:.2f} | "
                 f"{r['latency_ms']['p99']:.2f} | {r['latency_ms']['max']:.2f} | {errors} | {cpu} | {rss} |")
lines.append("\n<details><summary>raw fnlb bench --json lines</summary>\n\n\`\`\`json")
lines += [json.dumps(r) for r in rows]
lines.append("\`\`\`\n</details>")
open(sys.argv[2], "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
