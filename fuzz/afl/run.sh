#!/usr/bin/env bash
# Coverage-guided fuzzing of the host's frame decoder and the project loader with AFL++,
# on the stable toolchain (cargo-afl instruments through rustc's own sanitizer coverage).
# Not part of CI: a run takes as long as you give it.
#   fuzz/afl/run.sh [SECONDS per target, default 600] [target ...]
# Targets: frame_decoder, project_loader (both by default), one after the other.
# New inputs that reach new code are kept in fuzz/afl/corpus/<target>/ (commit them);
# crashes and hangs are copied to fuzz/afl/crashes/<target>/ (turn each into a regression
# test), and the script exits 1 when there are any. The figures of each run (executions,
# corpus, coverage, crashes) are printed from AFL++'s fuzzer_stats.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame_decoder project_loader)
command -v cargo-afl > /dev/null || cargo install cargo-afl --locked
cargo afl config --build 2> /dev/null || true # the AFL++ runtime, once per toolchain
cargo afl build --release
found=0
declare -A corpus=([frame_decoder]=frames [project_loader]=projects)
for t in "${targets[@]}"; do
  in=corpus/${corpus[$t]}
  out=out/$t
  rm -rf "$out"
  mkdir -p out
  # AFL_NO_UI: plain log lines; the core pattern and CPU governor checks need root, skip.
  AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    timeout --preserve-status "$((secs + 30))" \
    cargo afl fuzz -V "$secs" -i "$in" -o "$out" "target/release/$t" > "out-$t.log" 2>&1 || true
  stats=$out/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "$t: AFL++ did not start; see fuzz/afl/out-$t.log" >&2
    exit 1
  fi
  awk -v t="$t" -F' *: *' '/^(run_time|execs_done|execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs)/ {printf "%s %s=%s\n", t, $1, $2}' "$stats"
  # Keep what was found: crashes and hangs, and the queue's new inputs join the corpus.
  for kind in crashes hangs; do
    for f in "$out"/default/$kind/id:*; do
      [ -f "$f" ] || continue
      mkdir -p "crashes/$t"
      cp "$f" "crashes/$t/$kind-$(sha256sum < "$f" | cut -c1-16)"
      found=1
    done
  done
  for f in "$out"/default/queue/id:*; do
    [ -f "$f" ] || continue
    h=$(sha256sum < "$f" | cut -c1-16)
    [ -e "$in/q-$h" ] || cp "$f" "$in/q-$h"
  done
done
if [ "$found" = 1 ]; then
  echo "crashes or hangs found: fuzz/afl/crashes/" >&2
  exit 1
fi
