#!/usr/bin/env bash
# Bench: names, source lines and inline chains of 20,000 random kernel text addresses on Debian's full-DWARF
# kernel (linux-image-6.1.0-*-amd64-dbg's vmlinux, DWARF 5, ~630 MB; scripts/fetch-vmlinux.sh downloads it
# once into ~/.cache/xprof-bench), `xprof symbolize --lines --inlines` against `llvm-symbolizer --inlining`
# (Debian's llvm package): xprof with a cold symbol cache (its entries removed before each run: the run
# reads the DWARF and writes the cache) and a warm one, each tool's time and peak memory, the ratios, and how
# many addresses get the same chain of (function, file, line) frames from both (bench/lib/compare-inlines.py).
# Then a 1 M-sample kernel profile over those addresses, `report --sort symbol,line` cold and warm.
# Usage: bench/vmlinux.sh BIN_DIR   (XPROF_BENCH_VMLINUX_ADDRS: the count, default 20000;
#        XPROF_BENCH_VMLINUX_SAMPLES: samples of the profile, default 1000000;
#        XPROF_BENCH_RUNS: timed runs of each command under 5 s, best time kept, default 5;
#        XPROF_BENCH_VMLINUX: a vmlinux to use instead of Debian's)
set -euo pipefail
bin=${1:?usage: bench/vmlinux.sh BIN_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XPROF_CACHE_DIR="$dir/xprof-cache"
n=${XPROF_BENCH_VMLINUX_ADDRS:-20000}
runs=${XPROF_BENCH_RUNS:-5}
source "$(dirname "$0")/lib/run.sh"

vmlinux=${XPROF_BENCH_VMLINUX:-$("$root/scripts/fetch-vmlinux.sh")}
# Debian's llvm-symbolizer (the `llvm` package `make` installs), not the Swift toolchain's copy on PATH.
llvm=/usr/bin/llvm-symbolizer
[ -x "$llvm" ] || llvm=$(command -v llvm-symbolizer)

# Random addresses inside the sized text symbols (nm -S), a fixed seed: a random symbol, a random offset in it.
nm -S -n --defined-only "$vmlinux" | awk '$3 ~ /^[tT]$/ && NF == 4' | python3 -c '
import sys, random
random.seed(7)
syms = [(int(a, 16), int(s, 16)) for a, s, _, _ in (l.split() for l in sys.stdin) if int(s, 16) > 0]
for _ in range('"$n"'):
    a, s = random.choice(syms)
    print(hex(a + random.randrange(s)))' >"$dir/addrs"

echo "== Debian full-DWARF kernel $(basename "$vmlinux") ($(du -h "$vmlinux" | cut -f1)): $n random text addresses, names + lines + inline chains"
echo "   llvm-symbolizer: $llvm ($("$llvm" --version 2>/dev/null | grep -m1 -i version | sed 's/^ *//'))"
# Cold: the cache folder removed first (inside the timed span: a few milliseconds).
read -r ct cm < <(run "xprof symbolize --lines --inlines (cold symbol cache)" \
  bash -c 'rm -rf "$XPROF_CACHE_DIR"; exec "$0" symbolize --image "$1" --lines --inlines <"$2"' "$bin/xprof" "$vmlinux" "$dir/addrs")
"$bin/xprof" symbolize --image "$vmlinux" --lines --inlines <"$dir/addrs" >"$dir/xprof.tsv"
read -r wt wm < <(run "xprof symbolize --lines --inlines (warm symbol cache)" \
  bash -c 'exec "$0" symbolize --image "$1" --lines --inlines <"$2"' "$bin/xprof" "$vmlinux" "$dir/addrs")
read -r lt lm < <(run "llvm-symbolizer --inlining" bash -c 'exec "$0" --obj="$1" --inlining <"$2"' "$llvm" "$vmlinux" "$dir/addrs")
"$llvm" --obj="$vmlinux" --inlining <"$dir/addrs" >"$dir/llvm.txt"
awk -v ct="$ct" -v cm="$cm" -v wt="$wt" -v wm="$wm" -v lt="$lt" -v lm="$lm" 'BEGIN {
  if (ct < 0.001) ct = 0.001; if (wt < 0.001) wt = 0.001;
  printf "  cold cache: xprof %.1fx faster than llvm-symbolizer (goal 5x), memory %.2fx of llvm-symbolizer\n", lt / ct, cm / lm;
  printf "  warm cache: xprof %.1fx faster than llvm-symbolizer (goal 20x), memory %.2fx of llvm-symbolizer\n", lt / wt, wm / lm }'
printf '  '
python3 "$(dirname "$0")/lib/compare-inlines.py" "$dir/xprof.tsv" "$dir/llvm.txt" 3 | sed '2,$s/^/  /'
echo "  (goal: the same chain on >= 99.9 % of addresses)"

# The goal beyond: a kernel profile of 1 M samples (a synthetic perf.data over the same addresses, skewed:
# bench/lib/kernel-perfdata.py) resolved to source lines, `report --sort symbol,line`, cold and warm (goal:
# under 1 s warm); perf report --sort sym on the same file for scale (perf's srcline would run addr2line).
ns=${XPROF_BENCH_VMLINUX_SAMPLES:-1000000}
python3 "$(dirname "$0")/lib/kernel-perfdata.py" "$vmlinux" "$dir/addrs" "$ns" "$dir/kernel.data"
echo "== $ns kernel samples over those addresses (synthetic perf.data): report --sort symbol,line --vmlinux"
read -r rct rcm < <(run "xprof report --sort symbol,line (cold symbol cache)" \
  bash -c 'rm -rf "$XPROF_CACHE_DIR"; exec "$0" report "$1" --vmlinux 0="$2" --sort symbol,line' "$bin/xprof" "$dir/kernel.data" "$vmlinux")
"$bin/xprof" report "$dir/kernel.data" --vmlinux 0="$vmlinux" --sort symbol,line --format csv --percent-limit 0 >"$dir/report.csv"
read -r rwt rwm < <(run "xprof report --sort symbol,line (warm symbol cache)" \
  bash -c 'exec "$0" report "$1" --vmlinux 0="$2" --sort symbol,line' "$bin/xprof" "$dir/kernel.data" "$vmlinux")
read -r pt pm < <(run "perf report --sort sym (no lines)" \
  bash -c 'exec perf report -i "$0" --vmlinux "$1" --sort sym --stdio' "$dir/kernel.data" "$vmlinux")
awk -v ct="$rct" -v wt="$rwt" -v pt="$pt" 'BEGIN {
  printf "  warm: %.3f s (goal < 1 s); cold %.3f s; perf report without lines %.3f s\n", wt, ct, pt }'
printf '  '
python3 "$(dirname "$0")/lib/compare-report-lines.py" "$dir/report.csv" "$dir/kernel.data.counts" "$dir/addrs" "$dir/llvm.txt"
