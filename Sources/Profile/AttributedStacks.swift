import SampleIO
import SymbolMap

/// The attributed profile the stack views are drawn from — folded stacks, the SVG flame graph, pprof and
/// the HTML page's call trees (docs/ARCHITECTURE.md, "Attributed stacks"): every distinct code address
/// attributed once (a ``Location``: image, function, and source line when asked), and every distinct stack
/// of locations with the class of its samples (command, process, domain, mode, event) counted in samples
/// and event period.
/// pprof's shape, held as indexes: views name frames through ``attributor``'s strings and never attribute
/// an address themselves.
struct AttributedStacks {
    /// One distinct code address: the sample's or a callchain frame's, with its attribution.
    struct Location {
        /// The runtime address as the sample or callchain gave it.
        var ip: UInt64
        /// The code's domain and mode (a frame's own mode: a kernel frame of a user sample is kernel code).
        var domain: DomainID
        var mode: SampleMode
        /// The image and the function as reports name them (``Attributor``'s string ids).
        var image: Int32
        var symbol: Int32
        /// Whether the function resolved (else ``symbol`` is the unresolved address's name).
        var resolved: Bool
        /// The line-table row (the source file as the line table gives it), nil when unknown or not asked for.
        var source: SourceLocation?
        /// `file:line` of the address as `--sort line` names it (``Attributor/sourceLine(domain:mode:pid:ip:)``,
        /// `??:0` when unknown), with ``LineDetail/leaves`` for a resolved location that was a leaf; else 0.
        var lineName: Int32 = 0
        /// Whether the line was looked up.
        var lineRead = false
    }

    /// Which locations get their source line: none, those that are a sample's own address (the leaves), all.
    enum LineDetail {
        case none, leaves, all
    }

    /// A sample's class: its domain, mode and thread's command.
    struct SampleClass: Hashable {
        var domain: DomainID
        var mode: SampleMode
        var comm: Int32
    }

    /// One distinct stack and the class of its samples.
    struct Stack: Hashable {
        /// Indexes into ``AttributedStacks/locations``, leaf first (the sample's own address alone when it
        /// has no callchain).
        var locations: [Int32]
        /// The command name of the sample's thread (a string id).
        var comm: Int32
        var pid: Int32
        /// The sample's own domain and mode (its leaf's).
        var domain: DomainID
        var mode: SampleMode
        /// The event's index in the recording.
        var event: UInt16
    }

    /// Samples and their summed event period.
    struct Counts {
        var samples: UInt64 = 0
        var period: UInt64 = 0
    }

    /// The distinct locations, in the order first met.
    private(set) var locations: [Location] = []
    /// The distinct stacks, in the order first met, and their counts (same indexes).
    private(set) var stacks: [Stack] = []
    private(set) var counts: [Counts] = []
    /// Samples kept (a merged sample counts as its ``SampleIO/Sample/count``).
    private(set) var totalSamples: UInt64 = 0
    /// Samples in the time window, of every domain, mode and event (what was read, for a page's header).
    private(set) var inputSamples: UInt64 = 0
    /// What the sample filter left out, by class, in the order first met.
    private(set) var excluded: [(sampleClass: SampleClass, counts: Counts)] = []
    /// The input's description as it stood after the last sample (a duration may be final only then).
    private(set) var metadata: RunMetadata
    /// The decoder's counts (lost samples, damaged records).
    private(set) var stats = DecodeStats()
    /// The attribution the profile was made with: its string table names every id above.
    let attributor: Attributor

    private init(attributor: Attributor, metadata: RunMetadata) {
        self.attributor = attributor
        self.metadata = metadata
    }

