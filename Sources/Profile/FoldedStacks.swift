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

    /// Reads `source` and returns its distinct stacks (in no particular order), each counted in samples and
    /// in event period.
    /// - Complexity: one pass over the samples; memory grows with the distinct stacks only.
    public static func collect(source: any SampleSource, options: Options) throws(SampleIOError) -> [Stack] {
        source.setCallchainsWanted(true)
        source.setMergingAllowed(options.selection.allowsMerging)
        let attributor = Attributor(metadata: source.metadata, options: options.symbols)
        struct Tally {
            var kinds: [FrameKind]
            var samples: UInt64
            var period: UInt64
            mutating func add(samples n: UInt64, period w: UInt64) {
                samples += n
                period += w
            }
        }
        var counts: [[Int32]: Tally] = [:]
        var stack: [Int32] = []
        var modes: [SampleMode] = []
        var kinds: [FrameKind] = []
        var modeByFrame: [Int32: SampleMode] = [:]
        try attributor.forEachSample(of: source, selection: options.selection) { s, batch, i in
            stack.removeAll(keepingCapacity: true)
            modes.removeAll(keepingCapacity: true)
            kinds.removeAll(keepingCapacity: true)
            if options.includeComm {
                stack.append(attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid))
                modes.append(.unknown)
                kinds.append(.comm)
            }
            let guest = s.domain != .host && s.domain != .hypervisor
            let chain = batch.callchain(of: i)
            let frames: [CallFrame] = chain.isEmpty ? [CallFrame(ip: s.ip, mode: s.mode)] : Array(chain)
            // Root first.
            for f in frames.reversed() {
                let (_, sym, _) = attributor.attributeAddress(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
                stack.append(sym)
                modes.append(f.mode)
                kinds.append(f.mode == .hypervisor ? .hypervisor : guest ? .guest : f.mode == .kernel ? .kernel : .user)
            }
            if options.annotateModes {
                for (k, id) in stack.enumerated() where modes[k] == .kernel || modes[k] == .hypervisor {
                    modeByFrame[id] = modes[k]
                }
            }
            counts[stack, default: Tally(kinds: kinds, samples: 0, period: 0)].add(samples: s.count, period: s.weight)
        }
        var stacks: [Stack] = []
        stacks.reserveCapacity(counts.count)
        for (ids, tally) in counts {
            let frames = zip(ids, tally.kinds).map { id, kind -> Frame in
                var name = attributor.strings[id]
                if options.annotateModes, let m = modeByFrame[id] { name += m == .kernel ? "_[k]" : "_[h]" }
                return Frame(name: name, kind: kind)
            }
            stacks.append(Stack(frames: frames, samples: tally.samples, period: tally.period))
        }
        return stacks
    }
}

extension String {
    func replacingSemicolonsAndSpaces() -> String {
        guard contains(";") || contains(" ") else { return self }
        return String(map { $0 == ";" ? ":" : ($0 == " " ? "_" : $0) })
    }
}
