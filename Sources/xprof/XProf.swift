import ArgumentParser
import XProfCLI
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

@main
struct XProf: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xprof",
        abstract: "Sampling profiler for virtualized Linux systems: where time goes per domain, mode and function.",
        version: "0.1.0",
        subcommands: [
            RecordCommand.self,
            ReportCommand.self,
            ScriptCommand.self,
            AnnotateCommand.self,
            InfoCommand.self,
            ConvertCommand.self,
            SymbolizeCommand.self,
            DiffCommand.self,
            ScaleCommand.self,
            SweepCommand.self,
            OverheadCommand.self,
            ExportCommand.self,
            VMStatCommand.self,
        ]
    )

    /// Every run's start-up counts (`xprof symbolize` is often run once per batch of addresses, and a report
    /// of a small file takes a few tens of milliseconds): a subcommand's arguments are parsed by that command
    /// alone, which spares building and checking the whole command tree (about a millisecond). Help, and any
    /// arguments the command refuses, go through the tree as usual, so usage and errors read as always.
    static func main() {
        Timings.mark("started")
        let args = Array(CommandLine.arguments.dropFirst())
        // `xprof help NAME` of a command that does not exist is an error (the parser prints the overview and
        // exits 0, as if asked for it).
        if args.first == "help", args.count > 1, let name = args.dropFirst().first(where: { !$0.hasPrefix("-") }),
           !configuration.subcommands.contains(where: { $0._commandName == name }) {
            printError("error: no command '\(name)'; the commands: " + configuration.subcommands.map { $0._commandName }.joined(separator: ", ")
                       + "\n  hint: xprof help lists them with what each does")
            Glibc.exit(64)
        }
        let help = ["-h", "--help", "help", "--version"]
        if let name = args.first, !args.contains(where: { help.contains($0) || $0.hasPrefix("--generate-completion") }),
           let type = configuration.subcommands.first(where: { $0._commandName == name }),
           var command = try? type.parseAsRoot(Array(args.dropFirst())) {
            do {
                Timings.mark("arguments parsed")
                try command.run()
                Timings.mark("done")
            } catch {
                type.exit(withError: error)
            }
            return
        }
        main(nil)
    }
}
