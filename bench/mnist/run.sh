#!/usr/bin/env bash
# Issues #7 and #14: BitNet MNIST configurations on the official MNIST test set. Trains each
# configuration below on the 60,000 official training digits (scripts/setup fetches them),
# then prints weights, test accuracy (burn integer model, and the C engine as on the board),
# the CH32V003 firmware's flash bytes, and instructions per inference measured in qemu
# (-icount shift=0, minstret around one inference, mean of the first 10 test digits, as
# BitNetMCU measures its 430,592). mnist-default.ron is projects/mnist.ron.
# Usage: bench/mnist/run.sh [TEST_DIR] [tinygen binary]
#   TEST_DIR holds t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz
#   (default: ../shared/data/mnist beside the repository).
# Takes about 15 minutes on two cores.
set -euo pipefail
source "$(dirname "$0")/common.sh"
printf '%-26s %7s %13s %9s %9s %12s %10s\n' config weights "weight bytes" burn "C engine" "flash bytes" instr/inf
for cfg in mnist-4bit mnist-ternary mnist-2bit mnist-default; do
  p=$cfg.ron
  "$bin" train "$p" --fresh > "train-$cfg.log"
  json=$("$bin" budget "$p" --json)
  weights=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])')
  # The weights as the CH32V003 firmware stores them (coded 4-bit layers: their streams).
  "$bin" export "$p" -o "build/export-$cfg" > /dev/null
  wbytes=$(awk '/#define TG_L[0-9]+_WEIGHT_BYTES/ {s += $3} END {print s}' "build/export-$cfg/tg_model.h")
  eval_out=$("$bin" eval "$p" --test "$test_dir")
  burn=$(echo "$eval_out" | awk '/burn integer model/ {print $(NF-3)}')
  engine=$(echo "$eval_out" | awk '/C engine, as on the board/ {print $7}')
  verify=$("$bin" budget "$p" --verify 2>/dev/null || true)
  flash=$(echo "$verify" | awk '/^flash bytes/ {print $4}')
  instr=$(echo "$verify" | awk '/instructions per inference/ {print $5}')
  printf '%-26s %7s %13s %9s %9s %12s %10s\n' "$cfg" "$weights" "$wbytes" "$burn" "$engine" "$flash" "$instr"
done
echo
echo "BitNetMCU on the same instrument: 430,592 instructions per inference, 14,548 bytes of"
echo "firmware text (12,608 of them weights), 99.02% (trained on 60,000 digits)."
