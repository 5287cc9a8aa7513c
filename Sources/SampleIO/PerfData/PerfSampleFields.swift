/// The fields of one PERF_RECORD_SAMPLE that xprof uses, after walking every field `sample_type` says
/// is present (in the kernel's output order) so that none can throw the others off.
struct PerfSampleFields {
    var ip: UInt64 = 0
    var pid: UInt32 = UInt32.max
    var tid: UInt32 = UInt32.max
    var time: UInt64 = 0
    var id: UInt64 = 0
    var cpu: UInt32 = UInt32.max
    var period: UInt64 = 1
    /// Byte offset of the PERF_SAMPLE_READ values within the record (-1: none); see ``PerfReadValues``.
    var readAt = -1
    /// Byte range of the callchain's u64 entries within the record, if present.
    var chainOffset = 0
    var chainCount = 0
}

/// Reads little- or big-endian integers from a raw record.
struct RawRecord {
    let p: UnsafeRawBufferPointer
    let big: Bool

    @inline(__always) func u64(_ o: Int) -> UInt64 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt64.self)
        return big ? v.byteSwapped : v
    }
    @inline(__always) func u32(_ o: Int) -> UInt32 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt32.self)
        return big ? v.byteSwapped : v
    }
    @inline(__always) func u16(_ o: Int) -> UInt16 {
        let v = p.loadUnaligned(fromByteOffset: o, as: UInt16.self)
        return big ? v.byteSwapped : v
    }
    var count: Int { p.count }

    /// A NUL-terminated string starting at `o`, bounded by the record.
    func string(_ o: Int) -> String {
        guard o < p.count else { return "" }
        var e = o
        while e < p.count, p[e] != 0 { e += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: p[o..<e]), as: UTF8.self)
    }
}

/// What the per-sample hot loop needs of an attr, as plain values (no strings or arrays, so reading it
/// per sample costs no reference counting).
struct PerfSampleLayout {
    var sampleType: UInt64
    var readFormat: UInt64
    var branchHWIndex: Bool
    /// Bytes of `regs[]` after a non-zero `abi` of REGS_USER / REGS_INTR.
    var regsUserBytes: Int
    var regsIntrBytes: Int
    /// The weight of a sample without PERIOD: the attr's fixed period (at least 1).
    var fixedPeriod: UInt64
    /// Whether samples carry read values with ids (PERF_SAMPLE_READ with PERF_FORMAT_ID): perf then makes
    /// samples of the values, per event, instead of using the sample's period (``PerfReadValues``).
    var splitsReads: Bool
    /// When every field has a fixed size but the callchain (the usual `perf record` sample): where each
    /// field is (-1: absent), where the callchain's `nr` is (-1: none), the bytes before it (or the whole
    /// fixed record) and the fixed bytes after its entries. `fixed` is false otherwise (then
    /// ``PerfSampleFields/parse(_:layout:)`` walks the fields one by one).
    var fixed = false
    var ipAt = -1, tidAt = -1, timeAt = -1, idAt = -1, cpuAt = -1, periodAt = -1, readAt = -1, chainAt = -1
    var head = 0, tail = 0

