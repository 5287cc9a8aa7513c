#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Xenoprof capture: per-domain snapshots of Xen's shared sample rings and, optionally, the OProfile
/// event stream of the coordinator, with a `capture.json` header (docs/FORMAT.md). A directory or a
/// `.tar` of one, recognised by content.
public enum XenoprofCaptureFormat: SampleFormat {
    /// The name `info` and messages show for this format.
    public static let name = "xenoprof-capture"

    /// A directory whose `capture.json` says `xenoprof-capture`, or any ustar archive (its `capture.json` is
    /// checked when opened).
    public static func sniff(prefix: [UInt8], path: String) -> Bool {
        if FileBytes.isDirectory(path) {
            guard let head = try? FileBytes.prefix(of: path + "/capture.json", count: 4096) else { return false }
            return String(decoding: head, as: UTF8.self).contains("xenoprof-capture")
        }
        // A ustar archive (magic at byte 257).
        return prefix.count >= 262 && prefix[257..<262].elementsEqual("ustar".utf8)
    }

    /// Reads and checks `capture.json` (an error names it and says what docs/FORMAT.md expects); the rings are
    /// read as batches are asked for.
    public static func open(path: String) throws(SampleIOError) -> any SampleSource {
        try XenoprofCaptureSource(path: path)
    }
}

/// Collects the callers that follow a traced sample (after an escape/`TRACE_BEGIN`) until the trace ends,
/// then attaches them to that sample as its callchain (leaf first, the sample's pc as frame 0).
struct TraceBuilder {
    private(set) var sample = -1
    private var chain: [CallFrame] = []

    var isOpen: Bool { sample >= 0 }

    /// Starts a trace for `batch.samples[index]`.
    mutating func begin(sample index: Int, pc: CallFrame) {
        sample = index
        chain = [pc]
    }

    mutating func addCaller(_ f: CallFrame) { chain.append(f) }

    /// Attaches the collected frames to the traced sample (if any) and ends the trace.
    mutating func close(into batch: inout SampleBatch) {
        if sample >= 0 {
            batch.samples[sample].chainStart = UInt32(batch.frames.count)
            batch.samples[sample].chainCount = UInt32(chain.count)
            batch.frames.append(contentsOf: chain)
        }
        sample = -1
        chain.removeAll(keepingCapacity: true)
    }
}

/// Decodes a capture: each domain's ring snapshots with Xen's drain rules, then the OProfile stream.
final class XenoprofCaptureSource: SampleSource {
    private(set) var metadata = RunMetadata()
    private(set) var stats = DecodeStats()
    let path: String
    private let files: CaptureFiles
    private let header: XenoprofCaptureJSON
    private var jobs: [Job] = []

    enum Job {
        case rings(XenoprofCaptureJSON.Domain)
        case stream(XenoprofCaptureJSON.Stream)
    }

