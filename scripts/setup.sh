#!/usr/bin/env bash
# Fresh Debian 12 -> installed dependencies, a build, and the main job:
# build the example environment definition into an image in the local store
# (a second run is a cache hit), inspect it, snapshot the project's code into
# the same store and show the snapshot, verify the store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/make-example-base.sh
./build/envbuild create examples/hello-train/environment.yml
ref=$(./build/envbuild --quiet create examples/hello-train/environment.yml)
./build/envbuild inspect "$ref"
./build/snapshot push examples/hello-train
./build/snapshot show "$(./build/snapshot --quiet push examples/hello-train)"
./build/envbuild store verify
