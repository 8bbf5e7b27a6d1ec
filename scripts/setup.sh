#!/usr/bin/env bash
# Fresh Debian 12 -> installed dependencies, a build, and the main job:
# pack the example project into an image in the local store, inspect it,
# snapshot the project's code into the same store and show the snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
./build/envbuild pack --to hello-train:latest examples/hello-train
./build/envbuild inspect hello-train:latest
./build/snapshot push examples/hello-train
./build/snapshot show "$(./build/snapshot --quiet push examples/hello-train)"
./build/envbuild store verify
