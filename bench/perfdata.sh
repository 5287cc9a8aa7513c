#!/usr/bin/env bash
# Bench: xprof report against perf report on the same perf.data files of about a million samples with
# callchains, recorded here with perf record -g on two bundled workloads:
#   mixed   shallow stacks (a spin loop and a syscall loop, 3 to 10 frames)
#   stacks  deep, varied stacks (8 to 40 levels along 128 routes per thread through 32 functions, then spin or syscalls),
#           closer to a real program; perf's callchain trees grow large on it
# Prints both tools' times and peak memory, without and with callchains (children), with call graphs (-g),
# and for printing every sample (script, with and without callchains), and xprof's ratios.
# Usage: bench/perfdata.sh BIN_DIR   (XPROF_BENCH_PERF_SAMPLES: samples to aim for, default 1000000;
#        XPROF_BENCH_RUNS: timed runs of each command under 5 s (three times as many under 0.1 s), best time
#        kept, default 5;
#        XPROF_BENCH_WORKLOADS: which workloads, default "mixed stacks")
set -euo pipefail
bin=${1:?usage: bench/perfdata.sh BIN_DIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# xprof's symbol cache for these runs (the first run of each command writes it, as perf record fills
# ~/.debug for perf report); the runs with XPROF_SYMBOL_CACHE=0 show what a report costs without it.
export XPROF_CACHE_DIR="$dir/xprof-cache"
target=${XPROF_BENCH_PERF_SAMPLES:-1000000}
runs=${XPROF_BENCH_RUNS:-5}
source "$(dirname "$0")/lib/run.sh"
sampling_plan "$target"

for w in ${XPROF_BENCH_WORKLOADS:-mixed stacks}; do
  data="$dir/$w.data"
  perf record -e cpu-clock -F "$hz" -g -o "$data" -- "$bin/xprof-workload" "$w" "$secs" >/dev/null 2>"$dir/rec"
  samples=$(perf script -i "$data" -F period -G 2>/dev/null | wc -l)
  # The recording's pages are still being written back: let that finish before timing readers of it.
  sync
  echo "== $w: $samples samples with callchains ($(du -h "$data" | cut -f1)), cpu-clock at $hz Hz, $secs s"
  read -r xt xm < <(run "xprof report --sort dso,sym" "$bin/xprof" report "$data" --sort dso,sym)
  read -r xot xom < <(run "xprof report --sort dso,sym (no symbol cache)" env XPROF_SYMBOL_CACHE=0 "$bin/xprof" report "$data" --sort dso,sym)
  read -r pt pm < <(run "perf report --stdio --no-children --sort dso,sym -g none" perf report -i "$data" --stdio --no-children --sort dso,sym -g none)
  read -r xct xcm < <(run "xprof report --children --sort dso,sym" "$bin/xprof" report "$data" --children --sort dso,sym)
  read -r pct pcm < <(run "perf report --stdio --children --sort dso,sym (callchains)" perf report -i "$data" --stdio --children --sort dso,sym)
  read -r xgt xgm < <(run "xprof report --call-graph --sort dso,sym" "$bin/xprof" report "$data" --call-graph --sort dso,sym)
  read -r pgt pgm < <(run "perf report --stdio --no-children -g --sort dso,sym (call graphs)" perf report -i "$data" --stdio --no-children -g --sort dso,sym)
  read -r xst xsm < <(run "xprof script -G" "$bin/xprof" script "$data" -G)
  read -r pst psm < <(run "perf script -G" perf script -i "$data" -G)
  read -r xsct xscm < <(run "xprof script (callchains)" "$bin/xprof" script "$data")
  read -r psct pscm < <(run "perf script (callchains)" perf script -i "$data")
  awk -v xt="$xst" -v pt="$pst" -v xm="$xsm" -v pm="$psm" -v xct="$xsct" -v pct="$psct" -v xcm="$xscm" -v pcm="$pscm" 'BEGIN {
    if (xt < 0.001) xt = 0.001; if (xct < 0.001) xct = 0.001;
    printf "  script -G:          xprof %.1fx faster than perf script, memory %.2fx of perf\n", pt / xt, xm / pm;
    printf "  script, callchains: xprof %.1fx faster than perf script, memory %.2fx of perf\n", pct / xct, xcm / pcm }'
  awk -v xt="$xt" -v xot="$xot" -v pt="$pt" -v xm="$xm" -v pm="$pm" -v xct="$xct" -v pct="$pct" -v xcm="$xcm" -v pcm="$pcm" \
      -v xgt="$xgt" -v pgt="$pgt" -v xgm="$xgm" -v pgm="$pgm" 'BEGIN {
    if (xt < 0.001) xt = 0.001; if (xct < 0.001) xct = 0.001; if (xgt < 0.001) xgt = 0.001;
    printf "  without callchains: xprof %.1fx faster than perf report (goal 10x), memory %.2fx of perf\n", pt / xt, xm / pm;
    printf "                      without the symbol cache %.1fx\n", pt / xot;
    printf "  with callchains:    xprof %.1fx faster than perf report (goal 30x), memory %.2fx of perf\n", pct / xct, xcm / pcm;
    printf "  call graphs (-g):   xprof %.1fx faster than perf report, memory %.2fx of perf\n", pgt / xgt, xgm / pgm }'
  rm -f "$data"
done
