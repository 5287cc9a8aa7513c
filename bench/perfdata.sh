#!/usr/bin/env bash
# Bench: xprof report against perf report on the same perf.data of about a million samples with
# callchains, recorded here with perf record -g on the bundled mixed workload. Prints both tools' times and
# peak memory, without and with callchains (children), and xprof's ratios.
# Usage: bench/perfdata.sh BIN_DIR      (XPROF_BENCH_PERF_SECONDS sets the recording length, default 25;
#        XPROF_BENCH_RUNS how many runs of each command, best time kept, default 3)
set -euo pipefail
bin=${1:?usage: bench/perfdata.sh BIN_DIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
secs=${XPROF_BENCH_PERF_SECONDS:-25}
max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo 20000)
hz=$(( max < 20000 ? max : 20000 ))
perf record -e cpu-clock -F "$hz" -g -o "$dir/perf.data" -- "$bin/xprof-workload" mixed "$secs" >/dev/null 2>"$dir/rec"
samples=$(perf script -i "$dir/perf.data" -F period -G 2>/dev/null | wc -l)
echo "perf.data: $samples samples with callchains ($(du -h "$dir/perf.data" | cut -f1)), cpu-clock at $hz Hz, $secs s"
runs=${XPROF_BENCH_RUNS:-3}
run() { # label, command... — best time of $runs runs (the machine is shared), peak memory of that run
  local label=$1; shift
  local best="" bm=""
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$dir/t" "$@" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
    read -r t m <"$dir/t"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; bm=$m; fi
  done
  printf '%-66s %7s s %9s KB\n' "$label" "$best" "$bm" >&2
  echo "$best $bm"
}
read -r xt xm < <(run "xprof report --sort dso,sym" "$bin/xprof" report "$dir/perf.data" --sort dso,sym)
read -r pt pm < <(run "perf report --stdio --no-children --sort dso,sym -g none" perf report -i "$dir/perf.data" --stdio --no-children --sort dso,sym -g none)
read -r xct xcm < <(run "xprof report --children --sort dso,sym" "$bin/xprof" report "$dir/perf.data" --children --sort dso,sym)
read -r pct pcm < <(run "perf report --stdio --children --sort dso,sym (callchains)" perf report -i "$dir/perf.data" --stdio --children --sort dso,sym)
awk -v xt="$xt" -v pt="$pt" -v xm="$xm" -v pm="$pm" -v xct="$xct" -v pct="$pct" -v xcm="$xcm" -v pcm="$pcm" 'BEGIN {
  if (xt < 0.01) xt = 0.01; if (xct < 0.01) xct = 0.01;
  printf "without callchains: xprof %.1fx faster than perf report (goal 10x), memory %.2fx of perf\n", pt / xt, xm / pm;
  printf "with callchains:    xprof %.1fx faster than perf report (goal 30x), memory %.2fx of perf\n", pct / xct, xcm / pcm }'
