/// A xentrace file (docs/XEN.md): Xen's own trace records, written by the `xentrace` daemon.
///
/// Recognised by content: the file starts with a `TRC_TRACE_CPU_CHANGE` record (two extra words, no TSC)
/// naming a CPU and a window size.
public enum XentraceFormat: SampleFormat {
    /// The name `info` and messages show for this format.
    public static let name = "xentrace"

    /// True when the first 12 bytes are a `TRC_TRACE_CPU_CHANGE` header (two extra words) with a CPU below 4096
    /// and a non-zero window size.
    public static func sniff(prefix: [UInt8], path: String) -> Bool {
        guard prefix.count >= 12 else { return false }
        var c = ByteCursor(prefix)
        guard let h = c.read(UInt32.self, .little), let cpu = c.read(UInt32.self, .little),
              let size = c.read(UInt32.self, .little) else { return false }
        return h == XentraceLayout.cpuChange | 2 << 28 && cpu < 4096 && size > 0
    }

    /// Opens `path` with xenalyze's default TSC rate (cycles become nanoseconds at that rate).
    public static func open(path: String) throws(SampleIOError) -> any SampleSource {
        try XentraceSource(path: path, options: ReadOptions())
    }

    /// Opens `path`, converting TSC cycles to nanoseconds at `options.cpuHz` (nil: xenalyze's default).
    public static func open(path: String, options: ReadOptions) throws(SampleIOError) -> any SampleSource {
        try XentraceSource(path: path, options: options)
    }
}

/// Decodes a xentrace file into two events: `sched` — one sample per stretch of time a vCPU (or a physical
/// CPU's idle vCPU, domain 32767) ran on a physical CPU, weighted by its length in nanoseconds — and
/// `vmexit` — one sample per HVM exit at the guest's instruction pointer, labelled with the exit reason.
///
/// Each physical CPU's records are read in order: a runstate change into `running` starts a stretch, one
/// out of `running` ends it; `TRC_LOST_RECORDS` ends the running stretch at the first lost record's TSC and
/// starts the vCPU it names at its own TSC (the time between is the CPU's lost time, counted apart), as
/// xenalyze accounts it; the last stretch ends at the CPU's last TSC. Exits belong to the vCPU running on
/// their CPU. Records without a TSC happened at the previous record's TSC.
///
/// - Complexity: O(records); all samples are kept (then sorted by time), so memory grows with the number of
///   scheduling stretches and exits, not with the file.
final class XentraceSource: SampleSource {
    private(set) var metadata = RunMetadata()
    private(set) var stats = DecodeStats()
    private var samples: [Sample] = []
    private var delivered = 0

    static let schedEvent: UInt16 = 0
    static let exitEvent: UInt16 = 1

    init(path: String, options: ReadOptions) throws(SampleIOError) {
        let bytes = try FileBytes.read(path)
        let hz = options.cpuHz ?? XentraceLayout.defaultCPUHz
        var decoder = XentraceDecoder(bytes: bytes, path: path)
        try decoder.readWindows()
        decoder.decodeRecords()
        stats = decoder.stats
        if options.cpuHz == nil {
            stats.warnings.append("xentrace records TSC cycles, not time: times assume a \(Double(hz) / 1e9) GHz TSC (xenalyze's default); give --cpu-hz HZ (the tracing host's TSC rate, e.g. xl info's cpu_mhz × 1000000) for true times")
        }
        let first = decoder.firstTSC
        func ns(_ cycles: UInt64) -> UInt64 {
            let (hi, lo) = cycles.multipliedFullWidth(by: 1_000_000_000)
            guard hi < hz else { return UInt64.max }
            return hz.dividingFullWidth((hi, lo)).quotient
        }
        samples = decoder.samples
        for i in samples.indices {
            samples[i].time = ns(samples[i].time &- first)
            if samples[i].event == Self.schedEvent { samples[i].weight = ns(samples[i].weight) }
        }
        samples.sort { $0.time < $1.time }

        metadata.sourceFormat = XentraceFormat.name
        metadata.events = [EventInfo(name: "sched"), EventInfo(name: "vmexit")]
        let cpus = decoder.cpus.sorted()
        metadata.cpusUsed = cpus.map(Int.init)
        metadata.cpusOnline = Int(cpus.last ?? 0) + 1
        metadata.duration = decoder.lastTSC > first ? ns(decoder.lastTSC - first) : 0
        metadata.labels = decoder.labels
        for (d, maxVCPU) in decoder.domains.sorted(by: { $0.key < $1.key }) {
            let id = DomainID(d)
            let name = d == XentraceLayout.idleDomain ? "idle" : "d\(d)"
            let role: DomainRole = d == 0 ? .coordinator : .passive
            metadata.domains.append(DomainInfo(id: id, name: name, role: role, vcpus: Int(maxVCPU) + 1))
        }
        metadata.extra["cpu_hz"] = options.cpuHz.map { String($0) } ?? "\(hz) (default)"
        metadata.extra["records"] = String(decoder.recordCount)
        for (cpu, cycles) in decoder.lostCycles.sorted(by: { $0.key < $1.key }) {
            metadata.extra["lost_time_ns.pcpu\(cpu)"] = String(ns(cycles))
        }
        // Counts by name (the 32- and 64-bit forms of an exit share one).
        var byName: [String: Int] = [:]
        for (e, n) in decoder.eventCounts { byName[XentraceLayout.eventName(e), default: 0] += n }
        for (name, n) in byName { metadata.extra["events." + name] = String(n) }
    }

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        guard delivered < samples.count else { return nil }
        let end = min(samples.count, delivered + 65536)
        let batch = SampleBatch(samples: Array(samples[delivered..<end]))
        delivered = end
        return batch
    }
}

