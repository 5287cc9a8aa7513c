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
}
