import XProfCLI
import Profile
import Render

extension ScaleCommand {
    /// Rows a scale table shows without --top (sorted by growth: the first rows are the story; the JSON and
    /// CSV forms keep every row).
    static let tableRows = 20

    /// Prints a scaling analysis (`scale` and `sweep`): its doubts on stderr, the table (the first
    /// `tableRows` rows unless --top says otherwise, with a line saying how many more there are) or every row
    /// as CSV/JSON, and the SVG chart when asked.
    static func emit(_ analysis: ScalingAnalysis, format: ReportFormat, top: Int?, svg: String?) {
        // (A table carries them in its header, as report's does.)
        if format != .table { for w in analysis.warnings { printError("warning: " + w) } }
        let shown = top ?? (format == .table ? tableRows : nil)
        var text = ComparisonRenderer.render(analysis, format: format, top: shown)
        if format == .table, let shown, analysis.rows.count > shown {
            text += "# … \(analysis.rows.count - shown) more rows (--top N shows more, --format csv all)\n"
        }
        writeStandardOutput(text)
        if let svg {
            writeOutput(ScalingChart.render(analysis, rows: top ?? chartRows), to: svg, option: "--svg")
        }
    }
}