/// The two passes over a xentrace file's bytes: find each CPU's windows, then read each CPU's records.
struct XentraceDecoder {
    let bytes: [UInt8]
    let path: String
    private(set) var stats = DecodeStats()
    /// Per physical CPU, its windows' byte ranges in file order.
    private var windows: [UInt32: [Range<Int>]] = [:]
    /// Samples with raw TSC values in `time` and, for `sched`, cycles in `weight` (the source converts).
    private(set) var samples: [Sample] = []
    private(set) var firstTSC = UInt64.max
    private(set) var lastTSC: UInt64 = 0
    private(set) var cpus = Set<UInt32>()
    /// Domains seen, with their highest vCPU number.
    private(set) var domains: [UInt32: UInt32] = [:]
    /// Exit reason names by label (0: none).
    private(set) var labels: [String] = [""]
    private var labelIndex: [String: UInt8] = [:]
    private(set) var eventCounts: [UInt32: Int] = [:]
    private(set) var lostCycles: [UInt32: UInt64] = [:]
    private(set) var recordCount = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    /// Pass 1: the windows. A window cut by the end of the file keeps its whole records (with a warning);
    /// bytes that are not a cpu-change record where one must be end the reading (with a warning), or fail
    /// when that is the first record.
    mutating func readWindows() throws(SampleIOError) {
        var c = ByteCursor(bytes)
        var index = 0
        while c.remaining > 0 {
            let at = c.offset
            guard let h = c.read(UInt32.self, .little), let cpu = c.read(UInt32.self, .little),
                  let size = c.read(UInt32.self, .little) else {
                stats.warnings.append("\(path): the file ends inside a cpu-change record at byte \(at) (\(bytes.count - at) bytes): the trace was cut short; read up to there")
                return
            }
            guard h == XentraceLayout.cpuChange | 2 << 28, cpu < 4096 else {
                let found = "0x" + String(h, radix: 16)
                if index == 0 {
                    throw SampleIOError(.badData, "expected a xentrace cpu-change record (header 0x2001f003), found \(found)",
                                        path: path, offset: at, record: 0,
                                        hint: "is this a file written by xentrace?")
                }
                stats.warnings.append("\(path): at byte \(at) (window \(index)): expected a cpu-change record (header 0x2001f003) with a CPU below 4096, found header \(found) CPU \(cpu); the rest of the file (\(bytes.count - at) bytes) is not read")
                stats.drop("window", count: 1)
                return
            }
            let start = c.offset
            let end = start + min(Int(size), c.remaining)
            if Int(size) > c.remaining {
                stats.warnings.append("\(path): window \(index) of CPU \(cpu) at byte \(at) says \(size) bytes but the file has \(c.remaining) left: the trace was cut short; its whole records are read")
            }
            windows[cpu, default: []].append(start..<end)
            cpus.insert(cpu)
            _ = c.seek(to: end)
            index += 1
        }
    }

    /// What one physical CPU is running, as its records say.
    private struct CPUState {
        var current: (domain: UInt32, vcpu: UInt32)?
        var since: UInt64 = 0
        var lastTSC: UInt64 = 0
        var sawTSC = false
    }

    /// Pass 2: every CPU's records in order.
    mutating func decodeRecords() {
        for cpu in windows.keys.sorted() {
            var st = CPUState()
            for w in windows[cpu] ?? [] { decode(window: w, cpu: cpu, state: &st) }
            if let cur = st.current { close(cur, from: st.since, to: st.lastTSC, cpu: cpu) }
            if st.sawTSC {
                lastTSC = max(lastTSC, st.lastTSC)
            }
        }
        if firstTSC == UInt64.max { firstTSC = 0 }
    }

