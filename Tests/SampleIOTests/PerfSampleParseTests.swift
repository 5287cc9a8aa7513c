import Testing
@testable import SampleIO

/// The fixed-offset sample parser (used when only the callchain varies in size) against the field-by-field
/// walk, on records built for many `sample_type`/`read_format` combinations, whole and cut short.
@Suite struct PerfSampleParseTests {
    /// Builds a sample record (little-endian) carrying every field `t` names, with distinct values.
    static func record(_ t: UInt64, readFormat rf: UInt64, chain: Int, seed: UInt64) -> [UInt8] {
        var body: [UInt8] = []
        var v = seed
        func u64(_ x: UInt64? = nil) {
            v = v &* 6364136223846793005 &+ 1442695040888963407
            let x = x ?? v
            for k in 0..<8 { body.append(UInt8(truncatingIfNeeded: x >> (8 * UInt64(k)))) }
        }
        if t & PerfAttr.identifier != 0 { u64() }
        if t & PerfAttr.ip != 0 { u64() }
        if t & PerfAttr.tid != 0 { u64() }
        if t & PerfAttr.time != 0 { u64() }
        if t & PerfAttr.addr != 0 { u64() }
        if t & PerfAttr.id != 0 { u64() }
        if t & PerfAttr.streamID != 0 { u64() }
        if t & PerfAttr.cpu != 0 { u64() }
        if t & PerfAttr.period != 0 { u64() }
        if t & PerfAttr.read != 0 {
            u64()
            if rf & PerfAttr.fmtTotalTimeEnabled != 0 { u64() }
            if rf & PerfAttr.fmtTotalTimeRunning != 0 { u64() }
            if rf & PerfAttr.fmtID != 0 { u64() }
            if rf & PerfAttr.fmtLost != 0 { u64() }
        }
        if t & PerfAttr.callchain != 0 {
            u64(UInt64(chain))
            for _ in 0..<chain { u64() }
        }
        for bit in [PerfAttr.weight, PerfAttr.dataSrc, PerfAttr.transaction, PerfAttr.physAddr, PerfAttr.cgroup,
                    PerfAttr.dataPageSize, PerfAttr.codePageSize] where t & bit != 0 { u64() }
        let size = 8 + body.count
        return [9, 0, 0, 0, 2, 0, UInt8(size & 0xFF), UInt8(size >> 8)] + body
    }

    static func same(_ a: PerfSampleFields?, _ b: PerfSampleFields?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.ip == b.ip && a.pid == b.pid && a.tid == b.tid && a.time == b.time && a.id == b.id && a.cpu == b.cpu
            && a.period == b.period && a.chainOffset == b.chainOffset && a.chainCount == b.chainCount
            && a.readAt == b.readAt
    }

    @Test func fixedOffsetsAgreeWithTheFieldWalk() {
        let optional: [UInt64] = [PerfAttr.identifier, PerfAttr.ip, PerfAttr.tid, PerfAttr.time, PerfAttr.addr, PerfAttr.id,
                                  PerfAttr.streamID, PerfAttr.cpu, PerfAttr.period, PerfAttr.read, PerfAttr.callchain,
                                  PerfAttr.weight, PerfAttr.dataSrc, PerfAttr.transaction, PerfAttr.physAddr]
        var rng = SystemRandomNumberGenerator()
        var checked = 0, fixedLayouts = 0
        for round in 0..<400 {
            var t: UInt64 = 0
            for bit in optional where Bool.random(using: &rng) { t |= bit }
            let rf = UInt64.random(in: 0..<32, using: &rng) & ~PerfAttr.fmtGroup
            var attr = PerfAttr()
            attr.sampleType = t
            attr.readFormat = rf
            let layout = PerfSampleLayout(attr)
            #expect(layout.fixed, "sample_type 0x\(String(t, radix: 16)) has only fixed fields but the callchain")
            if layout.fixed { fixedLayouts += 1 }
            let full = Self.record(t, readFormat: rf, chain: round % 9, seed: UInt64(round))
            // The whole record, and every cut (a record whose header claims fewer bytes than the fields need).
            for cut in stride(from: full.count, through: 8, by: -4) {
                let bytes = Array(full[0..<cut])
                bytes.withUnsafeBytes { p in
                    let r = RawRecord(p: p, big: false)
                    let fields = PerfSampleFields.parseFields(r, layout: layout)
                    let fixed = PerfSampleFields.parseFixed(r, layout: layout)
                    #expect(Self.same(fields, fixed), "sample_type 0x\(String(t, radix: 16)), read_format \(rf), \(cut) of \(full.count) bytes")
                    if cut == full.count { #expect(fields != nil) }
                }
                checked += 1
            }
        }
        #expect(fixedLayouts == 400)
        #expect(checked > 2000)
    }

    /// Variable fields (a raw payload, a group read) keep the field-by-field walk.
    @Test func variableFieldsUseTheWalk() {
        var attr = PerfAttr()
        attr.sampleType = PerfAttr.ip | PerfAttr.raw
        #expect(!PerfSampleLayout(attr).fixed)
        attr.sampleType = PerfAttr.ip | PerfAttr.read
        attr.readFormat = PerfAttr.fmtGroup
        #expect(!PerfSampleLayout(attr).fixed)
        attr.sampleType = PerfAttr.ip | PerfAttr.callchain | PerfAttr.regsUser
        #expect(!PerfSampleLayout(attr).fixed)
    }
}
