import ArgumentParser
import Profile
import SampleIO

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show where the samples of a profile went: per domain, mode, command, image and function.",
        discussion: """
        FILE may be a .xprof file, a perf.data file or a Xenoprof capture (detected by content).
        Percentages are shares of the total sample weight (event period), like perf report.
        Sort keys: domain, mode, comm, pid, image (alias dso), symbol (alias sym).
        """
    )

    @Argument(help: "The profile to report.")
    var file: String

    @Option(help: "Only samples of this domain (0 = host/dom0).")
    var domain: UInt32?

    @Option(help: "Only samples of this mode: user, kernel or hypervisor.")
    var mode: String?

    @Option(help: "Comma-separated sort keys.")
    var sort: String = "image,symbol"

    @Option(help: "Show at most N rows.")
    var top: Int?

    @Option(name: .customLong("percent-limit"), help: "Hide rows below this percentage.")
    var percentLimit: Double?

    @Flag(help: "Add callchain-inclusive (children) percentages, like perf report --children.")
    var children = false

    @Option(help: "Output format: table, csv or json.")
    var format: String = "table"

    @Option(name: .customLong("guest-name"), help: ArgumentHelp("A name for a guest domain.", valueName: "DOM=NAME"))
    var guestNames: [String] = []

    @OptionGroup var symbols: SymbolOptionGroup

    func validate() throws {
        guard SortKey.parseList(sort) != nil else {
            throw ValidationError("--sort: unknown key in '\(sort)'; use domain, mode, comm, pid, image (dso), symbol (sym)")
        }
        if let mode, SampleMode(name: mode) == nil {
            throw ValidationError("--mode must be user, kernel or hypervisor, not '\(mode)'")
        }
        guard ReportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be table, csv or json, not '\(format)'")
        }
        for g in guestNames where SymbolOptionGroup.split(g) == nil {
            throw ValidationError("--guest-name expects DOM=NAME with a numeric domain id, not '\(g)'")
        }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let p = percentLimit, !(p >= 0 && p <= 100) { throw ValidationError("--percent-limit must be within 0…100") }
    }

    func run() throws {
        var opts = ReportOptions()
        opts.sortKeys = SortKey.parseList(sort) ?? [.image, .symbol]
        opts.domain = domain.map { DomainID($0) }
        opts.mode = mode.flatMap(SampleMode.init(name:))
        opts.top = top
        opts.children = children
        opts.percentLimit = percentLimit
        opts.symbols = symbols.options
        for g in guestNames { if let (d, n) = SymbolOptionGroup.split(g) { opts.domainNames[d] = n } }
        let report = runReporting {
            let source = try SampleReader.open(path: file)
            return try ReportBuilder.build(source: source, path: file, options: opts)
        }
        let fmt = ReportFormat(rawValue: format) ?? .table
        if fmt != .table {
            for w in report.symbolWarnings + report.stats.warnings { printError("warning: " + w) }
        }
        print(ReportRenderer.render(report, as: fmt), terminator: "")
    }
}
