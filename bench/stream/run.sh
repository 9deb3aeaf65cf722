#!/usr/bin/env bash
# The streaming runtime's memory benchmark (issue #17): the Pi runner built for this
# machine draws one image of synthetic Streaming SD models over a width sweep, loading all
# weights (ram) and streaming them (read, prefetch, mmap), with the file in the page cache
# (hot) and dropped from it after opening (cold). It prints the baseline (the same binary
# with no model), then per width and provider: weight MB, peak resident memory (VmHWM,
# read by the runner from its own /proc/self/status), its ratio to load-all, the latency
# ratio, and the image CRC (every provider must draw the same image).
#
#   bench/stream/run.sh [WIDTH...]      default widths: 32 96 256 528 800 1152
#
# STEPS (default 1: one guided step, two denoiser passes and one decode) sets the sampler's
# steps. Synthetic models are written by `tinygen export --synthetic` into a temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
widths=("$@")
[ ${#widths[@]} -gt 0 ] || widths=(32 96 256 528 800 1152)
steps=${STEPS:-1}
command -v gcc >/dev/null || { echo "bench/stream needs gcc (apt-get install gcc)" >&2; exit 1; }
(cd "$root" && cargo build --release --bin tinygen)
bin=$root/target/release/tinygen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fw=$root/firmware-stub
# The runner as tinygen builds it for the Pi, but for this machine.
gcc -std=c99 -O2 -Wall -Wextra -static -pthread -DTG_DIFFUSION -DTG_RX_MAX=1100u -o "$work/runner" \
  "$fw/pi/runner.c" "$fw/host/board_host.c" "$fw/common/tg_firmware.c" "$fw/common/tg_proto.c" \
  "$fw/engine/tg_engine.c" "$fw/engine/tg_diffusion.c" "$fw/engine/tg_stream.c"
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
run() { "$work/runner" --provider "$1" --draw "$2" --steps "$steps" --label 3 --seed 7 ${3:+--cold}; }

base=$("$work/runner" --draw none)
echo "Streaming SD runner, one image at $steps step(s), chunks of 64 KB, $(nproc) cores"
echo "baseline (the runner with no model): peak $(field "$base" peak_kb) KiB (RssAnon $(field "$base" anon_kb), RssFile $(field "$base" file_kb))"
echo
printf '| %5s | %9s | %5s | %-8s | %10s | %10s | %9s | %10s | %8s |\n' width "weight MB" cache provider "peak KiB" "vs ram" "time s" "vs ram" CRC
printf '| %5s | %9s | %5s | %-8s | %10s | %10s | %9s | %10s | %8s |\n' ---: ---: --- --- ---: ---: ---: ---: ---
for w in "${widths[@]}"; do
  model=$work/synthetic-$w.bin
  "$bin" export "$root/projects/sd.ron" --synthetic "$w" --seed 1 >/dev/null
  mv "$root/projects/build/sd/export/synthetic-$w.bin" "$model"
  mb=$(awk -v b="$(stat -c %s "$model")" 'BEGIN { printf "%.1f", b / 1e6 }')
  for cache in hot cold; do
    cold=""
    [ "$cache" = cold ] && cold=1
    cat "$model" >/dev/null # into the page cache (a cold run drops it after opening)
    ram=$(run ram "$model" "$cold")
    for p in ram read prefetch mmap; do
      if [ "$p" = ram ]; then out=$ram; else out=$(run "$p" "$model" "$cold"); fi
      peak=$(field "$out" peak_kb)
      us=$(field "$out" micros)
      printf '| %5s | %9s | %5s | %-8s | %10s | %9.1fx | %9.2f | %9.2fx | %8s |\n' "$w" "$mb" "$cache" "$p" "$peak" \
        "$(awk -v a="$(field "$ram" peak_kb)" -v b="$peak" 'BEGIN { print a / b }')" \
        "$(awk -v u="$us" 'BEGIN { print u / 1e6 }')" \
        "$(awk -v a="$us" -v b="$(field "$ram" micros)" 'BEGIN { print a / b }')" \
        "$(field "$out" crc)"
    done
  done
  rm -f "$model"
done
echo
echo "Streaming saves little below ~20 MB of weights: the runner's own ~$(field "$base" peak_kb) KiB and the"
echo "activations are then most of the peak, with or without the weights in memory."
