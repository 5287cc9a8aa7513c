import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a profile in another format: folded stacks, an SVG flame graph, an interactive HTML page, pprof, or the report as csv/json.",
        discussion: """
        folded: one line per distinct callchain, `comm;outermost;...;leaf COUNT` (samples, or event period with \
        --period), the input of flamegraph.pl and inferno. Samples without callchains give one-frame stacks.
        flamegraph: the same stacks drawn as a self-contained SVG flame graph (root at the bottom, widths in \
        samples or, with --period, event period; colours by user, kernel, hypervisor and guest code; frames under \
        0.1% of the total are counted but not drawn; click to zoom, "Search" to highlight names).
        html: one self-contained page (no network) to explore the profile: header figures, domain/mode/command \
        filters, a sortable, searchable top table, a flame graph to zoom and search, callers/callees and source \
        lines of a function. It holds the call tree with counts, not the samples.
        pprof: the gzip-compressed protocol buffer of `go tool pprof` (and speedscope, Perfetto, ...), written by \
        the `xprof-pprof` executable installed beside xprof: values samples/count and the event period \
        (cpu/nanoseconds for the CPU clocks); labels comm, pid, domain, mode (`pprof -tagfocus domain=^2$`: pprof reads a bare 2 as a pattern); source \
        lines where images have DWARF. Binary: give -o FILE (by convention .pb.gz) or redirect the output.
        csv/json: the report rows (as `xprof report --format`).
        """
    )

    @Argument(help: "The profile.") var file: String
    @Option(help: "folded, flamegraph, html, pprof, csv or json.") var format: ExportFormat = .folded
    @Option(name: .short, help: ArgumentHelp("Output file (default: stdout).", valueName: "file")) var output: String?
    @Flag(help: "folded/flamegraph: count event period instead of samples.") var period = false
    @Flag(help: "folded/flamegraph: mark kernel frames _[k] and hypervisor frames _[h].") var annotate = false
    @Flag(name: .customLong("no-comm"), help: "folded/flamegraph: do not start stacks with the command name.") var noComm = false
    @OptionGroup var selection: SampleSelectionOptions
    @Option(help: "csv/json: comma-separated keys to group rows by.") var sort: String = "image,symbol"
    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        if format == .pprof && output == nil && isatty(1) != 0 {
            throw ValidationError("pprof output is binary: give -o FILE (e.g. -o profile.pb.gz) or redirect standard output")
        }
        guard SortKey.parseList(sort) != nil else { throw ValidationError("--sort: unknown key in '\(sort)'") }
    }

    func run() throws {
        if format == .pprof { runPProf() }
        var text: String
        if format == .html {
            var o = CallTree.Options()
            let s = selection.selection
            o.domain = s.domain
            o.mode = s.mode
            o.sampleFilter = s.filter
            o.percentage = s.percentage
            o.symbols = symbols.options
            let tree = HtmlOutput.callTree([file], labels: [file], options: o, samples: selection, input: input)
            text = HtmlPage.profile(tree, title: "xprof: " + file)
        } else if format == .folded || format == .flamegraph {
            var o = FoldedStacks.Options()
            o.byPeriod = period
            o.annotateModes = annotate
            o.includeComm = !noComm
            o.symbols = symbols.options
            let stacks = runReporting { () throws -> [FoldedStacks.Stack] in
                let source = try input.open(file)
                o.selection = try selection.selection(for: source.metadata, path: file, input: input, firstWhenSeveral: true)
                return try FoldedStacks.collect(source: source, options: o)
            }
            if format == .flamegraph {
                var g = FlameGraph.Options()
                g.byPeriod = period
                g.title = "xprof flame graph: " + file
                text = FlameGraph(stacks: stacks).svg(options: g)
            } else {
                let lines = FoldedStacks.lines(stacks, byPeriod: period)
                text = lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
            }
        } else {
            var o = ReportOptions()
            o.sortKeys = SortKey.parseList(sort) ?? [.image, .symbol]
            o.symbols = symbols.options
            let report = runReporting { () throws -> Report in
                let source = try input.open(file)
                o.selection = try selection.selection(for: source.metadata, path: file, input: input, firstWhenSeveral: true)
                return try ReportBuilder.build(source: source, path: file, options: o)
            }
            text = ReportRenderer.render(report, as: ReportFormat(rawValue: format.rawValue) ?? .csv)
        }
        if let output {
            writeOutput(text, to: output, option: "-o")
        } else {
            writeStandardOutput(text)
        }
    }

    /// Replaces this process with `xprof-pprof` (beside this executable) given the same selection.
    func runPProf() -> Never {
        var args = [file]
        if let output { args += ["-o", output] }
        args += selection.arguments
        args += symbols.arguments
        var dir = "."
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") { dir = String(exe[..<slash]) }
        }
        let helper = dir + "/xprof-pprof"
        guard access(helper, X_OK) == 0 else {
            printError("error: \(helper): not found or not executable; `xprof export --format pprof` runs it. "
                + "It is built with xprof (`swift build` builds every product); install it beside xprof.")
            Glibc.exit(66)
        }
        let argv = ([helper] + args).map { strdup($0) } + [nil]
        execv(helper, argv)
        printError("error: \(helper): could not be run: \(String(cString: strerror(errno)))")
        Glibc.exit(1)
    }
}
