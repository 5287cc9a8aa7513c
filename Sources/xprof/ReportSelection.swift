import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

/// What to report and how: the options `report`, `diff`, `scale` and `sweep` share — which samples
/// (``SampleSelectionOptions``, every sample-reading command's), then rows, format and symbols.
struct ReportSelection: ParsableArguments {
    @OptionGroup var samples: SampleSelectionOptions

    @Option(name: [.customShort("s"), .long], help: "Comma-separated keys to group rows by: domain, mode, comm, pid, tid, cpu, vcpu, reason (a xentrace exit's), image (dso), symbol (sym), line (srcline).")
    var sort: String = "image,symbol"

    @Option(help: "Show at most N rows.")
    var top: Int?

    @Option(help: "Output format: table, csv or json (diff: also html, folded-diff; scale: also html).")
    var format: ReportOutputFormat = .table

    @Option(name: .customLong("guest-name"), help: ArgumentHelp("A name for a guest domain.", valueName: "DOM=NAME"))
    var guestNames: [String] = []

    @OptionGroup var symbols: SymbolOptionGroup

    @OptionGroup var input: InputOptions

    func validate() throws {
        guard SortKey.parseList(sort) != nil else {
            throw ValidationError("--sort: unknown key in '\(sort)'; use domain, mode, comm, pid, tid, cpu, vcpu, reason, image (dso), symbol (sym), line (srcline)")
        }
        // diff and scale also write html (and diff folded-diff); each command refuses what it cannot write.
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        for g in guestNames where SymbolOptionGroup.split(g) == nil {
            throw ValidationError("--guest-name expects DOM=NAME with a numeric domain id, not '\(g)'")
        }
    }

    var reportOptions: ReportOptions {
        var o = ReportOptions()
        o.sortKeys = SortKey.parseList(sort) ?? [.image, .symbol]
        o.selection = samples.selection
        o.top = top
        o.symbols = symbols.options
        for g in guestNames { if let (d, n) = SymbolOptionGroup.split(g) { o.domainNames[d] = n } }
        return o
    }

    /// One report of `path`: only `--event`'s samples, else those of its first event (with a note) when it
    /// has several — what `diff` and `scale` compare.
    func build(_ path: String, adjusting adjust: (inout ReportOptions) -> Void = { _ in }) -> Report {
        var opts = reportOptions
        adjust(&opts)
        return runReporting {
            let source = try input.open(path)
            let chosen = try samples.selection(for: source.metadata, path: path, input: input, firstWhenSeveral: true)
            (opts.selection.event, opts.selection.timeWindow) = (chosen.event, chosen.timeWindow)
            return try ReportBuilder.build(source: source, path: path, options: opts)
        }
    }

    /// One report per event of `path` that has samples (only `--event`'s when given).
    func buildPerEvent(_ path: String, adjusting adjust: (inout ReportOptions) -> Void = { _ in }) -> [Report] {
        var opts = reportOptions
        adjust(&opts)
        // One input, and the command exits once its reports are printed.
        opts.keepInputsUntilExit = true
        return runReporting {
            let source = try input.open(path)
            Timings.mark("input opened: \(path)")
            let chosen = try samples.selection(for: source.metadata, path: path, input: input)
            (opts.selection.event, opts.selection.timeWindow) = (chosen.event, chosen.timeWindow)
            return try ReportBuilder.buildPerEvent(source: source, path: path, options: opts)
        }
    }
}
