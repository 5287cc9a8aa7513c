import ArgumentParser

@main
struct XProf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xprof",
        abstract: "Sampling profiler for virtualized Linux systems: where time goes per domain, mode and function.",
        version: "0.1.0",
        subcommands: [
            RecordCommand.self,
            ReportCommand.self,
            InfoCommand.self,
            ConvertCommand.self,
            SymbolizeCommand.self,
            DiffCommand.self,
            ScaleCommand.self,
            OverheadCommand.self,
            ExportCommand.self,
            VMStatCommand.self,
        ]
    )

    /// `xprof symbolize` is often run once per batch of addresses, so its start-up counts: its arguments are
    /// parsed by that command alone, which spares building and checking the whole command tree (about a
    /// millisecond, a tenth of a 100,000-address run). Help goes through the tree as usual.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == SymbolizeCommand._commandName,
           !args.contains(where: { ["-h", "--help", "help", "--version", "--generate-completion-script"].contains($0) || $0.hasPrefix("--generate-completion") }) {
            SymbolizeCommand.main(Array(args.dropFirst()))
        } else {
            main(nil)
        }
    }
}
