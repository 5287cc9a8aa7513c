import SampleIO

/// A column a report can group by.
public enum SortKey: String, Sendable, CaseIterable, Codable {
    case domain, mode, comm, pid, tid, cpu, vcpu, reason, image, symbol, line

    /// Parses a key name; perf's `dso` and `sym` are accepted for `image` and `symbol`.
    public init?(name: String) {
        switch name.lowercased() {
        case "domain", "dom": self = .domain
        case "mode", "cpumode": self = .mode
        case "comm", "command": self = .comm
        case "pid": self = .pid
        case "tid", "thread": self = .tid
        case "cpu", "pcpu": self = .cpu
        case "vcpu": self = .vcpu
        case "reason", "exit_reason": self = .reason
        case "image", "dso": self = .image
        case "symbol", "sym", "function": self = .symbol
        case "line", "srcline": self = .line
        default: return nil
        }
    }

    /// Parses a comma-separated key list.
    public static func parseList(_ text: String) -> [SortKey]? {
        var keys: [SortKey] = []
        for part in text.split(separator: ",") {
            guard let k = SortKey(name: part.trimmingCharacters(in: " ")) else { return nil }
            if !keys.contains(k) { keys.append(k) }
        }
        return keys.isEmpty ? nil : keys
    }

    /// Column heading.
    public var title: String {
        switch self {
        case .domain: "Domain"
        case .mode: "Mode"
        case .comm: "Command"
        case .pid: "Pid"
        case .tid: "Tid"
        case .cpu: "CPU"
        case .vcpu: "vCPU"
        case .reason: "Reason"
        case .image: "Image"
        case .symbol: "Symbol"
        case .line: "Source line"
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension ReportOptions {
    /// The index of the event `name` names among a recording's `events`: its exact name, its name without
    /// perf's modifiers and terms (`cpu-clock` for `cpu-clock:S` or `cpu-clock/freq=999/`) when that is one
    /// event's alone, or its number from 0. nil if none.
    public static func eventIndex(_ name: String, in events: [EventInfo]) -> UInt16? {
        if let i = events.firstIndex(where: { $0.name == name }) { return UInt16(i) }
        func bare(_ s: String) -> Substring { s.prefix { $0 != ":" && $0 != "/" } }
        let matches = events.indices.filter { bare(events[$0].name) == bare(name) }
        if matches.count == 1 { return UInt16(matches[0]) }
        if let i = UInt16(name), Int(i) < events.count { return i }
        return nil
    }
}

/// Symbol sources the user named on the command line (`--xen`, `--vmlinux`, `--kallsyms`, `--system-map`).
public struct SymbolOptions: Sendable {
    /// The hypervisor image (xen-syms), shared by all domains.
    public var xen: String?
    /// Kernel ELF image per domain.
    public var vmlinux: [DomainID: String] = [:]
    /// kallsyms dump per domain.
    public var kallsyms: [DomainID: String] = [:]
    /// System.map per domain.
    public var systemMap: [DomainID: String] = [:]
    /// Root to find user binaries under (like perf's --symfs).
    public var symfs: String?
    /// Use images whose build-id does not match the recording.
    public var forceSymbols = false
    /// Folders holding separate debug files (`.build-id/xx/rest.debug`, debuglink paths).
    public var debugDirectories: [String] = ["/usr/lib/debug"]
    /// Show user code's C++ names demangled (perf's default; `--no-demangle` turns it off).
    public var demangle = true

    /// No symbol sources named: the recording's hints, build-ids and the running system's files are used;
    /// debug files under `/usr/lib/debug`; C++ names demangled.
    public init() {}
}

/// perf's `--time`: samples taken in one or more windows of the recording's clock (nanoseconds), each side
/// of a window open or closed; samples outside every window are left out of everything, totals included.
/// Written `START,END` in seconds, or as shares of the recording's span (``TimeSpec``), which the command
/// resolves once it knows the span (docs/ARCHITECTURE.md, "Selection").
public struct TimeWindow: Sendable, Equatable {
    /// One window: `start` and `end` included, nil for an open side.
    public struct Range: Sendable, Equatable {
        /// First time in the window, nanoseconds on the recording's clock; nil: from the start.
        public var start: UInt64?
        /// Last time in the window (included), nanoseconds on the recording's clock; nil: to the end.
        public var end: UInt64?
        /// A window from `start` to `end`, both included; nil leaves that side open.
        public init(start: UInt64?, end: UInt64?) {
            self.start = start
            self.end = end
        }
        /// Whether `t` (nanoseconds, the recording's clock) is inside the window.
        @inline(__always) public func contains(_ t: UInt64) -> Bool {
            if let start, t < start { return false }
            if let end, t > end { return false }
            return true
        }
    }
    /// The windows; a sample inside any of them is kept.
    public var ranges: [Range]

    /// One window from `start` to `end` (nanoseconds, included; nil: open).
    public init(start: UInt64?, end: UInt64?) { ranges = [Range(start: start, end: end)] }
    /// Several windows (perf's `10%/1,10%/3`); a time in any of them is inside.
    public init(ranges: [Range]) { self.ranges = ranges }

    /// Parses `START,END` in seconds (either may be empty); nil if it is not that, or START > END.
    public init?(parsing text: String) {
        let parts = text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        func ns(_ s: Substring) -> UInt64?? {
            if s.isEmpty { return .some(nil) }
            guard let v = Double(s), v >= 0, v < 1.8e10 else { return nil }
            return .some(UInt64((v * 1e9).rounded()))
        }
        guard let a = ns(parts[0]), let b = ns(parts[1]) else { return nil }
        if let a, let b, a > b { return nil }
        if a == nil && b == nil { return nil }
        self.init(start: a, end: b)
    }

    /// Whether `t` (nanoseconds, the recording's clock) is in any of the windows.
    @inline(__always) public func contains(_ t: UInt64) -> Bool {
        if ranges.count == 1 { return ranges[0].contains(t) }
        for r in ranges where r.contains(t) { return true }
        return false
    }

    /// A time as perf script prints it: seconds with microseconds (`39100.020675`).
    public static func seconds(_ ns: UInt64) -> String {
        let us = String(ns % 1_000_000_000 / 1000)
        return String(ns / 1_000_000_000) + "." + String(repeating: "0", count: 6 - us.count) + us
    }

    /// `time 39100.500000,39101.000000` as a header says it (windows apart by spaces).
    public var description: String {
        "time " + ranges.map { "\($0.start.map(Self.seconds) ?? ""),\($0.end.map(Self.seconds) ?? "")" }.joined(separator: " ")
    }
}

/// What `--time` says before the recording is read: a window in seconds, or perf's shares of the recording's
/// span from its first sample to its last — `10%/2` (the second tenth), `0%-10%` (its first tenth), several
/// apart by commas (`10%/1,10%/3`, `0%-10%,30%-40%`), all of one kind.
public enum TimeSpec: Sendable, Equatable {
    case window(TimeWindow)
    /// Windows as shares of the span (0…1): (start, end).
    case shares([(start: Double, end: Double)])

    /// Equal when both are the same windows, or the same shares in the same order.
    public static func == (a: TimeSpec, b: TimeSpec) -> Bool {
        switch (a, b) {
        case let (.window(x), .window(y)): return x == y
        case let (.shares(x), .shares(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.start == $1.start && $0.end == $1.end }
        default: return false
        }
    }

    /// Parses either form; nil if the text is neither (or a share is out of 0–100 %, a slice number below 1,
    /// a range backwards, or kinds are mixed).
    public init?(parsing text: String) {
        guard text.contains("%") else {
            guard let w = TimeWindow(parsing: text) else { return nil }
            self = .window(w)
            return
        }
        func percent(_ s: Substring) -> Double? {
            guard s.hasSuffix("%"), let v = Double(s.dropLast()), v >= 0, v <= 100 else { return nil }
            return v / 100
        }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        var shares: [(start: Double, end: Double)] = []
        let slashes = text.contains("/")
        for item in items {
            if slashes {
                // N%/K: the K-th slice of N % each.
                let p = item.split(separator: "/", omittingEmptySubsequences: false)
                guard p.count == 2, let size = percent(p[0]), size > 0, let k = Int(p[1]), k >= 1 else { return nil }
                let end = size * Double(k)
                guard end <= 1 + 1e-9 else { return nil }
                shares.append((size * Double(k - 1), min(end, 1)))
            } else {
                // A%-B%.
                let p = item.split(separator: "-", omittingEmptySubsequences: false)
                guard p.count == 2, let a = percent(p[0]), let b = percent(p[1]), a <= b else { return nil }
                shares.append((a, b))
            }
        }
        guard !shares.isEmpty else { return nil }
        self = .shares(shares)
    }

    /// Whether the recording's span must be known first.
    public var needsSpan: Bool {
        if case .shares = self { return true }
        return false
    }

    /// The windows, given the times of the recording's first and last samples: a share's window runs from
    /// `first + start × span` to `first + end × span` (rounded), its end a nanosecond short unless it is the
    /// recording's end, so that adjacent slices do not share a sample — as perf does.
    public func window(first: UInt64, last: UInt64) -> TimeWindow {
        switch self {
        case .window(let w): return w
        case .shares(let shares):
            let total = Double(last &- first)
            return TimeWindow(ranges: shares.map { s in
                let a = first + UInt64((s.start * total).rounded())
                var b = first + UInt64((s.end * total).rounded())
                if b > a && b != last { b -= 1 }
                return TimeWindow.Range(start: a, end: b)
            })
        }
    }
}

/// What to put in a report.
public struct ReportOptions: Sendable {
    /// The row key, in column order (`--sort`); image and symbol unless given (perf's default also has `comm`).
    public var sortKeys: [SortKey] = [.image, .symbol]
    /// Which samples to report (``SampleSelection``). With a time window, merging identical samples is
    /// off, as each one's time counts; with a sample filter, `selection.percentage` says what percentages
    /// (and the header's totals) are of.
    public var selection = SampleSelection()
    /// Keep at most this many rows.
    public var top: Int?
    /// Drop rows below this percentage.
    public var percentLimit: Double?
    /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …).
    public var symbols = SymbolOptions()
    /// Keep the decoder and the symbol tables until the process exits rather than free them when the report
    /// is made (``ProcessLifetime``): for a command that prints the report and exits.
    public var keepInputsUntilExit = false
    /// Also accumulate callchain-inclusive ("children") figures, like `perf report --children`.
    public var children = false
    /// Also build each shown row's call graph (`--call-graph`), like `perf report --no-children -g`.
    public var callGraph: CallGraphOptions?
    /// Decode callchains to count the samples that carry one (`Report.samplesWithCallchains`) even when
    /// neither `children` nor `callGraph` needs them (`info`).
    public var countCallchains = false
    /// Names for domains (`--guest-name DOM=NAME`), overriding the recording's.
    public var domainNames: [DomainID: String] = [:]

    /// Rows by image and symbol, every sample, every row, no children or call graphs.
    public init() {}
}
