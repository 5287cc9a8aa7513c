import ArgumentParser
import Profile
import SampleIO

/// Options shared by commands that build reports of several profiles.
struct MultiReportOptions: ParsableArguments {
    @Option(help: "Only samples of this domain (0 = host/dom0).")
    var domain: UInt32?

    @Option(help: "Only samples of this mode: user, kernel or hypervisor.")
    var mode: String?

    @Option(help: "Comma-separated keys rows are matched on.")
    var sort: String = "image,symbol"

    @Option(help: "Show at most N rows.")
    var top: Int?

    @Option(help: "Output format: table, csv or json.")
    var format: String = "table"

    @OptionGroup var symbols: SymbolOptionGroup

    func validate() throws {
        guard SortKey.parseList(sort) != nil else { throw ValidationError("--sort: unknown key in '\(sort)'") }
        if let mode, SampleMode(name: mode) == nil { throw ValidationError("--mode must be user, kernel or hypervisor") }
        guard ReportFormat(rawValue: format) != nil else { throw ValidationError("--format must be table, csv or json") }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
    }

    var reportOptions: ReportOptions {
        var o = ReportOptions()
        o.sortKeys = SortKey.parseList(sort) ?? [.image, .symbol]
        o.domain = domain.map { DomainID($0) }
        o.mode = mode.flatMap(SampleMode.init(name:))
        o.symbols = symbols.options
        return o
    }

    func build(_ path: String) -> Report {
        runReporting {
            let source = try SampleReader.open(path: path)
            return try ReportBuilder.build(source: source, path: path, options: reportOptions)
        }
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two profiles: each row's share in both and the change, largest change first.",
        discussion: "With --fail-above PCT the command exits with status 1 when a row's share grew by more than PCT percentage points (a regression check for benchmark suites)."
    )

    @Argument(help: "The baseline profile.") var base: String
    @Argument(help: "The new profile.") var new: String
    @Option(name: .customLong("fail-above"), help: "Fail (exit 1) when a row's share grows by more than this many percentage points.")
    var failAbove: Double?
    @OptionGroup var options: MultiReportOptions

    func run() throws {
        let comparison = Comparison(base: options.build(base), new: options.build(new))
        print(ComparisonRenderer.render(comparison, format: ReportFormat(rawValue: options.format) ?? .table, top: options.top), terminator: "")
        if let limit = failAbove {
            let bad = comparison.regressions(above: limit)
            if !bad.isEmpty {
                for r in bad.prefix(10) {
                    printError("regression: \(r.values.joined(separator: " ")) grew from \(ReportRenderer.pct(r.basePercent))% to \(ReportRenderer.pct(r.newPercent))% (+\(ReportRenderer.pct(r.delta)) points, limit \(limit))")
                }
                throw ExitCode(1)
            }
        }
    }
}

struct ScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Compare profiles of one workload at several CPU counts: which functions grow with the CPUs.",
        discussion: "Each RUN is a profile; its CPU count comes from the recording (CPUs used, else online) or --cpus."
    )

    @Argument(help: "Profiles, one per CPU count.") var runs: [String]
    @Option(help: "CPU count of each run, comma-separated, in the order given.") var cpus: String?
    @Option(help: "Throughput of each run (work per second), comma-separated, for speedup and efficiency.") var throughput: String?
    @OptionGroup var options: MultiReportOptions

    func validate() throws {
        guard runs.count >= 2 else { throw ValidationError("give at least two runs") }
        if let cpus {
            let v = cpus.split(separator: ",").compactMap { Int($0) }
            guard v.count == runs.count, v.allSatisfy({ $0 > 0 }) else { throw ValidationError("--cpus needs one positive count per run") }
        }
        if let throughput {
            let v = throughput.split(separator: ",").compactMap { Double($0) }
            guard v.count == runs.count else { throw ValidationError("--throughput needs one number per run") }
        }
    }

    func run() throws {
        let reports = runs.map { options.build($0) }
        let analysis = ScalingAnalysis(reports: reports, cpus: cpus.map { $0.split(separator: ",").compactMap { Int($0) } },
                                       throughput: throughput.map { $0.split(separator: ",").compactMap { Double($0) } })
        print(ComparisonRenderer.render(analysis, format: ReportFormat(rawValue: options.format) ?? .table, top: options.top), terminator: "")
    }
}
