#!/usr/bin/env bash
# Runs every libFuzzer target of xprof-fuzz (Sources/xprof-fuzz) for SECONDS each, under ASan, and prints the
# executions and corpus size per target. Called by `make fuzz SECONDS=N` after the sanitized build.
#   scripts/fuzz.sh SECONDS FUZZ_BINARY XPROF_BIN_DIR
# Seeds: the shared perf.data fixtures, a perf -z recording when perf can record here, .xprof files converted
# from them and recorded by xprof, the tlb-scaling Xenoprof capture packed with tar, Fixtures/fuzz/*.seed,
# and every input kept under Fixtures/fuzz/crashes/<target>/ (where new crashing inputs are written).
# Corpora grow across runs in .build-fuzz/corpus/<target>.
set -u
seconds=${1:?seconds}; fuzzer=${2:?fuzz binary}; bin=${3:?xprof bin dir}
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared/fixtures/perf"
corpora="$root/.build-fuzz/corpus"
seeds=$(mktemp -d "${TMPDIR:-/tmp}/xprof-fuzz-seeds-XXXXXX")
trap 'rm -rf "$seeds"' EXIT

mkdir -p "$seeds"/{perfdata,xprof,xenoprof,oprofile,xentrace,kallsyms,elf}
for f in "$shared"/*; do [ -f "$f" ] && cp "$f" "$seeds/perfdata/"; done
if perf record -q -e cpu-clock -c 50000 -g -z -o "$seeds/perfdata/recorded-z.data" -- "$bin/xprof-workload" spin 0.2 >/dev/null 2>&1; then
  :
else
  rm -f "$seeds/perfdata/recorded-z.data"; echo "note: perf record -z failed here; no compressed perf.data seed" >&2
fi
for f in "$seeds"/perfdata/*; do
  "$bin/xprof" convert "$f" -o "$seeds/xprof/$(basename "$f").xprof" >/dev/null 2>&1 || true
done
"$bin/xprof" record -e cpu-clock -g -o "$seeds/xprof/recorded.xprof" -- "$bin/xprof-workload" spin 0.2 >/dev/null 2>&1 || true
(cd "$root/Fixtures/xenoprof/tlb-scaling" && tar cf "$seeds/xenoprof/tlb-scaling.tar" capture.json dom*.rings)
cp "$root"/Fixtures/fuzz/oprofile.seed "$seeds/oprofile/"
# xentrace: small traces of the test writer (VMX with wrap records and lost records; SVM), 4 KB windows.
if gcc -O2 -o "$seeds/xentrace_writer" "$root/Fixtures/xentrace/xentrace_writer.c" 2>/dev/null; then
  "$seeds/xentrace_writer" -o "$seeds/xentrace/vmx.trace" -t 5 -l 1 --wrap >/dev/null 2>&1 || true
  "$seeds/xentrace_writer" -o "$seeds/xentrace/svm.trace" -t 5 --svm -p 3 >/dev/null 2>&1 || true
fi
# Symbol text: the head of this kernel's kallsyms (with modules) and a System.map.
head -c 16000 /proc/kallsyms >"$seeds/kallsyms/kallsyms.txt" 2>/dev/null || true
grep -m 200 ' \[' /proc/kallsyms >"$seeds/kallsyms/modules.txt" 2>/dev/null || true
cp "$root/Fixtures/xenoprof/guest-kernel.System.map" "$seeds/kallsyms/"
# ELF: a small program built here, with and without symbols, and a shared library of the system.
printf 'static int f(int x){return x*3;}\nint g(int y){return f(y)+1;}\nint main(void){return g(2);}\n' >"$seeds/p.c"
gcc -O1 -g -o "$seeds/elf/p" "$seeds/p.c" 2>/dev/null && strip -o "$seeds/elf/p.stripped" "$seeds/elf/p" 2>/dev/null || true
for lib in /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libelf.so.1; do [ -f "$lib" ] && cp -L "$lib" "$seeds/elf/"; done

status=0
summary=""
for t in perfdata xprof xenoprof oprofile xentrace kallsyms elf; do
  mkdir -p "$corpora/$t" "$root/Fixtures/fuzz/crashes/$t"
  log="$corpora/$t.log"
  echo "== $t: $seconds s" >&2
  # Swift's own backtracer off: libFuzzer's handler reports the trap and keeps the input.
  SWIFT_BACKTRACE=enable=no XPROF_FUZZ_TARGET=$t "$fuzzer" "$corpora/$t" "$seeds/$t" "$root/Fixtures/fuzz/crashes/$t" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$root/Fixtures/fuzz/crashes/$t/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  size=$(ls "$corpora/$t" | wc -l)
  line="$t: ${runs:-?} executions, corpus $size inputs, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    line="$line (see $log; the input is under Fixtures/fuzz/crashes/$t/)"
    grep -E "ERROR|SUMMARY" "$log" | head -3 >&2
  fi
  summary="$summary$line"$'\n'
done
printf '%s' "$summary"
exit $status
