#!/usr/bin/env bash
# Puts a tiny base image into the local store as busybox:example: Debian's
# busybox-static with a few applet links, one reproducible layer. The example
# definition builds on it without reaching any registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for applet in sh ls cat echo env; do ln -s busybox "$root/bin/$applet"; done
./build/envbuild --quiet pack --to busybox:example "$root" \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin >/dev/null
