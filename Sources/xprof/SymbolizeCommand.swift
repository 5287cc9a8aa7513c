import ArgumentParser
import XProfCLI
import Profile
import Render
import SymbolMap
import SampleIO
#if canImport(Glibc)
import Glibc
#endif

struct SymbolizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symbolize",
        _superCommandName: "xprof",
        abstract: "Turn addresses into function, file and line (like addr2line) for an ELF file, System.map or kallsyms dump.",
        usage: "xprof symbolize --image <image> [<options>] [<addresses> ...]",
        discussion: """
        Addresses (hex, with or without 0x) come from the arguments, or one per line on stdin; output is in \
        input order. tsv columns: address, symbol, offset (hex), file, line — ?? and 0 where unknown, like \
        addr2line; with --lines an address in inlined code is named, as addr2line -f names it, by the \
        inlined function its line belongs to (offset ??). With --inlines, each address first gets one row per inlined frame (innermost first, sixth \
        column 'inlined'), then the row of the function it was inlined into (sixth column 'function').
        """
    )

    @Option(help: "The image: an ELF file, a System.map or a kallsyms dump (detected by content).")
    var image: String

    @Flag(help: "Also give source file and line (DWARF).")
    var lines = false

    @Flag(help: "Also give the chain of inlined frames (DWARF).")
    var inlines = false

    @Flag(name: [.customShort("C"), .long], help: "Demangle C++ names (as addr2line -C, without parameter lists as perf shows them).")
    var demangle = false

    @Option(help: "Output format: tsv or json.")
    var format: SymbolizeRenderer.Format = .tsv

    @Option(name: .customLong("debug-dir"), help: "A folder of separate debug files (default /usr/lib/debug).")
    var debugDirs: [String] = []

    @Argument(help: "Addresses (hex).")
    var addresses: [String] = []

    func validate() throws {
        for a in addresses where SymbolizeRenderer.parseAddress(Substring(a)) == nil {
            throw ValidationError("'\(a)' is not a hexadecimal address")
        }
    }

    func run() throws {
        let request = SymbolizeRequest(image: image, lines: lines, inlines: inlines, format: format, debugDirs: debugDirs,
                                       addresses: addresses, demangle: demangle)
        let code = request.run()
        if code != 0 { throw ExitCode(code) }
    }
}

/// What `xprof symbolize` was asked (parsed by ``SymbolizeCommand``), and how it is done.
struct SymbolizeRequest {
    var image: String
    var lines = false
    var inlines = false
    var format = SymbolizeRenderer.Format.tsv
    var debugDirs: [String] = []
    var addresses: [String] = []
    var demangle = false

    /// Symbolizes as asked; returns the exit status (66: image missing, 65: image unusable).
    func run() -> Int32 {
        let fmt = format
        let dirs = debugDirs + ["/usr/lib/debug"]
        if fmt == .tsv && !inlines && !lines && !demangle && addresses.isEmpty {
            // The common, large case: stream stdin to stdout in bounded memory (the image loads on a second
            // thread while stdin is read). With --lines the addresses are read first: each is named by the
            // function its line belongs to, which the inline index answers for all of them at once.
            do {
                let (symbolizer, bad, ioError) = try Symbolizer.streamTSV(image: image, debugDirectories: dirs, from: 0, to: 1, lines: lines)
                for w in symbolizer.warnings { printError("warning: " + w) }
                for b in bad { printError("warning: stdin " + b) }
                if let ioError, !(ioError.writing && ioError.code == EPIPE) {  // a reader gone: quiet, as SIGPIPE
                    printError("error: \(ioError.writing ? "standard output" : "standard input"): \(ioError)"
                               + (ioError.writing ? "\n  hint: check the disk or file the output goes to (its space and size limit)" : ""))
                    return 74
                }
                return 0
            } catch {
                printError("error: \(error)")
                return error.code == .missingFile ? 66 : 65
            }
        }
        let symbolizer: Symbolizer
        do {
            symbolizer = try Symbolizer(path: image, debugDirectories: dirs)
        } catch {
            printError("error: \(error)")
            return error.code == .missingFile ? 66 : 65
        }
        var bad: [String] = []
        var input: [UInt64]
        if addresses.isEmpty {
            (input, bad) = Symbolizer.parseAddresses(readStdin())
        } else {
            input = addresses.compactMap { SymbolizeRenderer.parseAddress(Substring($0)) }
        }
        if fmt == .tsv && !demangle {
            writeStandardOutput(inlines ? symbolizer.inlineTSV(input) : lines ? symbolizer.linesTSV(input) : symbolizer.tsv(input, lines: false))
            Timings.mark("symbolized \(input.count) addresses, \(symbolizer.dwarfUnitsRead) DWARF units read")
        } else {
            // (With --lines the inline chain too: a line in inlined code is named by its own function.)
            let results = symbolizer.symbolize(input, lines: lines || inlines, inlines: lines || inlines)
            Timings.mark("symbolized \(input.count) addresses, \(symbolizer.dwarfUnitsRead) DWARF units read")
            writeStandardOutput(SymbolizeRenderer.render(results, format: fmt, lines: lines || inlines, inlines: inlines, table: symbolizer.table,
                                                 demangle: demangle))
        }
        for w in symbolizer.warnings { printError("warning: " + w) }
        for b in bad { printError("warning: stdin " + b) }
        return 0
    }

    private func readStdin() -> [UInt8] {
        do throws(Errno) {
            return try SystemCalls.readAll(0)
        } catch {
            printError("error: cannot read standard input: \(error)")
            Glibc.exit(74)
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return s
    }
}

