#!/usr/bin/env bash
# snapshot push side by side with git and restic on the same generated tree:
# 2000 files / ~300 MB, plus a 50k-file node_modules/ that .gitignore hides.
# Cases: first push, unchanged re-push, re-push after editing 10 files.
# Targets: first push <= 0.5x restic backup; unchanged <= 1.0x git status;
# edit-10 <= 0.5x restic backup. Prints median times and ratios.
# "Unchanged" means nothing changed since the previous push: after the
# commit one push records the new commit (reported on its own line, as it
# reads the repository through libgit2), then UNCHANGED_RUNS pushes
# alternate with as many `git status` runs on the same tree.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/timing.sh
SNAPSHOT=${SNAPSHOT:-./build/snapshot}
RUNS=${RUNS:-3}
UNCHANGED_RUNS=${UNCHANGED_RUNS:-9}
WORK=$(mktemp -d /tmp/envbuild-bench-snap.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export RESTIC_PASSWORD=bench GIT_CONFIG_NOSYSTEM=1 HOME="$WORK/home"
mkdir -p "$HOME"
git config --global user.email bench@example.com
git config --global user.name bench

echo "generating the tree..."
SRC="$WORK/src"
mkdir -p "$SRC"
for d in $(seq 1 40); do
  mkdir -p "$SRC/pkg$d"
  for f in $(seq 1 48); do head -c $((4096 + (d * f * 37) % 16384)) /dev/urandom >"$SRC/pkg$d/mod$f.py"; done
done
mkdir -p "$SRC/data"
for f in $(seq 1 80); do head -c $((3500 * 1024)) /dev/urandom >"$SRC/data/shard$f.bin"; done
mkdir -p "$SRC/node_modules"
for d in $(seq 1 500); do
  mkdir -p "$SRC/node_modules/m$d"
  for f in $(seq 1 100); do echo "$d $f" >"$SRC/node_modules/m$d/f$f.js"; done
done
echo "node_modules/" >"$SRC/.gitignore"
echo "files: $(find "$SRC" -path "$SRC/node_modules" -prune -o -type f -print | wc -l), bytes: $(du -sb --exclude=node_modules "$SRC" | cut -f1)"

edit10() { for f in $(seq 1 10); do head -c 2048 /dev/urandom >>"$SRC/pkg$f/mod1.py"; done; }
snap() { "$SNAPSHOT" --quiet push "$SRC" --to "oci:$WORK/store-$1" --max-files 5000 --max-bytes 1GB >/dev/null; }

fs=(); fr=(); ga=(); ac=(); ug=(); us=(); es=(); er=()
for run in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/store-$run" "$WORK/restic-$run" "$SRC/.git" "$WORK/cache-$run"
  export ENVBUILD_CACHE_DIR="$WORK/cache-$run"
  restic init --repo "$WORK/restic-$run" -q >/dev/null
  fs+=("$(time_cmd snap "$run")")
  fr+=("$(time_cmd restic backup -q --repo "$WORK/restic-$run" --exclude "$SRC/node_modules" "$SRC")")
  git -C "$SRC" init -q .
  ga+=("$(time_cmd git -C "$SRC" add -A)")
  git -C "$SRC" commit -qm base
  sleep 1  # let mtimes age past the racy window for every tool alike
  ac+=("$(time_cmd snap "$run")")
  for k in $(seq 1 "$UNCHANGED_RUNS"); do
    us+=("$(time_cmd snap "$run")")
    ug+=("$(time_cmd git -C "$SRC" status --porcelain)")
  done
  edit10
  es+=("$(time_cmd snap "$run")")
  er+=("$(time_cmd restic backup -q --repo "$WORK/restic-$run" --exclude "$SRC/node_modules" "$SRC")")
  echo "run $run: first snapshot ${fs[-1]}s restic ${fr[-1]}s | after commit ${ac[-1]}s | unchanged snapshot ${us[-1]}s git-status ${ug[-1]}s | edit-10 snapshot ${es[-1]}s restic ${er[-1]}s"
done
m() { printf '%s\n' "$@" | median; }
a=$(m "${fs[@]}"); b=$(m "${fr[@]}"); printf 'first push:     snapshot %.3fs  restic %.3fs      ratio %.2f (target <= 0.50)\n' "$a" "$b" "$(echo "$a / $b" | bc -l)"
a=$(m "${fs[@]}"); b=$(m "${ga[@]}"); printf '                (git add -A into a fresh repository: %.3fs, ratio %.2f)\n' "$b" "$(echo "$a / $b" | bc -l)"
a=$(m "${us[@]}"); b=$(m "${ug[@]}"); printf 'unchanged push: snapshot %.4fs  git status %.4fs  ratio %.2f (target <= 1.00)\n' "$a" "$b" "$(echo "$a / $b" | bc -l)"
a=$(m "${ac[@]}"); printf '                (first push after the commit, git metadata read again: %.4fs, ratio %.2f)\n' "$a" "$(echo "$a / $b" | bc -l)"
a=$(m "${es[@]}"); b=$(m "${er[@]}"); printf 'edit-10 push:   snapshot %.3fs  restic %.3fs      ratio %.2f (target <= 0.50)\n' "$a" "$b" "$(echo "$a / $b" | bc -l)"
