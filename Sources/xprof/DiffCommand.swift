import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two profiles: each row's share in both and the change, largest change first.",
        discussion: """
        With --fail-above PCT the command exits with status 1 when a row's share grew by more than PCT percentage \
        points (a regression check for benchmark suites). --format html writes a page with a differential flame \
        graph (the new profile's shape, coloured by each frame's change of share) and the largest changes; \
        --format folded-diff writes both profiles' folded stacks, `stack BASE NEW` a line, as difffolded.pl does.
        """
    )

    @Argument(help: "The baseline profile.") var base: String
    @Argument(help: "The new profile.") var new: String
    @Option(name: .customLong("fail-above"), help: "Fail (exit 1) when a row's share grows by more than this many percentage points.")
    var failAbove: Double?
    @OptionGroup var options: ReportSelection

    func run() throws {
        switch options.format {
        case .html: return writeStandardOutput(HtmlOutput.diffPage(base: base, new: new, selection: options))
        case .foldedDiff: return writeStandardOutput(HtmlOutput.foldedDiff(base: base, new: new, selection: options))
        default: break
        }
        // Rows are matched over whole profiles; --top only limits what is shown.
        let comparison = Comparison(base: options.build(base) { $0.top = nil }, new: options.build(new) { $0.top = nil })
        writeStandardOutput(ComparisonRenderer.render(comparison, format: options.format.rows ?? .table, top: options.top))
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
        discussion: """
        Each RUN is a profile; its CPU count comes from the recording (CPUs used, else online) or --cpus. \
        With --svg FILE the table is also drawn as a line chart: the share of each of the first rows (--top, \
        else \(ScaleCommand.chartRows)) per CPU count, rows that grow at every step drawn thick and marked ↑. \
        --format html writes a page with that chart and table, each row clickable to its function's flame graph \
        at every CPU count.
        """
    )
    static let chartRows = 8

    @Argument(help: "Profiles, one per CPU count.") var runs: [String]
    @Option(help: "CPU count of each run, comma-separated, in the order given.") var cpus: String?
    @Option(help: "Throughput of each run (work per second), comma-separated, for speedup and efficiency.") var throughput: String?
    @Option(help: ArgumentHelp("Also write the top rows' shares per CPU count as an SVG line chart.", valueName: "FILE")) var svg: String?
    @OptionGroup var options: ReportSelection

    func validate() throws {
        guard runs.count >= 2 else { throw ValidationError("give at least two runs") }
        if options.format == .foldedDiff { throw ValidationError("--format folded-diff compares two profiles: use xprof diff") }
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
        if let svg { checkOutputWritable(svg, option: "--svg") }
        let reports = runs.map { options.build($0) { $0.top = nil } }
        let analysis = ScalingAnalysis(reports: reports, cpus: cpus.map { $0.split(separator: ",").compactMap { Int($0) } },
                                       throughput: throughput.map { $0.split(separator: ",").compactMap { Double($0) } })
        if options.format == .html {
            HtmlOutput.writeScalePage(analysis, selection: options, svg: svg)
        } else {
            Self.emit(analysis, format: options.format.rows ?? .table, top: options.top, svg: svg)
        }
    }
}
