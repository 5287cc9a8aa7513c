#!/usr/bin/env bash
# Bench: does xprof's memory grow with the number of samples? The same workload recorded by perf record -g
# for a short and an eight times longer span (about 1 M and 8 M samples at bench/lib/run.sh's sampling plan),
# then `xprof report` (with and without --children) and `perf report` on both: peak memory of each tool on
# the long recording over the short one. A streaming reader's memory follows the distinct rows and stacks,
# not the samples; a tool that keeps every sample grows with the file.
# First, the bound of issue 14: generated recordings of 1 M and 20 M samples over the same addresses, `xprof
# report`'s peak memory on the larger within 20 % of the smaller (the bench fails otherwise).
# Usage: bench/memory.sh BIN_DIR   (XPROF_BENCH_MEMORY_SAMPLES: samples of the short recording, default
#        1000000; XPROF_BENCH_MEMORY_SMALL/LARGE: the generated files' samples, default 1 M and 20 M;
#        XPROF_BENCH_MEMORY_GENERATED_ONLY=1: only those)
set -euo pipefail
bin=${1:?usage: bench/memory.sh BIN_DIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XPROF_CACHE_DIR="$dir/xprof-cache"
target=${XPROF_BENCH_MEMORY_SAMPLES:-1000000}
runs=1  # peak memory is what is compared: one timed run each is enough
source "$(dirname "$0")/lib/run.sh"
sampling_plan "$target"

declare -A mem
# The issue's bound: `xprof report` on 1 M and 20 M samples over the same addresses (generated .xprof files,
# bench/lib/xprof-gen.py: every batch after the first is the same compressed chunk) within 20 % in peak
# memory. Fails the bench otherwise.
small=${XPROF_BENCH_MEMORY_SMALL:-1000000}; large=${XPROF_BENCH_MEMORY_LARGE:-20000000}
workload=$(command -v "$bin/xprof-workload")
for n in "$small" "$large"; do
  python3 "$(dirname "$0")/lib/xprof-gen.py" "$dir/g$n.xprof" "$n" "$workload"
  echo "== generated: $n samples ($(du -h "$dir/g$n.xprof" | cut -f1))"
  read -r _ mem[g$n] < <(run "xprof report --sort dso,sym ($n samples)" "$bin/xprof" report "$dir/g$n.xprof" --sort dso,sym)
  read -r _ mem[gc$n] < <(run "xprof report --children --sort dso,sym ($n samples)" "$bin/xprof" report "$dir/g$n.xprof" --children --sort dso,sym)
  read -r _ mem[gl$n] < <(run "xprof report --sort comm,dso,sym,line ($n samples)" "$bin/xprof" report "$dir/g$n.xprof" --sort comm,dso,sym,line)
done
verdict=$(awk -v a="${mem[g$small]}" -v b="${mem[g$large]}" -v c="${mem[gc$small]}" -v d="${mem[gc$large]}" \
  -v e="${mem[gl$small]}" -v f="${mem[gl$large]}" -v s="$small" -v l="$large" 'BEGIN {
  printf "  peak memory, %d over %d samples: xprof report %.3fx, --children %.3fx, --sort comm,dso,sym,line %.3fx (bound 1.20x)\n",
    l, s, b / a, d / c, f / e
  exit !(b / a <= 1.2 && d / c <= 1.2 && f / e <= 1.2) }') && ok=1 || ok=0
echo "$verdict"
rm -f "$dir"/g*.xprof
if [ "$ok" != 1 ]; then echo "FAIL: xprof report's peak memory grows with the samples" >&2; exit 1; fi
[ -n "${XPROF_BENCH_MEMORY_GENERATED_ONLY:-}" ] && exit 0

for scale in 1 8; do
  data="$dir/x$scale.data"
  perf record -e cpu-clock -F "$hz" -g -o "$data" -- "$bin/xprof-workload" stacks $(( secs * scale )) >/dev/null 2>"$dir/rec"
  samples=$(perf script -i "$data" -F period -G 2>/dev/null | wc -l)
  sync
  echo "== x$scale: $samples samples with callchains ($(du -h "$data" | cut -f1)), cpu-clock at $hz Hz"
  read -r _ mem[x$scale] < <(run "xprof report --sort dso,sym" "$bin/xprof" report "$data" --sort dso,sym)
  read -r _ mem[xc$scale] < <(run "xprof report --children --sort dso,sym" "$bin/xprof" report "$data" --children --sort dso,sym)
  read -r _ mem[p$scale] < <(run "perf report --stdio --no-children --sort dso,sym -g none" perf report -i "$data" --stdio --no-children --sort dso,sym -g none)
  rm -f "$data"
done
awk -v x1="${mem[x1]}" -v x8="${mem[x8]}" -v c1="${mem[xc1]}" -v c8="${mem[xc8]}" -v p1="${mem[p1]}" -v p8="${mem[p8]}" 'BEGIN {
  printf "  peak memory, 8x the samples over 1x: xprof report %.2fx, xprof report --children %.2fx, perf report %.2fx\n",
    x8 / x1, c8 / c1, p8 / p1 }'
