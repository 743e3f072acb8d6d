#!/usr/bin/env bash
# Usage: deploy/compose/fleet_test.sh <fnlb binary> [image]
#
# End-to-end test of the compose fleet on the real engine (CTest label `deploy`): brings up the
# three runners of docker-compose.yml from the runner image (default fn-runner:latest, built by
# deploy/image/build.sh), with test label tags and a temp iofs root, then checks, in order:
#   1. every runner's grpc.health.v1 answers SERVING;
#   2. `fnlb bench` with the capacity placer across the three: calls made, 0 errors;
#   3. every runner's /metrics answers with fn-runner's metrics;
#   4. `docker stop` of runner-2 under load: 0 failed calls at the client, the runner exits 0,
#      none of its function containers is left, its iofs directory is empty;
#   5. runner-2 started again serves a call;
#   6. `docker-compose down` leaves no runner or function container and no iofs directory.
# Needs the function image fn-test/fdk:latest (tests/functions/build_images.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if (($# < 1)); then
  echo "usage: $0 <fnlb binary> [image]" >&2
  exit 2
fi
fnlb=$(realpath "$1")
export FN_FLEET_IMAGE=${2:-fn-runner:latest}

# Ports away from the compose defaults (an operator's fleet may be up) and from the ephemeral
# range other tests bind in; the temp dir and tag carry fn-runner-test so that
# scripts/check_leftovers.sh catches anything this test leaves.
export FN_FLEET_GRPC_PORT_1=19291 FN_FLEET_GRPC_PORT_2=19292 FN_FLEET_GRPC_PORT_3=19293
export FN_FLEET_METRICS_PORT_1=19281 FN_FLEET_METRICS_PORT_2=19282 FN_FLEET_METRICS_PORT_3=19283
export FN_FLEET_TAG=fn-runner-test-fleet-$$
export FN_FLEET_DIR=$(mktemp -d /tmp/fn-runner-test-fleet-XXXXXX)
chmod 0755 "$FN_FLEET_DIR"
project=fnfleettest$$
runners=127.0.0.1:19291,127.0.0.1:19292,127.0.0.1:19293
compose=(docker-compose -p "$project" -f "$here/docker-compose.yml")
bench_log=$FN_FLEET_DIR/bench.json

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "---- $* ($(date +%T))"; }

cleanup() {
  local status=$?
  if ((status != 0)); then
    echo "---- runner logs (last 30 lines each)" >&2
    "${compose[@]}" logs --no-color --tail 30 >&2 2>&1 || true
  fi
  "${compose[@]}" down -t 10 >/dev/null 2>&1 || true
  # Function containers of any fleet runner (only present after a failure).
  docker ps -a --filter "label=fn-agent-classifier" --format '{{.ID}} {{.Label "fn-agent-classifier"}}' |
    awk -v tag="$FN_FLEET_TAG" 'index($2, tag) == 1 { print $1 }' | xargs -r docker rm -f >/dev/null 2>&1 || true
  rm -rf "$FN_FLEET_DIR"
  exit $status
}
trap cleanup EXIT

# function_containers <runner number>: ids of the function containers that runner made.
function_containers() {
  docker ps -aq --filter "label=fn-agent-classifier=$FN_FLEET_TAG-runner-$1"
}

# wait_serving <address> <seconds>
wait_serving() {
  local address=$1 deadline=$((SECONDS + $2))
  until "$fnlb" health --runners "$address" --timeout 1 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "$address not SERVING after $2 s"
    sleep 0.2
  done
}

# json_field <file> <python expression on j>: prints the value, e.g. j['ok'].
json_field() {
  python3 -c "import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print($2)" "$1"
}

# check_bench <file> <what>: the bench made calls and every one of them succeeded.
check_bench() {
  local calls ok
  calls=$(json_field "$1" "j['calls']")
  ok=$(json_field "$1" "j['ok']")
  echo "$2: $calls calls, $ok ok, $(json_field "$1" "j['nacks']") NACKs retried," \
    "$(json_field "$1" "j['cold_starts']") cold starts, by runner $(json_field "$1" "j['calls_by_runner']")"
  ((calls > 0)) || fail "$2: no calls made"
  ((ok == calls)) || fail "$2: $((calls - ok)) of $calls calls failed: $(json_field "$1" "j['errors_by_status']") $(json_field "$1" "j['error_examples']")"
}

