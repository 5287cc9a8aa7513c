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
