#!/usr/bin/env bash
# Shows that a change kept xprof's behaviour: runs the same commands (report, script, annotate, diff, scale,
# export in every format, info, vmstat, and the commands of scripts/demo.sh) with two builds and compares
# their standard output, standard error and exit status byte for byte.
#
# Usage: scripts/same-output.sh OLD_BIN_DIR NEW_BIN_DIR [INPUT_DIR]
#   OLD_BIN_DIR, NEW_BIN_DIR: folders holding xprof and xprof-pprof (e.g. main's build, kept aside, and this one).
#   INPUT_DIR: where the recordings are made once and kept (default: .build/same-output-inputs); both builds
#   read the same files. Made with perf (fp and compressed callchains, pipe mode, several events, a group
#   read) and xprof record; the shared perf fixtures (../shared/fixtures/perf), the Xenoprof capture and a
#   xentrace file (Fixtures/) are read in place.
# Exits 1 and prints the first lines of each difference when any command's results differ. (A recording made
# with -a names every program that ran: one of them rebuilt between the two runs shows as a difference in its
# symbol warnings; run again.)
set -uo pipefail
old=${1:?usage: scripts/same-output.sh OLD_BIN_DIR NEW_BIN_DIR [INPUT_DIR]}
new=${2:?usage: scripts/same-output.sh OLD_BIN_DIR NEW_BIN_DIR [INPUT_DIR]}
in=${3:-.build/same-output-inputs}
mkdir -p "$in"
in=$(cd "$in" && pwd)
shared=../shared/fixtures/perf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Recordings, made once (delete INPUT_DIR to make them again).
make_inputs() {
  local w="$old/xprof-workload"
  [ -x "$w" ] || w="$new/xprof-workload"
  perf record -q -F 999 -g -o "$in/fp.data" -- "$w" tlb 1 2 >/dev/null 2>&1
  perf record -q -F 999 -g -z -o "$in/zstd.data" -- "$w" tlb 1 2 >/dev/null 2>&1
  perf record -q -F 999 -g -o - -- "$w" tlb 1 2 2>/dev/null > "$in/pipe.data"
  perf record -q -F 499 -e cpu-clock,task-clock -o "$in/events.data" -- "$w" tlb 1 2 >/dev/null 2>&1
  perf record -q -F 499 -e '{cpu-clock,task-clock}' -s -o "$in/group.data" -- "$w" tlb 1 2 >/dev/null 2>&1
  perf record -q -F 999 -a -g -o "$in/all.data" -- "$w" tlb 1 2 >/dev/null 2>&1
  "$old/xprof" record -F 999 -g -o "$in/rec.xprof" -- "$w" tlb 1 2 >/dev/null 2>&1
  "$old/xprof" record -F 999 -o "$in/rec2.xprof" -- "$w" tlb 1 1 >/dev/null 2>&1
  if command -v gcc >/dev/null; then
    gcc -O2 -Wall -o "$work/xentrace_writer" Fixtures/xentrace/xentrace_writer.c
    awk 'NR % 40 == 1 { print $1 }' Fixtures/xenoprof/guest-kernel.System.map |
      while read -r a; do printf '%x\n' $((0x$a + 16)); done > "$work/rips"
    "$work/xentrace_writer" -o "$in/host.trace" -p 4 -t 400 -l 1 -r "$work/rips"
  fi
  touch "$in/.complete"
}
[ -f "$in/.complete" ] || make_inputs

perf_inputs=("$in/fp.data" "$in/zstd.data" "$in/pipe.data" "$in/events.data" "$in/group.data" "$in/all.data"
             "$in/rec.xprof" "$in/rec2.xprof")
for f in "$shared"/quipper__perf.data.singleprocess-3.8 "$shared"/quipper__perf.data.callgraph-3.8 \
         "$shared"/quipper__perf.data.piped.header_features_aligned-6.12 "$shared"/mstange_linux-perf-data__sleep.data \
         "$shared"/KDAB_hotspot__perf.data.true.v1; do
  [ -f "$f" ] && perf_inputs+=("$f")
done
cap=Fixtures/xenoprof/tlb-scaling
map=Fixtures/xenoprof/guest-kernel.System.map
xen=$(./scripts/fetch-xen-syms.sh 2>/dev/null || true)

