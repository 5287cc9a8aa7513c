import ArgumentParser
import XProfCLI
import Profile
import SampleIO

/// What to report and how: the options `report`, `diff` and `scale` share.
struct ReportSelection: ParsableArguments {
    @Option(help: "Only samples of this domain (0 = host/dom0).")
    var domain: UInt32?

    @Option(help: "Only samples of this mode: user, kernel or hypervisor.")
    var mode: String?

    @Option(help: ArgumentHelp("Only samples of this event: its name in the recording (perf's modifiers optional) or its number from 0. Without it, report shows a section per event.", valueName: "NAME"))
    var event: String?

    @Option(help: "Comma-separated keys to group rows by: domain, mode, comm, pid, cpu, vcpu, reason (a xentrace exit's), image (dso), symbol (sym), line (srcline).")
    var sort: String = "image,symbol"

    @Option(help: "Show at most N rows.")
    var top: Int?

    @Option(help: "Output format: table, csv or json (diff: also html, folded-diff; scale: also html).")
    var format: String = "table"

    @Option(name: .customLong("guest-name"), help: ArgumentHelp("A name for a guest domain.", valueName: "DOM=NAME"))
    var guestNames: [String] = []

    @OptionGroup var filters: SampleFilterOptions

    @Option(help: ArgumentHelp("Only samples taken in this window: START,END in seconds of the recording's clock (as xprof script and perf script print times), either may be empty; like perf report --time.", valueName: "START,END"))
    var time: String?

    @Option(help: ArgumentHelp("With --comms, --pids, --tids, --dsos or --symbols: percentages of all samples (absolute, perf's default) or of the kept ones (relative).", valueName: "absolute|relative"))
    var percentage: String = "absolute"

    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        guard SortKey.parseList(sort) != nil else {
            throw ValidationError("--sort: unknown key in '\(sort)'; use domain, mode, comm, pid, cpu, vcpu, reason, image (dso), symbol (sym), line (srcline)")
        }
        if let mode, SampleMode(name: mode) == nil {
            throw ValidationError("--mode must be user, kernel or hypervisor, not '\(mode)'")
        }
        // diff and scale also write html (and diff folded-diff); each command refuses what it cannot write.
        guard ReportFormat(rawValue: format) != nil || HtmlOutput.comparisonFormats.contains(format) else {
            throw ValidationError("--format must be table, csv or json (diff: also html or folded-diff; scale, sweep: also html), not '\(format)'")
        }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let time, TimeWindow(parsing: time) == nil {
            throw ValidationError("--time expects START,END in seconds with START <= END, either may be empty (e.g. 39100.5,39101), not '\(time)'")
        }
        guard FilterPercentage(rawValue: percentage) != nil else {
            throw ValidationError("--percentage must be absolute or relative, not '\(percentage)'")
        }
        for g in guestNames where SymbolOptionGroup.split(g) == nil {
            throw ValidationError("--guest-name expects DOM=NAME with a numeric domain id, not '\(g)'")
        }
    }

    var reportOptions: ReportOptions {
        var o = ReportOptions()
        o.sortKeys = SortKey.parseList(sort) ?? [.image, .symbol]
        o.domain = domain.map { DomainID($0) }
        o.mode = mode.flatMap(SampleMode.init(name:))
        o.top = top
        o.symbols = symbols.options
        for g in guestNames { if let (d, n) = SymbolOptionGroup.split(g) { o.domainNames[d] = n } }
        o.sampleFilter = filters.filter
        o.timeWindow = time.flatMap(TimeWindow.init(parsing:))
        o.percentage = FilterPercentage(rawValue: percentage) ?? .absolute
        return o
    }

    /// One report of `path`: only `--event`'s samples, else those of its first event (with a note) when it
    /// has several — what `diff` and `scale` compare.
    func build(_ path: String, adjusting adjust: (inout ReportOptions) -> Void = { _ in }) -> Report {
        var opts = reportOptions
        adjust(&opts)
        return runReporting {
            let source = try input.open(path)
            opts.event = try selectedEvent(source.metadata, path: path, firstWhenSeveral: true)
            return try ReportBuilder.build(source: source, path: path, options: opts)
        }
    }

    /// One report per event of `path` that has samples (only `--event`'s when given).
    func buildPerEvent(_ path: String, adjusting adjust: (inout ReportOptions) -> Void = { _ in }) -> [Report] {
        var opts = reportOptions
        adjust(&opts)
        // One input, and the command exits once its reports are printed.
        opts.keepInputsUntilExit = true
        return runReporting {
            let source = try input.open(path)
            Timings.mark("input opened: \(path)")
            opts.event = try selectedEvent(source.metadata, path: path)
            return try ReportBuilder.buildPerEvent(source: source, path: path, options: opts)
        }
    }

    /// `--event` as an index into the recording's events (nil without it; the first event of several when
    /// `firstWhenSeveral`, as diff and scale compare one event).
    private func selectedEvent(_ metadata: RunMetadata, path: String, firstWhenSeveral: Bool = false) throws -> UInt16? {
        try EventChoice.resolve(event, in: metadata, path: path, firstWhenSeveral: firstWhenSeveral)
    }
}

/// perf report's sample filters, shared by report, diff, scale and script.
struct SampleFilterOptions: ParsableArguments {
    @Option(name: [.customLong("comms"), .short], help: ArgumentHelp("Only samples of these commands (comma-separated), like perf report --comms.", valueName: "NAME[,NAME…]"))
    var comms: [String] = []

    @Option(name: [.customLong("pids"), .customLong("pid")], help: ArgumentHelp("Only samples of these process ids (comma-separated), like perf report --pid.", valueName: "PID[,PID…]"))
    var pids: [String] = []

    @Option(name: [.customLong("tids"), .customLong("tid")], help: ArgumentHelp("Only samples of these thread ids (comma-separated), like perf report --tid.", valueName: "TID[,TID…]"))
    var tids: [String] = []

    @Option(name: [.customLong("dsos"), .short], help: ArgumentHelp("Only samples in these images, named as rows show them ([kernel.kallsyms], libc.so.6), like perf report --dsos.", valueName: "IMAGE[,IMAGE…]"))
    var dsos: [String] = []

    @Option(name: [.customLong("symbols"), .customShort("S")], help: ArgumentHelp("Only samples in these functions, named as rows show them, like perf report --symbols.", valueName: "NAME[,NAME…]"))
    var symbolNames: [String] = []

    func validate() throws {
        for (name, ids) in [("--pids", pids), ("--tids", tids)] {
            for id in Self.list(ids) where Int32(id) == nil {
                throw ValidationError("\(name) expects comma-separated numeric ids, not '\(id)'")
            }
        }
    }

    var filter: SampleFilter {
        var f = SampleFilter()
        f.comms = Self.list(comms)
        f.pids = Self.list(pids).compactMap { Int32($0) }
        f.tids = Self.list(tids).compactMap { Int32($0) }
        f.images = Self.list(dsos)
        f.symbols = Self.list(symbolNames)
        return f
    }

    /// The names of a repeatable, comma-separated option (`--dsos a,b --dsos c`), blanks dropped.
    static func list(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }
            .map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
            .filter { !$0.isEmpty }
    }
}
