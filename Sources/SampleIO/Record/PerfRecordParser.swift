internal import CPerfShim

/// Turns the records of a live perf ring (as xprof configured it: sample_type [IDENTIFIER|]IP|TID|TIME|CPU|
/// PERIOD[|CALLCHAIN], sample_id_all) into samples and side-band events.
struct PerfRecordParser {
    let sampleType: UInt64
    /// Event index of each event id, when samples carry PERF_SAMPLE_IDENTIFIER (several events).
    let eventOfID: [UInt64: UInt16]
    /// Whether samples start with, and sample_id_all trailers end with, the event id.
    private let identified: Bool
    var batch = SampleBatch()
    var stats = DecodeStats()
    var samples: UInt64 = 0
    var throttles = 0

    init(sampleType: UInt64, eventOfID: [UInt64: UInt16] = [:]) {
        self.sampleType = sampleType
        self.eventOfID = eventOfID
        identified = sampleType & UInt64(PERF_SAMPLE_IDENTIFIER.rawValue) != 0
    }

    // Kernel constants (include/uapi/linux/perf_event.h).
    static let recordMmap: UInt32 = 1, recordLost: UInt32 = 2, recordComm: UInt32 = 3, recordExit: UInt32 = 4
    static let recordThrottle: UInt32 = 5, recordUnthrottle: UInt32 = 6, recordFork: UInt32 = 7
    static let recordSample: UInt32 = 9, recordMmap2: UInt32 = 10, recordLostSamples: UInt32 = 13
    static let miscCommExec: UInt16 = 1 << 13
    static let miscMmapBuildID: UInt16 = 1 << 14

    /// Mode of a PERF_RECORD_MISC_CPUMODE value; guest modes count as what they are inside the guest.
    static func mode(cpumode: UInt16) -> SampleMode {
        switch cpumode & 7 {
        case 1, 4: .kernel      // KERNEL, GUEST_KERNEL
        case 2, 5: .user        // USER, GUEST_USER
        case 3: .hypervisor
        default: .unknown
        }
    }

    /// Mode of the frames that follow a callchain context marker (nil if `v` is an ordinary address).
    static func contextMode(_ v: UInt64) -> SampleMode?? {
        let s = Int64(bitPattern: v)
        guard s <= -1 && s >= -4095 else { return nil }
        switch s {
        case -32: return .some(.hypervisor)
        case -128, -2176: return .some(.kernel)
        case -512, -2560: return .some(.user)
        default: return .some(nil)  // PERF_CONTEXT_GUEST or unknown marker: keep the previous mode
        }
    }

    /// Parses one complete record of `size` bytes at `p`.
    mutating func parse(_ p: UnsafeRawBufferPointer) {
        guard p.count >= 8 else { stats.drop("record"); return }
        func u64(_ o: Int) -> UInt64? { o + 8 <= p.count ? p.loadUnaligned(fromByteOffset: o, as: UInt64.self) : nil }
        func u32(_ o: Int) -> UInt32? { o + 4 <= p.count ? p.loadUnaligned(fromByteOffset: o, as: UInt32.self) : nil }
        let type = p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        let misc = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
        // The sample_id_all trailer (TID, TIME, CPU [, IDENTIFIER]: 24 or 32 bytes) ends every non-sample record.
        let trailer = identified ? 32 : 24
        let trailerTime = p.count >= 8 + trailer ? u64(p.count - trailer + 8) ?? 0 : 0
        switch type {
        case Self.recordSample:
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
                let start = batch.frames.count
                var frameMode = mode
                for i in 0..<Int(nr) {
                    let v = p.loadUnaligned(fromByteOffset: o + 8 * i, as: UInt64.self)
                    if let marker = Self.contextMode(v) {
                        if let m = marker { frameMode = m }
                        continue
                    }
                    batch.frames.append(CallFrame(ip: v, mode: frameMode))
                }
                if batch.frames.count == start || batch.frames[start].ip != ip {
                    batch.frames.insert(CallFrame(ip: ip, mode: mode), at: start)
                }
                s.chainStart = UInt32(start)
                s.chainCount = UInt32(batch.frames.count - start)
            }
            batch.samples.append(s)
            samples += 1
        case Self.recordMmap2, Self.recordMmap:
            let isV2 = type == Self.recordMmap2
            guard let pid = u32(8), let addr = u64(16), let len = u64(24), let pgoff = u64(32) else { stats.drop("mmap"); return }
            var o = 40
            var buildID: [UInt8] = []
            var exec = true
            if isV2 {
                // struct perf_record_mmap2: the 24 bytes at 40 (maj, min, ino, ino_generation, or build_id_size,
                // 3 reserved bytes and a 20-byte build_id), then prot and flags: 72 bytes before the file name.
                guard p.count >= 72 else { stats.drop("mmap2"); return }
                if misc & Self.miscMmapBuildID != 0 {
                    let n = min(Int(p[o]), 20)
                    buildID = Array(p[(o + 4)..<(o + 4 + n)])
                }
                o += 24
                exec = p.loadUnaligned(fromByteOffset: o, as: UInt32.self) & 4 != 0  // PROT_EXEC
                o += 8
            }
            var end = o
            while end < p.count, p[end] != 0 { end += 1 }
            let path = String(decoding: UnsafeRawBufferPointer(rebasing: p[o..<end]), as: UTF8.self)
            let kernel = (misc & 7) == 1
            batch.append(.mapping(Mapping(pid: kernel ? -1 : Int32(bitPattern: pid), start: addr, length: len,
                                          fileOffset: pgoff, path: path, buildID: buildID, executable: exec)),
                         time: trailerTime)
        case Self.recordComm:
            guard let pid = u32(8), let tid = u32(12) else { stats.drop("comm"); return }
            var end = 16
            while end < p.count, p[end] != 0 { end += 1 }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: p[16..<end]), as: UTF8.self)
            batch.append(.comm(domain: .host, pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid), name: name,
                               exec: misc & Self.miscCommExec != 0), time: trailerTime)
        case Self.recordFork, Self.recordExit:
            guard let pid = u32(8), let ppid = u32(12), let tid = u32(16), let ptid = u32(20), let time = u64(24) else {
                stats.drop(type == Self.recordFork ? "fork" : "exit"); return
            }
            if type == Self.recordFork {
                batch.append(.fork(domain: .host, pid: Int32(bitPattern: pid), ppid: Int32(bitPattern: ppid),
                                   tid: Int32(bitPattern: tid), ptid: Int32(bitPattern: ptid)), time: time)
            } else {
                batch.append(.exit(domain: .host, pid: Int32(bitPattern: pid), tid: Int32(bitPattern: tid)), time: time)
            }
        case Self.recordLost:
            guard let lost = u64(16) else { stats.drop("lost"); return }
            stats.addLost(lost)
        case Self.recordLostSamples:
            guard let lost = u64(8) else { stats.drop("lost_samples"); return }
            stats.addLost(lost)
        case Self.recordThrottle, Self.recordUnthrottle:
            if type == Self.recordThrottle { throttles += 1 }
        default:
            stats.unknown("perf record type \(type)")
        }
    }
}
