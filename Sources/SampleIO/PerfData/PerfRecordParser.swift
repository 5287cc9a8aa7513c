internal import CPerfShim

/// Turns the records of a live perf ring (as xprof configured it: sample_type [IDENTIFIER|]IP|TID|TIME|CPU|
/// PERIOD[|CALLCHAIN], sample_id_all) into samples and side-band events.
public struct PerfRecordParser {
    let sampleType: UInt64
    /// Event index of each event id, when samples carry PERF_SAMPLE_IDENTIFIER (several events).
    let eventOfID: [UInt64: UInt16]
    /// Whether samples start with, and sample_id_all trailers end with, the event id.
    private let identified: Bool
    /// What was parsed since the batch was last taken (the recorder takes it at each round).
    public var batch = SampleBatch()
    /// Dropped records and warnings.
    public var stats = DecodeStats()
    var samples: UInt64 = 0
    /// PERF_RECORD_THROTTLE records seen (the kernel lowered the sampling rate).
    public private(set) var throttles = 0
    private let scratch = ChainScratch()

    /// A parser for records of events opened with `sampleType`; `eventOfID` maps each event id to its index.
    public init(sampleType: UInt64, eventOfID: [UInt64: UInt16] = [:]) {
        self.sampleType = sampleType
        self.eventOfID = eventOfID
        identified = sampleType & UInt64(PERF_SAMPLE_IDENTIFIER.rawValue) != 0
    }

    /// Mode of a PERF_RECORD_MISC_CPUMODE value (``PerfModes``, perf's rule shared with the file reader).
    static func mode(cpumode: UInt16) -> SampleMode { PerfModes.mode(cpumode: cpumode) }

    /// Parses one complete record of `size` bytes at `p`.
    public mutating func parse(_ p: UnsafeRawBufferPointer) {
        guard p.count >= 8 else { stats.drop("record"); return }
        func u64(_ o: Int) -> UInt64? { o + 8 <= p.count ? p.loadUnaligned(fromByteOffset: o, as: UInt64.self) : nil }
        func u32(_ o: Int) -> UInt32? { o + 4 <= p.count ? p.loadUnaligned(fromByteOffset: o, as: UInt32.self) : nil }
        let type = p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        let misc = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        // The sample_id_all trailer (TID, TIME, CPU [, IDENTIFIER]: 24 or 32 bytes) ends every non-sample record.
        let trailer = identified ? 32 : 24
        let trailerTime = p.count >= 8 + trailer ? u64(p.count - trailer + 8) ?? 0 : 0
        switch type {
        case PerfSidebandRecords.sample:
            var o = 8
            var event: UInt16 = 0
            if identified {
                guard let id = u64(o), let e = eventOfID[id] else { stats.drop("sample of an unknown event id"); return }
                event = e
                o += 8
            }
            guard let ip = u64(o), let pid = u32(o + 8), let tid = u32(o + 12), let time = u64(o + 16),
                  let cpu = u32(o + 24), let period = u64(o + 32) else { stats.drop("sample"); return }
            o += 40
            let mode = Self.mode(cpumode: misc)
            var s = Sample(ip: ip, weight: period, time: time, pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid),
                           domain: .host, pcpu: cpu, vcpu: cpu, event: event, mode: mode)
            if sampleType & UInt64(PERF_SAMPLE_CALLCHAIN.rawValue) != 0 {
                guard let nr = u64(o), nr <= UInt64((p.count - o - 8) / 8) else { stats.drop("sample"); return }
                o += 8
                let chainAt = o
                let range = PerfModes.decodeChain(count: Int(nr), ip: ip, mode: mode, into: scratch.frames) {
                    p.loadUnaligned(fromByteOffset: chainAt + 8 * $0, as: UInt64.self)
                }
                s.chainStart = UInt32(batch.frames.count)
                s.chainCount = UInt32(range.count)
                batch.frames.append(contentsOf: scratch.frames[range])
            }
            batch.samples.append(s)
            samples += 1
        case PerfSidebandRecords.throttle, PerfSidebandRecords.unthrottle:
            if type == PerfSidebandRecords.throttle { throttles += 1 }
        default:
            switch PerfSidebandRecords.decode(RawRecord(p: p, big: false), type: type, misc: misc) {
            case .event(let e, let time): batch.append(e, time: time ?? trailerTime)
            case .lost(let n): stats.addLost(n)
            case .malformed(let name): stats.drop(name)
            case .other: stats.unknown("perf record type \(type)")
            }
        }
    }
}
