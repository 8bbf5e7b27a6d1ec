#!/usr/bin/env bash
# envbuild create of an already-built definition against a loopback
# docker-registry (a cache hit: one manifest request, nothing built) side by
# side with `skopeo inspect` of the same image, alternating RUNS times.
# Target: ratio <= 1.0. Prints median times and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/registry.sh
source bench/lib/timing.sh
ENVBUILD=${ENVBUILD:-./build/envbuild}
RUNS=${RUNS:-21}
WORK=$(mktemp -d /tmp/envbuild-bench-create.XXXXXX)
trap 'stop_registry; rm -rf "$WORK"' EXIT
export ENVBUILD_HOME="$WORK/store"

start_registry "$WORK/registry"
# A base image from Debian's busybox-static, pushed to the registry.
mkdir -p "$WORK/rootfs/bin"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
ln -s busybox "$WORK/rootfs/bin/sh"
"$ENVBUILD" --quiet pack --to "oci:$WORK/base:1" "$WORK/rootfs" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$WORK/base:1" "docker://$REGISTRY_HOST/base/busybox:1"
cat >"$WORK/env.yml" <<YML
name: bench
image: $REGISTRY_HOST/base/busybox:1
python:
  user_managed_dependencies: true
environment_variables:
  MODE: bench
YML
REPO="$REGISTRY_HOST/bench/envs"
first=$("$ENVBUILD" --json create "$WORK/env.yml" --push "$REPO")
hash=$(echo "$first" | sed -n 's/.*"spec_hash":"\([0-9a-f]*\)".*/\1/p')
echo "built env-$hash"

hit() { "$ENVBUILD" --quiet create "$WORK/env.yml" --push "$REPO"; }
inspect() { skopeo inspect --tls-verify=false "docker://$REPO:env-$hash"; }
hit >/dev/null; inspect >/dev/null  # warm both
es=(); ss=()
for run in $(seq 1 "$RUNS"); do
  es+=("$(time_cmd hit)")
  ss+=("$(time_cmd inspect)")
done
e=$(printf '%s\n' "${es[@]}" | median); s=$(printf '%s\n' "${ss[@]}" | median)
printf 'cache hit: envbuild create %.4fs  skopeo inspect %.4fs  ratio %.2f (target <= 1.00)\n' \
  "$e" "$s" "$(echo "$e / $s" | bc -l)"
