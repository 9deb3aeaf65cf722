#!/usr/bin/env bash
# Issue #3, item 6, and issue #15: die quality against model size. Trains die models with
# the settings of projects/die.ron at three or more sizes, then prints parameters, flash
# bytes of the decoder, instructions per image (measured in qemu) and two judges of 300
# dice per pip count: the shipped pip classifier ("read") and the counter of distinct pips,
# which has no learning in it ("counted", with the pip count it gets right least often).
# "device" is the C engine on the board's own latent draws at the board's temperature 0.5;
# "burn, T=1" the QAT model at temperature 1.
# About 5 minutes a size on two cores.
# Usage: bench/die-sizes/run.sh [tinygen binary] [size ...]   (sizes: small default large ...)
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:-../../target/release/tinygen}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(small default large)
[ -x "$bin" ] || (cd ../.. && cargo build --release --bin tinygen)
# "99.72% read by the pip classifier, 84.22% counted as distinct pips (worst: 6 at 43.33%)"
judge() { sed -E 's/.* ([0-9.]+%) read.* ([0-9.]+%) counted.*worst: ([0-9]) at ([0-9.]+%).*/\1 \2 \3:\4/'; }
printf '%-8s %7s %6s %10s | %-22s | %-22s\n' size params flash instr "device T=0.5 read counted worst" "burn T=1 read counted worst"
for size in "${sizes[@]}"; do
  p=die-$size.ron
  "$bin" train "$p" > "train-$size.log"
  json=$("$bin" budget "$p" --json --target host)
  params=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["params"])' <<< "$json")
  flash=$(python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["flash"]["weight_bytes"]+b["flash"]["const_bytes"])' <<< "$json")
  instr=$( ("$bin" budget "$p" --verify 2>/dev/null || true) | awk '/instructions per image/ {print $5}')
  dev=$("$bin" eval "$p" --engine --count 300 --temperature 0.5 | grep -m1 '^C engine' | judge)
  t1=$("$bin" eval "$p" --count 300 | grep -m1 '^Pip accuracy' | judge)
  printf '%-8s %7s %6s %10s | %-22s | %-22s\n' "$size" "$params" "$flash" "$instr" "$dev" "$t1"
done
