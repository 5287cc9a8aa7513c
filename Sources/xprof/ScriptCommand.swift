import ArgumentParser
import XProfCLI
import Profile
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

struct ScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "script",
        abstract: "Print every sample, one by one, in time order (like perf script).",
        usage: "xprof script [<options>] [<file>]",
        discussion: """
        Each sample as perf script prints it — comm tid [cpu] time: period event: ip sym+off (dso) — with its \
        callchain below when it has one, attributed as reports attribute it (guest and passive domains, Xen, \
        kallsyms, the mapped binaries). -F picks the fields (perf's names: comm, pid, tid, cpu, time, period, \
        event, ip, sym, symoff, dso, srcline; and xprof's domain and mode). --format csv gives a row per sample, \
        --format json one JSON object per line. --time START,END keeps the samples of a window in seconds of \
        the recording's clock (the time field's), either side open.
        """
    )

    @OptionGroup var profile: ProfileFileArguments
    var file: String { profile.path }

    @Option(name: [.customShort("F"), .customLong("fields")], help: ArgumentHelp("Comma-separated fields (default: comm,tid,cpu,time,period,event,ip,sym,symoff,dso; domain too when the input has several).", valueName: "FIELDS"))
    var fields: String?

    @Flag(name: [.customShort("G"), .customLong("hide-call-graph")], help: "Do not print callchains.")
    var hideCallGraph = false

    @Option(help: "Output format: text (perf script's), csv or json (one object per line).")
    var format: ScriptFormat = .text

    @OptionGroup var selection: SampleSelectionOptions

    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        if let fields, ScriptField.parseList(fields) == nil {
            throw ValidationError("-F: unknown field in '\(fields)'; use " + ScriptField.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    func run() throws {
        var o = ScriptOptions()
        o.fields = fields.flatMap(ScriptField.parseList)
        o.callchains = !hideCallGraph
        o.format = format
        o.symbols = symbols.options
        let summary = runReporting {
            let source = try input.open(file)
            o.selection = try selection.selection(for: source.metadata, path: file, input: input)
            return try ScriptWriter.run(source: source, options: o) { bytes in writeStandardOutput(bytes) }
        }
        for w in summary.symbolWarnings + summary.stats.warnings { printError("warning: " + w) }
        if summary.stats.totalLost > 0 {
            printError("note: \(summary.stats.totalLost) samples were lost while recording; they are not in the output")
        }
        if summary.printed == 0 {
            printError("note: no sample passed the filters (\(summary.skipped) left out)")
        }
    }
}
