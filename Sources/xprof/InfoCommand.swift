import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a profile's metadata, counts per domain and mode, lost, dropped and unresolved samples."
    )

    @Argument(help: "The profile (.xprof, perf.data or Xenoprof capture).")
    var file: String

    @Option(help: "Output format: table or json.")
    var format: TableOrJSON = .table

    @OptionGroup var selection: SampleSelectionOptions

    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
    }

    func run() throws {
        var opts = ReportOptions()
        opts.sortKeys = [.domain, .mode]
        opts.countCallchains = true
        opts.symbols = symbols.options
        let report = runReporting {
            let source = try input.open(file)
            opts.selection = try selection.selection(for: source.metadata, path: file, input: input)
            return try ReportBuilder.build(source: source, path: file, options: opts)
        }
        writeStandardOutput(InfoRenderer.render(report, json: format == .json))
    }
}
