import Profile

/// Renders overhead estimates.
public enum OverheadRenderer {
    /// `overhead`'s output: the plain runs' and each profiler's mean, standard deviation and median (seconds),
    /// the overhead in percent with its 95 % interval and the start-up cost, as a table, CSV or JSON
    /// (`xprof.overhead/1`); `frequency` is the sampling rate in Hz, shown in the heading.
    public static func render(_ estimates: [OverheadEstimate], command: [String], frequency: UInt64, format: ReportFormat) -> String {
        let pct = ReportRenderer.pct
        switch format {
        case .json:
            let o: [String: JSONValue] = [
                "schema": "xprof.overhead/1", "command": .of(command), "frequency": .of(frequency),
                "baseline": stats(estimates.first?.baseline),
                "profilers": .array(estimates.map { e in
                    .object(["profiler": .of(e.profiler), "runs": stats(e.profiled), "overhead_percent": .of(e.percent),
                             "ci95_low": .of(e.low), "ci95_high": .of(e.high),
                             "startup_seconds": e.startupSeconds.map { .of($0) } ?? .null,
                             "steady_state_percent": e.steadyPercent.map { .of($0) } ?? .null])
                }),
            ]
            return JSONValue.object(o).rendered()
        case .csv:
            var out = "profiler,runs,mean_s,stddev_s,median_s,overhead_percent,ci95_low,ci95_high,startup_s,steady_state_percent\n"
            if let b = estimates.first?.baseline {
                out += "plain,\(b.samples.count),\(pct(b.mean, 4)),\(pct(b.standardDeviation, 4)),\(pct(b.median, 4)),0,0,0,0,0\n"
            }
            for e in estimates {
                let p = e.profiled
                out += "\(e.profiler),\(p.samples.count),\(pct(p.mean, 4)),\(pct(p.standardDeviation, 4)),\(pct(p.median, 4)),\(pct(e.percent, 4)),\(pct(e.low, 4)),\(pct(e.high, 4))"
                out += "," + (e.startupSeconds.map { pct($0, 4) } ?? "") + "," + (e.steadyPercent.map { pct($0, 4) } ?? "") + "\n"
            }
            return out
        case .table:
            var out = "# xprof overhead: \(command.joined(separator: " ")) at \(frequency) Hz; wall time per run, runs interleaved\n#\n"
            out += "# Profiler   Runs    Mean (s)  Stddev (s)  Median (s)  Overhead  95% CI\n"
            if let b = estimates.first?.baseline {
                out += "  plain      " + pad(String(b.samples.count), 4) + "  " + pad(pct(b.mean, 4), 10) + "  " + pad(pct(b.standardDeviation, 4), 10)
                out += "  " + pad(pct(b.median, 4), 10) + "         -\n"
            }
            for e in estimates {
                let p = e.profiled
                out += "  " + e.profiler + String(repeating: " ", count: max(1, 11 - e.profiler.count)) + pad(String(p.samples.count), 4)
                out += "  " + pad(pct(p.mean, 4), 10) + "  " + pad(pct(p.standardDeviation, 4), 10) + "  " + pad(pct(p.median, 4), 10)
                out += "  " + pad((e.percent >= 0 ? "+" : "") + pct(e.percent, 2) + "%", 8) + "  [" + pct(e.low, 2) + "%, " + pct(e.high, 2) + "%]\n"
            }
            // The fixed and the per-second parts of each profiler's cost.
            for e in estimates {
                guard let s = e.startupSeconds, let steady = e.steadyPercent else { continue }
                out += "# \(e.profiler): start-up \(pct(s, 3)) s per run (around /bin/true); steady state "
                    + (steady >= 0 ? "+" : "") + pct(steady, 2) + "% (the overhead less the start-up)\n"
            }
            return out
        }
    }

    static func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

    static func stats(_ s: TimingStats?) -> JSONValue {
        guard let s else { return .null }
        return .object(["runs": .of(s.samples.count), "seconds": .array(s.samples.map { .of($0) }), "mean": .of(s.mean),
                        "stddev": .of(s.standardDeviation), "median": .of(s.median),
                        "mean_ci95_low": .of(s.meanLow), "mean_ci95_high": .of(s.meanHigh)])
    }
}
