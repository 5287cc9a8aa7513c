/// The events a perf.data describes (its attrs) and how a record finds its own: by the sample id perf writes
/// into samples and into the `sample_id_all` trailer of other records.
struct PerfEventTable {
    private(set) var attrs: [PerfAttr] = []
    /// Sample id → index into `attrs`.
    private(set) var idToAttr: [UInt64: Int] = [:]
    /// Per attr: what the sample hot loop reads (plain values).
    private(set) var layouts: [PerfSampleLayout] = []

    var count: Int { attrs.count }
    var isEmpty: Bool { attrs.isEmpty }

    mutating func add(_ a: PerfAttr) {
        let index = attrs.count
        attrs.append(a)
        layouts.append(PerfSampleLayout(a))
        for id in a.ids { idToAttr[id] = index }
    }

    /// The name an EVENT_DESC feature gives the attr with one of `ids`, else the first unnamed one of the
    /// same type and config.
    mutating func name(_ name: String, ids: [UInt64], like a: PerfAttr) {
        let byID = idToAttr
        if let i = ids.lazy.compactMap({ byID[$0] }).first {
            attrs[i].name = name
        } else if let i = attrs.firstIndex(where: { $0.type == a.type && $0.config == a.config && $0.name.isEmpty }) {
            attrs[i].name = name
        }
    }

    /// The name an event goes by: perf's, else one made from its type and config.
    static func displayName(_ a: PerfAttr) -> String { a.name.isEmpty ? a.defaultName : a.name }

    /// Whether every record carries a timestamp (each attr has TIME and `sample_id_all`): events can then be
    /// put in time order as perf does.
    var timed: Bool { attrs.allSatisfy { $0.sampleType & PerfAttr.time != 0 && $0.sampleIDAll } }

    /// The attr index of a sample: by IDENTIFIER/ID at the position the first attr's sample_type gives.
    @inline(__always)
    func sampleAttr(_ r: RawRecord) -> Int? {
        if attrs.count == 1 { return 0 }
        let t = layouts[0].sampleType
        var o = 8
        if t & PerfAttr.identifier != 0 {
            guard r.count >= 16 else { return nil }
        } else if t & PerfAttr.id != 0 {
            for bit in [PerfAttr.ip, PerfAttr.tid, PerfAttr.time, PerfAttr.addr] where t & bit != 0 { o += 8 }
            guard r.count >= o + 8 else { return nil }
        } else {
            return 0
        }
        return idToAttr[r.u64(o)]
    }

    /// The attr whose layout the `sample_id_all` trailer of the non-sample record `r` has: the one its id
    /// names, the id found where the first attr's layout puts it counted from the record's end (perf's
    /// `evlist__event2evsel` with `is_pos`, which perf requires to be the same for every attr). The first
    /// attr when there is one, no id, or an id no attr lists.
    func sidebandAttr(_ r: RawRecord) -> Int {
        guard attrs.count > 1 else { return 0 }
        let t = attrs[0].sampleType
        var fromEnd = 1  // u64 words from the end: IDENTIFIER is the last
        if t & PerfAttr.identifier == 0 {
            guard t & PerfAttr.id != 0 else { return 0 }
            if t & PerfAttr.cpu != 0 { fromEnd += 1 }
            if t & PerfAttr.streamID != 0 { fromEnd += 1 }
        }
        guard r.count >= 8 + 8 * fromEnd else { return 0 }
        return idToAttr[r.u64(r.count - 8 * fromEnd)] ?? 0
    }

    /// The time in the `sample_id_all` trailer of the non-sample record `r` (0 without one).
    func trailerTime(_ r: RawRecord) -> UInt64 {
        PerfSampleFields.trailer(r, attr: attrs[sidebandAttr(r)])?.time ?? 0
    }
}
