#!/usr/bin/env bash
# Issue #3, item 7: seconds per epoch of the default die model in burn (tinygen train,
# release build) and in PyTorch on the CPU, side by side in one run on this machine.
# Installs torch from PyPI into bench/torch-speed/venv the first time.
# Usage: bench/torch-speed/run.sh [epochs] [batch size]
set -euo pipefail
cd "$(dirname "$0")"
epochs=${1:-3}
batch=${2:-64}
[ -x venv/bin/python ] || { python3 -m venv venv && venv/bin/pip install -q --upgrade pip && venv/bin/pip install -q torch numpy; }
# TINYGEN=path uses that binary (the dev profile builds dependencies at opt-level 3, so it
# trains at about release speed); otherwise a release build.
bin=${TINYGEN:-../../target/release/tinygen}
[ -n "${TINYGEN:-}" ] || (cd ../.. && cargo build --release --bin tinygen -q)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s/epochs: [0-9]*/epochs: $epochs/" -e "s/batch_size: 64/batch_size: $batch/" ../../projects/die.ron > "$work/die.ron"
echo "== burn (tinygen train, $bin, flex backend)"
"$bin" train "$work/die.ron" | tee "$work/burn.log" | grep '^epoch'
echo "== PyTorch"
venv/bin/python cvae_torch.py "$epochs" "$batch" | tee "$work/torch.log"
# Epoch 1 includes warm-up on both sides; compare the mean of the others.
burn=$(awk '/^epoch/ {n++; if (n > 1) {s += $(NF-1); k++}} END {printf "%.2f", s / k}' "$work/burn.log")
torch=$(awk '/^epoch/ {n++; if (n > 1) {s += $3; k++}} END {printf "%.2f", s / k}' "$work/torch.log")
echo "seconds per epoch (mean of epochs 2..$epochs): burn $burn, PyTorch $torch, ratio burn/PyTorch $(awk -v b="$burn" -v t="$torch" 'BEGIN {printf "%.2f", b / t}')"
