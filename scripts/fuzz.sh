#!/usr/bin/env bash
# Runs every libFuzzer target of xprof-fuzz (Sources/xprof-fuzz) for SECONDS each, under ASan, and prints the
# executions and corpus size per target. Called by `make fuzz SECONDS=N` after the sanitized build.
#   scripts/fuzz.sh SECONDS FUZZ_BINARY XPROF_BIN_DIR
# Seeds: the shared perf.data fixtures, a perf -z recording when perf can record here, .xprof files converted
# from them and recorded by xprof, the tlb-scaling Xenoprof capture packed with tar, Fixtures/fuzz/*.seed,
# traces of the xentrace test writer, symbol text, small gcc-built ELF files (for `elf` and, with DWARF 4/5,
# zlib and zstd sections, for `dwarf`), and every input kept under Fixtures/fuzz/crashes/<target>/ (where new
# crashing inputs are written). Corpora grow across runs in .build-fuzz/corpus/<target>.
# XPROF_FUZZ_TARGETS="dwarf elf" runs only those targets (default: all, one after the other).
set -u
seconds=${1:?seconds}; fuzzer=${2:?fuzz binary}; bin=${3:?xprof bin dir}
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared/fixtures/perf"
corpora="$root/.build-fuzz/corpus"
seeds=$(mktemp -d "${TMPDIR:-/tmp}/xprof-fuzz-seeds-XXXXXX")
trap 'rm -rf "$seeds"' EXIT

mkdir -p "$seeds"/{perfdata,xprof,xenoprof,oprofile,xentrace,kallsyms,elf,dwarf}
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
# DWARF: small gcc -g builds with inlined calls (C, and C++ with a namespace and a template), linked without
# the C library and page alignment (-N) so the debugging sections are most of the file: DWARF 4 and 5, the
# sections compressed with zlib (gcc -gz=zlib) and zstd (objcopy: this gcc has no -gz=zstd), and one
# ordinarily linked program.
cat >"$seeds/d.c" <<'SRC'
static inline int sq(int x) { return x * x; }
static inline int add(int a, int b) { return sq(a) + b; }
struct S { int v; };
int g(int y) { struct S s = { y }; for (int i = 0; i < y; i++) { int t = add(i, s.v); s.v ^= t; } return s.v; }
int main(int argc, char **argv) { (void)argv; return g(argc); }
SRC
cat >"$seeds/d.cc" <<'SRC'
namespace ns { template <class T> inline T tw(T x) { return x * 2 + 1; }
struct K { int k; int get() const { return tw(k); } }; }
int h(int n) { ns::K a{n}; int s = 0; for (int i = 0; i < n; i++) { ns::K b{i}; s += b.get() + a.get(); } return s; }
SRC
tiny="-O2 -g -nostdlib -static -Wl,--build-id=none -Wl,-N -Wl,--no-warn-rwx-segments"
for v in 4 5; do
  gcc $tiny -gdwarf-$v -e g -o "$seeds/dwarf/c-dwarf$v" "$seeds/d.c" 2>/dev/null
  gcc $tiny -gdwarf-$v -gz=zlib -e g -o "$seeds/dwarf/c-dwarf$v-zlib" "$seeds/d.c" 2>/dev/null
done
objcopy --compress-debug-sections=zstd "$seeds/dwarf/c-dwarf5" "$seeds/dwarf/c-dwarf5-zstd" 2>/dev/null ||
  echo "note: objcopy cannot compress with zstd here; no zstd DWARF seed" >&2
g++ $tiny -gdwarf-5 -e _Z1hi -o "$seeds/dwarf/cc-dwarf5" "$seeds/d.cc" 2>/dev/null
gcc -O2 -g -o "$seeds/dwarf/c-linked" "$seeds/d.c" 2>/dev/null
ls "$seeds/dwarf" | grep -q . || echo "note: gcc built no DWARF seed" >&2

status=0
summary=""
targets=${XPROF_FUZZ_TARGETS:-perfdata xprof xenoprof oprofile xentrace kallsyms elf dwarf}
for t in $targets; do
  mkdir -p "$corpora/$t" "$root/Fixtures/fuzz/crashes/$t"
  log="$corpora/$t.log"
  echo "== $t: $seconds s" >&2
  before=$(ls "$root/Fixtures/fuzz/crashes/$t" | wc -l)
  # Swift's own backtracer off: libFuzzer's handler reports the trap and keeps the input.
  SWIFT_BACKTRACE=enable=no XPROF_SYMBOL_CACHE=off XPROF_FUZZ_TARGET=$t "$fuzzer" "$corpora/$t" "$seeds/$t" "$root/Fixtures/fuzz/crashes/$t" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=30 \
    -artifact_prefix="$root/Fixtures/fuzz/crashes/$t/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  size=$(ls "$corpora/$t" | wc -l)
  crashes=$(( $(ls "$root/Fixtures/fuzz/crashes/$t" | wc -l) - before ))
  line="$t: ${runs:-?} executions, corpus $size inputs, $crashes new crashing inputs, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    line="$line (see $log; the input is under Fixtures/fuzz/crashes/$t/)"
    grep -E "ERROR|SUMMARY" "$log" | head -3 >&2
  fi
  summary="$summary$line"$'\n'
done
printf '%s' "$summary"
exit $status
