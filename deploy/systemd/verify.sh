#!/usr/bin/env bash
# Usage: deploy/systemd/verify.sh PATH/TO/fn-runner
#
# Checks fn-runner.service and fn-runner.env without installing or starting anything
# (CTest: deploy.systemd_unit):
#   1. `systemd-analyze verify` on a copy of the unit whose ExecStart is the given binary
#      (verify insists that it exists). Any message about our unit fails, as does a non-zero
#      exit. Without a docker.service on this machine, a stub stands in for it beside the copy.
#   2. `systemd-analyze security --offline`: the unit's exposure must stay at or below 4.0
#      (it is 2.6 with systemd 252), so that dropping hardening by accident fails.
#   3. fn-runner.env: every variable, set or commented out, is one `fn-runner --help` lists,
#      and fn-runner accepts the values that are set.
#   4. The two agree: TimeoutStopSec covers FN_DRAIN_GRACE_MSECS plus the runner's shutdown;
#      FN_IOFS_PATH is a host directory the unit may write (StateDirectory=/ReadWritePaths=),
#      not /tmp; the settings the deployment relies on are present.
# Prints what it checked and a summary line; exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
unit=$here/fn-runner.service
envfile=$here/fn-runner.env
if (($# != 1)) || [[ $1 == -h || $1 == --help ]]; then
  sed -n '2,17p' "$0"
  exit 2
fi
fn_runner=$(realpath "$1")

failures=0
fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}
ok() { echo "ok   $*"; }
# Prefixes every line of stdin with $1.
prefix() { sed "s/^/$1/"; }

[[ -x $fn_runner ]] || { echo "verify.sh: FAIL: $1 is not an executable fn-runner" >&2; exit 1; }
if ! command -v systemd-analyze >/dev/null; then
  ((EUID == 0)) || { echo "verify.sh: FAIL: no systemd-analyze (package systemd)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fn-runner-systemd-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The value of a [Service]/[Unit] directive (the last assignment wins, as in systemd).
directive() {
  sed -n "s/^$1=//p" "$unit" | tail -n 1
}

# ---- 1. systemd-analyze verify.
sed "s|^ExecStart=/usr/local/bin/fn-runner|ExecStart=$fn_runner|" "$unit" >"$work/fn-runner.service"
grep -q "^ExecStart=$fn_runner\$" "$work/fn-runner.service" ||
  fail "the unit's ExecStart is not /usr/local/bin/fn-runner (the path README.md installs to)"
# verify resolves Requires=docker.service through the unit search path, where the unit's own
# directory comes first: a stub there stands in when this machine has no Docker unit.
have_docker_unit=no
for dir in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system \
           /lib/systemd/system /usr/lib/systemd/system; do
  [[ -f $dir/docker.service ]] && have_docker_unit=$dir/docker.service && break
done
if [[ $have_docker_unit == no ]]; then
  printf '[Unit]\nDescription=stand-in for Docker Engine (verify.sh)\n[Service]\nExecStart=/bin/true\n' \
    >"$work/docker.service"
  echo "note no docker.service on this machine: verifying against a stand-in"
fi
set +e
verify_output=$(cd "$work" && systemd-analyze verify --man=no --recursive-errors=no ./fn-runner.service 2>&1)
verify_rc=$?
set -e
ours=$(grep -F 'fn-runner.service' <<<"$verify_output" || true)
others=$(grep -vF 'fn-runner.service' <<<"$verify_output" | grep . || true)
if [[ -n $others ]]; then prefix "note (not about our unit) " <<<"$others"; fi
if ((verify_rc != 0)) || [[ -n $ours ]]; then
  fail "systemd-analyze verify (exit $verify_rc):"
  prefix "    " <<<"${ours:-$verify_output}"
else
  ok "systemd-analyze verify: no warnings (docker.service: ${have_docker_unit/no/stand-in})"
fi

# ---- 2. Exposure score (systemd >= 250 has --offline and --threshold).
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  set +e
  security_output=$(cd "$work" && systemd-analyze security --offline=true --threshold=40 ./fn-runner.service 2>&1)
  security_rc=$?
  set -e
  level=$(sed -n 's/.*Overall exposure level for fn-runner.service: //p' <<<"$security_output")
  if ((security_rc != 0)); then
    fail "systemd-analyze security: exposure ${level:-unknown}, more than 4.0 (was hardening dropped?)"
  else
    ok "systemd-analyze security: exposure $level"
  fi
else
  echo "note systemd-analyze here has no 'security --offline': exposure not checked"
fi

# ---- 3. The environment file against fn-runner itself.
help=$("$fn_runner" --help)
known=$(grep -oE '\((FN_[A-Z0-9_]+), default' <<<"$help" | sed -E 's/^\(([A-Z0-9_]+),.*/\1/'
        grep -oE '^  [A-Z][A-Z0-9_]+ \(default' <<<"$help" | awk '{print $1}')
[[ $(wc -l <<<"$known") -ge 20 ]] || fail "fn-runner --help lists fewer than 20 variables: format changed?"
declare -A setting=()
env_args=()
while IFS= read -r line; do
  [[ $line =~ ^(#?)([A-Z][A-Z0-9_]*)=(.*)$ ]] || continue
  name=${BASH_REMATCH[2]}
  value=${BASH_REMATCH[3]}
  if ! grep -qx "$name" <<<"$known"; then
    fail "fn-runner.env: $name is not a variable fn-runner knows (fn-runner --help)"
    continue
  fi
  if [[ -z ${BASH_REMATCH[1]} ]]; then
    # systemd strips one level of quotes; this file uses none.
    [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
    setting[$name]=$value
    env_args+=("$name=$value")
  fi
done <"$envfile"
# fn-runner validates every setting before it honours --help (exit 2 naming the variable).
if rejected=$(env -i "${env_args[@]}" "$fn_runner" --help 2>&1 >/dev/null); then
  ok "fn-runner.env: ${#env_args[@]} settings, all known to and accepted by fn-runner"
else
  fail "fn-runner.env: fn-runner rejects the settings: $rejected"
fi

# ---- 4. Unit and environment file together.
default_of() {
  sed -nE "s/.*\\($1, default ([0-9]+)\\).*/\\1/p" <<<"$help" | head -n 1
}
drain_ms=${setting[FN_DRAIN_GRACE_MSECS]:-$(default_of FN_DRAIN_GRACE_MSECS)}
stop_us=$(systemd-analyze timespan "$(directive TimeoutStopSec)" 2>/dev/null | sed -n 's/^ *μs: *//p')
if [[ -z $stop_us ]]; then
  fail "TimeoutStopSec is missing or not a time span"
elif ((stop_us / 1000000 < (drain_ms + 999) / 1000 + 15)); then
  fail "TimeoutStopSec $(directive TimeoutStopSec) < FN_DRAIN_GRACE_MSECS $((drain_ms / 1000)) s + 15 s: systemd would SIGKILL a draining runner"
else
  ok "TimeoutStopSec $(directive TimeoutStopSec) covers the drain ($((drain_ms / 1000)) s + 15 s)"
fi

iofs=${setting[FN_IOFS_PATH]:-}
writable=()
for dir in $(directive StateDirectory); do writable+=("/var/lib/$dir"); done
for dir in $(directive ReadWritePaths); do writable+=("${dir#-}"); done
if [[ ! $iofs =~ ^/ ]]; then
  fail "fn-runner.env must set FN_IOFS_PATH to an absolute host directory (the default is the unit's private /tmp)"
elif [[ $iofs == /tmp || $iofs == /tmp/* || $iofs == /var/tmp || $iofs == /var/tmp/* ]]; then
  fail "FN_IOFS_PATH=$iofs is under the unit's private /tmp: the Docker engine cannot bind-mount it"
else
  inside=no
  for dir in "${writable[@]}"; do
    [[ ${iofs%/} == "${dir%/}" || $iofs == "${dir%/}"/* ]] && inside=$dir
  done
  if [[ $inside == no ]]; then
    fail "FN_IOFS_PATH=$iofs is read-only under ProtectSystem=strict (not in StateDirectory=/ReadWritePaths=: ${writable[*]:-none})"
  else
    ok "FN_IOFS_PATH=$iofs is writable (under $inside)"
  fi
fi

# What the deployment relies on (a changed unit must keep these, or change README.md too).
expect() {
  local name=$1 want=$2 got
  got=$(directive "$name")
  if [[ $got == "$want" ]]; then ok "$name=$got"; else fail "$name=${got:-(unset)}, expected $want"; fi
}
expect Requires docker.service
if grep -q '^After=.*\bdocker\.service\b' "$unit"; then ok "After= docker.service"; else fail "After= lacks docker.service"; fi
expect Restart on-failure
expect KillSignal SIGTERM
expect ProtectSystem strict
expect PrivateTmp yes
expect NoNewPrivileges yes
if [[ $(directive ProtectControlGroups) =~ ^(|no|false)$ ]]; then
  ok "ProtectControlGroups unset (the cgroup freezer writes /sys/fs/cgroup)"
else
  fail "ProtectControlGroups=yes stops the cgroup freezer (FN_DOCKER_FREEZER) from freezing idle containers"
fi
nofile=$(directive LimitNOFILE)
if [[ $nofile =~ ^[0-9]+$ ]] && ((nofile >= 65536)); then
  ok "LimitNOFILE=$nofile"
else
  fail "LimitNOFILE=${nofile:-(unset)}, expected at least 65536"
fi

if ((failures)); then
  echo "verify.sh: FAIL: $failures checks of deploy/systemd failed"
  exit 1
fi
echo "verify.sh: PASS: fn-runner.service and fn-runner.env pass systemd-analyze and every check"
