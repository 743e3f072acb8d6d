#!/usr/bin/env bash
# Runner against runner: the same fnlb bench load (echo function fn-test/fdk:latest, one
# function, warm containers, closed loop) on each given runner in turn, ROUNDS interleaved
# rounds per concurrency, with calls/s, p50/p99, and each runner's CPU per call, RSS and
# anonymous RSS (heap and stacks, without the code a process maps) when its pid is given. Made to compare fn-runner with fn's own pure runner (any RunnerProtocol
# server works): start both yourself, then name them here. The first runner is the baseline of
# the within-round ratios.
#
# usage: tests/bench/compare_runners.sh [--build DIR] [--out FILE] NAME=HOST:PORT[:PID] ...
#   Settings (environment): ROUNDS (5), DURATION (s recorded per run, 10), WARMUP (s, 3),
#   CONCURRENCY ("1 8"), BODY_BYTES (64).
# Appends a dated section to tests/bench/results/vs-fn.md (or --out). Needs fnlb, python3, and
# fn-test/fdk:latest in the docker engine the runners use.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=$here/results/vs-fn.md
runners=()
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *=*) runners+=("$1"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
((${#runners[@]} >= 1)) || { echo "name at least one runner: NAME=HOST:PORT[:PID]" >&2; exit 2; }
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY:-1 8}
BODY_BYTES=${BODY_BYTES:-64}
fnlb=$build/lb-client/fnlb
[[ -x $fnlb ]] || { echo "missing $fnlb: build fnlb first" >&2; exit 1; }

results=$(mktemp /tmp/fnlb-compare-XXXXXX.jsonl)
trap 'rm -f "$results"' EXIT
hz=$(getconf CLK_TCK)

for ((round = 1; round <= ROUNDS; round++)); do
  echo "== round $round of $ROUNDS" >&2
  for c in $CONCURRENCY; do
    for runner in "${runners[@]}"; do
      name=${runner%%=*}
      IFS=: read -r host port pid <<<"${runner#*=}"
      before=""
      [[ -n ${pid:-} ]] && before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      # fnlb's --duration includes its warm-up.
      line=$("$fnlb" bench --runners "$host:$port" --concurrency "$c" --json --functions 1 \
        --duration "$((DURATION + WARMUP))" --warmup "$WARMUP" --body-bytes "$BODY_BYTES" \
        --placer naive --fn-prefix compare-)
      ticks="" rss="" anon=""
      if [[ -n ${pid:-} ]]; then
        ticks=$(($(awk '{print $14 + $15}' "/proc/$pid/stat") - before))
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
        anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")  # heap and stacks: not code
      fi
      python3 -c '
import json, sys
d = json.loads(sys.argv[1])
name, c, rnd, ticks, rss, anon, hz, duration, warmup = sys.argv[2:11]
d.update(label=name, concurrency=int(c), round=int(rnd))
# The ticks cover the warm-up too, at the same rate: scale them to the recorded seconds.
share = float(duration) / (float(duration) + float(warmup))
d["runner_cpu_ms_per_call"] = (int(ticks) * share * 1000.0 / int(hz) / max(d["calls"], 1)) if ticks else None
d["runner_rss_mb"] = int(rss) / 1024.0 if rss else None
d["runner_anon_mb"] = int(anon) / 1024.0 if anon else None
print(json.dumps(d))' "$line" "$name" "$c" "$round" "$ticks" "$rss" "$anon" "$hz" "$DURATION" \
        "$WARMUP" >>"$results"
    done
  done
done

python3 "$here/compare_runners_report.py" "$results" "$ROUNDS" "$DURATION" "$WARMUP" \
  "$BODY_BYTES" "${runners[@]%%=*}" | tee -a "$out"
