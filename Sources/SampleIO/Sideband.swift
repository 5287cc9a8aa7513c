/// A memory mapping of a file into a process (perf's MMAP/MMAP2, xprof's mapping records).
public struct Mapping: Sendable, Equatable {
    /// The domain the process runs in.
    public var domain: DomainID
    /// Process id; -1 for the kernel's own mappings (vmlinux, modules).
    public var pid: Int32
    /// First mapped runtime address.
    public var start: UInt64
    /// Length of the mapping in bytes.
    public var length: UInt64
    /// Offset in the file of the byte mapped at `start`.
    public var fileOffset: UInt64
    /// Path of the mapped file, or a pseudo name such as `[vdso]`.
    public var path: String
    /// GNU build-id of the file, if known (empty otherwise).
    public var buildID: [UInt8]
    /// Whether the mapping is executable.
    public var executable: Bool

    /// A mapping; `pid` -1 for the kernel's own. `buildID` empty when unknown.
    public init(domain: DomainID = .host, pid: Int32, start: UInt64, length: UInt64, fileOffset: UInt64,
                path: String, buildID: [UInt8] = [], executable: Bool = true) {
        self.domain = domain
        self.pid = pid
        self.start = start
        self.length = length
        self.fileOffset = fileOffset
        self.path = path
        self.buildID = buildID
        self.executable = executable
    }

    /// One past the last mapped address (saturating).
    public var end: UInt64 { start &+ length < start ? UInt64.max : start &+ length }
}

/// A non-sample event that changes how later samples are attributed.
public enum SidebandEvent: Sendable, Equatable {
    /// A file was mapped (or the kernel image/module range was announced).
    case mapping(Mapping)
    /// A thread was named (perf COMM); `exec` is true when the name comes from an exec.
    case comm(domain: DomainID, pid: Int32, tid: Int32, name: String, exec: Bool)
    /// A process or thread was created.
    case fork(domain: DomainID, pid: Int32, ppid: Int32, tid: Int32, ptid: Int32)
    /// A process or thread ended.
    case exit(domain: DomainID, pid: Int32, tid: Int32)
}

/// A side-band event placed in the sample order: it takes effect before `beforeSample`
/// (an index into the batch's `samples`; `samples.count` means after all of them).
public struct SidebandRecord: Sendable, Equatable {
    /// Index into the batch's `samples` this event takes effect before (`samples.count`: after the last one).
    public var beforeSample: Int
    /// When the event happened, nanoseconds on the source's clock (0 when unknown).
    public var time: UInt64
    /// What happened.
    public var event: SidebandEvent
    /// A record placed before `samples[beforeSample]`.
    public init(beforeSample: Int, time: UInt64 = 0, event: SidebandEvent) {
        self.beforeSample = beforeSample
        self.time = time
        self.event = event
    }
}

/// A contiguous run of decoded samples, their callchain frames, and the side-band events among them.
public struct SampleBatch: Sendable, Equatable {
    /// The samples, in the order the source delivers them; ``sideband`` records name positions in it.
    public var samples: [Sample]
    /// Callchain storage; each sample's frames are `frames[chainStart ..< chainStart + chainCount]`.
    public var frames: [CallFrame]
    /// Side-band events in order of their position among the samples.
    public var sideband: [SidebandRecord]

    /// A batch of `samples` with their callchain `frames` and `sideband` events (each at its sample index).
    public init(samples: [Sample] = [], frames: [CallFrame] = [], sideband: [SidebandRecord] = []) {
        self.samples = samples
        self.frames = frames
        self.sideband = sideband
    }

    /// Whether the batch holds nothing at all.
    public var isEmpty: Bool { samples.isEmpty && sideband.isEmpty }

    /// The callchain of `samples[index]`, leaf first.
    public func callchain(of index: Int) -> ArraySlice<CallFrame> {
        let s = samples[index]
        let start = Int(s.chainStart), count = Int(s.chainCount)
        guard count > 0, start >= 0, start + count <= frames.count else { return [] }
        return frames[start..<(start + count)]
    }

    /// Appends a sample with its callchain (leaf first), filling in the chain indexes.
    public mutating func append(_ sample: Sample, callchain: some Collection<CallFrame>) {
        var s = sample
        s.chainStart = UInt32(truncatingIfNeeded: frames.count)
        s.chainCount = UInt32(truncatingIfNeeded: callchain.count)
        frames.append(contentsOf: callchain)
        samples.append(s)
    }

    /// Appends the samples, frames and side-band events of `other` after this batch's.
    public mutating func appendBatch(_ other: SampleBatch) {
        let base = samples.count, frameBase = UInt32(truncatingIfNeeded: frames.count)
        frames.append(contentsOf: other.frames)
        if samples.capacity < base + other.samples.count { samples.reserveCapacity(max(base + other.samples.count, samples.capacity * 2)) }
        for var s in other.samples {
            if s.chainCount > 0 { s.chainStart &+= frameBase }
            samples.append(s)
        }
        for var r in other.sideband {
            r.beforeSample += base
            sideband.append(r)
        }
    }

    /// Appends a side-band event at the current end of the samples.
    public mutating func append(_ event: SidebandEvent, time: UInt64 = 0) {
        sideband.append(SidebandRecord(beforeSample: samples.count, time: time, event: event))
    }
}

/// Side-band events waiting for their round (perf's ordered events), each with its place in the input's
/// event order; ``sortByTime()`` puts them in (time, place) order for delivery.
struct SidebandQueue {
    private var events: [SidebandRecord] = []
    private var seqs: [UInt64] = []
    /// Indexes of `events` in (time, place) order (after ``sortByTime()``).
    private var order: [Int32] = []

    var isEmpty: Bool { events.isEmpty }
    /// Number of events in ``sortByTime()`` order.
    var count: Int { order.count }

    mutating func append(_ e: SidebandEvent, time: UInt64, seq: UInt64) {
        events.append(SidebandRecord(beforeSample: 0, time: time, event: e))
        seqs.append(seq)
    }

    /// Orders the waiting events by (time, place).
    mutating func sortByTime() {
        order.removeAll(keepingCapacity: true)
        for i in events.indices { order.append(Int32(truncatingIfNeeded: i)) }
        if events.count > 1 {
            let sb = events, sq = seqs
            order.sort { a, b in
                let ta = sb[Int(a)].time, tb = sb[Int(b)].time
                return ta != tb ? ta < tb : sq[Int(a)] < sq[Int(b)]
            }
        }
    }

    /// The k-th event in time order, and its place in the input.
    subscript(k: Int) -> (record: SidebandRecord, seq: UInt64) {
        let j = Int(order[k])
        return (events[j], seqs[j])
    }

    /// Drops the first `k` events in time order (delivered); the others wait, in time order.
    mutating func removeFirst(_ k: Int) {
        if k >= order.count {
            events.removeAll(keepingCapacity: true)
            seqs.removeAll(keepingCapacity: true)
        } else if k > 0 {
            let rest = order[k...].map { Int($0) }
            events = rest.map { events[$0] }
            seqs = rest.map { seqs[$0] }
        }
        order.removeAll(keepingCapacity: true)
    }
}
