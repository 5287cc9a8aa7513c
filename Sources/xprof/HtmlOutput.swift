import ArgumentParser
import XProfCLI
import Profile
import Render
import SampleIO

/// What `export`, `diff`, `scale` and `sweep` run for `--format html` and `--format folded-diff`: the call
/// trees of their inputs, read with the command's selection, and the page or lines made of them
/// (docs/ARCHITECTURE.md, "HTML pages").
enum HtmlOutput {
    /// Reads each of `paths` as one run of a call tree, with `samples`' event and time window (a window of
    /// shares is each input's own).
    static func callTree(_ paths: [String], labels: [String], options: CallTree.Options, samples: SampleSelectionOptions, input: InputOptions) -> CallTree {
        var tree = CallTree()
        for (path, label) in zip(paths, labels) {
            var o = options
            runReporting {
                let source = try input.open(path)
                let chosen = try samples.selection(for: source.metadata, path: path, input: input, firstWhenSeveral: true)
                (o.event, o.timeWindow) = (chosen.event, chosen.timeWindow)
                try tree.add(source: source, path: path, label: label, options: o)
            }
        }
        return tree
    }

    /// `xprof diff BASE NEW --format html`.
    static func diffPage(base: String, new: String, selection: ReportSelection) -> String {
        let tree = callTree([base, new], labels: ["base", "new"], options: selection.callTreeOptions, samples: selection.samples, input: selection.input)
        return HtmlPage.diff(tree, title: "xprof diff: \(base) → \(new)")
    }

    /// `xprof scale RUN… --format html` (and `sweep`): the runs in the analysis's CPU order.
    static func scalePage(_ analysis: ScalingAnalysis, selection: ReportSelection) -> String {
        let tree = callTree(analysis.runs.map(\.source), labels: analysis.runs.map { "\($0.cpus) CPU\($0.cpus == 1 ? "" : "s")" },
                            options: selection.callTreeOptions, samples: selection.samples, input: selection.input)
        return HtmlPage.scale(tree, analysis: analysis, chartRows: selection.top ?? ScaleCommand.chartRows,
                              title: "xprof scale: \(analysis.runs.count) runs, \(analysis.runs.map { String($0.cpus) }.joined(separator: ", ")) CPUs")
    }

    /// Writes the scale page (and `--svg`'s chart), with the analysis's warnings on stderr, as
    /// `ScaleCommand.emit` does for the other formats.
    static func writeScalePage(_ analysis: ScalingAnalysis, selection: ReportSelection, svg: String?) {
        for w in analysis.warnings { printError("warning: " + w) }
        writeStandardOutput(scalePage(analysis, selection: selection))
        if let svg {
            writeOutput(ScalingChart.render(analysis, rows: selection.top ?? ScaleCommand.chartRows), to: svg, option: "--svg")
        }
    }

    /// `xprof diff BASE NEW --format folded-diff`: both inputs' folded stacks, two counts a line.
    static func foldedDiff(base: String, new: String, selection: ReportSelection) -> String {
        var o = FoldedStacks.Options()
        o.symbols = selection.symbols.options
        let stacks = [base, new].map { path in
            runReporting { () throws -> [FoldedStacks.Stack] in
                let source = try selection.input.open(path)
                var p = o
                p.selection = try selection.samples.selection(for: source.metadata, path: path, input: selection.input, firstWhenSeveral: true)
                return try FoldedStacks.collect(source: source, options: p)
            }
        }
        let lines = FoldedStacks.diffLines(base: stacks[0], new: stacks[1], byPeriod: false)
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }
}

extension ReportSelection {
    /// The selection as call-tree options: domain, mode, time window, perf's sample filters and domain names.
    var callTreeOptions: CallTree.Options {
        let r = reportOptions
        var o = CallTree.Options()
        o.domain = r.selection.domain
        o.mode = r.selection.mode
        o.timeWindow = r.selection.timeWindow
        o.sampleFilter = r.selection.filter
        o.percentage = r.selection.percentage
        o.symbols = r.symbols
        o.domainNames = r.domainNames
        return o
    }
}
