#!/usr/bin/env bash
# Placement benchmark: fn's naive and consistent-hash placers against our capacity-aware one on
# the same seeded workload (Zipf popularity over many functions, plus bursts of one function)
# over three fn-runner processes with small memory budgets and non-blocking admission (a full
# runner NACKs with 503, as in fn's FN_ENABLE_NB_RESOURCE_TRACKER mode). The runners are
# restarted for every placer, so each run starts with no containers; a last run with one
# runner holding the whole fleet's memory gives the "no placement decisions" bound.
#
# usage: tests/bench/placement_bench.sh [--build DIR] [--out FILE] [--dry-run]
#   Settings (environment): DURATION (s, 60), RATE (open-loop Poisson arrivals per second, 6;
#   0 = closed loop of CONCURRENCY calls, 6), FUNCTIONS (10), ZIPF (1.0), SLEEP_MS (function
#   service time, 50), MEMORY_MB per call (128), RUNNER_MEMORY_MB (512), BURSTS
#   ("6@15 6@30 6@45"), SEED (7), IDLE_TIMEOUT (s, 30). With a rate every placer gets the very
#   same calls at the same times (seeded), so counts compare directly.
# Appends a dated section, with the raw `fnlb bench --json` lines, to
# tests/bench/results/placement.md (or --out). Needs: the build (fn-runner, fnlb), a running
# dockerd, fn-test/fdk:latest (tests/functions/build_images.sh), python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$here/results/placement.md
dry_run=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

DURATION=${DURATION:-60}
RATE=${RATE:-6}
FUNCTIONS=${FUNCTIONS:-10}
ZIPF=${ZIPF:-1.0}
CONCURRENCY=${CONCURRENCY:-6}
SLEEP_MS=${SLEEP_MS:-50}
MEMORY_MB=${MEMORY_MB:-128}
RUNNER_MEMORY_MB=${RUNNER_MEMORY_MB:-512}
BURSTS=${BURSTS:-6@15 6@30 6@45}
SEED=${SEED:-7}
IDLE_TIMEOUT=${IDLE_TIMEOUT:-30}

source "$here/bench_lib.sh"
require_bench_build "$build"

work=$(mktemp -d /tmp/fnlb-bench-XXXXXX)
results=$work/placement.jsonl
pids=()
tags=()

stop_runners() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # A drained runner removes its containers; make sure, in case one was killed.
  for tag in "${tags[@]}"; do remove_tagged_containers "$tag"; done
  pids=()
  tags=()
}

cleanup() {
  stop_runners
  rm -rf "$work"
}
trap cleanup EXIT

# start_runners NAME COUNT MEMORY_MB: sets $addresses (comma-separated) and $metrics_ports.
start_runners() {
  local name=$1 count=$2 memory_mb=$3
  addresses=""
  metrics_ports=()
  for ((i = 0; i < count; i++)); do
    local grpc http dir tag
    grpc=$(free_port)
    http=$(free_port)
    dir=$work/$name-$i
    tag=fn-runner-test-bench-$name-$i
    mkdir -p "$dir"
    FN_CONTAINER_LABEL_TAG=$tag \
    FN_MAX_TOTAL_MEMORY_BYTES=$((memory_mb << 20)) \
    FN_ENABLE_NB_RESOURCE_TRACKER=true \
      "$runner_bin" --listen-host=127.0.0.1 --grpc-port="$grpc" --port="$http" \
      --instance=fn-runner-test-instance-bench-$name-$i >"$dir/stdout" 2>"$dir/stderr" &
    pids+=($!)
    tags+=("$tag")
    metrics_ports+=("$http")
    addresses+=${addresses:+,}127.0.0.1:$grpc
    await_serving "$dir/stderr"
  done
}

