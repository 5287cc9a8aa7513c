import SampleIO

/// The call trees of one or more recordings, merged into one tree and counted per recording: what the HTML
/// pages hold instead of samples (docs/ARCHITECTURE.md, "HTML pages").
///
/// Under a virtual root, one subtree per *sample class* — the (domain, mode, command) of the samples — whose
/// nodes are the frames of the samples' stacks, root first, each node a (function, kind) under its parent.
/// Every node carries, per recording ("run"), the samples and event period that ended in it (self); a frame's
/// total is the sum over its subtree. The page selects classes (its domain, mode and command filters) and
/// merges their subtrees, so each filter combination is a view of the same numbers.
///
/// Functions are (image, symbol) as `xprof report --sort image,symbol` names its rows; the leaf's source line
/// (`file:line`, as `--sort line`) is counted per (class, function, line) where the image has DWARF.
public struct CallTree: Sendable {
    /// A function as report rows name it.
    public struct Function: Hashable, Sendable {
        /// The image as report's `image` column shows it (`libc.so.6`, `[kernel.kallsyms]`, `xen-syms-4.17-amd64`).
        public var image: String
        /// The symbol as report's `symbol` column shows it (`[unknown] 0x…` when the address did not resolve).
        public var symbol: String
    }

    /// What code a frame is, for colours: host user and kernel code, the hypervisor, a guest's kernel and user code.
    public enum FrameKind: UInt8, Sendable, CaseIterable {
        case hostUser = 0, hostKernel, hypervisor, guestKernel, guestUser
    }

    /// Samples of one domain, mode (the sampled address's) and command.
    public struct SampleClass: Hashable, Sendable {
        /// The sampled domain.
        public var domain: DomainID
        /// The mode of the sampled address (the leaf's), not of every frame in the stack.
        public var mode: SampleMode
        /// The command name as report's `comm` column shows it (perf's `swapper`, `:TID`, `domainN` …).
        public var comm: String
    }

    /// What one run counted in one class.
    public struct ClassTotals: Sendable, Equatable {
        /// Samples of the class the run kept (after the time window and sample filters).
        public var samples: UInt64 = 0
        /// Their summed event period (the event's unit: nanoseconds for `cpu-clock`).
        public var period: UInt64 = 0
        /// Samples whose function resolved.
        public var resolved: UInt64 = 0
        /// Samples and period perf's sample filters (`--comms`, `--dsos` …) left out.
        public var excludedSamples: UInt64 = 0
        /// Period of the samples counted in ``excludedSamples``.
        public var excludedPeriod: UInt64 = 0
        /// Nothing counted.
        public init() {}
    }

    /// One recording of the tree.
    public struct Run: Sendable {
        /// What the page calls it ("base", "new", "4 CPUs"; the file name for one run).
        public var label: String
        /// The input's path as given on the command line.
        public var source: String
        /// The input's metadata, with `--guest-name` names put into its domain table.
        public var metadata: RunMetadata
        /// The event whose samples were counted.
        public var event: String
        /// Samples in the input, before any filter.
        public var inputSamples: UInt64 = 0
        /// Samples the input says were lost (perf LOST records, Xen's `lost_samples`), per domain.
        public var lost: [DomainID: UInt64] = [:]
        /// Indexed like ``CallTree/classes`` (shorter when the last classes are other runs').
        public var classTotals: [ClassTotals] = []
        /// The command line's filters, as report headers say them.
        public var filterDescription: String = ""
        /// With a sample filter: whether percentages are of all samples (absolute) or the kept ones.
        public var percentage: FilterPercentage? = nil
    }

