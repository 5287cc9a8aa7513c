import ArgumentParser
import Profile
import Render

// Each command's `--format` values as ArgumentParser enums: `--help` and the shell completions list them, and
// a value outside them is refused while parsing, naming those there are (docs/COMMANDS.md).

/// `report`, `diff`, `scale` and `sweep` (``ReportSelection``): every command takes the table, CSV and JSON;
/// `html` and `folded-diff` are for the commands that compare, each refusing what it cannot write.
enum ReportOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, json, html
    case foldedDiff = "folded-diff"

    /// The report renderer's format, nil for the comparison pages.
    var rows: ReportFormat? { ReportFormat(rawValue: rawValue) }
}

/// `export`: folded stacks, an SVG flame graph, an HTML page, pprof, or the report's rows.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case folded, flamegraph, html, pprof, csv, json
}

/// `info` and `vmstat`.
enum TableOrJSON: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

extension ReportFormat: ExpressibleByArgument {}
extension AnnotateFormat: ExpressibleByArgument {}
extension SymbolizeRenderer.Format: ExpressibleByArgument {}
extension ScriptFormat: ExpressibleByArgument {}
