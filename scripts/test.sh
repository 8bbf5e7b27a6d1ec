#!/usr/bin/env bash
# Installs dependencies, builds with -Werror, and runs every test (unit and
# integration with a real docker-registry, skopeo and umoci).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure -j2 --timeout 900
