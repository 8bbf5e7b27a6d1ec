#!/usr/bin/env bash
# Installs what envbuild needs to build, run and test on Debian 12.
# Runs apt-get as root directly, or through sudo otherwise.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES=(
  # build
  cmake g++ make pkg-config clang-format
  # libraries (see README: why each is there)
  libcurl4-openssl-dev libssl-dev libarchive-dev zlib1g-dev libzstd-dev libdeflate-dev
  libgit2-dev libyaml-cpp-dev libxxhash-dev nlohmann-json3-dev libcli11-dev libgtest-dev
  # real peers for tests and benchmarks
  docker-registry skopeo umoci crun busybox-static mmdebstrap apache2-utils restic git curl zstd gzip tar bc iproute2
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  # Installing docker-registry starts a system service on :5000 where systemd
  # runs; envbuild never uses it, tests pick their own free ports.
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
