import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

struct VMStatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmstat",
        abstract: "Per physical CPU: busy share and which domain-vCPU held it, per time interval (like vm-stat).",
        discussion: "Line format: `PCPU [BUSY] dDOM-VCPU[SHARE] ...`, e.g. `3 [087.3] d0-3[000.2] d2-0[087.1]`. Needs samples with a physical CPU (xprof record -a, perf record -a)."
    )

    @Argument(help: "The profile.") var file: String
    @Option(help: "Seconds per interval (default: the whole run).") var interval: Double?
    @Option(help: "Output format: table or json.") var format: TableOrJSON = .table
    @OptionGroup var selection: SampleSelectionOptions
    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        if let interval, !(interval > 0) { throw ValidationError("--interval must be positive") }
    }

    func run() throws {
        let stat = runReporting { () throws -> VMStat in
            let source = try input.open(file)
            return try VMStat.build(source: source, path: file, interval: interval,
                                    selection: selection.selection(for: source.metadata, path: file, input: input), symbols: symbols.options)
        }
        writeStandardOutput(format == .json ? VMStatRenderer.json(stat) : VMStatRenderer.text(stat))
    }
}
