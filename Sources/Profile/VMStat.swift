import SampleIO

/// `xprof vmstat`: per physical CPU and time interval, how busy it was and which domain's vCPU held it —
/// the view of the vm-stat tool of the Xen scaling study (`3 [087.3] d0-3[000.2] d2-0[087.1]`).
///
/// Shares are shares of the CPU's samples in the interval: with a time-based event (cpu-clock) the idle
/// task is sampled too (pid 0 of the host), so busy = non-idle samples / all samples of that CPU.
public struct VMStat: Sendable {
    public struct Holder: Sendable, Equatable {
        public var domain: DomainID
        /// The vCPU, `Sample.unknownCPU` when the source does not say.
        public var vcpu: UInt32
        public var percent: Double
    }

    public struct CPUInterval: Sendable, Equatable {
        public var pcpu: UInt32
        public var samples: UInt64
        public var busyPercent: Double
        public var holders: [Holder]
    }

    public struct Interval: Sendable {
        public var start: Double
        public var end: Double
        public var cpus: [CPUInterval]
    }

    public var source: String
    public var intervals: [Interval]

    /// Reads `source`; `interval` seconds per row block (nil: one block for the whole run); only the samples
    /// `selection` keeps (a xentrace file's schedule is its `sched` event unless the selection names another).
    public static func build(source: any SampleSource, path: String, interval: Double?,
                             selection: SampleSelection = SampleSelection(),
                             symbols: SymbolOptions = SymbolOptions()) throws(SampleIOError) -> VMStat {
        source.setCallchainsWanted(false)
        let each = selectedSamples(source, selection: selection, symbols: symbols)
        if let sched = source.metadata.events.firstIndex(where: { $0.name == "sched" }), source.metadata.sourceFormat == "xentrace",
           selection.event == nil || selection.event == UInt16(sched) {
            return try buildFromSchedule(source: source, path: path, interval: interval, event: UInt16(sched), each: each)
        }
        struct Key: Hashable { var bucket: Int; var pcpu: UInt32; var domain: UInt32; var vcpu: UInt32; var idle: Bool }
        var counts: [Key: UInt64] = [:]
        var sawCPU = false
        let width = interval.map { UInt64(max($0, 0.001) * 1e9) }
        try each { s in
            guard s.pcpu != Sample.unknownCPU else { return }
            sawCPU = true
            // Absolute buckets: samples of different CPUs need not come in time order.
            let bucket = width.map { Int(s.time / $0) } ?? 0
            let idle = s.domain == .host && (s.pid == 0 || s.tid == 0)
            counts[Key(bucket: bucket, pcpu: s.pcpu, domain: s.domain.rawValue, vcpu: s.vcpu, idle: idle), default: 0] += 1
        }
        guard sawCPU else {
            throw SampleIOError(.unsupported, "the samples carry no physical CPU, so there is no per-CPU view",
                                path: path, hint: "record with xprof record -a (or perf record -a); Xenoprof rings only name vCPUs")
        }
        var byBucket: [Int: [UInt32: [(Key, UInt64)]]] = [:]
        for (k, n) in counts { byBucket[k.bucket, default: [:]][k.pcpu, default: []].append((k, n)) }
        let w = width.map { Double($0) / 1e9 } ?? 0
        let firstBucket = byBucket.keys.min() ?? 0
        let intervals = byBucket.keys.sorted().map { b -> Interval in
            let cpus = (byBucket[b] ?? [:]).keys.sorted().map { cpu -> CPUInterval in
                let entries = byBucket[b]?[cpu] ?? []
                let total = entries.reduce(0) { $0 + $1.1 }
                let busy = entries.filter { !$0.0.idle }.reduce(0) { $0 + $1.1 }
                var holders = entries.filter { !$0.0.idle }.map {
                    Holder(domain: DomainID($0.0.domain), vcpu: $0.0.vcpu, percent: Double($0.1) * 100 / Double(max(total, 1)))
                }
                holders.sort { $0.domain != $1.domain ? $0.domain < $1.domain : $0.vcpu < $1.vcpu }
                return CPUInterval(pcpu: cpu, samples: total, busyPercent: Double(busy) * 100 / Double(max(total, 1)), holders: holders)
            }
            return Interval(start: Double(b - firstBucket) * w, end: Double(b - firstBucket + 1) * w, cpus: cpus)
        }
        return VMStat(source: path, intervals: intervals)
    }
}

extension VMStat {
    /// The view from a xentrace file's scheduling records (docs/XEN.md): each `sched` sample is a stretch of time
    /// a domain's vCPU ran on a physical CPU (its weight in ns), split over the intervals it overlaps. Busy = the
    /// time non-idle vCPUs ran / the interval's length; a holder's share = its time / the interval's length.
    /// `samples` counts the stretches that overlap the interval. Intervals start at the trace's first record.
    /// Calls its argument with each sample of `source` that `selection` keeps (every sample, batch by batch,
    /// when it keeps all; through an ``Attributor`` when it filters by attribution).
    private static func selectedSamples(_ source: any SampleSource, selection: SampleSelection, symbols: SymbolOptions)
        -> (((Sample) -> Void) throws(SampleIOError) -> Void) {
        if selection == SampleSelection() {
            return { body throws(SampleIOError) in
                while let batch = try source.nextBatch() { for s in batch.samples { body(s) } }
            }
        }
        return { body throws(SampleIOError) in
            let attributor = Attributor(metadata: source.metadata, options: symbols)
            try attributor.forEachSample(of: source, selection: selection) { s, _, _ in body(s) }
        }
    }

