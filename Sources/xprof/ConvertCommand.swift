import ArgumentParser
import XProfCLI
import SampleIO

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a perf.data file, Xenoprof capture, OProfile stream or xentrace file into a .xprof file.",
        discussion: "The input format is detected by content. Lost, dropped and unknown-record counts travel along."
    )

    @Argument(help: "The input profile.")
    var input: String

    @Option(name: .short, help: ArgumentHelp("The .xprof file to write.", valueName: "file"))
    var output: String

    @OptionGroup var inputOptions: InputOptions

    func run() throws {
        let n = runReporting {
            let source = try inputOptions.open(input)
            if source.metadata.labels.count > 1 {
                printError("warning: the .xprof format does not keep sample labels: the \(source.metadata.labels.count - 1) exit reasons of \(input) are left out (report the trace itself for --sort reason)")
            }
            return try XprofWriter.convert(source, to: output)
        }
        printError("wrote \(n) samples to \(output)")
    }
}
