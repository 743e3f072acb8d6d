#!/usr/bin/env bash
# Ensures a Docker engine answers on /var/run/docker.sock. Idempotent: if one answers, does
# nothing. Otherwise starts dockerd in the background (log: ${FN_DOCKERD_LOG:-/var/log/fn-dockerd.log})
# and waits up to ${FN_DOCKERD_WAIT_SECS:-60} s. Never stops a daemon it did not start.
set -euo pipefail

sock=/var/run/docker.sock
log=${FN_DOCKERD_LOG:-/var/log/fn-dockerd.log}
wait_secs=${FN_DOCKERD_WAIT_SECS:-60}

answers() {
  curl -sf --max-time 2 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

if answers; then
  echo "dockerd: already answering on $sock"
  exit 0
fi

if ! command -v dockerd >/dev/null; then
  echo "dockerd: not installed; run scripts/setup.sh first" >&2
  exit 1
fi

# A daemon that was killed leaves its pid file behind, and dockerd refuses to start while the
# file exists. Remove it only when no process with that pid is a dockerd.
pidfile=/var/run/docker.pid
if [[ -f $pidfile ]]; then
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [[ -n $pid ]] && [[ -r /proc/$pid/comm ]] && [[ $(cat /proc/$pid/comm) == dockerd ]]; then
    echo "dockerd: pid $pid is running but not answering yet; waiting for it"
  else
    echo "dockerd: removing stale $pidfile"
    rm -f "$pidfile"
  fi
fi
# Same for containerd's socket directory left by a killed daemon: harmless, dockerd reuses it.

if ! pgrep -x dockerd >/dev/null; then
  echo "dockerd: starting (log: $log)"
  mkdir -p "$(dirname "$log")"
  # setsid: the daemon must survive the shell (and CI step) that started it.
  setsid nohup dockerd >>"$log" 2>&1 </dev/null &
fi

for ((i = 0; i < wait_secs * 5; i++)); do
  if answers; then
    echo "dockerd: ready after ~$((i / 5)) s"
    exit 0
  fi
  sleep 0.2
done

echo "dockerd: no answer on $sock after ${wait_secs} s; last lines of $log:" >&2
tail -n 30 "$log" >&2 || true
exit 1
