#!/usr/bin/env python3
"""Rewrites a little-endian perf.data (file mode) as a big-endian machine would have written it.

For testing xprof's big-endian path on a little-endian machine: every integer field of the header, the
attrs and their id arrays, and the records xprof reads (SAMPLE with the common sample_type fields, MMAP,
MMAP2, COMM, FORK, EXIT, LOST, LOST_SAMPLES, with their sample_id_all trailers) is byte-swapped; the attr's
flag bitfield is laid out from the most significant bit, as big-endian compilers allocate bitfields.
perf's own synthesized records (ID_INDEX, THREAD_MAP, CPU_MAP, EVENT_UPDATE, TIME_CONV, FINISHED_INIT) are
left out, as older perf versions wrote none; other record types keep their bodies (only their headers are
swapped). The header feature sections are dropped (their flags cleared), so symbol checks need
--force-symbols. `perf report` reads the result too.

Usage: perfdata-to-big-endian.py IN OUT
"""
import struct
import sys

SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_ADDR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
SAMPLE_READ, SAMPLE_CALLCHAIN, SAMPLE_ID, SAMPLE_CPU = 1 << 4, 1 << 5, 1 << 6, 1 << 7
SAMPLE_PERIOD, SAMPLE_STREAM_ID, SAMPLE_IDENTIFIER = 1 << 8, 1 << 9, 1 << 16
SUPPORTED = (SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_ADDR | SAMPLE_CALLCHAIN | SAMPLE_ID | SAMPLE_CPU
             | SAMPLE_PERIOD | SAMPLE_STREAM_ID | SAMPLE_IDENTIFIER)


def swap(buf, off, fmt):
    """Re-encodes the little-endian fields `fmt` at `off` of `buf` as big-endian."""
    values = struct.unpack_from("<" + fmt, buf, off)
    struct.pack_into(">" + fmt, buf, off, *values)
    return off + struct.calcsize(fmt)


def reverse_bits64(v):
    return int(format(v, "064b")[::-1], 2)


def swap_attr(buf, off, size):
    sample_type, sample_id_all = struct.unpack_from("<Q", buf, off + 24)[0], None
    flags = struct.unpack_from("<Q", buf, off + 40)[0]
    sample_id_all = bool(flags & (1 << 18))
    # type, size, config, sample_period, sample_type, read_format
    swap(buf, off, "IIQQQQ")
    struct.pack_into(">Q", buf, off + 40, reverse_bits64(flags))
    # wakeup_events, bp_type, then u64 words up to sample_stack_user
    o = off + 48
    fields = [("I", 4), ("I", 4), ("Q", 8), ("Q", 8), ("Q", 8), ("Q", 8), ("I", 4), ("i", 4), ("Q", 8),
              ("I", 4), ("H", 2), ("H", 2), ("I", 4), ("I", 4), ("Q", 8), ("Q", 8)]
    for fmt, n in fields:
        if o + n > off + size:
            break
        swap(buf, o, fmt)
        o += n
    return sample_type, sample_id_all


def trailer_size(sample_type):
    return 8 * sum(1 for b in (SAMPLE_TID, SAMPLE_TIME, SAMPLE_ID, SAMPLE_STREAM_ID, SAMPLE_CPU, SAMPLE_IDENTIFIER)
                   if sample_type & b)


def swap_trailer(buf, end, sample_type):
    o = end - trailer_size(sample_type)
    for bit, fmt in ((SAMPLE_TID, "II"), (SAMPLE_TIME, "Q"), (SAMPLE_ID, "Q"), (SAMPLE_STREAM_ID, "Q"),
                     (SAMPLE_CPU, "II"), (SAMPLE_IDENTIFIER, "Q")):
        if sample_type & bit:
            o = swap(buf, o, fmt)


def swap_sample(buf, off, end, t):
    o = off + 8
    if t & SAMPLE_IDENTIFIER:
        o = swap(buf, o, "Q")
    for bit, fmt in ((SAMPLE_IP, "Q"), (SAMPLE_TID, "II"), (SAMPLE_TIME, "Q"), (SAMPLE_ADDR, "Q"),
                     (SAMPLE_ID, "Q"), (SAMPLE_STREAM_ID, "Q"), (SAMPLE_CPU, "II"), (SAMPLE_PERIOD, "Q")):
        if t & bit:
            o = swap(buf, o, fmt)
    if t & SAMPLE_CALLCHAIN:
        nr = struct.unpack_from("<Q", buf, o)[0]
        o = swap(buf, o, "Q")
        o = swap(buf, o, "%dQ" % nr)
    if o != end:
        raise SystemExit("sample at byte %d: %d bytes left over (sample_type 0x%x)" % (off, end - o, t))


def main(src, dst):
    buf = bytearray(open(src, "rb").read())
    if buf[:8] != b"PERFILE2":
        raise SystemExit("%s: not a little-endian perf.data file" % src)
    _, hsize, attr_size, a_off, a_size, d_off, d_size = struct.unpack_from("<7Q", buf, 0)
    # Header: magic (as a big-endian writer's u64 "PERFILE2"), sizes and sections; no features.
    buf[0:8] = b"2ELIFREP"
    swap(buf, 8, "8Q")
    buf[72:104] = bytes(32)
    sample_type, sample_id_all = None, False
    for k in range(a_size // attr_size):
        o = a_off + k * attr_size
        t, sid = swap_attr(buf, o, attr_size - 16)
        if sample_type is None:
            sample_type, sample_id_all = t, sid
        ids_off, ids_size = struct.unpack_from("<QQ", buf, o + attr_size - 16)
        swap(buf, o + attr_size - 16, "QQ")
        swap(buf, ids_off, "%dQ" % (ids_size // 8))
    if sample_type & ~SUPPORTED:
        raise SystemExit("sample_type 0x%x has fields this converter does not handle" % sample_type)
    o, end = d_off, d_off + d_size
    out = bytearray(buf[:d_off])
    while o < end:
        rtype, misc, size = struct.unpack_from("<IHH", buf, o)
        if size < 8:
            raise SystemExit("record at byte %d has size %d" % (o, size))
        rend = o + size
        if rtype in (69, 73, 74, 78, 79, 82):
            o = rend
            continue
        if rtype == 9:
            swap_sample(buf, o, rend, sample_type)
        elif rtype in (1, 10, 3, 4, 7, 2, 13):
            if sample_id_all:
                swap_trailer(buf, rend, sample_type)
            b = o + 8
            if rtype == 1:
                swap(buf, b, "IIQQQ")
            elif rtype == 10:
                b = swap(buf, b, "IIQQQ")
                if misc & (1 << 14):  # build-id form: size byte, padding, 20 id bytes
                    b += 24
                else:
                    b = swap(buf, b, "IIQQ")
                swap(buf, b, "II")
            elif rtype == 3:
                swap(buf, b, "II")
            elif rtype in (4, 7):
                swap(buf, b, "IIIIQ")
            elif rtype == 2:
                swap(buf, b, "QQ")
            elif rtype == 13:
                swap(buf, b, "Q")
        swap(buf, o, "IHH")
        out += buf[o:rend]
        o = rend
    struct.pack_into(">Q", out, 48, len(out) - d_off)  # the data section's new size
    open(dst, "wb").write(bytes(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
