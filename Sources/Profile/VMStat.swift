import SampleIO

/// `xprof vmstat`: per physical CPU and time interval, how busy it was and which domain's vCPU held it —
/// the view of the vm-stat tool of the Xen scaling study (`3 [087.3] d0-3[000.2] d2-0[087.1]`).
///
/// Shares are shares of the interval's time (docs/ARCHITECTURE.md, "vmstat"): a tickless kernel takes no
/// `cpu-clock` samples on an idle CPU, so a share of the samples a CPU took would show a CPU that ran a
/// spinner for half the run as 100 % busy throughout. With a time event (cpu-clock, task-clock: the period is
/// nanoseconds) busy = the non-idle samples' period / the interval's length; with a frequency-driven event,
/// non-idle samples / (frequency × length); only a fixed-count event without a time base (Xenoprof's) falls
/// back to the share of the CPU's samples. Samples of the idle task (pid 0 of the host) are never busy.
public struct VMStat: Sendable {
    /// One domain-vCPU's hold on a physical CPU in an interval (vm-stat's `d2-0[087.1]`).
    public struct Holder: Sendable, Equatable {
        /// The domain whose vCPU ran.
        public var domain: DomainID
        /// The vCPU, `Sample.unknownCPU` when the source does not say.
        public var vcpu: UInt32
        /// Its share of the interval's time on this CPU, in percent (0–100; sampled events are capped at 100);
        /// of the CPU's samples for an event without a time base.
        public var percent: Double
    }

    /// One physical CPU in one interval: its busy share and who held it.
    public struct CPUInterval: Sendable, Equatable {
        /// The physical CPU (``SampleIO/Sample/pcpu``).
        public var pcpu: UInt32
        /// Samples the CPU took in the interval (a xentrace file: scheduling stretches that overlap it).
        public var samples: UInt64
        /// The non-idle share of the interval's time, in percent (0–100).
        public var busyPercent: Double
        /// The domain-vCPUs that ran on the CPU in the interval, by domain then vCPU.
        public var holders: [Holder]
    }

    /// One block of rows: every CPU that took a sample anywhere in the run, for one stretch of time.
    public struct Interval: Sendable {
        /// Start, in seconds from the start of the run (the first sample less its period; a trace's first record).
        public var start: Double
        /// End, in seconds from the same origin; the last interval ends with the run.
        public var end: Double
        /// One entry per CPU, in CPU order (0 % where the CPU took nothing in this interval).
        public var cpus: [CPUInterval]
    }

    /// The input's path as given on the command line.
    public var source: String
    /// The intervals in time order (one for the whole run without `--interval`).
    public var intervals: [Interval]

