/// The parts of the kernel's `struct perf_event_attr` (include/uapi/linux/perf_event.h) a decoder needs.
///
/// Read with the attr's self-reported `size`: fields past the end of an older, shorter attr are zero,
/// and a newer, longer attr's unknown tail is skipped.
struct PerfAttr: Sendable, Equatable {
    var type: UInt32 = 0
    var size: UInt32 = 0
    var config: UInt64 = 0
    var samplePeriodOrFreq: UInt64 = 0
    var sampleType: UInt64 = 0
    var readFormat: UInt64 = 0
    var flags: UInt64 = 0
    var branchSampleType: UInt64 = 0
    var sampleRegsUser: UInt64 = 0
    var sampleStackUser: UInt32 = 0
    var sampleRegsIntr: UInt64 = 0
    var ids: [UInt64] = []
    var name: String = ""

    // sample_type bits.
    static let ip: UInt64 = 1 << 0, tid: UInt64 = 1 << 1, time: UInt64 = 1 << 2, addr: UInt64 = 1 << 3
    static let read: UInt64 = 1 << 4, callchain: UInt64 = 1 << 5, id: UInt64 = 1 << 6, cpu: UInt64 = 1 << 7
    static let period: UInt64 = 1 << 8, streamID: UInt64 = 1 << 9, raw: UInt64 = 1 << 10
    static let branchStack: UInt64 = 1 << 11, regsUser: UInt64 = 1 << 12, stackUser: UInt64 = 1 << 13
    static let weight: UInt64 = 1 << 14, dataSrc: UInt64 = 1 << 15, identifier: UInt64 = 1 << 16
    static let transaction: UInt64 = 1 << 17, regsIntr: UInt64 = 1 << 18, physAddr: UInt64 = 1 << 19
    static let aux: UInt64 = 1 << 20, cgroup: UInt64 = 1 << 21, dataPageSize: UInt64 = 1 << 22
    static let codePageSize: UInt64 = 1 << 23, weightStruct: UInt64 = 1 << 24
    /// Bits this decoder knows how to walk past; any other bit makes samples unparseable.
    static let known: UInt64 = (1 << 25) - 1

    // read_format bits.
    static let fmtTotalTimeEnabled: UInt64 = 1 << 0, fmtTotalTimeRunning: UInt64 = 1 << 1
    static let fmtID: UInt64 = 1 << 2, fmtGroup: UInt64 = 1 << 3, fmtLost: UInt64 = 1 << 4

    var freq: Bool { flags & (1 << 10) != 0 }
    var sampleIDAll: Bool { flags & (1 << 18) != 0 }
    var branchHWIndex: Bool { branchSampleType & (1 << 17) != 0 }

    /// Parses an attr of `size` bytes at the cursor (which must hold them all).
    static func parse(_ c: ByteCursor, order: ByteOrder, size: Int) -> PerfAttr? {
        guard size >= 64, c.has(size) else { return nil }
        func u64(_ o: Int) -> UInt64 { o + 8 <= size ? (c.peek(UInt64.self, order, at: o) ?? 0) : 0 }
        func u32(_ o: Int) -> UInt32 { o + 4 <= size ? (c.peek(UInt32.self, order, at: o) ?? 0) : 0 }
        var a = PerfAttr()
        a.type = u32(0)
        a.size = u32(4)
        a.config = u64(8)
        a.samplePeriodOrFreq = u64(16)
        a.sampleType = u64(24)
        a.readFormat = u64(32)
        a.flags = u64(40)
        if order == .big {
            // The flag bitfield is laid out from the most significant bit on big-endian machines.
            a.flags = a.flags.bitSwapped()
        }
        a.branchSampleType = u64(72)
        a.sampleRegsUser = u64(80)
        a.sampleStackUser = u32(88)
        a.sampleRegsIntr = u64(96)
        return a
    }

    /// The event's name as perf prints it when the file has no event description.
    var defaultName: String {
        switch (type, config) {
        case (0, 0): "cycles"
        case (0, 1): "instructions"
        case (0, 2): "cache-references"
        case (0, 3): "cache-misses"
        case (0, 4): "branches"
        case (0, 5): "branch-misses"
        case (1, 0): "cpu-clock"
        case (1, 1): "task-clock"
        case (1, 2): "page-faults"
        case (1, 3): "context-switches"
        default: "event type \(type) config 0x\(String(config, radix: 16))"
        }
    }
}

extension UInt64 {
    func bitSwapped() -> UInt64 {
        var v = self, r: UInt64 = 0
        for _ in 0..<64 { r = (r << 1) | (v & 1); v >>= 1 }
        return r
    }
}
