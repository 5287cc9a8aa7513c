#!/usr/bin/env bash
# Bench: xprof report against perf report on a whole-system recording of the real kind — `perf record -a -g`
# of a parallel build (scripts/record-parallel-build.sh: a generated C project of 300 files compiled with
# `gcc -O2 -g` by `make -j$(nproc)`, cleaned and built again until the time is up; hundreds of short-lived
# processes, each mapping cc1, as, ld and their libraries).
# Prints both tools' best time and peak memory for the flat report (--no-children -g none) and the
# callchain-inclusive one (--children), xprof's with and without its symbol cache, and the ratios.
# Usage: bench/wholesystem.sh BIN_DIR   (XPROF_BENCH_SYSTEM_SAMPLES: samples to aim for, default 2200000;
#        XPROF_BENCH_RUNS: timed runs of each command under 5 s, best time kept, default 5;
#        XPROF_BENCH_SYSTEM_DATA: an existing recording to use instead of recording one)
set -euo pipefail
bin=${1:?usage: bench/wholesystem.sh BIN_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XPROF_CACHE_DIR="$dir/xprof-cache"
target=${XPROF_BENCH_SYSTEM_SAMPLES:-2200000}
runs=${XPROF_BENCH_RUNS:-5}
max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo 20000)
hz=$(( max < 20000 ? max : 20000 ))
cpus=$(nproc)
# cpu-clock samples busy CPUs only; the build keeps them all busy most of the time.
secs=$(( target / (hz * cpus) + 3 ))

source "$(dirname "$0")/lib/run.sh"

data=${XPROF_BENCH_SYSTEM_DATA:-}
if [ -z "$data" ]; then
  data="$dir/system.data"
  "$root/scripts/record-parallel-build.sh" "$data" "$hz" "$secs" 300 >/dev/null
fi
samples=$(perf script -i "$data" -F period -G 2>/dev/null | wc -l)
procs=$(perf report -i "$data" --stats 2>/dev/null | awk '/FORK events/ { print $3 }')
sync
echo "== whole system, parallel build: $samples samples with callchains, ${procs:-?} forks ($(du -h "$data" | cut -f1)), $cpus CPUs"
read -r xt xm < <(run "xprof report --sort dso,sym" "$bin/xprof" report "$data" --sort dso,sym)
read -r xot xom < <(run "xprof report --sort dso,sym (no symbol cache)" env XPROF_SYMBOL_CACHE=0 "$bin/xprof" report "$data" --sort dso,sym)
read -r pt pm < <(run "perf report --stdio --no-children --sort dso,sym -g none" perf report -i "$data" --stdio --no-children --sort dso,sym -g none)
read -r xct xcm < <(run "xprof report --children --sort dso,sym" "$bin/xprof" report "$data" --children --sort dso,sym)
read -r xcot xcom < <(run "xprof report --children --sort dso,sym (no symbol cache)" env XPROF_SYMBOL_CACHE=0 "$bin/xprof" report "$data" --children --sort dso,sym)
read -r pct pcm < <(run "perf report --stdio --children --sort dso,sym" perf report -i "$data" --stdio --children --sort dso,sym)
awk -v xt="$xt" -v xot="$xot" -v pt="$pt" -v xm="$xm" -v xom="$xom" -v pm="$pm" -v xct="$xct" -v xcot="$xcot" -v pct="$pct" \
    -v xcm="$xcm" -v xcom="$xcom" -v pcm="$pcm" 'BEGIN {
  if (xt < 0.001) xt = 0.001; if (xct < 0.001) xct = 0.001;
  printf "  without callchains: xprof %.1fx faster than perf report -g none --no-children (goal 10x), memory %.2fx of perf\n", pt / xt, xm / pm;
  printf "                      without the symbol cache %.1fx, memory %.2fx of perf\n", pt / xot, xom / pm;
  printf "  with callchains:    xprof %.1fx faster than perf report --children (goal 30x), memory %.2fx of perf\n", pct / xct, xcm / pcm;
  printf "                      without the symbol cache %.1fx, memory %.2fx of perf\n", pct / xcot, xcom / pcm }'
