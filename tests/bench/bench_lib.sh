# Shared by the benchmark scripts in tests/bench/ (sourced, not run).

# require_bench_build BUILD_DIR: sets $runner_bin and $fnlb, and checks that they and the test
# function image exist.
require_bench_build() {
  runner_bin=$1/runner/fn-runner
  fnlb=$1/lb-client/fnlb
  local f
  for f in "$runner_bin" "$fnlb"; do
    [[ -x $f ]] || { echo "missing $f: build fn-runner and fnlb first" >&2; exit 1; }
  done
  docker image inspect fn-test/fdk:latest >/dev/null 2>&1 ||
    { echo "missing fn-test/fdk:latest: run tests/functions/build_images.sh $1" >&2; exit 1; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# await_serving STDERR_FILE: waits up to 30 s for a runner to log that it serves; else shows
# its log and exits.
await_serving() {
  local t
  for ((t = 0; t < 300; t++)); do grep -q "serving RunnerProtocol" "$1" && return; sleep 0.1; done
  cat "$1" >&2
  exit 1
}

# remove_tagged_containers TAG: what a killed runner of that classifier tag left (paused too).
remove_tagged_containers() {
  local ids
  ids=$(docker ps -aq --filter "label=fn-agent-classifier=$1")
  if [[ -n $ids ]]; then
    docker unpause $ids >/dev/null 2>&1 || true
    docker rm -f $ids >/dev/null 2>&1 || true
  fi
}
