import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show where the samples of a profile went: per domain, mode, command, image and function.",
        discussion: """
        FILE may be a .xprof file, a perf.data file or a Xenoprof capture (detected by content). \
        Percentages are shares of the total sample weight (event period), like perf report.
        Sort keys: domain, mode, comm, pid, cpu (the physical CPU), image (alias dso), symbol (alias sym), line (alias srcline). \
        A recording of several events (perf record -e A,B, or a group read with -e '{A,B}:S') is reported \
        per event, one section each, as perf report does; --event NAME shows one.

        --call-graph (or -g) draws under each row the callchains of its samples, as perf report \
        --no-children -g does: 'caller' (the default, as perf 6.1's) from the outermost frame down to the \
        row, 'callee' from the row out to its callers. Frames are named as rows are (symbol, image). Percentages are of \
        the total, as in perf's default 'graph' mode; branches below --call-graph-limit (default 0.5 %) are \
        folded and counted as '[...]'. A callee tree starts at (a caller tree ends with) the functions \
        the row's samples were taken in, so with the default image,symbol it starts with the row's own \
        function; when the sort begins with symbol (--sort sym) the row is that function and a callee tree \
        starts at its callers. Both as perf report draws them. With --children, as perf report --children -g: each row's tree holds \
        every sample whose callchain passes through it (once, however often the function recurs), in callee \
        order from its innermost frame out to the callers, in caller order from its outermost frame down to \
        the callees (the row's own samples from their outermost caller). Table and JSON output only.
        """
    )

    @OptionGroup var profile: ProfileFileArguments
    var file: String { profile.path }

    @Option(name: .customLong("percent-limit"), help: "Hide rows below this percentage.")
    var percentLimit: Double?

    @Flag(inversion: .prefixedNo, help: "Add callchain-inclusive (children) percentages, like perf report --children (--no-children: without, the default).")
    var children = false

    @Flag(help: "Text output, as perf report --stdio (xprof's default; accepted for perf's habit).")
    var stdio = false

    @Flag(help: "With several events: one table, a share of each event per row, like perf report --group.")
    var group = false

    @Option(name: [.customLong("call-graph"), .customShort("g")], defaultAsFlag: CallGraphArgument(),
            parsing: .next,
            help: ArgumentHelp("Draw each row's call graph: caller (default, as perf's) or callee order; perf's comma form (e.g. caller,0.5 or graph,1,callee; none for no graph) works too.", valueName: "caller|callee"))
    var callGraphArgument: CallGraphArgument? = nil

    /// The call graph asked for (nil without -g, or with perf's `-g none`).
    var callGraph: CallGraphArgument? { callGraphArgument.flatMap { $0.none ? nil : $0 } }

    @Option(name: .customLong("call-graph-limit"), help: ArgumentHelp("Fold call-graph branches below this percentage of the total (default 0.5).", valueName: "PCT"))
    var callGraphLimit: Double?

    @OptionGroup var selection: ReportSelection

    func validate() throws {
        guard selection.format.rows != nil else {
            throw ValidationError("--format must be table, csv or json, not '\(selection.format.rawValue)' (an interactive page: xprof export --format html)")
        }
        if let p = percentLimit, !(p >= 0 && p <= 100) { throw ValidationError("--percent-limit must be within 0…100") }
        if let p = callGraphLimit {
            guard p >= 0 && p <= 100 else { throw ValidationError("--call-graph-limit must be within 0…100") }
            guard callGraph != nil else { throw ValidationError("--call-graph-limit needs --call-graph (or -g)") }
        }
        if let g = callGraphArgument, let bad = g.unsupported.first {
            throw ValidationError("--call-graph \(g.text): xprof draws perf's 'graph' mode by function, in percent of the total; '\(bad)' is not supported")
        }
        if children, !selection.samples.filters.dsos.isEmpty || !selection.samples.filters.symbolNames.isEmpty {
            throw ValidationError("--children with --dsos or --symbols is not supported: perf filters the children rows by their own image and function, which xprof does not do yet; use --comms, --pids or --tids, or leave out --children")
        }
        if group, children || callGraph != nil {
            throw ValidationError("--group shows the events' self shares side by side; it does not combine with --children or --call-graph")
        }
        if group, selection.samples.event != nil {
            throw ValidationError("--group puts every event side by side; --event picks one: give one of them")
        }
        if callGraph != nil {
            if selection.format == .csv {
                throw ValidationError("--call-graph draws trees, which CSV rows cannot hold; use --format table or --format json")
            }
        }
    }

    func run() throws {
        // Like perf report: one section per event that has samples (a single one for most recordings); with
        // --group one table, the events side by side.
        var reports = selection.buildPerEvent(file) {
            $0.percentLimit = group ? nil : percentLimit
            if group { $0.top = nil }
            $0.children = children
            if let callGraph { $0.callGraph = CallGraphOptions(order: callGraph.order, limit: callGraphLimit ?? callGraph.limit ?? 0.5) }
        }
        if let d = selection.samples.domain, let first = reports.first, first.inputSamples > 0, reports.allSatisfy({ $0.totalSamples == 0 }),
           !first.metadata.domains.contains(where: { $0.id.rawValue == d }) {
            // A domain the input does not have (perf's unknown --event rule): say which it has.
            let have = first.metadata.domains.map { "\($0.id)" + ($0.name.isEmpty ? "" : " (\($0.name))") }
            printError("error: --domain \(d): \(file) has no samples of that domain; its domains: " + (have.isEmpty ? "0 (host)" : have.joined(separator: ", ")))
            throw ExitCode(64)
        }
        if children || callGraph != nil, let first = reports.first, first.inputSamples > 0, first.samplesWithCallchains == 0 {
            // perf refuses -g on such a file; xprof reports, and says why the trees and children are empty.
            printError("warning: \(file) has no callchains (recorded without -g): "
                       + (children ? "children figures equal self figures" : "") + (children && callGraph != nil ? " and " : "")
                       + (callGraph != nil ? "each call graph is the row's own function" : "")
                       + "; record with -g (xprof record -g, perf record -g) to see callers")
        }
        if let w = selection.samples.time, let first = reports.first, first.inputSamples == 0 || reports.allSatisfy({ $0.totalSamples == 0 }) {
            // An empty window: say where the samples are (perf's --time takes the recording's own clock).
            let span = reports.first?.sampleTimes.map { "its samples run from \(TimeWindow.seconds($0.lowerBound)) to \(TimeWindow.seconds($0.upperBound)) s" }
                ?? "it has no sample times"
            printError("warning: --time \(w) keeps no samples: \(span) (the recording's clock, as perf script prints it)")
        }
        if group, let combined = ReportGroup.combine(reports, top: selection.top, percentLimit: percentLimit) { reports = [combined] }
        let fmt = selection.format.rows ?? .table
        if fmt != .table, let report = reports.first {
            for w in report.symbolWarnings + report.stats.warnings { printError("warning: " + w) }
        }
        writeStandardOutput(ReportRenderer.render(reports, as: fmt))
        Timings.mark("report printed")
        // A whole system's million rows are a million allocations to free one by one: the exit frees them at once.
        ProcessLifetime.keep([KeptReports(reports)])
    }
}

/// The reports a run keeps until it exits (``ProcessLifetime``).
final class KeptReports {
    let reports: [Report]
    init(_ reports: [Report]) { self.reports = reports }
}