    /// Reads all of `source` once and returns the stacks of the samples `selection` keeps, symbols from
    /// `symbols`, source lines as `lines` asks (read from DWARF once per location). Decoding runs ahead on
    /// another core (``SampleIO/ReadAheadSource``) while this thread attributes.
    /// - Complexity: one pass over the samples; per frame, one lookup of its location (attributed the first
    ///   time only); memory grows with the distinct locations and stacks, not the samples.
    static func collect(source input: any SampleSource, selection: SampleSelection, symbols: SymbolOptions,
                        lines: LineDetail) throws(SampleIOError) -> AttributedStacks {
        input.setCallchainsWanted(true)
        input.setMergingAllowed(selection.allowsMerging)
        let source = ReadAheadSource(input, depth: 2)
        let attributor = Attributor(metadata: source.metadata, options: symbols)
        attributor.sources.preloadSymbols()
        let filter = selection.filter.isEmpty ? nil : CompiledSampleFilter(selection.filter, strings: &attributor.strings)
        var p = AttributedStacks(attributor: attributor, metadata: source.metadata)
        // Locations by (address, domain and mode; for user code the process and the image mapped there, so
        // that after an exec the same address is a new location); kernel and hypervisor code is the same in
        // every process of a domain, until a kernel mapping (a module loaded) empties the table.
        var locationIndex = FastMap<Int32>(capacity: 4096)
        var stackIndex: [Stack: Int] = [:]
        var excludedIndex: [SampleClass: Int] = [:]
        var key = Stack(locations: [], comm: 0, pid: 0, domain: .host, mode: .unknown, event: 0)

        func location(_ s: Sample, _ ip: UInt64, _ mode: SampleMode) -> Int32 {
            let b = UInt64(s.domain.rawValue) << 32 | UInt64(mode.rawValue)
            var c: UInt64 = 0
            if mode == .user {
                let image = attributor.userMapping(domain: s.domain, pid: s.pid, ip: ip)?.image ?? -1
                c = UInt64(UInt32(bitPattern: s.pid)) << 32 | UInt64(UInt32(bitPattern: image))
            }
            if let i = locationIndex.get(ip, b, c) { return i }
            let (img, sym, resolved) = attributor.attributeAddress(domain: s.domain, mode: mode, pid: s.pid, ip: ip)
            let i = Int32(p.locations.count)
            p.locations.append(Location(ip: ip, domain: s.domain, mode: mode, image: img, symbol: sym,
                                        resolved: resolved, source: nil))
            if lines == .all { lineOf(s, Int(i)) }
            locationIndex.set(ip, b, c, i)
            return i
        }
        // A resolved location's line, read once (and named, for the leaves).
        func lineOf(_ s: Sample, _ i: Int) {
            let l = p.locations[i]
            guard l.resolved, !l.lineRead else { return }
            p.locations[i].lineRead = true
            if lines == .leaves {
                p.locations[i].lineName = attributor.sourceLine(domain: s.domain, mode: l.mode, pid: s.pid, ip: l.ip)
            }
            p.locations[i].source = attributor.sourceLocation(domain: s.domain, mode: l.mode, pid: s.pid, ip: l.ip)
        }
        func apply(_ event: SidebandEvent) {
            attributor.apply(event)
            if case .mapping(let m) = event, m.executable, m.pid < 0 { locationIndex.removeAll() }
        }

        while let batch = try source.nextBatch() {
            var next = 0
            let sideband = batch.sideband
            for (i, s) in batch.samples.enumerated() {
                while next < sideband.count, sideband[next].beforeSample <= i {
                    apply(sideband[next].event)
                    next += 1
                }
                if let w = selection.timeWindow, !w.contains(s.time) { continue }
                p.inputSamples += s.count
                guard selection.inView(s) else { continue }
                if let filter, !filter.keeps(pid: s.pid, tid: s.tid, attributor.attribute(s)) {
                    let c = SampleClass(domain: s.domain, mode: s.mode, comm: attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid))
                    let k: Int
                    if let known = excludedIndex[c] { k = known } else {
                        k = p.excluded.count
                        p.excluded.append((c, Counts()))
                        excludedIndex[c] = k
                    }
                    p.excluded[k].counts.samples += s.count
                    p.excluded[k].counts.period &+= s.weight
                    continue
                }
                key.locations.removeAll(keepingCapacity: true)
                let chain = batch.callchain(of: i)
                if chain.isEmpty {
                    key.locations.append(location(s, s.ip, s.mode))
                } else {
                    // Leaf first, as pprof wants; attributed root first, as the views have always met them
                    // (the order in which names are interned decides the order of equal-count rows).
                    key.locations.append(contentsOf: repeatElement(0, count: chain.count))
                    var j = chain.count
                    while j > 0 {
                        j -= 1
                        let f = chain[chain.startIndex + j]
                        key.locations[j] = location(s, f.ip, f.mode)
                    }
                }
                if lines == .leaves { lineOf(s, Int(key.locations[0])) }
                key.comm = attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid)
                (key.pid, key.domain, key.mode, key.event) = (s.pid, s.domain, s.mode, s.event)
                let k: Int
                if let known = stackIndex[key] {
                    k = known
                } else {
                    k = p.stacks.count
                    p.stacks.append(key)
                    p.counts.append(Counts())
                    stackIndex[key] = k
                }
                p.counts[k].samples += s.count
                p.counts[k].period &+= s.weight
                p.totalSamples += s.count
            }
            while next < sideband.count {
                apply(sideband[next].event)
                next += 1
            }
        }
        p.metadata = source.metadata
        p.stats = source.stats
        return p
    }
}
