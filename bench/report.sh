#!/usr/bin/env bash
# Bench: xprof record + report against perf record + perf report, on the same bundled workload,
# in the same run. Prints each tool's time and peak memory and xprof's ratio.
# Usage: bench/report.sh BIN_DIR
set -euo pipefail
bin=${1:?usage: bench/report.sh BIN_DIR}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
secs=${XPROF_BENCH_SECONDS:-6}
hz=${XPROF_BENCH_HZ:-9999}
measure() { # label, command... → prints "label seconds peakKB"
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; return 1; }
  read -r s kb <"$dir/time"
  echo "$label $s $kb"
}
"$bin/xprof" record -F "$hz" -o "$dir/run.xprof" -- "$bin/xprof-workload" mixed "$secs" 2>"$dir/rec1"
perf record -F "$hz" -o "$dir/perf.data" -- "$bin/xprof-workload" mixed "$secs" 2>"$dir/rec2" >/dev/null
xs=$(grep -o 'recorded [0-9]*' "$dir/rec1" | awk '{print $2}')
ps=$(grep -o '([0-9]* samples)' "$dir/rec2" | tr -d '(' | awk '{print $1}')
echo "samples: xprof recorded $xs, perf recorded $ps (mixed workload, $secs s at $hz Hz)"
x=$(measure xprof "$bin/xprof" report "$dir/run.xprof" --sort image,symbol)
p=$(measure perf perf report -i "$dir/perf.data" --stdio --sort dso,sym)
read -r _ xt xm <<<"$x"; read -r _ pt pm <<<"$p"
printf '%-44s %8s s %10s KB\n' "xprof report (image,symbol)" "$xt" "$xm"
printf '%-44s %8s s %10s KB\n' "perf report --stdio --sort dso,sym" "$pt" "$pm"
awk -v xt="$xt" -v pt="$pt" -v xm="$xm" -v pm="$pm" 'BEGIN {
  if (xt < 0.005) xt = 0.005;
  printf "ratio: xprof is %.1fx faster than perf report, using %.2fx its memory\n", pt / xt, xm / pm }'