    private mutating func decode(window: Range<Int>, cpu: UInt32, state st: inout CPUState) {
        var c = ByteCursor(bytes, start: window.lowerBound, end: window.upperBound)
        while c.remaining > 0 {
            let at = c.offset
            guard let h = c.peek(UInt32.self, .little) else { break }
            let extra = Int((h >> 28) & 7), hasTSC = h >> 31 != 0
            let size = 4 + (hasTSC ? 8 : 0) + 4 * extra
            guard c.has(size) else {
                stats.drop("record")
                stats.warnings.append("\(path): CPU \(cpu)'s record at byte \(at) needs \(size) bytes but its window has \(c.remaining) left (a cut or damaged trace); the window's rest is skipped")
                return
            }
            _ = c.skip(4)
            recordCount += 1
            let event = h & 0x0fff_ffff
            var t = st.lastTSC
            if hasTSC, let lo = c.read(UInt32.self, .little), let hi = c.read(UInt32.self, .little) {
                t = UInt64(hi) << 32 | UInt64(lo)
                st.lastTSC = t
                st.sawTSC = true
                firstTSC = min(firstTSC, t)
            }
            var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            for i in 0..<extra {
                let v = c.read(UInt32.self, .little) ?? 0
                switch i {
                case 0: words.0 = v
                case 1: words.1 = v
                case 2: words.2 = v
                case 3: words.3 = v
                default: break
                }
            }
            eventCounts[event, default: 0] += 1
            record(event: event, extra: extra, words: words, tsc: t, cpu: cpu, state: &st)
        }
    }

    private mutating func record(event: UInt32, extra: Int, words w: (UInt32, UInt32, UInt32, UInt32), tsc t: UInt64,
                                 cpu: UInt32, state st: inout CPUState) {
        if event & XentraceLayout.runstateChangeMask == XentraceLayout.runstateChange {
            guard extra >= 1 else { stats.drop("runstate_change"); return }
            let v = (domain: w.0 >> 16, vcpu: w.0 & 0xffff)
            let old = (event >> 8) & 0xf, new = (event >> 4) & 0xf
            if new == XentraceLayout.running {
                if let cur = st.current {
                    if cur == v { return }
                    close(cur, from: st.since, to: t, cpu: cpu)
                }
                st.current = v
                st.since = t
                seen(v)
            } else if old == XentraceLayout.running, let cur = st.current {
                // Xen writes the outgoing vCPU's change on its own CPU; another vCPU's (clock skew between CPUs)
                // still ends what this CPU ran.
                close(cur, from: st.since, to: t, cpu: cpu)
                st.current = nil
            }
            return
        }
        switch event {
        case XentraceLayout.lostRecords:
            guard extra >= 4 else { stats.drop("lost_records"); return }
            let domain = w.1 & 0xffff, vcpu = w.1 >> 16
            let first = UInt64(w.3) << 32 | UInt64(w.2)
            stats.addLost(UInt64(w.0), domain: DomainID(domain))
            if let cur = st.current {
                close(cur, from: st.since, to: max(st.since, min(first, t)), cpu: cpu)
            }
            if t > first { lostCycles[cpu, default: 0] += t - first }
            st.current = (domain, vcpu)
            st.since = t
            seen((domain, vcpu))
        case XentraceLayout.vmxExit, XentraceLayout.vmxExit | XentraceLayout.flag64,
             XentraceLayout.svmExit, XentraceLayout.svmExit | XentraceLayout.flag64:
            let wide = event & XentraceLayout.flag64 != 0
            guard extra >= (wide ? 3 : 2) else { stats.drop("vmexit"); return }
            guard let cur = st.current else {
                stats.drop("vmexit (no vCPU known to run on its CPU)")
                return
            }
            let rip = wide ? UInt64(w.2) << 32 | UInt64(w.1) : UInt64(w.1)
            let svm = event & ~XentraceLayout.flag64 == XentraceLayout.svmExit
            let name = svm ? ExitReasonNames.svm(w.0) : ExitReasonNames.vmx(w.0)
            let kernel = wide ? rip >= 0xffff_8000_0000_0000 : rip >= 0xc000_0000
            samples.append(Sample(ip: rip, weight: 1, time: t, domain: DomainID(cur.domain), pcpu: cpu, vcpu: cur.vcpu,
                                  event: XentraceSource.exitEvent, mode: kernel ? .kernel : .user, label: label(name)))
        case XentraceLayout.cpuChange:
            stats.drop("cpu_change inside a window")
        default:
            if !XentraceLayout.knownClasses.contains(XentraceLayout.eventClass(event)) {
                stats.unknown(XentraceLayout.eventName(event))
            }
        }
    }

    private mutating func seen(_ v: (domain: UInt32, vcpu: UInt32)) {
        domains[v.domain] = max(domains[v.domain] ?? 0, v.vcpu)
    }

    private mutating func label(_ name: String) -> UInt8 {
        if let l = labelIndex[name] { return l }
        guard labels.count < 255 else {
            if labels.count == 255 {
                labels.append("other")
                stats.warnings.append("\(path): more than 254 distinct exit reasons; the rest are counted as 'other'")
            }
            return 255
        }
        let l = UInt8(labels.count)
        labels.append(name)
        labelIndex[name] = l
        return l
    }

    /// A `sched` sample: `v` ran on `cpu` from `from` to `to` (TSC cycles; converted by the source).
    private mutating func close(_ v: (domain: UInt32, vcpu: UInt32), from: UInt64, to: UInt64, cpu: UInt32) {
        guard to > from else { return }
        samples.append(Sample(ip: 0, weight: to - from, time: from, domain: DomainID(v.domain), pcpu: cpu, vcpu: v.vcpu,
                              event: XentraceSource.schedEvent, mode: .unknown))
    }
}
