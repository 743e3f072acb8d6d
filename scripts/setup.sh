#!/usr/bin/env bash
# Installs every build and test dependency of fn-runner from Debian 12 packages.
# Idempotent: installs only what is missing, so a second run costs a few dpkg queries.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  ccache                                 # rebuilds of unchanged sources, across clones
  clang                                  # the -Wthread-safety build
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libgoogle-glog-dev libgflags-dev prometheus-cpp-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev                     # JSON for the Docker API and fn's call model
  libgtest-dev libgmock-dev
  docker.io                              # dockerd for integration and e2e tests
  debootstrap                            # the runner image's base where no registry has one
  docker-compose                         # the deploy fleet test
  iproute2 procps                        # ss/ps used by scripts and leak checks
  openssl                                # TLS tests make throwaway certificates
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
