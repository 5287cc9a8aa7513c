#!/usr/bin/env python3
"""Writes a SYNTHETIC perf.data file of kernel samples for the vmlinux bench: one cpu-clock event, the
kernel's text mapping ([kernel.kallsyms]_text at the image's own _text, so no KASLR slide) and N samples
(PERF_RECORD_SAMPLE: ip, pid/tid, time, period; cpumode kernel) over the addresses read from ADDRS (one hex
address a line), drawn with a skewed, fixed-seed distribution (a few hot addresses, a long tail), with a
FINISHED_ROUND record every 10,000 samples as perf writes them.

Usage: kernel-perfdata.py VMLINUX ADDRS N OUT   (also writes OUT.counts: `address count` per address sampled)
The perf.data layout (header, attr section, data section) is perf's documented file format
(tools/perf/Documentation/perf.data-file-format.txt); perf report reads the result too."""
import random
import struct
import subprocess
import sys

vmlinux, addrs_path, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
addrs = [int(l, 16) for l in open(addrs_path) if l.strip()]

# The kernel text mapping: from _text to _etext (nm).
syms = {}
for line in subprocess.run(["nm", vmlinux], capture_output=True, text=True, check=True).stdout.splitlines():
    p = line.split()
    if len(p) == 3 and p[2] in ("_text", "_etext"):
        syms[p[2]] = int(p[0], 16)
text, etext = syms["_text"], syms["_etext"]

PERF_RECORD_MMAP, PERF_RECORD_SAMPLE, PERF_RECORD_FINISHED_ROUND = 1, 9, 68
MISC_KERNEL = 1
SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_PERIOD = 1 << 0, 1 << 1, 1 << 2, 1 << 8
sample_type = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD
# perf_event_attr, 128 bytes (PERF_ATTR_SIZE_VER7): software cpu-clock at 4000 Hz (freq), mmap and comm on.
attr_size = 128
flags = (1 << 8) | (1 << 9) | (1 << 10)  # mmap, comm, freq
attr = struct.pack("<IIQQQQQIIQQQQQIiQIHH", 1, attr_size, 0, 4000, sample_type, 0, flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
attr += b"\0" * (attr_size - len(attr))

data = bytearray()
name = b"[kernel.kallsyms]_text"
name += b"\0" * (8 - len(name) % 8)
data += struct.pack("<IHHIIQQQ", PERF_RECORD_MMAP, MISC_KERNEL, 8 + 32 + len(name), 0xFFFFFFFF, 0, text, etext - text, text) + name

rng = random.Random(11)
weights = [1.0 / (r + 10) for r in range(len(addrs))]
order = addrs[:]
rng.shuffle(order)
chosen = rng.choices(order, weights=weights, k=n)
sample = struct.Struct("<IHHQIIQQ")
t = 1_000_000_000
for i, ip in enumerate(chosen):
    t += 250_000
    pid = 1000 + (i % 4)
    data += sample.pack(PERF_RECORD_SAMPLE, MISC_KERNEL, sample.size, ip, pid, pid, t, 250_000)
    if i % 10000 == 9999:
        data += struct.pack("<IHH", PERF_RECORD_FINISHED_ROUND, 0, 8)
data += struct.pack("<IHH", PERF_RECORD_FINISHED_ROUND, 0, 8)
counts = {}
for ip in chosen:
    counts[ip] = counts.get(ip, 0) + 1
with open(out + ".counts", "w") as f:
    for ip, c in sorted(counts.items()):
        f.write(f"{ip:#x} {c}\n")

header_size = 104
attrs_offset = header_size
attrs_size = attr_size + 16
data_offset = attrs_offset + attrs_size
with open(out, "wb") as f:
    f.write(b"PERFILE2")
    f.write(struct.pack("<QQ", header_size, attrs_size))
    f.write(struct.pack("<QQ", attrs_offset, attrs_size))
    f.write(struct.pack("<QQ", data_offset, len(data)))
    f.write(struct.pack("<QQ", 0, 0))  # event types
    f.write(b"\0" * 32)  # feature bits: none
    f.write(attr + struct.pack("<QQ", 0, 0))  # the attr and its (empty) id section
    f.write(data)