    static func buildFromSchedule(source: any SampleSource, path: String, interval: Double?, event: UInt16,
                                  each: ((Sample) -> Void) throws(SampleIOError) -> Void) throws(SampleIOError) -> VMStat {
        struct Key: Hashable { var bucket: Int; var pcpu: UInt32; var domain: UInt32; var vcpu: UInt32 }
        var time: [Key: UInt64] = [:]
        var stretches: [Int: [UInt32: UInt64]] = [:]
        let duration = max(source.metadata.duration, 1)
        let width = interval.map { UInt64(max($0, 0.001) * 1e9) } ?? duration
        try each { s in
            guard s.event == event && s.pcpu != Sample.unknownCPU else { return }
            var t = s.time
            let end = s.time &+ s.weight
            while t < end {
                let b = Int(t / width)
                let stop = min(end, UInt64(b + 1) * width)
                time[Key(bucket: b, pcpu: s.pcpu, domain: s.domain.rawValue, vcpu: s.vcpu), default: 0] += stop - t
                stretches[b, default: [:]][s.pcpu, default: 0] += 1
                t = stop
            }
        }
        var byBucket: [Int: [UInt32: [(Key, UInt64)]]] = [:]
        for (k, n) in time { byBucket[k.bucket, default: [:]][k.pcpu, default: []].append((k, n)) }
        let lastBucket = Int(duration / width) - (duration % width == 0 ? 1 : 0)
        let intervals = byBucket.keys.sorted().map { b -> Interval in
            // The last interval may be shorter than the others: it ends with the trace.
            let length = Double(b == lastBucket ? duration - UInt64(b) * width : width)
            let cpus = (byBucket[b] ?? [:]).keys.sorted().map { cpu -> CPUInterval in
                let entries = (byBucket[b]?[cpu] ?? []).filter { $0.0.domain != 32767 }
                var holders = entries.map { Holder(domain: DomainID($0.0.domain), vcpu: $0.0.vcpu, percent: Double($0.1) * 100 / length) }
                holders.sort { $0.domain != $1.domain ? $0.domain < $1.domain : $0.vcpu < $1.vcpu }
                let busy = Double(entries.reduce(0) { $0 + $1.1 }) * 100 / length
                return CPUInterval(pcpu: cpu, samples: stretches[b]?[cpu] ?? 0, busyPercent: busy, holders: holders)
            }
            let w = Double(width) / 1e9
            return Interval(start: Double(b) * w, end: interval == nil ? Double(duration) / 1e9 : Double(b + 1) * w, cpus: cpus)
        }
        return VMStat(source: path, intervals: intervals)
    }
}

/// Renders ``VMStat`` in vm-stat's line format or as JSON.
public enum VMStatRenderer {
    static func share(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        let whole = Int(r), tenth = Int(((r - Double(whole)) * 10).rounded())
        let w = String(whole)
        return String(repeating: "0", count: max(0, 3 - w.count)) + w + "." + String(tenth)
    }

    static func holderName(_ h: VMStat.Holder) -> String {
        "d\(h.domain)-" + (h.vcpu == Sample.unknownCPU ? "?" : String(h.vcpu))
    }

    public static func text(_ v: VMStat) -> String {
        var out = "# xprof vmstat of \(v.source): per physical CPU, [busy %] then the share each domain-vCPU held\n"
        for i in v.intervals {
            if v.intervals.count > 1 || i.end > 0 {
                out += "# \(ReportRenderer.pct(i.start)) s – \(ReportRenderer.pct(i.end)) s\n"
            }
            for c in i.cpus {
                out += "\(c.pcpu) [\(share(c.busyPercent))]"
                for h in c.holders { out += " \(holderName(h))[\(share(h.percent))]" }
                out += "\n"
            }
        }
        return out
    }

    public static func json(_ v: VMStat) -> String {
        JSONValue.object([
            "schema": "xprof.vmstat/1",
            "source": .of(v.source),
            "intervals": .array(v.intervals.map { i in
                .object(["start_s": .of(i.start), "end_s": .of(i.end), "cpus": .array(i.cpus.map { c in
                    .object(["pcpu": .of(c.pcpu), "samples": .of(c.samples), "busy": .of(c.busyPercent),
                             "holders": .array(c.holders.map { h in
                                 .object(["domain": .of(h.domain.rawValue), "vcpu": h.vcpu == Sample.unknownCPU ? .null : .of(h.vcpu),
                                          "percent": .of(h.percent)])
                             })])
                })])
            }),
        ]).rendered()
    }
}
