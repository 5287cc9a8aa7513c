import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

struct AnnotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Show the source lines (and instructions) of the hottest functions with their samples.",
        discussion: """
        Like opannotate --source, pprof -list and perf annotate: for each function (--symbol NAME, or the \
        --top N hottest by self samples, 3 by default) its source lines with the self samples on each, their \
        share of the function's and of all samples' event period, and --context lines around them ('...' where \
        lines are left out). The source file is the one DWARF names (full path); --source-dir DIR looks for it \
        under DIR (the whole path, then its trailing components), --source-dir OLD=NEW replaces a prefix, and \
        --symfs ROOT is tried before the path itself. Samples in inlined code count on the line of the call in \
        the function's own source; the inlined callees are named there and --inlines lists their lines. \
        Addresses without line information form the ?? row; an image without DWARF gets counts per address. \
        --asm adds the disassembly (objdump) with samples per instruction.
        """
    )

    @OptionGroup var profile: ProfileFileArguments
    var file: String { profile.path }

    @Option(name: .customLong("symbol"), help: ArgumentHelp("A function to annotate (repeatable).", valueName: "NAME"))
    var symbolNames: [String] = []

    @Option(help: "Without --symbol: annotate the N hottest functions.")
    var top: Int = 3

    @OptionGroup var selection: SampleSelectionOptions

    @Option(help: "Lines without samples shown around each line with samples.")
    var context: Int = 3

    @Flag(help: "List the lines of inlined callees under the line of their call.")
    var inlines = false

    @Flag(help: "Also show the disassembly (objdump) with samples per instruction.")
    var asm = false

    @Option(name: .customLong("source-dir"), help: ArgumentHelp("Where to look for source files: a folder, or OLD=NEW to replace a path prefix (repeatable).", valueName: "DIR|OLD=NEW"))
    var sourceDirs: [String] = []

    @Option(help: ArgumentHelp("The disassembler for --asm (GNU objdump).", valueName: "PROGRAM"))
    var objdump: String = "objdump"

    @Option(help: "Output format: text or json.")
    var format: AnnotateFormat = .text

    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1") }
        if context < 0 { throw ValidationError("--context must be 0 or more") }
        for d in sourceDirs where SourcePathRule(argument: d) == nil {
            throw ValidationError("--source-dir expects DIR or OLD=NEW, not '\(d)'")
        }
    }

    func run() throws {
        var o = AnnotateOptions()
        o.symbols = symbolNames
        o.top = top
        o.symbolOptions = symbols.options
        o.sourceRules = sourceDirs.compactMap(SourcePathRule.init(argument:))
        o.context = context
        o.disassemble = asm
        o.objdump = objdump
        let annotation = runReporting {
            let source = try input.open(file)
            o.selection = try selection.selection(for: source.metadata, path: file, input: input)  // no event: the builder takes the first, noting it
            return try AnnotationBuilder.build(source: source, path: file, options: o)
        }
        for w in annotation.warnings { printError("warning: " + w) }
        if !annotation.unknownSymbols.isEmpty {
            let only = annotation.filterDescription.isEmpty ? "" : " (only \(annotation.filterDescription))"
            for u in annotation.unknownSymbols {
                var msg = "error: --symbol \(u.name): no function of that name has samples in \(file)\(only)"
                if !u.closeMatches.isEmpty {
                    msg += "; close matches: " + u.closeMatches.joined(separator: ", ")
                } else if !annotation.hottest.isEmpty {
                    msg += "; functions with samples include " + annotation.hottest.prefix(5).map(\.symbol).joined(separator: ", ")
                }
                printError(msg + " (xprof report \(file) --sort symbol lists them all)")
            }
            Glibc.exit(64)
        }
        writeStandardOutput(AnnotationRenderer.render(annotation, as: format, inlines: inlines))
    }
}
