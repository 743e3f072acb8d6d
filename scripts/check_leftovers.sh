#!/usr/bin/env bash
# Fails (and lists them) if tests left anything behind: containers labelled fn-runner-test=1,
# temp dirs named fn-runner-test-*, or fn-runner processes started by tests. Always removes
# what it finds so the next run starts clean. --clean-only removes without failing.
# Silent when there is nothing to report.
set -uo pipefail

clean_only=0
[[ ${1:-} == --clean-only ]] && clean_only=1

found=()
tmp=${TMPDIR:-/tmp}

if curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null; then
  # Test containers carry fn-runner-test=1, or (made by a test's fn-runner) a classifier
  # label tag starting with fn-runner-test.
  mapfile -t ctrs < <({
    docker ps -aq --filter label=fn-runner-test=1
    docker ps -a --filter label=fn-agent-classifier \
      --format '{{.ID}} {{.Label "fn-agent-classifier"}}' | awk '$2 ~ /^fn-runner-test/ {print $1}'
  } 2>/dev/null | sort -u)
  if ((${#ctrs[@]} > 0)); then
    found+=("containers: $(docker inspect -f '{{.Name}} ({{.Config.Image}}, {{.State.Status}})' "${ctrs[@]}" | tr '\n' ' ')")
    # Unpause first: a paused container cannot be killed on every engine version. Containers
    # frozen through their cgroup (FN_DOCKER_FREEZER) look running to the engine: thaw those
    # through the cgroup (v1 freezer.state or v2 cgroup.freeze).
    docker unpause "${ctrs[@]}" >/dev/null 2>&1
    for pid in $(docker inspect -f '{{.State.Pid}}' "${ctrs[@]}" 2>/dev/null); do
      [[ $pid -gt 0 && -r /proc/$pid/cgroup ]] || continue
      path=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3 }' "/proc/$pid/cgroup")
      if [[ -n $path ]]; then
        echo THAWED >"/sys/fs/cgroup/freezer$path/freezer.state" 2>/dev/null
      else
        path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
        [[ -n $path ]] && echo 0 >"/sys/fs/cgroup$path/cgroup.freeze" 2>/dev/null
      fi
    done
    docker rm -f "${ctrs[@]}" >/dev/null 2>&1
  fi
fi

mapfile -t dirs < <(find "$tmp" -maxdepth 1 -name 'fn-runner-test-*' 2>/dev/null)
if ((${#dirs[@]} > 0)); then
  found+=("temp dirs: ${dirs[*]}")
  rm -rf "${dirs[@]}"
fi

mapfile -t procs < <(pgrep -f 'fn-runner-test-instance' 2>/dev/null)
if ((${#procs[@]} > 0)); then
  found+=("processes: ${procs[*]}")
  kill -9 "${procs[@]}" 2>/dev/null
fi

if ((${#found[@]} > 0 && clean_only == 0)); then
  echo "LEFTOVERS after tests (removed now):" >&2
  printf '  %s\n' "${found[@]}" >&2
  exit 1
fi
exit 0
