#!/usr/bin/env bash
# Usage: deploy/image/build.sh [--tag IMAGE] [--base IMAGE]
#
# Builds deploy/image/Dockerfile (the same file a user with a registry builds as usual) into
# IMAGE (default fn-runner:latest), on a machine with no registry too:
#   - the base is debian:bookworm-slim when the engine has it; otherwise a Debian 12 base that
#     make_base.sh makes with debootstrap from this machine's apt mirror
#     (fn-runner/debian-base:bookworm, made once and reused);
#   - the build runs with --network host, so apt inside it reaches the same mirror.
# The Dockerfile needs BuildKit (a ccache cache mount, stages skipped when unused): docker with
# the buildx plugin, or Debian 12's own docker CLI (20.10) with DOCKER_BUILDKIT=1.
# A rebuild with unchanged sources takes seconds; after a change, ccache compiles only that.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

tag=fn-runner:latest
base=
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [[ -z $base ]]; then
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    base=debian:bookworm-slim
  else
    base=fn-runner/debian-base:bookworm
    # Two builds at once (engineers, CI) make the base once.
    exec 9>"${TMPDIR:-/tmp}/fn-runner-base-image.lock"
    flock 9
    if ! docker image inspect "$base" >/dev/null 2>&1; then
      "$here/make_base.sh" "$base"
    fi
    flock -u 9
  fi
fi

# A docker CLI that builds with BuildKit: the one on PATH if it has buildx, else Debian's 20.10
# CLI, whose built-in BuildKit client DOCKER_BUILDKIT=1 turns on (newer CLIs need buildx).
cli=
for candidate in docker /usr/bin/docker; do
  command -v "$candidate" >/dev/null || continue
  if "$candidate" buildx version >/dev/null 2>&1; then cli=$candidate; break; fi
  major=$("$candidate" version -f '{{.Client.Version}}' 2>/dev/null | cut -d. -f1 || true)
  if [[ $major =~ ^[0-9]+$ ]] && ((major < 23)); then cli=$candidate; break; fi
done
if [[ -z $cli ]]; then
  echo "build.sh: no docker CLI here builds with BuildKit; install the buildx plugin" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/fn-runner-image-build.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "build.sh: building $tag FROM $base with $cli"
DOCKER_BUILDKIT=1 "$cli" build --network host --progress plain \
  --build-arg BASE="$base" -f "$here/Dockerfile" -t "$tag" "$root" >"$log" 2>&1 || {
  tail -n 40 "$log" >&2
  exit 1
}
grep -m1 -oE '^#[0-9]+ [0-9.]+ runtime packages:.*' "$log" | sed -E 's/^#[0-9]+ [0-9.]+ /build.sh: /' || true
echo "build.sh: $tag is $(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=si --suffix=B)"