docker image inspect "$FN_FLEET_IMAGE" >/dev/null 2>&1 || fail "no image $FN_FLEET_IMAGE (deploy/image/build.sh)"
docker image inspect fn-test/fdk:latest >/dev/null 2>&1 ||
  fail "no image fn-test/fdk:latest (tests/functions/build_images.sh)"

step "up: three runners from $FN_FLEET_IMAGE"
"${compose[@]}" up -d >/dev/null 2>&1 || { "${compose[@]}" up -d; fail "docker-compose up"; }

step "1. grpc.health.v1 SERVING on each"
for address in ${runners//,/ }; do wait_serving "$address" 60; done
"$fnlb" health --runners "$runners" --service RunnerProtocol

step "2. fnlb bench, capacity placer, across the three"
"$fnlb" bench --runners "$runners" --placer capacity --concurrency 4 --duration 6 \
  --functions 6 --memory 64 --json >"$bench_log"
check_bench "$bench_log" "bench"
for n in 1 2 3; do
  [[ $(json_field "$bench_log" "j['calls_by_runner'].get('127.0.0.1:1929$n', 0)") -gt 0 ]] ||
    echo "note: runner-$n took no call in this bench (placement is free to skip it)"
done

step "3. /metrics on each"
for n in 1 2 3; do
  metrics=$(curl -sf --max-time 5 "http://127.0.0.1:1928$n/metrics") || fail "runner-$n /metrics"
  grep -q '^fn_' <<<"$metrics" || fail "runner-$n /metrics has no fn_ metric"
  echo "runner-$n: $(grep -c '^fn_' <<<"$metrics") fn_ samples"
done

step "4. docker stop runner-2 under load"
runner2=$("${compose[@]}" ps -q runner-2)
"$fnlb" bench --runners "$runners" --placer capacity --concurrency 8 --duration 12 \
  --functions 6 --memory 64 --json >"$bench_log" &
bench_pid=$!
# Wait until runner-2 holds calls (its function containers exist), then stop it mid-load.
deadline=$((SECONDS + 10))
until [[ -n $(function_containers 2) ]]; do
  ((SECONDS < deadline)) || break
  sleep 0.2
done
sleep 2
stop_started=$SECONDS
docker stop -t 45 "$runner2" >/dev/null
echo "runner-2 stopped after $((SECONDS - stop_started)) s"
wait "$bench_pid" || fail "fnlb bench exited non-zero"
check_bench "$bench_log" "bench across the stop"
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$runner2")
((exit_code == 0)) || fail "runner-2 exited $exit_code after SIGTERM, not 0"
[[ -z $(function_containers 2) ]] || fail "runner-2 left function containers: $(function_containers 2)"
leftover_dirs=$(find "$FN_FLEET_DIR/runner-2" -mindepth 1 -maxdepth 1 | wc -l)
((leftover_dirs == 0)) || fail "runner-2 left $leftover_dirs iofs entries"
echo "runner-2 exited 0 and left no container or iofs directory"

step "5. runner-2 starts again and serves"
"${compose[@]}" start runner-2 >/dev/null 2>&1
wait_serving 127.0.0.1:19292 60
"$fnlb" call --runners 127.0.0.1:19292 --image fn-test/fdk:latest --memory 64 --body fleet \
  >"$FN_FLEET_DIR/call.out" || fail "call on the restarted runner-2: $(cat "$FN_FLEET_DIR/call.out")"
grep -q fleet "$FN_FLEET_DIR/call.out" || fail "runner-2 did not echo the body: $(cat "$FN_FLEET_DIR/call.out")"
echo "runner-2 answered"

step "6. down"
"${compose[@]}" down -t 45 >/dev/null 2>&1
[[ -z $("${compose[@]}" ps -q 2>/dev/null) ]] || fail "runner containers left after down"
for n in 1 2 3; do
  [[ -z $(function_containers "$n") ]] || fail "runner-$n left function containers after down"
  leftover_dirs=$(find "$FN_FLEET_DIR/runner-$n" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  ((leftover_dirs == 0)) || fail "runner-$n left $leftover_dirs iofs entries after down"
done
echo "fleet down: no runner, no function container, no iofs directory left"
echo "fleet test: passed"