    init(path: String) throws(SampleIOError) {
        self.path = path
        files = try CaptureFiles(path: path)
        guard files.contains("capture.json") else {
            throw SampleIOError(.badData, "no capture.json in it: not a Xenoprof capture", path: path,
                                hint: "a capture is a folder (or tar) with capture.json, domN.rings and optionally oprofile.stream")
        }
        let json = try files.read("capture.json")
        do {
            var h = try JSONDecoder().decode(XenoprofCaptureJSON.self, from: Data(json))
            h.normalizeWordSizes()
            header = h
        } catch {
            throw SampleIOError(.badData, "capture.json is not the object docs/FORMAT.md describes: \(error)", path: path + "/capture.json",
                                hint: "compare it with the example in docs/FORMAT.md")
        }
        guard header.format == "xenoprof-capture" else {
            throw SampleIOError(.badData, "capture.json: format is \"\(header.format)\", expected \"xenoprof-capture\"", path: path)
        }
        guard header.version == 1 else {
            throw SampleIOError(.unsupported, "capture.json: version \(header.version), expected 1", path: path)
        }
        guard header.word_size == 64 || header.word_size == 32 else {
            throw SampleIOError(.badData, "capture.json: word_size \(header.word_size), expected 64 or 32 (bits) or 8 or 4 (bytes)", path: path)
        }
        guard !header.events.isEmpty else {
            throw SampleIOError(.badData, "capture.json: no events", path: path, hint: "list the counters that were programmed")
        }
        metadata.sourceFormat = "xenoprof-capture"
        metadata.events = header.events.map { EventInfo(name: $0.name, period: $0.count) }
        if let v = header.xen_version { metadata.extra["xen_version"] = v }
        if let c = header.cpu_type { metadata.extra["cpu_type"] = c }
        if let s = header.synthetic { metadata.extra["synthetic"] = s }
        metadata.cpusOnline = header.pcpus ?? 0
        metadata.architecture = header.word_size == 64 ? "x86_64" : "x86_32"
        var seen = Set<UInt32>()
        for d in header.domains {
            guard seen.insert(d.id).inserted else {
                throw SampleIOError(.badData, "capture.json: domain \(d.id) listed twice", path: path)
            }
            let role: DomainRole
            switch d.role {
            case "active": role = d.id == 0 ? .coordinator : .active
            case "passive": role = .passive
            case "coordinator": role = .coordinator
            default:
                throw SampleIOError(.badData, "capture.json: domain \(d.id) has role \"\(d.role)\", expected active or passive", path: path)
            }
            guard d.vcpus > 0, d.vcpus <= 4096, d.max_samples > 1, d.max_samples <= 1 << 24 else {
                throw SampleIOError(.badData, "capture.json: domain \(d.id) has vcpus \(d.vcpus) and max_samples \(d.max_samples); expected 1…4096 and 2…16777216",
                                    path: path)
            }
            metadata.domains.append(DomainInfo(id: DomainID(d.id), name: d.name ?? "domain\(d.id)", role: role, vcpus: d.vcpus))
            if d.rings != nil { jobs.append(.rings(d)) }
        }
        if !metadata.domains.contains(where: { $0.id == .host }) {
            metadata.domains.insert(DomainInfo(id: .host, name: "Domain-0", role: .coordinator), at: 0)
        }
        if let s = header.oprofile_stream {
            guard s.word_size == 32 || s.word_size == 64 else {
                throw SampleIOError(.badData, "capture.json: oprofile_stream word_size \(s.word_size), expected 32 or 64 (bits) or 4 or 8 (bytes)", path: path)
            }
            jobs.append(.stream(s))
        }
    }

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        guard !jobs.isEmpty else { return nil }
        switch jobs.removeFirst() {
        case .rings(let d): return try decodeRings(d)
        case .stream(let s): return try decodeStream(s)
        }
    }

    private func escapeValue(wordSize: Int, override: String?) throws(SampleIOError) -> UInt64 {
        if let e = override ?? header.escape {
            let t = e.hasPrefix("0x") || e.hasPrefix("0X") ? String(e.dropFirst(2)) : e
            guard let v = UInt64(t, radix: 16) else {
                throw SampleIOError(.badData, "capture.json: escape \"\(e)\" is not a hexadecimal number", path: path)
            }
            return v
        }
        return XenoprofLayout.escape64
    }

    // MARK: rings

    /// Drains every snapshot of one domain's buffers the way the dom0 driver does: from `event_tail` to
    /// `event_head`, wrapping at `event_size`.
    private func decodeRings(_ d: XenoprofCaptureJSON.Domain) throws(SampleIOError) -> SampleBatch {
        let wordSize = d.word_size ?? header.word_size
        let entry = XenoprofLayout.entrySize(wordSize: wordSize)
        let bufSize = XenoprofLayout.bufferSize(maxSamples: d.max_samples, wordSize: wordSize)
        let snapSize = bufSize * d.vcpus
        let name = d.rings ?? ""
        let bytes = try files.read(name)
        let domain = DomainID(d.id)
        let escape = try escapeValue(wordSize: wordSize, override: d.escape)
        let file = "\(path)/\(name)"
        if bytes.count % snapSize != 0 {
            stats.warnings.append("\(file): \(bytes.count) bytes is not a whole number of \(snapSize)-byte snapshots (\(d.vcpus) buffers of \(bufSize) bytes); the last \(bytes.count % snapSize) bytes (an incomplete snapshot) are ignored")
        }
        if let want = d.snapshots, want != bytes.count / snapSize {
            stats.warnings.append("\(file): capture.json says \(want) snapshots but the file holds \(bytes.count / snapSize) complete ones")
        }
        var batch = SampleBatch()
        var lostByVCPU: [UInt32: UInt64] = [:]
        var counters: [UInt32: (UInt64, UInt64, UInt64)] = [:]
        let events = header.events
        for snap in 0..<(bytes.count / snapSize) {
            var seenVCPU = Set<UInt32>()
            for b in 0..<d.vcpus {
                let base = snap * snapSize + b * bufSize
                let c = ByteCursor(bytes, start: base, end: base + bufSize)
                let head = c.peek(UInt32.self, .little, at: XenoprofLayout.headOffset) ?? 0
                let tail = c.peek(UInt32.self, .little, at: XenoprofLayout.tailOffset) ?? 0
                let size = c.peek(UInt32.self, .little, at: XenoprofLayout.sizeOffset) ?? 0
                let vcpu = c.peek(UInt32.self, .little, at: XenoprofLayout.vcpuOffset) ?? 0
                let where_ = "\(file): snapshot \(snap), buffer \(b) (vcpu_id \(vcpu)) at byte \(base)"
                guard size >= 2, Int(size) <= d.max_samples else {
                    stats.skipped.append("\(where_): event_size \(size) is outside 2…\(d.max_samples) (max_samples); buffer skipped")
                    continue
                }
                guard head < size, tail < size else {
                    stats.skipped.append("\(where_): head \(head) / tail \(tail) outside [0, \(size)); corrupt buffer skipped")
                    continue
                }
                guard Int(vcpu) < d.vcpus, seenVCPU.insert(vcpu).inserted else {
                    stats.skipped.append("\(where_): vcpu_id \(vcpu) is out of range or repeated in this snapshot; buffer skipped")
                    continue
                }
                let lost = c.peek(UInt64.self, .little, at: XenoprofLayout.lostSamplesOffset) ?? 0
                lostByVCPU[vcpu] = max(lostByVCPU[vcpu] ?? 0, lost)
                counters[vcpu] = (c.peek(UInt64.self, .little, at: XenoprofLayout.xenSamplesOffset) ?? 0,
                                  c.peek(UInt64.self, .little, at: XenoprofLayout.kernelSamplesOffset) ?? 0,
                                  c.peek(UInt64.self, .little, at: XenoprofLayout.userSamplesOffset) ?? 0)
                // Drain tail → head.
                var i = tail
                var tracing = false
                var trace = TraceBuilder()
                while i != head {
                    let eo = XenoprofLayout.headerSize + Int(i) * entry
                    let eip = c.peek(UInt64.self, .little, at: eo) ?? 0
                    let rawMode = c.peek(UInt8.self, .little, at: eo + 8) ?? 0
                    let event = c.peek(UInt8.self, .little, at: eo + 9) ?? 0
                    i = (i + 1) % size
                    if eip == escape {
                        trace.close(into: &batch)
                        if event == XenoprofLayout.traceBegin {
                            tracing = true
                        } else {
                            stats.unknown("xenoprof escape event \(event)")
                        }
                        continue
                    }
                    guard rawMode <= 2 else {
                        stats.drop("xenoprof entry with mode \(rawMode)")
                        continue
                    }
                    let mode = SampleMode(rawValue: rawMode) ?? .unknown
                    if tracing && trace.isOpen {
                        // A caller frame of the traced sample.
                        trace.addCaller(CallFrame(ip: eip, mode: mode))
                        continue
                    }
                    // The event word is any 64-bit value in a damaged stream (Int(event) trapped: found by `make fuzz`).
            let weight = event < UInt64(events.count) ? events[Int(event)].count : 1
                    if Int(event) >= events.count { stats.unknown("xenoprof event index \(event)") }
                    batch.samples.append(Sample(ip: eip, weight: max(1, weight), domain: domain, vcpu: vcpu,
                                                event: UInt16(event), mode: mode))
                    if tracing { trace.begin(sample: batch.samples.count - 1, pc: CallFrame(ip: eip, mode: mode)) }
                }
                trace.close(into: &batch)
            }
        }
        let lost = lostByVCPU.values.reduce(UInt64(0)) { $0.addingSaturating($1) }
        if lost > 0 { stats.addLost(lost, domain: domain) }
        let totals = counters.values.reduce((UInt64(0), UInt64(0), UInt64(0))) { ($0.0.addingSaturating($1.0), $0.1.addingSaturating($1.1), $0.2.addingSaturating($1.2)) }
        metadata.extra["domain\(d.id)_xen_counters"] = "xen \(totals.0), kernel \(totals.1), user \(totals.2), lost \(lost)"
        return batch
    }

    // MARK: OProfile stream

    private func decodeStream(_ s: XenoprofCaptureJSON.Stream) throws(SampleIOError) -> SampleBatch {
        let bytes = try files.read(s.file)
        let file = "\(path)/\(s.file)"
        let w = s.word_size / 8
        if bytes.count % w != 0 {
            stats.warnings.append("\(file): \(bytes.count) bytes is not a whole number of \(w)-byte words; the last \(bytes.count % w) bytes are ignored")
        }
        let n = bytes.count / w
        let escape: UInt64 = w == 8 ? ~0 : 0xFFFF_FFFF
        func word(_ k: Int) -> UInt64 {
            let c = ByteCursor(bytes, start: k * w)
            return w == 8 ? (c.peek(UInt64.self, .little) ?? 0) : UInt64(c.peek(UInt32.self, .little) ?? 0)
        }
        var cookies: [UInt64: String] = [:]
        for (k, v) in s.cookies ?? [:] {
            let t = k.hasPrefix("0x") || k.hasPrefix("0X") ? String(k.dropFirst(2)) : k
            guard let id = UInt64(t, radix: 16) else {
                throw SampleIOError(.badData, "capture.json: cookie \"\(k)\" is not a hexadecimal number", path: path)
            }
            cookies[id] = v
        }
        var batch = SampleBatch()
        var domain = DomainID.host
        var mode = SampleMode.kernel
        var cpu = Sample.unknownCPU
        var pid: Int32 = -1, tgid: Int32 = -1
        var cookie: UInt64 = 0
        var tracing = false
        var trace = TraceBuilder()
        var mapped = Set<String>()
        let events = header.events
        /// User samples of a cookie'd binary carry a file offset: place each (pid, cookie) at a synthetic
        /// base address (cookie slot << 40) with a mapping of the binary there.
        func userAddress(_ offset: UInt64) -> UInt64? {
            guard cookie != 0, let binary = cookies[cookie] else { return nil }
            let slot = UInt64(cookies.keys.sorted().firstIndex(of: cookie) ?? 0) + 1
            let base = slot << 40
            let key = "\(domain.rawValue)/\(tgid)/\(cookie)"
            if mapped.insert(key).inserted {
                batch.append(.mapping(Mapping(domain: domain, pid: tgid, start: base, length: 1 << 40, fileOffset: 0,
                                              path: binary, executable: true)))
            }
            return base &+ offset
        }
        var k = 0
        var truncatedAt: Int? = nil
        while k < n {
            let v = word(k)
            if v == escape {
                guard k + 1 < n else { truncatedAt = k; break }
                let code = word(k + 1)
                k += 2
                trace.close(into: &batch)
                tracing = false
                func arg() -> UInt64? {
                    guard k < n else { truncatedAt = k - 2; return nil }
                    defer { k += 1 }
                    return word(k)
                }
                switch XenoprofLayout.Code(rawValue: code) {
                case .ctxSwitch:
                    guard let p = arg(), arg() != nil else { break }  // pid, then the task's executable cookie
                    pid = Int32(truncatingIfNeeded: p)
                case .cpuSwitch:
                    guard let c = arg() else { break }
                    cpu = UInt32(truncatingIfNeeded: c)
                case .cookieSwitch:
                    guard let c = arg() else { break }
                    cookie = c
                case .kernelEnter: mode = .kernel
                case .userEnter: mode = .user
                case .xenEnter: mode = .hypervisor
                case .tgid:
                    guard let t = arg() else { break }
                    tgid = Int32(truncatingIfNeeded: t)
                case .traceBegin: tracing = true
                case .domainSwitch:
                    guard let dd = arg() else { break }
                    domain = dd == escape ? .host : DomainID(UInt32(truncatingIfNeeded: dd))
                    if !metadata.domains.contains(where: { $0.id == domain }) {
                        metadata.domains.append(DomainInfo(id: domain, name: "domain\(domain)", role: .passive))
                    }
                case .moduleLoaded: break
                case .spuProfiling, nil:
                    stats.unknown("oprofile code \(code)")
                }
                if truncatedAt != nil { break }
                continue
            }
            guard k + 1 < n else { truncatedAt = k; break }
            let event = word(k + 1)
            k += 2
            let role = metadata.domain(domain)?.role ?? .passive
            var ip = v
            if mode == .user && role != .passive {
                if let a = userAddress(v) { ip = a }
            }
            if tracing && trace.isOpen {
                trace.addCaller(CallFrame(ip: ip, mode: mode))
                continue
            }
            // The event word is any 64-bit value in a damaged stream (Int(event) trapped: found by `make fuzz`).
            let weight = event < UInt64(events.count) ? events[Int(event)].count : 1
            batch.samples.append(Sample(ip: ip, weight: max(1, weight), pid: domain == .host || role != .passive ? tgid : -1,
                                        tid: domain == .host || role != .passive ? pid : -1, domain: domain, pcpu: cpu,
                                        event: UInt16(truncatingIfNeeded: event), mode: mode))
            if tracing { trace.begin(sample: batch.samples.count - 1, pc: CallFrame(ip: ip, mode: mode)) }
        }
        trace.close(into: &batch)
        if let t = truncatedAt {
            stats.warnings.append("\(file): the stream ends inside an entry at word \(t) (byte \(t * w)); the incomplete entry is ignored")
            stats.drop("oprofile entry")
        }
        return batch
    }
}
