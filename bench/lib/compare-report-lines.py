#!/usr/bin/env python3
"""Checks the source lines of `xprof report --sort symbol,line --format csv` on the vmlinux bench's synthetic
perf.data against llvm-symbolizer: each address's line-table row is the innermost frame of
`llvm-symbolizer --inlining` (file base name and line, as the report's `Source line` column shows them), so
the samples per line expected are the sampled counts of the addresses (COUNTS: `address count` lines, written
by kernel-perfdata.py) summed per line. Prints the share of samples on a line with the count llvm-symbolizer
gives it. Usage: compare-report-lines.py REPORT_CSV COUNTS ADDRS LLVM_OUTPUT"""
import collections
import importlib.util
import os
import sys

_spec = importlib.util.spec_from_file_location("compare_inlines", os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare-inlines.py"))
compare_inlines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_inlines)


def llvm_first_frames(path):
    """Per address block of llvm-symbolizer's output, the innermost frame's (file, line): the first frame of
    compare-inlines.py's chains (one parser for both benches)."""
    return [(chain[0][1], chain[0][2]) for chain in compare_inlines.llvm_chains(path) if chain]


report, counts_path, addrs_path, llvm_path = sys.argv[1:5]
addrs = [int(l, 16) for l in open(addrs_path) if l.strip()]
firsts = llvm_first_frames(llvm_path)
assert len(firsts) == len(addrs), f"llvm-symbolizer answered {len(firsts)} of {len(addrs)} addresses"
place = {}
for a, (file, line) in zip(addrs, firsts):
    place[a] = "??:0" if file == "??" else f"{os.path.basename(file)}:{line}"
expected = collections.Counter()
total = 0
for l in open(counts_path):
    a, n = l.split()
    expected[place[int(a, 16)]] += int(n)
    total += int(n)
actual = collections.Counter()
with open(report) as f:
    next(f)
    for row in f:
        c = row.rstrip("\n").rsplit(",", 1)
        head = c[0].split(",", 2)
        actual[c[1]] += int(head[1])
same = sum(min(n, actual[k]) for k, n in expected.items())
print(f"report lines: {same} of {total} samples ({100.0 * same / total:.3f} %) on the line llvm-symbolizer gives their address")
