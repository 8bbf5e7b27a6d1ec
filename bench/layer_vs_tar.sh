#!/usr/bin/env bash
# Layer writing of a real tree: `envbuild pack` (one reproducible layer into
# an OCI layout) against `tar --sort=name --mtime=@0 ... | gzip -6` and
# `| zstd -3` on the same tree, alternating runs. Prints median times and
# ratios. Target: gzip ratio <= 0.5 (parallel compression on every core,
# output bytes unchanged); the zstd figure is reported.
#
# The tree is a Debian rootfs made with mmdebstrap (minbase plus a few big
# packages, ~600 MiB), cached in build/bench-cache; ROOTFS=DIR uses another.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/timing.sh
ENVBUILD=${ENVBUILD:-./build/envbuild}
RUNS=${RUNS:-3}
CACHE=${CACHE:-build/bench-cache}
WORK=$(mktemp -d /tmp/envbuild-bench-layer.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

ROOTFS=${ROOTFS:-}
if [ -z "$ROOTFS" ]; then
  ROOTFS="$CACHE/rootfs-600"
  if [ ! -e "$ROOTFS/.complete" ]; then
    echo "building a Debian rootfs with mmdebstrap (once)..."
    rm -rf "$ROOTFS"; mkdir -p "$CACHE"
    mmdebstrap --quiet --variant=minbase --mode=root \
      --include=python3,perl,gcc,g++,libllvm14,git,vim-nox,python3-numpy \
      bookworm "$ROOTFS" >/dev/null
    # Device nodes cannot go into a layer from a plain directory walk; a
    # base image never ships them either.
    find "$ROOTFS" \( -type b -o -type c -o -type p -o -type s \) -delete
    touch "$ROOTFS/.complete"
  fi
fi
echo "tree: $ROOTFS ($(du -sm "$ROOTFS" | cut -f1) MiB, $(find "$ROOTFS" | wc -l) entries)"

envbuild_pack() {  # compression
  rm -rf "$WORK/oci"
  "$ENVBUILD" --quiet pack --compression "$1" --to "oci:$WORK/oci:t" "$ROOTFS"
}
tar_pipe() {  # compressor...
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOTFS" -cf - . \
    | "$@" >"$WORK/out"
}

eg=(); tg=(); ez=(); tz=()
for run in $(seq 1 "$RUNS"); do
  eg+=("$(time_cmd envbuild_pack gzip)")
  tg+=("$(time_cmd tar_pipe gzip -6)")
  ez+=("$(time_cmd envbuild_pack zstd)")
  tz+=("$(time_cmd tar_pipe zstd -3 -q)")
  echo "run $run: gzip envbuild ${eg[-1]}s tar|gzip ${tg[-1]}s; zstd envbuild ${ez[-1]}s tar|zstd ${tz[-1]}s"
done
m() { printf '%s\n' "$@" | median; }
a=$(m "${eg[@]}"); b=$(m "${tg[@]}"); c=$(m "${ez[@]}"); d=$(m "${tz[@]}")
printf 'gzip: envbuild %.2fs  tar|gzip -6 %.2fs  ratio %.2f (target <= 0.50)\n' "$a" "$b" "$(echo "$a / $b" | bc -l)"
printf 'zstd: envbuild %.2fs  tar|zstd -3 %.2fs  ratio %.2f\n' "$c" "$d" "$(echo "$c / $d" | bc -l)"
# Determinism of what was measured: two packs of the tree give one digest.
envbuild_pack gzip; first=$(cat "$WORK/oci/index.json")
envbuild_pack gzip; [ "$first" = "$(cat "$WORK/oci/index.json")" ] && echo "gzip layer digest stable across runs"
