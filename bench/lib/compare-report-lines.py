#!/usr/bin/env python3
"""Checks the source lines of `xprof report --sort symbol,line --format csv` on the vmlinux bench's synthetic
perf.data against llvm-symbolizer: each address's line-table row is the innermost frame of
`llvm-symbolizer --inlining` (file base name and line, as the report's `Source line` column shows them), so
the samples per line expected are the sampled counts of the addresses (COUNTS: `address count` lines, written
by kernel-perfdata.py) summed per line. Prints the share of samples on a line with the count llvm-symbolizer
gives it. Usage: compare-report-lines.py REPORT_CSV COUNTS ADDRS LLVM_OUTPUT"""
import collections
import os
import sys


def llvm_first_frames(path):
    """Per address block of llvm-symbolizer's output, the innermost frame's (file, line)."""
    out = []
    with open(path) as f:
        blocks = f.read().split("\n\n")
    for b in blocks:
        lines = [l for l in b.split("\n") if l]
        if len(lines) < 2:
            continue
        loc = lines[1].rsplit(":", 2)  # file:line:column
        file, line = (loc[0], loc[1]) if len(loc) == 3 else (loc[0], "0")
        out.append((file, "0" if line == "?" else line))
    return out


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
