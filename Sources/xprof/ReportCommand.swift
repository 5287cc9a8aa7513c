import ArgumentParser
import XProfCLI
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
        A recording of several events (perf record -e A,B, or a group read with -e '{A,B}:S') is reported
        per event, one section each, as perf report does; --event NAME shows one.
        """
    )

    @Argument(help: "The profile to report.")
    var file: String

    @Option(name: .customLong("percent-limit"), help: "Hide rows below this percentage.")
    var percentLimit: Double?

    @Flag(help: "Add callchain-inclusive (children) percentages, like perf report --children.")
    var children = false

    @OptionGroup var selection: ReportSelection

    func validate() throws {
        if let p = percentLimit, !(p >= 0 && p <= 100) { throw ValidationError("--percent-limit must be within 0…100") }
    }

    func run() throws {
        // Like perf report: one section per event that has samples (a single one for most recordings).
        let reports = selection.buildPerEvent(file) {
            $0.percentLimit = percentLimit
            $0.children = children
        }
        let fmt = ReportFormat(rawValue: selection.format) ?? .table
        if fmt != .table, let report = reports.first {
            for w in report.symbolWarnings + report.stats.warnings { printError("warning: " + w) }
        }
        print(ReportRenderer.render(reports, as: fmt), terminator: "")
    }
}
