#!/usr/bin/env bash
# Usage: deploy/image/make_base.sh <image name>
#
# Makes a minimal Debian 12 (bookworm) base image with debootstrap and `docker import`s it as
# <image name>, for machines that cannot pull debian:bookworm-slim from a registry. The packages
# come from this machine's own configured Debian mirror (read with `apt-get indextargets`, so no
# host name is written here), and the image's apt sources point at that same mirror, so the
# Dockerfile's `apt-get install` steps work inside `docker build --network host`.
#
# Like debian:bookworm-slim, the image drops documentation, man pages, locales and apt lists.
# Takes one to three minutes; build.sh calls it only when the base image is missing.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 <image name>" >&2
  exit 2
fi
image=$1
suite=bookworm

# Every configured Debian pocket of the suite, as "URI RELEASE" (e.g. "http://mirror/debian/
# bookworm-updates"); apt knows them only once its lists exist, so update them if needed.
debian_pockets() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(ORIGIN)' 2>/dev/null |
    awk -v suite="$suite" '$4 == "Debian" && $3 == "main" && $2 ~ "^" suite { print $1, $2 }' |
    sort -u
}
mapfile -t pockets < <(debian_pockets)
if ((${#pockets[@]} == 0)); then
  apt-get update -qq
  mapfile -t pockets < <(debian_pockets)
fi
mirror=
for pocket in "${pockets[@]}"; do
  read -r uri release <<<"$pocket"
  if [[ $release == "$suite" ]]; then mirror=$uri; fi
done
if [[ -z $mirror ]]; then
  echo "make_base: no Debian $suite mirror configured in apt (apt-get indextargets)" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null; then
  echo "make_base: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fn-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

echo "make_base: debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# apt sources of the image: every pocket this machine uses (release, updates, security).
for pocket in "${pockets[@]}"; do
  echo "deb $pocket main"
done >"$rootfs/etc/apt/sources.list"

# What debian:bookworm-slim leaves out, and a dpkg filter so later installs leave it out too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Install-Recommends "false";
EOF
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
docker import -c 'CMD ["bash"]' "$work/rootfs.tar" "$image" >/dev/null
echo "make_base: imported $image ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec))"
