import Profile
/// Renders ``Comparison`` and ``ScalingAnalysis`` as tables, CSV or JSON.
public enum ComparisonRenderer {
    static func signed(_ v: Double) -> String { (v >= 0 ? "+" : "") + ReportRenderer.pct(v) }

    static func table(_ heads: [String], _ cells: [[String]], numeric: Int) -> String {
        var widths = heads.map(\.count)
        for row in cells { for (i, c) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cols: [String], prefix: String) -> String {
            var s = prefix
            for (i, c) in cols.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                s += (i == 0 ? "" : "  ") + (i < numeric ? pad + c : c + pad)
            }
            while s.hasSuffix(" ") { s.removeLast() }
            return s + "\n"
        }
        var out = line(heads, prefix: "# ")
        out += line(widths.map { String(repeating: ".", count: $0) }, prefix: "# ")
        for c in cells { out += line(c, prefix: "  ") }
        return out
    }

    /// `diff`'s output: a table of base, new and delta (percentage points), CSV, or JSON (`xprof.diff/1`);
    /// the first `top` rows (nil: all).
    public static func render(_ c: Comparison, format: ReportFormat, top: Int?) -> String {
        let rows = top.map { Array(c.rows.prefix($0)) } ?? c.rows
        switch format {
        case .csv:
            var out = (["base", "new", "delta", "base_samples", "new_samples"] + c.keys.map(\.rawValue)).joined(separator: ",") + "\n"
            for r in rows {
                out += ([ReportRenderer.pct(r.basePercent, decimals: 4), ReportRenderer.pct(r.newPercent, decimals: 4),
                         ReportRenderer.pct(r.delta, decimals: 4), String(r.baseSamples), String(r.newSamples)]
                        + r.values.map(CSV.field)).joined(separator: ",") + "\n"
            }
            return out
        case .json:
            let o: [String: JSONValue] = [
                "schema": "xprof.diff/1", "base": .of(c.base.source), "new": .of(c.new.source),
                "base_samples": .of(c.base.totalSamples), "new_samples": .of(c.new.totalSamples),
                "sort": .of(c.keys.map(\.rawValue)),
                "rows": .array(rows.map { r in
                    var d: [String: JSONValue] = ["base": .of(r.basePercent), "new": .of(r.newPercent), "delta": .of(r.delta),
                                                  "base_samples": .of(r.baseSamples), "new_samples": .of(r.newSamples)]
                    for (k, v) in zip(c.keys, r.values) { d[k.rawValue] = .of(v) }
                    return .object(d)
                }),
            ]
            return JSONValue.object(o).rendered()
        case .table:
            var out = "# xprof diff: \(c.base.source) (base, \(c.base.totalSamples) samples) → \(c.new.source) (new, \(c.new.totalSamples) samples)\n"
            out += "# shares of each profile's total event count; delta in percentage points, largest change first\n#\n"
            let cells = rows.map { r in [ReportRenderer.pct(r.basePercent) + "%", ReportRenderer.pct(r.newPercent) + "%", signed(r.delta)] + r.values }
            out += table(["Base", "New", "Delta"] + c.keys.map(\.title), cells, numeric: 3)
            return out
        }
    }

    /// `scale`'s output: each row's share per CPU count and its growth, as a table, CSV or JSON
    /// (`xprof.scale/1`); the first `top` rows (nil: all).
    public static func render(_ s: ScalingAnalysis, format: ReportFormat, top: Int?) -> String {
        let rows = top.map { Array(s.rows.prefix($0)) } ?? s.rows
        let runHeads = s.runs.map { "\($0.cpus) CPU" + ($0.cpus == 1 ? "" : "s") }
        func growth(_ g: Double) -> String { g.isInfinite ? "new" : ReportRenderer.pct(g) + "x" }
        switch format {
        case .csv:
            var out = (s.runs.map { "cpus_\($0.cpus)" } + ["growth", "monotonic"] + s.keys.map(\.rawValue)).joined(separator: ",") + "\n"
            for r in rows {
                out += (r.percents.map { ReportRenderer.pct($0, decimals: 4) } + [r.growth.isInfinite ? "inf" : ReportRenderer.pct(r.growth, decimals: 4),
                        r.monotonic ? "yes" : "no"] + r.values.map(CSV.field)).joined(separator: ",") + "\n"
            }
            return out
        case .json:
            let o: [String: JSONValue] = [
                "schema": "xprof.scale/1",
                "runs": .array(s.runs.enumerated().map { i, r in
                    var d: [String: JSONValue] = ["source": .of(r.source), "cpus": .of(r.cpus), "samples": .of(r.totalSamples)]
                    if let t = r.throughput { d["throughput"] = .of(t) }
                    if let sp = s.speedup(i) { d["speedup"] = .of(sp.speedup); d["efficiency"] = .of(sp.efficiency) }
                    return .object(d)
                }),
                "sort": .of(s.keys.map(\.rawValue)),
                "warnings": .of(s.warnings),
                "rows": .array(rows.map { r in
                    var d: [String: JSONValue] = ["percents": .array(r.percents.map { .of($0) }), "samples": .array(r.samples.map { .of($0) }),
                                                  "growth": r.growth.isInfinite ? .null : .of(r.growth), "monotonic": .bool(r.monotonic),
                                                  "grows": .bool(r.growsSignificantly)]
                    for (k, v) in zip(s.keys, r.values) { d[k.rawValue] = .of(v) }
                    return .object(d)
                }),
            ]
            return JSONValue.object(o).rendered()
        case .table:
            var out = "# xprof scale: \(s.runs.count) runs; share of each run's samples per CPU count; largest growth first\n"
            for (i, r) in s.runs.enumerated() {
                var line = "#   \(r.cpus) CPU\(r.cpus == 1 ? "" : "s"): \(r.source), \(r.totalSamples) samples"
                if let t = r.throughput { line += ", throughput \(t)" }
                if let sp = s.speedup(i), i > 0 {
                    line += ", speedup \(ReportRenderer.pct(sp.speedup))x (\(ReportRenderer.pct(sp.efficiency * 100, decimals: 1))% of linear)"
                }
                out += line + "\n"
            }
            out += "#   growth = last share / first share; ↑ marks shares that grow with every CPU step (on \(ScalingAnalysis.Row.significantSamples)+ samples)\n"
            for w in s.warnings { out += "# warning: \(w)\n" }
            out += "#\n"
            let cells = rows.map { r in r.percents.map { ReportRenderer.pct($0) + "%" } + [growth(r.growth), r.growsSignificantly ? "↑" : ""] + r.values }
            out += table(runHeads + ["Growth", ""] + s.keys.map(\.title), cells, numeric: runHeads.count + 1)
            return out
        }
    }
}
