#!/usr/bin/env python3
"""Writes a synthetic `.xprof` recording (docs/FORMAT.md) of N samples over a fixed set of addresses, cheaply:
every batch after the first is the same zlib-compressed chunk, so 20 M samples cost a few seconds and a file
of tens of MB. Used by bench/memory.sh to compare `xprof report`'s peak memory at 1 M and 20 M samples.

  bench/lib/xprof-gen.py OUT SAMPLES BINARY

The samples fall in BINARY's functions (from `nm`; the binary is mapped once, at BASE, file offset 0, so
an address is BASE + the symbol's address, as for a PIE whose text addresses equal its file offsets), two
threads of one process, each with a 4-frame callchain drawn from a small set of stacks. Times are 0
(unknown), so the batches need no order.
"""
import json, os, struct, subprocess, sys, zlib

BASE = 0x5555_5555_4000
PER_BATCH = 65536


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def chunk(kind, payload, count=0, compress=False):
    stored = zlib.compress(payload, 6) if compress else payload
    return b"CHNK" + struct.pack("<HHIIII", kind, 1 if compress else 0, len(stored), len(payload), count,
                                 crc(stored)) + stored


def functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    addrs = sorted({int(f.split()[0], 16) for f in out.splitlines()
                    if len(f.split()) == 3 and f.split()[1] in "tT" and int(f.split()[0], 16) > 0})
    if len(addrs) < 8:
        sys.exit(f"{binary}: too few function symbols ({len(addrs)})")
    return addrs


def batch(ips, stacks, n, sideband=b"", sideband_count=0):
    samples = bytearray()
    frames = bytearray()
    for i in range(n):
        stack = stacks[(i * 7919) % len(stacks)]
        tid = 1000 + (i & 1)
        samples += struct.pack("<QQQiiIIIHBBII", stack[0], 10000, 0, 1000, tid, 0, i & 1, 0xFFFFFFFF, 0, 0, 0,
                               len(stack), 0)
        for ip in stack:
            frames += struct.pack("<QB7x", ip, 0)
    head = struct.pack("<IIII", n, len(frames) // 16, sideband_count, 0)
    return chunk(3, head + bytes(samples) + bytes(frames) + sideband, n, compress=True)


def main():
    out, total, binary = sys.argv[1], int(sys.argv[2]), os.path.realpath(sys.argv[3])
    addrs = functions(binary)
    size = max(addrs) + 0x1000
    # 64 leaf addresses (a few bytes into each function), 256 stacks of 4 frames over them.
    ips = [BASE + addrs[(k * 37) % len(addrs)] + (k % 5) * 2 for k in range(64)]
    stacks = [[ips[(s * 13 + d * 29) % len(ips)] for d in range(4)] for s in range(256)]
    meta = {"source_format": "xprof", "hostname": "bench", "kernel_release": "6.1.0", "architecture": "x86_64",
            "cpus_online": 2, "cpus_used": [0, 1], "events": [{"name": "cpu-clock", "period": 10000}],
            "command": [binary], "start_time_ns": 0, "duration_ns": 0,
            "domains": [{"id": 0, "name": "host", "role": "coordinator", "vcpus": 2}], "symbol_hints": [],
            "extra": {"generator": "bench/lib/xprof-gen.py"}}
    path = binary.encode()
    name = b"xprof-workload"
    # Side-band before sample 0: the binary's mapping, then the two threads' names.
    sb = struct.pack("<IQB", 0, 0, 1) + struct.pack("<IiQQQBB", 0, 1000, BASE, size, 0, 1, 0) + \
        struct.pack("<I", len(path)) + path
    for tid in (1000, 1001):
        sb += struct.pack("<IQB", 0, 0, 2) + struct.pack("<iiiBI", 0, 1000, tid, 1, len(name)) + name
    header = bytearray(b"XPROFDAT" + struct.pack("<HHIQ", 1, 0, 32, 0))
    header += struct.pack("<II", crc(bytes(header)), 0)
    with open(out, "wb") as f:
        f.write(header)
        f.write(chunk(1, json.dumps(meta).encode()))
        first = min(total, PER_BATCH)
        f.write(batch(ips, stacks, first, sb, 3))
        left = total - first
        if left >= PER_BATCH:
            same = batch(ips, stacks, PER_BATCH)
            for _ in range(left // PER_BATCH):
                f.write(same)
        if left % PER_BATCH:
            f.write(batch(ips, stacks, left % PER_BATCH))
        end = {"samples": total, "duration_ns": 0, "dropped": {}, "unknown": {}, "skipped": [], "warnings": []}
        f.write(chunk(5, json.dumps(end).encode()))


if __name__ == "__main__":
    main()
