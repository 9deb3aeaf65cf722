#!/usr/bin/env bash
# Issue #3, item 6: pip accuracy against model size. Trains three die models (about 1,000,
# 2,000 and 4,000 parameters, 4-bit hidden layers, 8-bit output layer) with the settings
# of projects/die.ron, then prints parameters, flash bytes of the decoder, instructions per
# image (measured in qemu) and pip accuracy at temperature 1 and 0.5.
# Takes about 20 minutes on two cores. Usage: bench/die-sizes/run.sh [tinygen binary]
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:-../../target/release/tinygen}
[ -x "$bin" ] || (cd ../.. && cargo build --release --bin tinygen)
printf '%-8s %7s %6s %12s %13s %9s %9s\n' size params flash instr/image "device T=0.5" "burn T=1" "burn T=.5"
for size in small default large; do
  p=die-$size.ron
  "$bin" train "$p" > "train-$size.log"
  params=$("$bin" budget "$p" --json --target host | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["params"])')
  flash=$("$bin" budget "$p" --json --target host | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["flash"]["weight_bytes"]+b["flash"]["const_bytes"])')
  instr=$( ("$bin" budget "$p" --verify 2>/dev/null || true) | awk '/instructions per image/ {print $5}')
  dev=$("$bin" eval "$p" --engine --count 300 --temperature 0.5 | awk '/C engine/ {print $NF}')
  t1=$("$bin" eval "$p" --count 300 | awk '/Pip accuracy/ {print $3}')
  t5=$("$bin" eval "$p" --count 300 --temperature 0.5 | awk '/Pip accuracy/ {print $3}')
  printf '%-8s %7s %6s %12s %13s %9s %9s\n' "$size" "$params" "$flash" "$instr" "$dev" "$t1" "$t5"
done
