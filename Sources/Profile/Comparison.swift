import SampleIO

/// One row of a comparison between two profiles: a key (image, symbol …) and its share in each.
public struct ComparisonRow: Sendable, Equatable {
    /// One value per sort key, as the reports' rows have them (the join key of the two reports).
    public var values: [String]
    /// The row's share of the base report's total period, 0–100; 0 when the base has no such row.
    public var basePercent: Double
    /// The row's share of the new report's total period, 0–100; 0 when the new report has no such row.
    public var newPercent: Double
    /// The row's samples in the base report (0 when absent there).
    public var baseSamples: UInt64
    /// The row's samples in the new report (0 when absent there).
    public var newSamples: UInt64
    /// Percentage points gained (negative: lost).
    public var delta: Double { newPercent - basePercent }
}

/// `xprof diff`: the same rows in two profiles side by side, ordered by how much their share changed.
public struct Comparison: Sendable {
    /// The first profile (`xprof diff BASE NEW`).
    public var base: Report
    /// The second profile, compared with ``base``.
    public var new: Report
    /// The sort keys of both reports (the base's).
    public var keys: [SortKey]
    /// Every row of either report, the largest change of share (either way) first, then by values.
    public var rows: [ComparisonRow]

    /// Joins two reports built with the same sort keys.
    public init(base: Report, new: Report) {
        self.base = base
        self.new = new
        keys = base.keys
        var byKey: [[String]: ComparisonRow] = [:]
        for r in base.rows {
            byKey[r.values] = ComparisonRow(values: r.values, basePercent: r.percent, newPercent: 0, baseSamples: r.samples, newSamples: 0)
        }
        for r in new.rows {
            byKey[r.values, default: ComparisonRow(values: r.values, basePercent: 0, newPercent: 0, baseSamples: 0, newSamples: 0)].newPercent = r.percent
            byKey[r.values]?.newSamples = r.samples
        }
        rows = byKey.values.sorted {
            abs($0.delta) != abs($1.delta) ? abs($0.delta) > abs($1.delta) : $0.values.lexicographicallyPrecedes($1.values)
        }
    }

    /// Rows whose share grew by more than `limit` percentage points.
    public func regressions(above limit: Double) -> [ComparisonRow] {
        rows.filter { $0.delta > limit }
    }
}

/// `xprof scale`: the same workload profiled at several CPU counts; which functions' shares grow with
/// the CPU count (the TLB-flush and lock functions of the Xen study are the classic case).
public struct ScalingAnalysis: Sendable {
    /// One profile of the series.
    public struct Run: Sendable {
        /// The input's path as given on the command line.
        public var source: String
        /// CPUs the run could use (given, or ``ScalingAnalysis/cpuCount(of:)``); runs are ordered by it.
        public var cpus: Int
        /// Samples the run's report counts (its 100 %: ``Report/totalSamples``).
        public var totalSamples: UInt64
        /// Work done per second in the run (`--throughput`), for speedup and efficiency; nil when not given.
        public var throughput: Double?
    }

    /// One row key across the runs.
    public struct Row: Sendable, Equatable {
        /// One value per sort key, as the reports' rows have them.
        public var values: [String]
        /// Share of samples per run, in run order (percent).
        public var percents: [Double]
        /// Last run's share over the first run's (∞ when it was absent at first: shown as "new").
        public var growth: Double
        /// Whether the share never falls as CPUs are added.
        public var monotonic: Bool
        /// Samples per run, in run order.
        public var samples: [UInt64] = []

        /// Fewer samples than this in the last run and a growth is noise (a count of n varies by about √n):
        /// such a row is not marked as growing.
        public static let significantSamples: UInt64 = 10

        /// Whether the row grows with every CPU step on enough samples to mean it (the ↑ mark).
        public var growsSignificantly: Bool {
            monotonic && growth > 1 && (samples.last ?? 0) >= Self.significantSamples
        }
    }

    /// The sort keys of the reports (the first's).
    public var keys: [SortKey]
    /// The runs, fewest CPUs first.
    public var runs: [Run]
    /// Every row of any run, the largest growth in percentage points (last run minus first) first.
    public var rows: [Row]
    /// What makes the comparison doubtful: runs of different programs or events, two runs at the same CPU
    /// count (each with the runs it names).
    public var warnings: [String] = []

