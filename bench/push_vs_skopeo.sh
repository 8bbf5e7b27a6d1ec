#!/usr/bin/env bash
# Push a ~500 MiB, 5-layer image from an OCI layout to a loopback
# docker-registry with `envbuild copy` and with `skopeo copy`, alternating,
# same image, a fresh repository each run; then push again to the same
# repository (all blobs present). Prints median times and ratios.
# Targets: first push <= 0.7x skopeo, second push <= 0.2x skopeo.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/registry.sh
source bench/lib/timing.sh
ENVBUILD=${ENVBUILD:-./build/envbuild}
RUNS=${RUNS:-5}
LAYER_MIB=${LAYER_MIB:-100}
WORK=$(mktemp -d /tmp/envbuild-bench-push.XXXXXX)
trap 'stop_registry; rm -rf "$WORK"' EXIT

echo "preparing a 5-layer image of $((5 * LAYER_MIB)) MiB..."
dirs=()
for i in 1 2 3 4 5; do
  mkdir -p "$WORK/src/l$i"
  head -c $((LAYER_MIB * 1024 * 1024)) /dev/urandom >"$WORK/src/l$i/data.bin"
  dirs+=("$WORK/src/l$i")
done
"$ENVBUILD" --quiet pack --to "oci:$WORK/layout:bench" "${dirs[@]}" >/dev/null
# Each tool pushes into a registry of its own, started fresh for every run:
# skopeo remembers where it has seen a blob and would otherwise mount it from
# an earlier run's repository instead of uploading.
push_pair() {  # tool-name command... ; prints "first second"
  local name=$1; shift
  start_registry "$WORK/reg-$name-$run"
  local ref="$REGISTRY_HOST/bench/$name:t"
  local a b
  a=$(time_cmd "$@" "$ref")
  b=$(time_cmd "$@" "$ref")
  stop_registry
  rm -rf "$WORK/reg-$name-$run"
  echo "$a $b"
}
envbuild_push() { "$ENVBUILD" --quiet copy "oci:$WORK/layout:bench" "$1"; }
skopeo_push() { skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout:bench" "docker://$1"; }

first_e=(); first_s=(); second_e=(); second_s=()
for run in $(seq 1 "$RUNS"); do
  read -r fe1 se1 < <(push_pair envbuild envbuild_push)
  read -r fs1 ss1 < <(push_pair skopeo skopeo_push)
  first_e+=("$fe1"); second_e+=("$se1"); first_s+=("$fs1"); second_s+=("$ss1")
  echo "run $run: first envbuild ${fe1}s skopeo ${fs1}s; second envbuild ${se1}s skopeo ${ss1}s"
done
fe=$(printf '%s\n' "${first_e[@]}" | median); fs=$(printf '%s\n' "${first_s[@]}" | median)
se=$(printf '%s\n' "${second_e[@]}" | median); ss_=$(printf '%s\n' "${second_s[@]}" | median)
printf 'first push:  envbuild %.3fs  skopeo %.3fs  ratio %.2f (target <= 0.70)\n' "$fe" "$fs" "$(echo "$fe / $fs" | bc -l)"
printf 'second push: envbuild %.3fs  skopeo %.3fs  ratio %.2f (target <= 0.20)\n' "$se" "$ss_" "$(echo "$se / $ss_" | bc -l)"
