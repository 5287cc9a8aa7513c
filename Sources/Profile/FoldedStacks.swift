import SampleIO

/// Collapsed stacks ("folded" format, the input of flame-graph tools): one line per distinct stack,
/// `comm;outermost;…;leaf COUNT`, frames named by function (`[unknown]` … as in reports), counted in samples
/// or in event period.
///
/// ``collect(source:options:)`` walks the samples once and returns the distinct stacks; the folded lines
/// (``lines(_:byPeriod:)``) and the SVG flame graph (``FlameGraph``) are both drawn from them.
public enum FoldedStacks {
    /// What to fold and how frames are named.
    public struct Options: Sendable {
        /// Which samples to fold (``SampleSelection``).
        public var selection = SampleSelection()
        /// Count event period instead of samples.
        public var byPeriod = false
        /// Mark kernel frames with `_[k]` and hypervisor frames with `_[h]` (as stackcollapse-perf --kernel does).
        public var annotateModes = false
        /// Start each stack with the command name.
        public var includeComm = true
        /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …), as for `report`.
        public var symbols = SymbolOptions()
        /// Every sample, counted in samples, no mode marks, each stack starting with the command name.
        public init() {}
    }

    /// What a frame is, for colouring: the command name that starts a stack, or code of one mode. Frames of a
    /// guest domain's kernel and user space are ``guest``; hypervisor frames stay ``hypervisor`` in any domain.
    public enum FrameKind: String, Sendable, CaseIterable {
        case comm
        case user
        case kernel
        case hypervisor
        case guest
    }

    /// One frame of a stack: its name as reports show it (with `_[k]`/`_[h]` when annotating) and its kind.
    public struct Frame: Sendable, Hashable {
        /// The function as reports name it (`[unknown]` when unresolved), plus `_[k]`/`_[h]` with
        /// ``Options/annotateModes``; the command name for a ``FrameKind/comm`` frame.
        public var name: String
        /// Which kind of code the frame is (decides its colour in ``FlameGraph``).
        public var kind: FrameKind
        /// A frame named `name` of `kind`.
        public init(name: String, kind: FrameKind) {
            self.name = name
            self.kind = kind
        }
    }

    /// One distinct stack, root first, with the samples and the event period that ended in it.
    public struct Stack: Sendable, Equatable {
        /// The frames, outermost (the command, with ``Options/includeComm``) first, the leaf last.
        public var frames: [Frame]
        /// Samples whose stack is exactly this one (a merged sample counts as its ``SampleIO/Sample/count``).
        public var samples: UInt64
        /// Their summed event period (the event's unit: nanoseconds for `cpu-clock`).
        public var period: UInt64
        /// A stack of `frames` (root first) with its counts.
        public init(frames: [Frame], samples: UInt64, period: UInt64) {
            self.frames = frames
            self.samples = samples
            self.period = period
        }
    }

    /// Reads `source` and returns the folded lines, sorted.
    public static func build(source: any SampleSource, options: Options) throws(SampleIOError) -> [String] {
        lines(try collect(source: source, options: options), byPeriod: options.byPeriod)
    }

    /// The folded lines of `stacks` (`;`-separated frames, then the sample count or, `byPeriod`, the event
    /// period), sorted.
    public static func lines(_ stacks: [Stack], byPeriod: Bool) -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(stacks.count)
        for st in stacks {
            // Folded lines separate frames with ';' and end with ' COUNT': keep those out of names.
            let names = st.frames.map { $0.name.replacingSemicolonsAndSpaces() }
            lines.append(names.joined(separator: ";") + " " + String(byPeriod ? st.period : st.samples))
        }
        lines.sort()
        return lines
    }

    /// Reads `source` and returns its distinct stacks, in the order first met, each counted in samples and in
    /// event period: the attributed stacks (``AttributedStacks``) folded by name, root first.
    /// - Complexity: one pass over the samples; memory grows with the distinct stacks only.
    public static func collect(source: any SampleSource, options: Options) throws(SampleIOError) -> [Stack] {
        let profile = try AttributedStacks.collect(source: source, selection: options.selection,
                                                   symbols: options.symbols, lines: .none)
        let strings = profile.attributor.strings
        // Stacks of different processes, modes or events, or of different addresses in one function, fold
        // into one line when their names agree; a line's frame kinds are those of its first stack.
        var index: [[Int32]: Int] = [:]
        var folded: [(ids: [Int32], kinds: [FrameKind], counts: AttributedStacks.Counts)] = []
        var modeByFrame: [Int32: SampleMode] = [:]
        var ids: [Int32] = []
        var kinds: [FrameKind] = []
        for (k, stack) in profile.stacks.enumerated() {
            ids.removeAll(keepingCapacity: true)
            kinds.removeAll(keepingCapacity: true)
            if options.includeComm {
                ids.append(stack.comm)
                kinds.append(.comm)
            }
            let guest = stack.domain != .host && stack.domain != .hypervisor
            for l in stack.locations.reversed() {  // root first
                let loc = profile.locations[Int(l)]
                ids.append(loc.symbol)
                kinds.append(loc.mode == .hypervisor ? .hypervisor : guest ? .guest : loc.mode == .kernel ? .kernel : .user)
                if options.annotateModes, loc.mode == .kernel || loc.mode == .hypervisor { modeByFrame[loc.symbol] = loc.mode }
            }
            let c = profile.counts[k]
            if let i = index[ids] {
                folded[i].counts.samples += c.samples
                folded[i].counts.period &+= c.period
            } else {
                index[ids] = folded.count
                folded.append((ids, kinds, c))
            }
        }
        return folded.map { f in
            let frames = zip(f.ids, f.kinds).map { id, kind -> Frame in
                var name = strings[id]
                if options.annotateModes, kind != .comm, let m = modeByFrame[id] { name += m == .kernel ? "_[k]" : "_[h]" }
                return Frame(name: name, kind: kind)
            }
            return Stack(frames: frames, samples: f.counts.samples, period: f.counts.period)
        }
    }
}

extension String {
    func replacingSemicolonsAndSpaces() -> String {
        guard contains(";") || contains(" ") else { return self }
        return String(map { $0 == ";" ? ":" : ($0 == " " ? "_" : $0) })
    }
}
