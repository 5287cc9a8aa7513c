import SampleIO

/// Collapsed stacks ("folded" format, the input of flame-graph tools): one line per distinct stack,
/// `comm;outermost;…;leaf COUNT`, frames named by function (`[unknown]` … as in reports), counted in samples
/// or in event period.
public enum FoldedStacks {
    public struct Options: Sendable {
        public var domain: DomainID?
        public var mode: SampleMode?
        /// Count event period instead of samples.
        public var byPeriod = false
        /// Mark kernel frames with `_[k]` and hypervisor frames with `_[h]` (as stackcollapse-perf --kernel does).
        public var annotateModes = false
        /// Start each stack with the command name.
        public var includeComm = true
        public var symbols = SymbolOptions()
        public init() {}
    }

    /// Reads `source` and returns the folded lines, sorted.
    public static func build(source: any SampleSource, options: Options) throws(SampleIOError) -> [String] {
        source.setCallchainsWanted(true)
        source.setMergingAllowed(true)
        let attributor = Attributor(metadata: source.metadata, options: options.symbols)
        var counts: [[Int32]: UInt64] = [:]
        var stack: [Int32] = []
        var modes: [SampleMode] = []
        var modeByFrame: [Int32: SampleMode] = [:]
        try attributor.forEachSample(of: source, domain: options.domain, mode: options.mode) { s, batch, i in
            stack.removeAll(keepingCapacity: true)
            modes.removeAll(keepingCapacity: true)
            if options.includeComm { stack.append(attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid)); modes.append(.unknown) }
            let chain = batch.callchain(of: i)
            let frames: [CallFrame] = chain.isEmpty ? [CallFrame(ip: s.ip, mode: s.mode)] : Array(chain)
            // Root first.
            for f in frames.reversed() {
                let (_, sym, _) = attributor.attributeAddress(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
                stack.append(sym)
                modes.append(f.mode)
            }
            if options.annotateModes {
                for (k, id) in stack.enumerated() where modes[k] == .kernel || modes[k] == .hypervisor {
                    modeByFrame[id] = modes[k]
                }
            }
            counts[stack, default: 0] += options.byPeriod ? s.weight : s.count
        }
        var lines: [String] = []
        lines.reserveCapacity(counts.count)
        for (st, n) in counts {
            let names = st.map { id -> String in
                // Folded lines separate frames with ';' and end with ' COUNT': keep those out of names.
                var name = attributor.strings[id].replacingSemicolonsAndSpaces()
                if options.annotateModes, let m = modeByFrame[id] { name += m == .kernel ? "_[k]" : "_[h]" }
                return name
            }
            lines.append(names.joined(separator: ";") + " " + String(n))
        }
        lines.sort()
        return lines
    }
}

extension String {
    func replacingSemicolonsAndSpaces() -> String {
        guard contains(";") || contains(" ") else { return self }
        return String(map { $0 == ";" ? ":" : ($0 == " " ? "_" : $0) })
    }
}
