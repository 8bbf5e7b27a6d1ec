#!/usr/bin/env bash
# Push a ~500 MiB, 5-layer image from an OCI layout to a loopback
# docker-registry with `envbuild copy` and with `skopeo copy`, alternating,
# same image, a fresh repository each run; then push again to the same
# repository (all blobs present). Prints median times and ratios.
# Targets: first push <= 0.7x skopeo, second push <= 0.2x skopeo.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/registry.sh
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
start_registry "$WORK/registry"

first_e=(); first_s=(); second_e=(); second_s=()
for run in $(seq 1 "$RUNS"); do
  e_repo="$REGISTRY_HOST/bench/e$run:t"
  s_repo="$REGISTRY_HOST/bench/s$run:t"
  first_e+=("$(time_cmd "$ENVBUILD" --quiet copy "oci:$WORK/layout:bench" "$e_repo")")
  first_s+=("$(time_cmd skopeo copy --dest-tls-verify=false "oci:$WORK/layout:bench" "docker://$s_repo")")
  second_e+=("$(time_cmd "$ENVBUILD" --quiet copy "oci:$WORK/layout:bench" "$e_repo")")
  second_s+=("$(time_cmd skopeo copy --dest-tls-verify=false "oci:$WORK/layout:bench" "docker://$s_repo")")
  echo "run $run: first envbuild ${first_e[-1]}s skopeo ${first_s[-1]}s; second envbuild ${second_e[-1]}s skopeo ${second_s[-1]}s"
done
fe=$(printf '%s\n' "${first_e[@]}" | median); fs=$(printf '%s\n' "${first_s[@]}" | median)
se=$(printf '%s\n' "${second_e[@]}" | median); ss_=$(printf '%s\n' "${second_s[@]}" | median)
printf 'first push:  envbuild %.3fs  skopeo %.3fs  ratio %.2f (target <= 0.70)\n' "$fe" "$fs" "$(echo "$fe / $fs" | bc -l)"
printf 'second push: envbuild %.3fs  skopeo %.3fs  ratio %.2f (target <= 0.20)\n' "$se" "$ss_" "$(echo "$se / $ss_" | bc -l)"
