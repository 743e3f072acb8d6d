#!/usr/bin/env bash
# Usage: deploy/kubernetes/validate.sh PATH/TO/fn-runner
#
# Checks the Kubernetes manifests without a cluster (CTest: deploy.kubernetes_manifests):
#   1. renders base/ and every overlays/*/ with `kubectl kustomize` (kustomize v5; any
#      warning fails too);
#   2. validates every rendered object against the OpenAPI schema of Kubernetes v1.33.0 and
#      the ServiceMonitor against prometheus-operator v0.65.1's CRD schema, unknown fields
#      included (validator/validate.cjs, packages pinned in validator/package-lock.json);
#   3. checks the fn-runner settings against the given binary: every FN_* variable is one
#      `fn-runner --help` lists and fn-runner accepts its value; containerPorts and probes use
#      FN_GRPC_PORT / FN_PORT; the grace period covers the drain; and how the objects refer to
#      each other (validator/validate.cjs lists every check).
# Prints one line per failure and a summary line; exits non-zero on any failure.
#
# Needs kubectl >= 1.27 (kustomize v5), node >= 18 and npm; installs what is missing from
# Debian's packages. The validator's npm packages go to a cache outside the tree, keyed by
# the lock file: ${FN_RUNNER_CACHE:-~/.cache/fn-runner}/k8s-validator/<hash>/node_modules.
# A second run with the same lock file installs nothing (about a second in all).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if (($# != 1)) || [[ $1 == -h || $1 == --help ]]; then
  sed -n '2,20p' "$0"
  exit 2
fi
fn_runner=$(realpath "$1")
if [[ ! -x $fn_runner ]]; then
  echo "validate.sh: FAIL: $1 is not an executable fn-runner" >&2
  exit 1
fi

fail() {
  echo "validate.sh: FAIL: $*" >&2
  exit 1
}

# Installs Debian packages when a tool is missing (root only: CI and the dev machines).
apt_install() {
  ((EUID == 0)) || fail "$* missing and not root to apt-get install it"
  echo "validate.sh: installing $* from Debian's packages"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# ---- kubectl with kustomize v5 (components, `envs`, `patches` with targets).
kubectl=$(command -v kubectl || true)
[[ -z $kubectl && -x /usr/bin/kubectl ]] && kubectl=/usr/bin/kubectl
if [[ -z $kubectl ]]; then
  # Debian 12's kubernetes-client is kubectl 1.20, whose kustomize (v2.0.3) predates
  # components: the version check below says so if that is all there is.
  apt_install kubernetes-client
  kubectl=$(command -v kubectl) || fail "no kubectl after installing kubernetes-client"
fi
kustomize_version=$("$kubectl" version --client -o json 2>/dev/null |
  sed -n 's/.*"kustomizeVersion": *"v\{0,1\}\([0-9][^"]*\)".*/\1/p')
if [[ ! ${kustomize_version%%.*} =~ ^[0-9]+$ ]] || ((${kustomize_version%%.*} < 5)); then
  fail "$kubectl has kustomize '${kustomize_version:-none}'; these manifests need kustomize v5 (kubectl >= 1.27)"
fi

# ---- node and npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || fail "node $(node --version) is too old; the validator needs node >= 18"

# ---- the validator's packages, installed once per lock file.
lock_hash=$(cat "$here/validator/package.json" "$here/validator/package-lock.json" | sha256sum | cut -c1-16)
cache_root=${FN_RUNNER_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/fn-runner}
modules_dir=$cache_root/k8s-validator/$lock_hash
if [[ ! -f $modules_dir/.installed ]]; then
  mkdir -p "$modules_dir"
  # Two runs at once (engineers, CTest) install once.
  exec 9>"$modules_dir.lock"
  flock 9
  if [[ ! -f $modules_dir/.installed ]]; then
    echo "validate.sh: installing the validator's npm packages into $modules_dir"
    rm -rf "$modules_dir/node_modules"
    cp "$here/validator/package.json" "$here/validator/package-lock.json" "$modules_dir/"
    # --ignore-scripts: nothing from the registry runs at install time.
    (cd "$modules_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
      fail "npm ci in $modules_dir failed"
    touch "$modules_dir/.installed"
  fi
  flock -u 9
fi

# ---- render base/ and every overlay; a kustomize warning fails like an error.
out=$(mktemp -d "${TMPDIR:-/tmp}/fn-runner-k8s-validate.XXXXXX")
trap 'rm -rf "$out"' EXIT
inputs=()
render_failures=0
for dir in "$here/base" "$here"/overlays/*/; do
  dir=${dir%/}
  name=${dir#"$here/"}
  if ! "$kubectl" kustomize "$dir" >"$out/${name//\//_}.yaml" 2>"$out/stderr" || [[ -s $out/stderr ]]; then
    echo "FAIL $name: kubectl kustomize:" >&2
    sed 's/^/    /' "$out/stderr" >&2
    render_failures=$((render_failures + 1))
    continue
  fi
  inputs+=("$name=$out/${name//\//_}.yaml")
done
((render_failures == 0)) || fail "$render_failures kustomizations do not render"
echo "validate.sh: rendered ${#inputs[@]} kustomizations with kubectl kustomize (kustomize v$kustomize_version)"

# ---- schemas and fn-runner checks (prints its own summary line).
if ! node "$here/validator/validate.cjs" --modules "$modules_dir" --fn-runner "$fn_runner" "${inputs[@]}"; then
  fail "the manifests do not pass the checks above"
fi
echo "validate.sh: PASS: ${#inputs[@]} kustomizations render and pass every check"
