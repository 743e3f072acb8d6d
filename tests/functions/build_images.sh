#!/usr/bin/env bash
# Usage: tests/functions/build_images.sh <build dir>
#
# Imports the static test functions built in <build dir>/tests/functions as local images
# (there is no registry to pull from):
#   fn-test/fdk:latest             ENTRYPOINT ["/fdk-test-function"]
#   fn-test/not-a-function:latest  ENTRYPOINT ["/not-a-function"]
# Each image is labelled fn.test.sha256=<sha256 of its binary> and rebuilt only when that
# label differs from the binary on disk, so running this again is cheap. Build the binaries
# first: cmake --build <build dir> --target fdk-test-function not-a-function
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 <build dir>" >&2
  exit 2
fi
bin_dir=$1/tests/functions

work_dir=
cleanup() {
  if [[ -n $work_dir ]]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT

# import_image <binary name> <image>
import_image() {
  local name=$1 image=$2
  local binary=$bin_dir/$name
  if [[ ! -x $binary ]]; then
    echo "build_images: $binary is missing; build target $name first" >&2
    exit 1
  fi
  local sha current old_id
  sha=$(sha256sum "$binary" | cut -d' ' -f1)
  old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  current=$(docker image inspect -f '{{index .Config.Labels "fn.test.sha256"}}' "$image" \
    2>/dev/null || true)
  if [[ $current == "$sha" ]]; then
    echo "build_images: $image is up to date"
    return
  fi

  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/fn-test-image.XXXXXX")
  # The root fs: the binary and an empty /tmp, where containers mount a tmpfs (and the iofs
  # directory at /tmp/iofs) over a read-only root.
  mkdir -p "$work_dir/rootfs/tmp"
  chmod 1777 "$work_dir/rootfs/tmp"
  install -m 0755 "$binary" "$work_dir/rootfs/$name"
  tar -C "$work_dir/rootfs" --numeric-owner --owner=0 --group=0 -cf "$work_dir/rootfs.tar" .
  docker import \
    -c "ENTRYPOINT [\"/$name\"]" \
    -c "LABEL fn.test.sha256=$sha" \
    "$work_dir/rootfs.tar" "$image" >/dev/null
  rm -rf "$work_dir"
  work_dir=
  # The previous build is now untagged; drop it unless a container still uses it.
  if [[ -n $old_id ]]; then docker rmi "$old_id" >/dev/null 2>&1 || true; fi
  echo "build_images: imported $image (sha256 $sha)"
}

# Engineers and CI may run this at the same time; one import per image at a time is enough.
exec 9>"${TMPDIR:-/tmp}/fn-test-images.lock"
flock 9

import_image fdk-test-function fn-test/fdk:latest
import_image not-a-function fn-test/not-a-function:latest