# One command per line: "NAME<TAB>ARGS…" where @OUT is a file the command writes (compared too).
commands() {
  local i=0
  for f in "${perf_inputs[@]}"; do
    i=$((i + 1))
    printf 'info%s\tinfo %s\n' "$i" "$f"
    printf 'infojson%s\tinfo %s --format json\n' "$i" "$f"
    printf 'report%s\treport %s\n' "$i" "$f"
    printf 'reportsort%s\treport %s --sort comm,pid,mode,image,symbol --top 30\n' "$i" "$f"
    printf 'reportcsv%s\treport %s --sort domain,cpu,image --format csv\n' "$i" "$f"
    printf 'reportjson%s\treport %s --sort symbol --format json --top 10\n' "$i" "$f"
    printf 'children%s\treport %s --children --sort symbol --top 20\n' "$i" "$f"
    printf 'callgraph%s\treport %s -g caller --sort symbol --top 5\n' "$i" "$f"
    printf 'group%s\treport %s --group --sort comm,image\n' "$i" "$f"
    printf 'kernel%s\treport %s --mode kernel --sort symbol --top 15\n' "$i" "$f"
    printf 'filter%s\treport %s --comms xprof-workload --dsos [kernel.kallsyms] --percentage relative\n' "$i" "$f"
    printf 'time%s\treport %s --time ,0.5 --sort comm\n' "$i" "$f"
    printf 'event%s\treport %s --event 1 --sort comm\n' "$i" "$f"
    printf 'script%s\tscript %s\n' "$i" "$f"
    printf 'scriptG%s\tscript %s -G -F comm,pid,tid,cpu,time,period,event,ip,sym,symoff,dso,domain,mode\n' "$i" "$f"
    printf 'scriptcsv%s\tscript %s --format csv --mode user\n' "$i" "$f"
    printf 'scriptjson%s\tscript %s --format json --comms xprof-workload\n' "$i" "$f"
    printf 'folded%s\texport %s\n' "$i" "$f"
    printf 'foldedp%s\texport %s --format folded --period --annotate --no-comm\n' "$i" "$f"
    printf 'flame%s\texport %s --format flamegraph -o @OUT\n' "$i" "$f"
    printf 'exportcsv%s\texport %s --format csv --sort comm,symbol\n' "$i" "$f"
    printf 'exportjson%s\texport %s --format json --mode kernel\n' "$i" "$f"
    printf 'pprof%s\texport %s --format pprof -o @OUT\n' "$i" "$f"
    printf 'html%s\texport %s --format html -o @OUT\n' "$i" "$f"
    printf 'htmlfilter%s\texport %s --format html --comms xprof-workload --mode user -o @OUT\n' "$i" "$f"
    printf 'annotate%s\tannotate %s --top 2\n' "$i" "$f"
    printf 'vmstat%s\tvmstat %s --interval 0.2\n' "$i" "$f"
  done
  printf 'diff1\tdiff %s %s\n' "$in/fp.data" "$in/zstd.data"
  printf 'diff2\tdiff %s %s --sort comm,symbol --format csv\n' "$in/rec.xprof" "$in/fp.data"
  printf 'diff3\tdiff %s %s --format html\n' "$in/rec.xprof" "$in/fp.data"
  printf 'scale1\tscale %s %s --cpus 2,1 --throughput 1,0.6 --svg @OUT\n' "$in/rec.xprof" "$in/rec2.xprof"
  printf 'scale2\tscale %s %s %s --sort symbol --format json\n' "$in/fp.data" "$in/pipe.data" "$in/all.data"
  if [ -f "$cap/capture.json" ] && [ -n "$xen" ]; then
    printf 'xenoprof1\treport %s --sort domain,image --xen %s --system-map 2=%s\n' "$cap" "$xen" "$map"
    printf 'xenoprof2\treport %s --domain 2 --xen %s --system-map 2=%s --top 12\n' "$cap" "$xen" "$map"
    printf 'xenoprof3\tscript %s --xen %s --system-map 2=%s\n' "$cap" "$xen" "$map"
    printf 'xenoprof4\texport %s --xen %s --system-map 2=%s\n' "$cap" "$xen" "$map"
    printf 'xenoprof5\tinfo %s\n' "$cap"
  fi
  if [ -f "$in/host.trace" ]; then
    printf 'xentrace1\tvmstat %s --interval 0.1 --cpu-hz 2.4GHz\n' "$in/host.trace"
    printf 'xentrace2\treport %s --event sched --sort domain --cpu-hz 2.4GHz\n' "$in/host.trace"
    printf 'xentrace3\treport %s --event vmexit --domain 1 --sort reason --cpu-hz 2.4GHz --top 10\n' "$in/host.trace"
    printf 'xentrace4\treport %s --event vmexit --domain 1 --sort reason,symbol --system-map 1=%s --cpu-hz 2.4GHz --top 12\n' "$in/host.trace" "$map"
    printf 'xentrace5\tscript %s --cpu-hz 2.4GHz\n' "$in/host.trace"
  fi
}

run() {  # BIN NAME ARGS… → $work/NAME.BIN.{out,err,rc,file}
  local bin=$1 name=$2 tag=$3
  shift 3
  local args=() a
  for a in "$@"; do
    if [ "$a" = @OUT ]; then args+=("$work/$name.$tag.file"); else args+=("$a"); fi
  done
  "$bin/xprof" "${args[@]}" >"$work/$name.$tag.out" 2>"$work/$name.$tag.err" </dev/null
  echo $? >"$work/$name.$tag.rc"
  # Files named in messages differ between the two runs only by their tag.
  sed -i "s|$work/$name.$tag.file|@OUT|g" "$work/$name.$tag.out" "$work/$name.$tag.err"
}

total=0
failed=0
while IFS=$'\t' read -r name line; do
  read -r -a argv <<<"$line"
  run "$old" "$name" old "${argv[@]}"
  run "$new" "$name" new "${argv[@]}"
  total=$((total + 1))
  bad=""
  for part in out err rc file; do
    a="$work/$name.old.$part" b="$work/$name.new.$part"
    [ -e "$a" ] || [ -e "$b" ] || continue
    cmp -s "$a" "$b" || bad="$bad $part"
  done
  if [ -n "$bad" ]; then
    failed=$((failed + 1))
    echo "DIFFERENT ($bad ): xprof $line"
    for part in $bad; do
      diff <(head -c 200000 "$work/$name.old.$part" | cat -v) <(head -c 200000 "$work/$name.new.$part" | cat -v) | head -8
    done
  fi
done < <(commands)
echo "$total commands, $failed with different results"
[ "$failed" = 0 ]