# Sum of a runner counter over the running runners' /metrics.
runner_counter() {
  local metric=$1 total=0 v
  for port in "${metrics_ports[@]}"; do
    v=$(curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$metric" '$1 == m {print $2}')
    total=$(python3 -c "print(int($total + float(${v:-0})))")
  done
  echo "$total"
}

bench_args=(--json --duration "$DURATION" --functions "$FUNCTIONS" --zipf "$ZIPF"
  --seed "$SEED" --memory "$MEMORY_MB"
  --idle-timeout "$IDLE_TIMEOUT" --header "Fn-Test-Sleep-Ms:$SLEEP_MS" --placer-timeout 30)
for b in $BURSTS; do bench_args+=(--burst "$b"); done
if [[ $RATE != 0 ]]; then
  bench_args+=(--rate "$RATE")
  load="open loop: Poisson arrivals at $RATE calls/s"
else
  bench_args+=(--concurrency "$CONCURRENCY")
  load="closed loop of $CONCURRENCY concurrent calls"
fi

run() {  # run LABEL PLACER RUNNERS MEMORY_MB
  local label=$1 placer=$2 count=$3 memory_mb=$4
  echo "== $label: $placer over $count runner(s) of $memory_mb MB" >&2
  start_runners "$label" "$count" "$memory_mb"
  local line
  line=$("$fnlb" bench --runners "$addresses" --placer "$placer" "${bench_args[@]}")
  local nacks
  nacks=$(runner_counter fn_server_busy)
  echo "$line" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
d["label"], d["runners"], d["runner_memory_mb"], d["runner_nacks"] = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(json.dumps(d))' "$label" "$count" "$memory_mb" "$nacks" >>"$results"
  stop_runners
}

if ((dry_run)); then
  echo "would run: fnlb bench --runners <3 runners> --placer {naive,ch,capacity} ${bench_args[*]}"
  exit 0
fi

run naive naive 3 "$RUNNER_MEMORY_MB"
run ch ch 3 "$RUNNER_MEMORY_MB"
run capacity capacity 3 "$RUNNER_MEMORY_MB"
run bound capacity 1 $((3 * RUNNER_MEMORY_MB))

python3 - "$results" "$out" <<EOF
import datetime, json, platform, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {r["label"]: r for r in rows}
def errors(r):
    e, ex = r["errors_by_status"], r.get("error_examples", {})
    return ", ".join(f"{k}x{v} ({ex.get(k, '')})" for k, v in sorted(e.items())) or "none"
lines = []
now = datetime.datetime.utcnow().strftime("%Y-%m-%d, %H:%M UTC")
load = open("/proc/loadavg").read().split()[0]
lines.append(f"\n## {now}\n")
lines.append(f"Workload (seed $SEED): $FUNCTIONS functions, Zipf s=$ZIPF, $load "
             f"for $DURATION s, bursts \`$BURSTS\` (N calls of one function at S s), "
             f"each call $MEMORY_MB MB and $SLEEP_MS ms of work (fn-test/fdk, Fn-Test-Sleep-Ms), "
             f"idle timeout $IDLE_TIMEOUT s. Runners: 3 x $RUNNER_MEMORY_MB MB "
             f"(FN_MAX_TOTAL_MEMORY_BYTES), non-blocking admission, restarted for every placer. "
             f"Load average at the end: {load}.\n")
lines.append("| placer | calls | ok | calls/s | cold starts | cold/1000 calls | NACK retries (LB) | NACKs (runners) | client-visible errors | p50 ms | p99 ms | max ms | runners/function |")
lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for label in ["naive", "ch", "capacity", "bound"]:
    r = by.get(label)
    if r is None: continue
    name = {"naive": "naive (fn)", "ch": "consistent hash (fn)", "capacity": "capacity-aware",
            "bound": "bound: 1 runner, 3x memory (capacity)"}[label]
    per_k = 1000.0 * r["cold_starts"] / max(r["calls"], 1)
    lines.append(f"| {name} | {r['calls']} | {r['ok']} | {r['calls_per_second']:.1f} | {r['cold_starts']} | "
                 f"{per_k:.1f} | {r['nacks']} | {r['runner_nacks']} | {errors(r)} | {r['latency_ms']['p50']:.1f} | "
                 f"{r['latency_ms']['p99']:.1f} | {r['latency_ms']['max']:.1f} | {r['runners_per_function']:.2f} |")
if "naive" in by and "capacity" in by and by["capacity"]["cold_starts"] > 0:
    ratio = by["naive"]["cold_starts"] / by["capacity"]["cold_starts"]
    lines.append(f"\nCold starts, naive / capacity-aware: **{ratio:.1f}x**. Capacity-aware tiers: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(by['capacity']['tiers'].items())) + ".")
lines.append("\n<details><summary>raw fnlb bench --json lines</summary>\n\n\`\`\`json")
lines += [json.dumps(r) for r in rows]
lines.append("\`\`\`\n</details>")
open(sys.argv[2], "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
