#!/usr/bin/env bash
# make demo: records the bundled TLB-shootdown storm for a few seconds and prints xprof's report of it.
# Usage: scripts/demo.sh BIN_DIR   (the folder with the release xprof and xprof-workload)
set -euo pipefail
bin=${1:?usage: scripts/demo.sh BIN_DIR}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== xprof record: 3 s of the TLB-shootdown storm (xprof-workload tlb 3 2), all CPUs' samples of it"
"$bin/xprof" record -F 1999 -o "$out/tlb.xprof" -- "$bin/xprof-workload" tlb 3 2
echo
echo "== xprof report: hottest functions per mode"
"$bin/xprof" report "$out/tlb.xprof" --sort mode,image,symbol --top 25
echo
echo "== xprof report --mode kernel: where the kernel time went (TLB-flush IPIs: smp_call_function_many_cond, flush_tlb_*)"
"$bin/xprof" report "$out/tlb.xprof" --mode kernel --sort symbol --top 15
cap=Fixtures/xenoprof/tlb-scaling
if [ -f "$cap/capture.json" ]; then
  xen=$(./scripts/fetch-xen-syms.sh)
  map=Fixtures/xenoprof/guest-kernel.System.map
  echo
  echo "== xprof report of a SYNTHETIC multi-domain Xenoprof capture ($cap): per-domain summary"
  "$bin/xprof" report "$cap" --sort domain,image --xen "$xen" --system-map "2=$map"
  echo
  echo "== xprof report --domain 2: the guest's hot functions in Xen 4.17 and in its kernel"
  "$bin/xprof" report "$cap" --domain 2 --xen "$xen" --system-map "2=$map" --top 12
fi
# A SYNTHETIC xentrace file (Fixtures/xentrace/xentrace_writer.c writes Xen's trace records the way the xentrace
# daemon stores them: 4 physical CPUs, dom0, two HVM guests and a PV guest); what `xentrace` records on a Xen host
# reads the same way (docs/XEN.md).
if command -v gcc >/dev/null; then
  gcc -O2 -Wall -o "$out/xentrace_writer" Fixtures/xentrace/xentrace_writer.c
  map=Fixtures/xenoprof/guest-kernel.System.map
  # Exits at RIPs 16 bytes into every 40th function of the guest kernel's map.
  awk 'NR % 40 == 1 { print $1 }' "$map" | while read -r a; do printf '%x\n' $((0x$a + 16)); done > "$out/rips"
  "$out/xentrace_writer" -o "$out/host.trace" -p 4 -t 400 -l 1 -r "$out/rips"
  echo
  echo "== xprof vmstat of a SYNTHETIC xentrace file: per physical CPU and 100 ms, busy share and the domain-vCPUs that ran"
  "$bin/xprof" vmstat "$out/host.trace" --interval 0.1 --cpu-hz 2.4GHz
  echo
  echo "== xprof report --event sched: run time per domain (period = ns)"
  "$bin/xprof" report "$out/host.trace" --event sched --sort domain --cpu-hz 2.4GHz
  echo
  echo "== xprof report --event vmexit --domain 1: HVM exits by reason, then the guest-kernel functions that caused them"
  "$bin/xprof" report "$out/host.trace" --event vmexit --domain 1 --sort reason --cpu-hz 2.4GHz --top 10
  "$bin/xprof" report "$out/host.trace" --event vmexit --domain 1 --sort reason,symbol --system-map "1=$map" --cpu-hz 2.4GHz --top 12
fi
# The HTML pages of demo recordings (the TLB storm at 1 and 2 CPUs, with callchains) and their screenshots,
# taken in chromium by Tests/Browser/pagedriver.py, in demo-out/ (XPROF_DEMO_OUT).
pages=${XPROF_DEMO_OUT:-demo-out}
mkdir -p "$pages"
if [ "$(nproc)" -ge 2 ]; then
  echo
  echo "== xprof sweep -g --cpus 1,2 --format html: the TLB storm at 1 and 2 CPUs; its scale page, the 2-CPU run's report page, their diff page"
  "$bin/xprof" sweep -g -F 1999 --cpus 1,2 -o "$out/sweep" --sort symbol --top 10 --format html -- "$bin/xprof-workload" tlb 2 '{cpus}' >"$pages/scale.html"
  "$bin/xprof" export "$out/sweep/run-2cpu.xprof" --format html -o "$pages/report.html"
  "$bin/xprof" diff "$out/sweep/run-1cpu.xprof" "$out/sweep/run-2cpu.xprof" --format html >"$pages/diff.html"
  py=${XPROF_BROWSER_PYTHON:-$HOME/.cache/xprof-test-venv/bin/python}
  if [ -x "$py" ] && [ -x "${XPROF_CHROMIUM:-/usr/bin/chromium}" ]; then
    shot() { # page, steps (JSON)
      echo "$2" >"$out/steps.json"
      "$py" Tests/Browser/pagedriver.py "$pages/$1.html" "$out/steps.json" >/dev/null
    }
    shot report "[{\"op\": \"search\", \"text\": \"tlb\"}, {\"op\": \"screenshot\", \"path\": \"$pages/report.png\", \"full_page\": true}]"
    shot diff "[{\"op\": \"screenshot\", \"path\": \"$pages/diff.png\", \"full_page\": true}]"
    shot scale "[{\"op\": \"click_chart_row\", \"index\": 0}, {\"op\": \"screenshot\", \"path\": \"$pages/scale.png\", \"full_page\": true}]"
    echo "pages and screenshots in $(cd "$pages" && pwd): report, diff and scale (.html, .png)"
  else
    echo "pages in $(cd "$pages" && pwd); no screenshots: chromium or the Playwright venv is missing (make deps installs both)"
  fi
fi