    /// What to count, as `xprof report`'s options say it.
    public struct Options: Sendable {
        /// Only this domain's samples (`--domain`); nil: every domain.
        public var domain: DomainID?
        /// Only samples in this mode (`--mode`); nil: every mode.
        public var mode: SampleMode?
        /// Only this event's samples (an index into the run's events); nil: every event.
        public var event: UInt16?
        /// Only samples inside this window (`--time`); nil: the whole recording (samples may then be merged).
        public var timeWindow: TimeWindow?
        /// perf's sample filters (`--comms`, `--pids`, `--dsos`, `--symbols` …): what they leave out is counted in
        /// ``ClassTotals/excludedSamples``.
        public var sampleFilter = SampleFilter()
        /// Whether a filtered view's percentages are of every sample (`absolute`, perf's default) or of the kept ones.
        public var percentage: FilterPercentage = .absolute
        /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …), as for `report`.
        public var symbols = SymbolOptions()
        /// Count the leaf's source line (DWARF) per function.
        public var lines = true
        /// Names for domains (`--guest-name DOM=NAME`), overriding the recording's.
        public var domainNames: [DomainID: String] = [:]
        /// Every domain, mode and event, the whole recording, no filter, source lines counted.
        public init() {}
    }

    /// A (class, function, line) the leaves of samples fell on.
    public struct LineKey: Hashable, Sendable {
        /// Index into ``CallTree/classes``.
        public var sampleClass: Int32
        /// Index into ``CallTree/functions``.
        public var function: Int32
        /// Index into ``CallTree/lineNames`` (0: `??:0`, no line information).
        public var line: Int32
    }

    /// The recordings added, in the order ``add(source:path:label:options:)`` was called.
    public private(set) var runs: [Run] = []
    /// Every function any run's stacks hold, in order of first appearance; nodes refer to them by index.
    public private(set) var functions: [Function] = []
    /// Every sample class any run has, in order of first appearance; ``classRoot`` has its subtree.
    public private(set) var classes: [SampleClass] = []
    /// `file:line` texts (``LineKey/line`` indexes this); the first is `??:0`.
    public private(set) var lineNames: [String] = ["??:0"]
    /// The source text of a line, where the file was found (by ``lineNames`` index).
    public private(set) var lineText: [Int32: String] = [:]

    // The tree, one entry per node; node 0 is the virtual root, class roots have function -1.
    /// Per node: the index of its parent node (-1 for the virtual root, 0 for a class root).
    public private(set) var parent: [Int32] = [-1]
    /// Per node: its index into ``functions`` (-1 for the virtual root and the class roots).
    public private(set) var function: [Int32] = [-1]
    /// Per node: the kind of code its frame is (``FrameKind/hostUser`` for the roots, which have no frame).
    public private(set) var kind: [FrameKind] = [.hostUser]
    /// Per node: its child nodes, in the order they were first met.
    public private(set) var children: [[Int32]] = [[]]
    /// The root node of each class.
    public private(set) var classRoot: [Int32] = []
    /// Per run, per node: samples and period that ended there.
    public private(set) var selfSamples: [[UInt64]] = []
    /// Per run, per node: the event period that ended there (the event's unit: nanoseconds for `cpu-clock`).
    public private(set) var selfPeriod: [[UInt64]] = []
    /// Per line key, per run: samples and period.
    public private(set) var lineCounts: [LineKey: [(samples: UInt64, period: UInt64)]] = [:]

    private var functionIndex: [Function: Int32] = [:]
    private var classIndex: [SampleClass: Int32] = [:]
    private var lineIndex: [String: Int32] = ["??:0": 0]
    private var childIndex: [ChildKey: Int32] = [:]

    struct ChildKey: Hashable {
        var parent: Int32
        var function: Int32
        var kind: UInt8
    }

    /// An empty tree (the virtual root alone, no runs).
    public init() {}

    /// Number of nodes, the virtual root included.
    public var nodeCount: Int { parent.count }

    /// Reads `source` and adds it as a new run.
    /// - Complexity: one pass over the samples, one hash of the attributed stack per sample; memory grows with
    ///   the distinct stacks, not the samples.
    public mutating func add(source input: any SampleSource, path: String, label: String, options: Options) throws(SampleIOError) {
        var selection = SampleSelection()
        (selection.domain, selection.mode, selection.event) = (options.domain, options.mode, options.event)
        (selection.timeWindow, selection.filter, selection.percentage) = (options.timeWindow, options.sampleFilter, options.percentage)
        // The attributed stacks (docs/ARCHITECTURE.md, "Attributed stacks"), with the leaves' lines.
        let profile = try AttributedStacks.collect(source: input, selection: selection, symbols: options.symbols,
                                                   lines: options.lines ? .leaves : .none)
        let attributor = profile.attributor
        let meta = profile.metadata

        struct Tally {
            var samples: UInt64 = 0
            var period: UInt64 = 0
            mutating func add(_ n: UInt64, _ w: UInt64) {
                samples += n
                period &+= w
            }
        }
        // Stacks as attributed ids: [class, frames root first (kind << 61 | resolved << 60 | image << 32 | symbol),
        // line << 1 | resolved].
        var stacks: [[UInt64]: Tally] = [:]
        var localClasses: [AttributedStacks.SampleClass: Int] = [:]
        var classList: [AttributedStacks.SampleClass] = []
        // Where each line text was first met, to read its source: by the attributor's string id.
        var lineSite: [Int32: (file: String, line: Int)] = [:]
        var key: [UInt64] = []
        for (k, st) in profile.stacks.enumerated() {
            let local = AttributedStacks.SampleClass(domain: st.domain, mode: st.mode, comm: st.comm)
            let c: Int
            if let i = localClasses[local] { c = i } else {
                classList.append(local)
                c = classList.count - 1
                localClasses[local] = c
            }
            key.removeAll(keepingCapacity: true)
            key.append(UInt64(c))
            let guest = st.domain != .host && st.domain != .hypervisor
            for l in st.locations.reversed() {  // root first
                let f = profile.locations[Int(l)]
                let kind: FrameKind = f.mode == .hypervisor ? .hypervisor
                    : f.mode == .kernel ? (guest ? .guestKernel : .hostKernel) : (guest ? .guestUser : .hostUser)
                key.append(UInt64(kind.rawValue) << 61 | (f.resolved ? 1 << 60 : 0)
                           | UInt64(UInt32(bitPattern: f.image)) << 32 | UInt64(UInt32(bitPattern: f.symbol)))
            }
            let leaf = profile.locations[Int(st.locations[0])]
            let line = leaf.lineName
            if line != 0, lineSite[line] == nil, let loc = leaf.source, loc.line > 0 {
                lineSite[line] = (loc.file, Int(loc.line))
            }
            key.append(UInt64(UInt32(bitPattern: line)) << 1 | (leaf.resolved ? 1 : 0))
            stacks[key, default: Tally()].add(profile.counts[k].samples, profile.counts[k].period)
        }
        var excluded: [AttributedStacks.SampleClass: Tally] = [:]
        for e in profile.excluded { excluded[e.sampleClass, default: Tally()].add(e.counts.samples, e.counts.period) }
        let inputSamples = profile.inputSamples
        let source = (metadata: profile.metadata, stats: profile.stats)

        // Into the shared tables and tree.
        let r = runs.count
        selfSamples.append(Array(repeating: 0, count: parent.count))
        selfPeriod.append(Array(repeating: 0, count: parent.count))
        var run = Run(label: label, source: path, metadata: source.metadata,
                      event: options.event.map { Int($0) < meta.events.count ? meta.events[Int($0)].name : "event \($0)" }
                          ?? (meta.events.count == 1 ? meta.events[0].name : meta.events.map(\.name).joined(separator: ", ")))
        for (d, name) in options.domainNames {
            if let i = run.metadata.domains.firstIndex(where: { $0.id == d }) { run.metadata.domains[i].name = name }
            else { run.metadata.domains.append(DomainInfo(id: d, name: name, role: attributor.role(of: d))) }
        }
        run.inputSamples = inputSamples
        run.lost = source.stats.lostSamples
        let globalClass: [Int32] = classList.map { c in
            sampleClass(SampleClass(domain: c.domain, mode: c.mode, comm: attributor.strings[c.comm]))
        }
        var localFunctions: [UInt64: Int32] = [:]
        var localLines: [Int32: Int32] = [0: 0]
        var reader = SourceReader(rules: [], symfs: options.symbols.symfs)
        func totals(_ c: Int32) -> Int {
            if Int(c) >= run.classTotals.count { run.classTotals += Array(repeating: ClassTotals(), count: Int(c) + 1 - run.classTotals.count) }
            return Int(c)
        }
        // In the order of the attributed ids (given in sample order), not of hashing: the same input makes the
        // same page.
        for (stack, tally) in stacks.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let c = globalClass[Int(stack[0])]
            var node = classRoot[Int(c)]
            for f in stack[1..<(stack.count - 1)] {
                let ids = f & (1 << 60 - 1)
                let fn: Int32
                if let known = localFunctions[ids] {
                    fn = known
                } else {
                    let img = Int32(truncatingIfNeeded: ids >> 32), sym = Int32(truncatingIfNeeded: ids)
                    fn = functionID(Function(image: attributor.strings[img], symbol: attributor.strings[sym]))
                    localFunctions[ids] = fn
                }
                node = child(of: node, function: fn, kind: FrameKind(rawValue: UInt8(f >> 61)) ?? .hostUser)
            }
            let last = stack[stack.count - 1]
            let t = totals(c)
            run.classTotals[t].samples += tally.samples
            run.classTotals[t].period &+= tally.period
            if last & 1 == 1 { run.classTotals[t].resolved += tally.samples }
            selfSamples[r][Int(node)] += tally.samples
            selfPeriod[r][Int(node)] &+= tally.period
            let lineID = Int32(truncatingIfNeeded: last >> 1)
            guard lineID != 0, attributor.strings[lineID] != "??:0" else { continue }
            let line: Int32
            if let known = localLines[lineID] {
                line = known
            } else {
                line = lineNameID(attributor.strings[lineID])
                localLines[lineID] = line
                if lineText[line] == nil, let site = lineSite[lineID], let text = reader.lines(of: site.file),
                   site.line <= text.lines.count {
                    lineText[line] = text.lines[site.line - 1]
                }
            }
            let lk = LineKey(sampleClass: c, function: function[Int(node)], line: line)
            var counts = lineCounts[lk] ?? Array(repeating: (0, 0), count: runs.count + 1)
            if counts.count <= r { counts += Array(repeating: (0, 0), count: r + 1 - counts.count) }
            counts[r].samples += tally.samples
            counts[r].period &+= tally.period
            lineCounts[lk] = counts
        }
        for (local, tally) in excluded.sorted(by: { ($0.key.domain, $0.key.mode.rawValue, $0.key.comm) < ($1.key.domain, $1.key.mode.rawValue, $1.key.comm) }) {
            let t = totals(sampleClass(SampleClass(domain: local.domain, mode: local.mode, comm: attributor.strings[local.comm])))
            run.classTotals[t].excludedSamples += tally.samples
            run.classTotals[t].excludedPeriod &+= tally.period
        }
        var filterText: [String] = []
        if let d = options.domain { filterText.append("domain \(d)") }
        if let m = options.mode { filterText.append("mode \(m)") }
        if let w = options.timeWindow { filterText.append(w.description) }
        if !options.sampleFilter.isEmpty {
            filterText.append(options.sampleFilter.description)
            run.percentage = options.percentage
        }
        run.filterDescription = filterText.joined(separator: ", ")
        runs.append(run)
    }

    private mutating func functionID(_ f: Function) -> Int32 {
        if let i = functionIndex[f] { return i }
        functions.append(f)
        functionIndex[f] = Int32(functions.count - 1)
        return Int32(functions.count - 1)
    }

    private mutating func lineNameID(_ s: String) -> Int32 {
        if let i = lineIndex[s] { return i }
        lineNames.append(s)
        lineIndex[s] = Int32(lineNames.count - 1)
        return Int32(lineNames.count - 1)
    }

    private mutating func sampleClass(_ c: SampleClass) -> Int32 {
        if let i = classIndex[c] { return i }
        classes.append(c)
        let i = Int32(classes.count - 1)
        classIndex[c] = i
        classRoot.append(newNode(parent: 0, function: -1, kind: .hostUser))
        return i
    }

    private mutating func child(of p: Int32, function f: Int32, kind k: FrameKind) -> Int32 {
        let key = ChildKey(parent: p, function: f, kind: k.rawValue)
        if let c = childIndex[key] { return c }
        let c = newNode(parent: p, function: f, kind: k)
        childIndex[key] = c
        return c
    }

    private mutating func newNode(parent p: Int32, function f: Int32, kind k: FrameKind) -> Int32 {
        let n = Int32(parent.count)
        parent.append(p)
        function.append(f)
        kind.append(k)
        children.append([])
        children[Int(p)].append(n)
        for r in selfSamples.indices {
            selfSamples[r].append(0)
            selfPeriod[r].append(0)
        }
        return n
    }
}