    /// Reads `source`; `interval` seconds per row block (nil: one block for the whole run); only the samples
    /// `selection` keeps, of its event (else the first; a xentrace file's schedule is its `sched` event unless
    /// the selection names another).
    public static func build(source: any SampleSource, path: String, interval: Double?,
                             selection: SampleSelection = SampleSelection(),
                             symbols: SymbolOptions = SymbolOptions()) throws(SampleIOError) -> VMStat {
        source.setCallchainsWanted(false)
        let each = selectedSamples(source, selection: selection, symbols: symbols)
        if let sched = source.metadata.events.firstIndex(where: { $0.name == "sched" }), source.metadata.sourceFormat == "xentrace",
           selection.event == nil || selection.event == UInt16(sched) {
            return try buildFromSchedule(source: source, path: path, interval: interval, event: UInt16(sched), each: each)
        }
        // One event's samples (--event's, else the first): what "busy" is measured in depends on it.
        let event = source.metadata.events.indices.contains(Int(selection.event ?? 0)) ? source.metadata.events[Int(selection.event ?? 0)] : nil
        let timeEvent = ["cpu-clock", "task-clock"].contains(event?.name.split(separator: ":").first.map(String.init) ?? "")
        let frequency = timeEvent ? nil : event?.frequency.map { Double($0) }
        struct Key: Hashable { var bucket: Int; var pcpu: UInt32; var domain: UInt32; var vcpu: UInt32; var idle: Bool }
        var weights: [Key: UInt64] = [:]
        var samples: [Int: [UInt32: UInt64]] = [:]
        var cpusSeen = Set<UInt32>()
        var first = UInt64.max, last: UInt64 = 0
        let width = interval.map { Int64(max($0, 0.001) * 1e9) }
        // A sample stands for the sampling period before it: a time event's own period, else one interval of
        // the frequency. Intervals count from the first sample to arrive less that period (sources deliver
        // samples in time order, give or take a little across CPUs: an earlier one falls in interval -1).
        let frequencyLead = frequency.map { Int64(1e9 / max($0, 1)) } ?? 0
        var origin: Int64? = nil
        let measured = selection.event ?? 0
        try each { s in
            guard s.event == measured, s.pcpu != Sample.unknownCPU else { return }
            cpusSeen.insert(s.pcpu)
            let lead = timeEvent ? Int64(clamping: s.weight / max(s.count, 1)) : frequencyLead
            first = min(first, UInt64(max(0, Int64(clamping: s.time) - lead)))
            last = max(last, s.time)
            let o = origin ?? (Int64(clamping: s.time) - lead)
            origin = o
            // A sample at the very end of an interval (its period inside it) belongs to that interval.
            let bucket = width.map { Int(floorDiv(Int64(clamping: s.time) - o - 1, $0)) } ?? 0
            let idle = s.domain == .host && (s.pid == 0 || s.tid == 0)
            weights[Key(bucket: bucket, pcpu: s.pcpu, domain: s.domain.rawValue, vcpu: s.vcpu, idle: idle),
                    default: 0] += timeEvent ? s.weight : s.count
            samples[bucket, default: [:]][s.pcpu, default: 0] += s.count
        }
        guard !cpusSeen.isEmpty else {
            throw SampleIOError(.unsupported, "the samples carry no physical CPU, so there is no per-CPU view",
                                path: path, hint: "record with xprof record -a (or perf record -a); Xenoprof rings only name vCPUs")
        }
        // The run's span (first: the earliest sample less its period), relative to the origin.
        let o = origin ?? 0
        let runStart = Int64(clamping: first) - o, runEnd = max(Int64(clamping: last) - o, runStart + 1)
        var byBucket: [Int: [UInt32: [(Key, UInt64)]]] = [:]
        for (k, n) in weights { byBucket[k.bucket, default: [:]][k.pcpu, default: []].append((k, n)) }
        let w = width ?? (runEnd - runStart)
        let buckets = width.map { Array(Int(floorDiv(runStart, $0))...Int(floorDiv(runEnd - 1, $0))) } ?? [0]
        let firstBucket = buckets.first ?? 0
        let intervals = buckets.map { b -> Interval in
            // The interval's time within the run (the first and last are cut by the run's ends), in ns.
            let lo = width.map { max(Int64(b) * $0, runStart) } ?? runStart
            let hi = width.map { min(Int64(b + 1) * $0, runEnd) } ?? runEnd
            let length = Double(max(hi, lo + 1) - lo)
            let cpus = cpusSeen.sorted().map { cpu -> CPUInterval in
                let entries = byBucket[b]?[cpu] ?? []
                let taken = samples[b]?[cpu] ?? 0
                // What 100 % is: the interval's nanoseconds, the samples it should have held, or (no time
                // base) the samples it did hold.
                let capacity = timeEvent ? length : frequency.map { $0 * length / 1e9 } ?? Double(max(taken, 1))
                var holders = entries.filter { !$0.0.idle }.map {
                    Holder(domain: DomainID($0.0.domain), vcpu: $0.0.vcpu, percent: min(100, Double($0.1) * 100 / capacity))
                }
                holders.sort { $0.domain != $1.domain ? $0.domain < $1.domain : $0.vcpu < $1.vcpu }
                let busy = entries.filter { !$0.0.idle }.reduce(0) { $0 + $1.1 }
                return CPUInterval(pcpu: cpu, samples: taken, busyPercent: min(100, Double(busy) * 100 / capacity), holders: holders)
            }
            let start = width == nil ? 0 : Double(b - firstBucket) * Double(w) / 1e9
            return Interval(start: start, end: width == nil ? Double(w) / 1e9 : start + Double(w) / 1e9, cpus: cpus)
        }
        return VMStat(source: path, intervals: intervals)
    }

    /// Division rounding toward minus infinity (Swift's `/` truncates toward zero).
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
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
