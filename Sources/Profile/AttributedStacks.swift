import SampleIO

/// The attributed profile the stack views are drawn from — folded stacks, the SVG flame graph and pprof
/// (docs/ARCHITECTURE.md, "Attributed stacks"): every distinct code address attributed once (a
/// ``Location``: image, function, and source line when asked), and every distinct stack of locations with
/// the class of its samples (command, process, domain, mode, event) counted in samples and event period.
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
        /// The source file as the line table gives it, "" when unknown or not asked for.
        var file: String
        /// The source line, 0 when unknown or not asked for.
        var line: Int
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
    /// The attribution the profile was made with: its string table names every id above.
    let attributor: Attributor

    private init(attributor: Attributor) { self.attributor = attributor }

    /// Reads all of `source` once and returns the stacks of the samples `selection` keeps, symbols from
    /// `symbols`; with `lines`, each resolved location's source line too (read from DWARF once per location).
    /// - Complexity: one pass over the samples; per frame, one lookup of its location (attributed the first
    ///   time only); memory grows with the distinct locations and stacks, not the samples.
    static func collect(source: any SampleSource, selection: SampleSelection, symbols: SymbolOptions,
                        lines: Bool) throws(SampleIOError) -> AttributedStacks {
        source.setCallchainsWanted(true)
        source.setMergingAllowed(selection.allowsMerging)
        let attributor = Attributor(metadata: source.metadata, options: symbols)
        var p = AttributedStacks(attributor: attributor)
        // Locations by (address, domain and mode; for user code the process and the image mapped there, so
        // that after an exec the same address is a new location); kernel and hypervisor code is the same in
        // every process of a domain.
        var locationIndex = FastMap<Int32>(capacity: 4096)
        var stackIndex: [Stack: Int] = [:]
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
            var file = "", line = 0
            if lines && resolved,
               let loc = attributor.sourceLocation(domain: s.domain, mode: mode, pid: s.pid, ip: ip), loc.line > 0 {
                // The path as the line table gives it (absolute with its compilation directory).
                file = loc.file
                line = loc.line
            }
            let i = Int32(p.locations.count)
            p.locations.append(Location(ip: ip, domain: s.domain, mode: mode, image: img, symbol: sym,
                                        resolved: resolved, file: file, line: line))
            locationIndex.set(ip, b, c, i)
            return i
        }

        try attributor.forEachSample(of: source, selection: selection) { s, batch, i in
            key.locations.removeAll(keepingCapacity: true)
            let chain = batch.callchain(of: i)
            if chain.isEmpty {
                key.locations.append(location(s, s.ip, s.mode))
            } else {
                for f in chain { key.locations.append(location(s, f.ip, f.mode)) }  // leaf first
            }
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
        return p
    }
}