    init(_ a: PerfAttr) {
        sampleType = a.sampleType
        readFormat = a.readFormat
        branchHWIndex = a.branchHWIndex
        regsUserBytes = a.sampleRegsUser.nonzeroBitCount * 8
        regsIntrBytes = a.sampleRegsIntr.nonzeroBitCount * 8
        fixedPeriod = max(1, a.samplePeriodOrFreq)
        splitsReads = a.sampleType & PerfAttr.read != 0 && a.readFormat & PerfAttr.fmtID != 0
        // The kernel's field order; READ without GROUP is fixed, everything variable but the callchain ends
        // the fast layout.
        let t = sampleType
        guard t & ~PerfAttr.known == 0 else { return }
        let variable = PerfAttr.raw | PerfAttr.branchStack | PerfAttr.regsUser | PerfAttr.stackUser
            | PerfAttr.regsIntr | PerfAttr.aux
        guard t & variable == 0, t & PerfAttr.read == 0 || readFormat & PerfAttr.fmtGroup == 0 else { return }
        var o = 8
        func take(_ bit: UInt64, _ size: Int = 8) -> Int {
            guard t & bit != 0 else { return -1 }
            defer { o += size }
            return o
        }
        let idFirst = take(PerfAttr.identifier)
        ipAt = take(PerfAttr.ip)
        tidAt = take(PerfAttr.tid)
        timeAt = take(PerfAttr.time)
        _ = take(PerfAttr.addr)
        let id = take(PerfAttr.id)
        idAt = id >= 0 ? id : idFirst  // as the walk: ID, when both are there (the kernel writes the same value)
        _ = take(PerfAttr.streamID)
        cpuAt = take(PerfAttr.cpu)
        periodAt = take(PerfAttr.period)
        let rf = readFormat
        let readSize = 8 + (rf & PerfAttr.fmtID != 0 ? 8 : 0) + (rf & PerfAttr.fmtLost != 0 ? 8 : 0)
            + (rf & PerfAttr.fmtTotalTimeEnabled != 0 ? 8 : 0) + (rf & PerfAttr.fmtTotalTimeRunning != 0 ? 8 : 0)
        readAt = take(PerfAttr.read, readSize)
        chainAt = take(PerfAttr.callchain, 0)
        head = o
        for bit in [PerfAttr.weight | PerfAttr.weightStruct, PerfAttr.dataSrc, PerfAttr.transaction, PerfAttr.physAddr,
                    PerfAttr.cgroup, PerfAttr.dataPageSize, PerfAttr.codePageSize] where t & bit != 0 { o += 8 }
        tail = o - head
        fixed = true
    }
}

extension PerfSampleFields {
    /// Parses the body of a sample record (`r` starts at the record header). nil if the record is too short
    /// for what `attr.sampleType` promises.
    static func parse(_ r: RawRecord, attr: PerfAttr) -> PerfSampleFields? {
        parse(r, layout: PerfSampleLayout(attr))
    }

    /// Parses the body of a sample record with the attr's precomputed layout.
    @inline(__always)
    static func parse(_ r: RawRecord, layout attr: PerfSampleLayout) -> PerfSampleFields? {
        if attr.fixed { return parseFixed(r, layout: attr) }
        return parseFields(r, layout: attr)
    }

    /// ``parse(_:layout:)`` for a fixed layout: each field read where it is, the sizes checked once.
    @inline(__always)
    static func parseFixed(_ r: RawRecord, layout a: PerfSampleLayout) -> PerfSampleFields? {
        let n = r.count
        var f = PerfSampleFields()
        var end = a.head
        if a.chainAt >= 0 {
            guard n >= a.head + 8 else { return nil }
            let nr = r.u64(a.chainAt)
            guard nr <= UInt64((n - a.head - 8) / 8) else { return nil }
            f.chainOffset = a.chainAt + 8
            f.chainCount = Int(nr)
            end = a.head + 8 + Int(nr) * 8
        }
        guard n - end >= a.tail else { return nil }
        if a.ipAt >= 0 { f.ip = r.u64(a.ipAt) }
        if a.tidAt >= 0 { f.pid = r.u32(a.tidAt); f.tid = r.u32(a.tidAt + 4) }
        if a.timeAt >= 0 { f.time = r.u64(a.timeAt) }
        if a.idAt >= 0 { f.id = r.u64(a.idAt) }
        if a.cpuAt >= 0 { f.cpu = r.u32(a.cpuAt) }
        if a.periodAt >= 0 { f.period = r.u64(a.periodAt) }
        f.readAt = a.readAt
        return f
    }