    /// The CPUs a run could use: the profiled command's affinity (within the CPUs sampled), else the CPUs
    /// the recording sampled, else the CPUs online.
    public static func cpuCount(of m: RunMetadata) -> Int {
        if !m.cpuAffinity.isEmpty {
            let n = m.cpusUsed.isEmpty ? m.cpuAffinity.count : Set(m.cpuAffinity).intersection(m.cpusUsed).count
            if n > 0 { return n }
        }
        return m.cpusUsed.isEmpty ? max(1, m.cpusOnline) : m.cpusUsed.count
    }

    /// Builds the analysis from one report per run (same sort keys), ordered by CPU count.
    /// - Parameters:
    ///   - cpus: the CPU count of each run (defaults: `Comparison.cpuCount(of:)`).
    ///   - throughput: optional work done per run, for speedup and efficiency.
    public init(reports: [Report], cpus: [Int]? = nil, throughput: [Double]? = nil) {
        var runs: [(Report, Run)] = reports.enumerated().map { i, r in
            let n = cpus?[i] ?? Self.cpuCount(of: r.metadata)
            return (r, Run(source: r.source, cpus: n, totalSamples: r.totalSamples, throughput: throughput?[i]))
        }
        runs.sort { $0.1.cpus < $1.1.cpus }
        keys = reports.first?.keys ?? []
        self.runs = runs.map(\.1)
        warnings = Self.doubts(runs.map(\.0), cpus: runs.map(\.1.cpus))
        var table: [[String]: ([Double], [UInt64])] = [:]
        for (k, (r, _)) in runs.enumerated() {
            for row in r.rows {
                table[row.values, default: (Array(repeating: 0, count: runs.count), Array(repeating: 0, count: runs.count))].0[k] = row.percent
                table[row.values]?.1[k] = row.samples
            }
        }
        rows = table.map { values, ps in
            let p = ps.0
            let first = p.first ?? 0, last = p.last ?? 0
            let growth = first > 0 ? last / first : (last > 0 ? Double.infinity : 1)
            let mono = zip(p, p.dropFirst()).allSatisfy { $0 <= $1 + 1e-9 }
            return Row(values: values, percents: p, growth: growth, monotonic: mono, samples: ps.1)
        }
        // Rows that matter: grew the most in percentage points, first.
        rows.sort {
            let a = ($0.percents.last ?? 0) - ($0.percents.first ?? 0), b = ($1.percents.last ?? 0) - ($1.percents.first ?? 0)
            return a != b ? a > b : $0.values.lexicographicallyPrecedes($1.values)
        }
    }

    /// Runs that should not be compared as one workload at several CPU counts, said plainly.
    static func doubts(_ reports: [Report], cpus: [Int]) -> [String] {
        var out: [String] = []
        func name(_ i: Int) -> String { reports[i].source }
        // The program run (its file name: a sweep's runs differ in their arguments, the CPU count among them).
        let programs = reports.map { r -> String in
            let cmd = r.metadata.command
            if cmd == ["-a"] { return "(every CPU)" }
            let c = cmd.first { !$0.hasPrefix("-") } ?? ""
            return c.split(separator: "/").last.map(String.init) ?? c
        }
        let known = Set(programs.filter { !$0.isEmpty })
        if known.count > 1 {
            out.append("the runs profile different programs (" + programs.enumerated().map { "\(name($0)): \($1.isEmpty ? "?" : $1)" }.joined(separator: ", ")
                       + "): shares of different workloads are not a scaling curve")
        }
        let events = reports.map { r in r.event ?? r.metadata.events.first?.name ?? "" }
        if Set(events.filter { !$0.isEmpty }).count > 1 {
            out.append("the runs sampled different events (" + zip(reports.indices, events).map { "\(name($0)): \($1)" }.joined(separator: ", ") + ")")
        }
        var byCount: [Int: [Int]] = [:]
        for (i, n) in cpus.enumerated() { byCount[n, default: []].append(i) }
        for (n, runs) in byCount.sorted(by: { $0.key < $1.key }) where runs.count > 1 {
            out.append("\(runs.map(name).joined(separator: " and ")) all ran on \(n) CPU\(n == 1 ? "" : "s"): give each run's count with --cpus, or record with taskset/-C")
        }
        return out
    }

    /// Speedup of run `i` over the first run (throughput ratio), and its efficiency against linear scaling.
    public func speedup(_ i: Int) -> (speedup: Double, efficiency: Double)? {
        guard let t0 = runs.first?.throughput, let ti = runs[i].throughput, t0 > 0 else { return nil }
        let s = ti / t0
        let ideal = Double(runs[i].cpus) / Double(max(1, runs[0].cpus))
        return (s, ideal > 0 ? s / ideal : 0)
    }
}
