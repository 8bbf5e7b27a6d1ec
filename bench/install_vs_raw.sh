#!/usr/bin/env bash
# Conda install against the raw limit of this machine (bench/install_bench.cpp).
#
# A generated channel of 200 packages (500 MiB of incompressible payload in
# .conda archives, cached in build/bench-cache/install), served over loopback
# HTTP. Ours: download + verify + extract + link into an empty package cache,
# as envbuild create does. The raw limit: copying the same archive bytes
# (cp) and decompressing the same pkg-*.tar.zst members into files
# (zstd -dc | tar -x), on every core. Alternating RUNS times; prints the
# medians and the ratio (target <= 1.5).
#
# BUILD=DIR picks the build (default build); PACKAGES and KIB_EACH size the
# channel.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/timing.sh
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
PACKAGES=${PACKAGES:-200}
KIB_EACH=${KIB_EACH:-2560}
for lib in "$BUILD/libenvbuild_builder.a" "$BUILD/libenvbuild_registry.a" \
  "$BUILD/tests/libenvbuild_test_support.a"; do
  [ -e "$lib" ] || { echo "missing $lib: build the project first (scripts/build.sh)" >&2; exit 1; }
done
CACHE="$BUILD/bench-cache/install-$PACKAGES-$KIB_EACH"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/envbuild-bench-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

g++ -std=c++20 -O2 -DNDEBUG -I. -o "$WORK/install_bench" bench/install_bench.cpp \
  "$BUILD/tests/libenvbuild_test_support.a" "$BUILD/libenvbuild_builder.a" \
  "$BUILD/libenvbuild_registry.a" $(pkg-config --libs libarchive libzstd) \
  -lgtest -lbz2 -lz -ldeflate -lxxhash -pthread -ldl /usr/lib/x86_64-linux-gnu/libcrypto.a
if [ ! -e "$CACHE/done" ]; then
  "$WORK/install_bench" generate "$CACHE" --packages "$PACKAGES" --kib-each "$KIB_EACH"
  touch "$CACHE/done"
fi
echo "channel: $(du -sh "$CACHE/channel" | cut -f1) in $(ls "$CACHE/channel/linux-64" | grep -c '\.conda$') packages"

ours() {
  "$WORK/install_bench" install "$CACHE" "$WORK/ours" >"$WORK/ours.txt"
  rm -rf "$WORK/ours"
}
raw() {
  mkdir -p "$WORK/raw/archives" "$WORK/raw/files"
  cp "$CACHE"/channel/linux-64/*.conda "$WORK/raw/archives/"
  find "$CACHE/raw" -name 'pkg-*.tar.zst' -print0 |
    xargs -0 -P "$(nproc)" -n 8 sh -c 'for f; do d="$0/$(basename "$f" .tar.zst)"; mkdir -p "$d"; zstd -dcq "$f" | tar -x -C "$d"; done' "$WORK/raw/files"
  rm -rf "$WORK/raw"
}
ours; raw  # warm the page cache for both
os=(); rs=()
for run in $(seq 1 "$RUNS"); do
  os+=("$(time_cmd ours)")
  rs+=("$(time_cmd raw)")
done
sed -n 's/^/  ours: /p' "$WORK/ours.txt"
o=$(printf '%s\n' "${os[@]}" | median)
r=$(printf '%s\n' "${rs[@]}" | median)
printf 'install (download+verify+extract+link): %.2f s   raw (cp + zstd -dc | tar -x): %.2f s   ratio %.2f (target <= 1.5)\n' \
  "$o" "$r" "$(echo "$o / $r" | bc -l)"