    /// ``parse(_:layout:)`` field by field, for layouts with variable-size fields.
    static func parseFields(_ r: RawRecord, layout attr: PerfSampleLayout) -> PerfSampleFields? {
        let t = attr.sampleType
        var f = PerfSampleFields()
        var o = 8
        let n = r.count
        func need(_ k: Int) -> Bool { k >= 0 && k <= n - o }
        if t & PerfAttr.identifier != 0 { guard need(8) else { return nil }; f.id = r.u64(o); o += 8 }
        if t & PerfAttr.ip != 0 { guard need(8) else { return nil }; f.ip = r.u64(o); o += 8 }
        if t & PerfAttr.tid != 0 { guard need(8) else { return nil }; f.pid = r.u32(o); f.tid = r.u32(o + 4); o += 8 }
        if t & PerfAttr.time != 0 { guard need(8) else { return nil }; f.time = r.u64(o); o += 8 }
        if t & PerfAttr.addr != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.id != 0 { guard need(8) else { return nil }; f.id = r.u64(o); o += 8 }
        if t & PerfAttr.streamID != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.cpu != 0 { guard need(8) else { return nil }; f.cpu = r.u32(o); o += 8 }
        if t & PerfAttr.period != 0 { guard need(8) else { return nil }; f.period = r.u64(o); o += 8 }
        if t & PerfAttr.read != 0 {
            f.readAt = o
            let rf = attr.readFormat
            let perValue = 8 + (rf & PerfAttr.fmtID != 0 ? 8 : 0) + (rf & PerfAttr.fmtLost != 0 ? 8 : 0)
            let times = (rf & PerfAttr.fmtTotalTimeEnabled != 0 ? 8 : 0) + (rf & PerfAttr.fmtTotalTimeRunning != 0 ? 8 : 0)
            if rf & PerfAttr.fmtGroup != 0 {
                guard need(8) else { return nil }
                let nr = r.u64(o)
                guard nr < 1 << 16 else { return nil }
                let size = 8 + times + Int(nr) * perValue
                guard need(size) else { return nil }
                o += size
            } else {
                guard need(perValue + times) else { return nil }
                o += perValue + times
            }
        }
        if t & PerfAttr.callchain != 0 {
            guard need(8) else { return nil }
            let nr = r.u64(o)
            guard nr <= UInt64((n - o - 8) / 8) else { return nil }
            f.chainOffset = o + 8
            f.chainCount = Int(nr)
            o += 8 + Int(nr) * 8
        }
        if t & PerfAttr.raw != 0 {
            guard need(4) else { return nil }
            let size = Int(r.u32(o))
            guard need(4 + size) else { return nil }
            o += 4 + size
        }
        if t & PerfAttr.branchStack != 0 {
            guard need(8) else { return nil }
            let nr = r.u64(o)
            o += 8
            if attr.branchHWIndex { guard need(8) else { return nil }; o += 8 }
            guard nr <= UInt64((n - o) / 24) else { return nil }
            o += Int(nr) * 24
        }
        if t & PerfAttr.regsUser != 0 {
            guard need(8) else { return nil }
            let abi = r.u64(o)
            o += 8
            if abi != 0 {
                let k = attr.regsUserBytes
                guard need(k) else { return nil }
                o += k
            }
        }
        if t & PerfAttr.stackUser != 0 {
            guard need(8) else { return nil }
            let size = r.u64(o)
            o += 8
            guard size <= UInt64(n - o) else { return nil }
            o += Int(size)
            if size != 0 { guard need(8) else { return nil }; o += 8 }
        }
        if t & (PerfAttr.weight | PerfAttr.weightStruct) != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.dataSrc != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.transaction != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.regsIntr != 0 {
            guard need(8) else { return nil }
            let abi = r.u64(o)
            o += 8
            if abi != 0 {
                let k = attr.regsIntrBytes
                guard need(k) else { return nil }
                o += k
            }
        }
        if t & PerfAttr.physAddr != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.cgroup != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.dataPageSize != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.codePageSize != 0 { guard need(8) else { return nil }; o += 8 }
        if t & PerfAttr.aux != 0 {
            guard need(8) else { return nil }
            let size = r.u64(o)
            o += 8
            guard size <= UInt64(n - o) else { return nil }
            o += Int(size)
        }
        return f
    }

    /// `(id, time, pid, tid, cpu)` from the sample_id_all trailer of a non-sample record.
    static func trailer(_ r: RawRecord, attr: PerfAttr) -> (id: UInt64, time: UInt64)? {
        guard attr.sampleIDAll else { return nil }
        let t = attr.sampleType
        var size = 0
        for bit in [PerfAttr.tid, PerfAttr.time, PerfAttr.id, PerfAttr.streamID, PerfAttr.cpu, PerfAttr.identifier]
        where t & bit != 0 { size += 8 }
        guard size > 0, r.count - 8 >= size else { return nil }
        var o = r.count - size
        var id: UInt64 = 0, time: UInt64 = 0
        if t & PerfAttr.tid != 0 { o += 8 }
        if t & PerfAttr.time != 0 { time = r.u64(o); o += 8 }
        if t & PerfAttr.id != 0 { id = r.u64(o); o += 8 }
        if t & PerfAttr.streamID != 0 { o += 8 }
        if t & PerfAttr.cpu != 0 { o += 8 }
        if t & PerfAttr.identifier != 0 { id = r.u64(o) }
        return (id, time)
    }
}
