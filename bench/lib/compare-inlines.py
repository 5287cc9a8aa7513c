#!/usr/bin/env python3
"""Compares `xprof symbolize --lines --inlines` (TSV) with `llvm-symbolizer --inlining` on the same addresses:
per address, the chain of frames (function, file, line), innermost first. Prints the share of addresses whose
whole chain agrees and the first few that do not. Usage: compare-inlines.py XPROF_TSV LLVM_OUTPUT [MAX_SHOWN]"""
import sys


def xprof_chains(path):
    chains, current = [], []
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 6:
                continue
            current.append((cols[1], cols[3], cols[4]))
            if cols[5] == "function":
                chains.append((cols[0], current))
                current = []
    return chains


def llvm_chains(path):
    chains = []
    with open(path) as f:
        blocks = f.read().split("\n\n")
    for b in blocks:
        lines = [l for l in b.split("\n") if l]
        if not lines:
            continue
        frames = []
        for k in range(0, len(lines) - 1, 2):
            loc = lines[k + 1].rsplit(":", 2)  # file:line:column
            file, line = (loc[0], loc[1]) if len(loc) == 3 else (loc[0], "0")
            frames.append((lines[k], file, "0" if line == "?" else line))
        chains.append(frames)
    return chains


def main():
    ours, theirs = xprof_chains(sys.argv[1]), llvm_chains(sys.argv[2])
    shown = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    if len(ours) != len(theirs):
        print(f"address counts differ: xprof {len(ours)}, llvm-symbolizer {len(theirs)}")
        sys.exit(1)
    bad = []
    for (address, mine), other in zip(ours, theirs):
        if mine != other:
            bad.append((address, mine, other))
    n = len(ours)
    print(f"agreement: {n - len(bad)} of {n} addresses ({100.0 * (n - len(bad)) / max(n, 1):.3f} %) have the same chain")
    for address, mine, other in bad[:shown]:
        print(f"  {address}: xprof {mine}\n  {' ' * len(address)}  llvm  {other}")


if __name__ == "__main__":
    main()
