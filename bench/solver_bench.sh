#!/usr/bin/env bash
# Conda solver benchmark (bench/solver_bench.cpp): builds the bench program
# with g++ against the project's static libraries and runs it. A generated
# channel of >= 100k records, a 50-package request solved 9 times: median
# solve time, what part of the channel the solve read, peak RSS, and for
# scale one pass over all records and an eager parse of all of them.
#
# BUILD=DIR picks the build with libenvbuild_builder.a and
# libenvbuild_registry.a (default build); extra arguments go to the program
# (--names N --versions N --builds N --specs N --runs N --seed N).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=$(mktemp -d /tmp/envbuild-bench-solver.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for lib in "$BUILD/libenvbuild_builder.a" "$BUILD/libenvbuild_registry.a"; do
  [ -e "$lib" ] || { echo "missing $lib: build the project first (cmake --build $BUILD)" >&2; exit 1; }
done
g++ -std=c++20 -O2 -DNDEBUG -I. -o "$WORK/solver_bench" \
  bench/solver_bench.cpp tests/support/conda_repodata_generator.cpp \
  "$BUILD/libenvbuild_builder.a" "$BUILD/libenvbuild_registry.a" \
  -pthread -ldl /usr/lib/x86_64-linux-gnu/libcrypto.a
"$WORK/solver_bench" "$@"
