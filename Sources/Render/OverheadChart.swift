import Profile
/// `xprof overhead --svg`: the wall time of every measured run, per configuration, as an SVG chart.
///
/// One column per configuration (plain, then each profiler in the order measured), one point per round
/// (rounds left to right), the mean as a bar across the column and the 95 % confidence interval of the mean
/// as a whisker — the numbers `--format json` gives (`seconds`, `mean`, `mean_ci95_low`/`_high`) — and above
/// each profiler its overhead with the Welch interval the table shows. The time axis starts at zero.
public enum OverheadChart {
    // Geometry (pixels).
    static let width = 760.0, height = 480.0
    static let left = 80.0, right = 740.0, top = 80.0, bottom = 410.0
    static let colours = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c"]

    /// The chart of `estimates` (all measured against the same plain runs) of `command` sampled at `frequency` Hz.
    public static func render(_ estimates: [OverheadEstimate], command: [String], frequency: UInt64) -> String {
        guard let baseline = estimates.first?.baseline else {
            var empty = SVGWriter(width: width, height: height)
            return empty.finish()
        }
        let configs: [(name: String, stats: TimingStats, estimate: OverheadEstimate?)] =
            [("plain", baseline, nil)] + estimates.map { ($0.profiler, $0.profiled, $0) }
        let highest = configs.flatMap { $0.stats.samples + [$0.stats.meanHigh] }.max() ?? 0
        let (step, yTop) = ChartScale.ticks(upTo: highest)
        func y(_ s: Double) -> Double { bottom - s / yTop * (bottom - top) }
        let band = (right - left) / Double(configs.count)
        let pct = ReportRenderer.pct

        var svg = SVGWriter(width: width, height: height)
        svg.element("text", ["x": .number(width / 2), "y": "24", "font-size": "17", "text-anchor": "middle"],
                    text: "xprof overhead: wall time per run at \(frequency) Hz")
        let shown = command.joined(separator: " ")
        svg.element("text", ["x": .number(width / 2), "y": "44", "font-size": "12", "fill": "#555", "text-anchor": "middle"],
                    text: shown.count > 100 ? String(shown.prefix(98)) + ".." : shown)
        svg.element("text", ["x": .number(width / 2), "y": "62", "font-size": "11", "fill": "#555", "text-anchor": "middle"],
                    text: "points: one run each, rounds left to right; bar: mean; whisker: 95% confidence interval of the mean")

        ChartScale.drawYTicks(&svg, step: step, top: yTop, left: left, right: right, y: y) { v in SVGWriter.number(v, decimals: 6) }
        svg.element("line", ["x1": .number(left), "x2": .number(left), "y1": .number(top), "y2": .number(bottom), "stroke": "#000"])
        svg.element("text", ["x": "20", "y": .number((top + bottom) / 2), "font-size": "12", "text-anchor": "middle",
                             "transform": .text("rotate(-90 20 \(SVGWriter.number((top + bottom) / 2)))")], text: "wall time (s)")

        for (k, c) in configs.enumerated() {
            let cx = left + band * (Double(k) + 0.5)
            let colour = colours[k % colours.count]
            let s = c.stats
            svg.open("g", ["class": "config"])
            svg.title("\(c.name): \(s.samples.count) runs, mean \(pct(s.mean, 4)) s (95% CI \(pct(s.meanLow, 4))–\(pct(s.meanHigh, 4)) s), "
                      + "median \(pct(s.median, 4)) s, stddev \(pct(s.standardDeviation, 4)) s")
            svg.element("text", ["x": .number(cx), "y": .number(bottom + 20), "font-size": "12", "text-anchor": "middle"], text: c.name)
            if let e = c.estimate {
                svg.element("text", ["x": .number(cx), "y": .number(top - 4), "font-size": "11", "text-anchor": "middle"],
                            text: "\(e.percent >= 0 ? "+" : "")\(pct(e.percent, 2))% [\(pct(e.low, 2))%, \(pct(e.high, 2))%]")
            }
            for (i, t) in s.samples.enumerated() {
                let dx = s.samples.count > 1 ? (Double(i) / Double(s.samples.count - 1) - 0.5) * band * 0.5 : 0
                svg.open("circle", ["class": "run", "cx": .number(cx + dx), "cy": .number(y(t)), "r": "4",
                                    "fill": .text(colour), "fill-opacity": "0.55"])
                svg.title("\(c.name), round \(i + 1): \(pct(t, 4)) s")
                svg.close()
            }
            svg.open("line", ["class": "mean", "x1": .number(cx - band * 0.32), "x2": .number(cx + band * 0.32),
                              "y1": .number(y(s.mean)), "y2": .number(y(s.mean)), "stroke": "#000", "stroke-width": "2.5"])
            svg.title("\(c.name) mean: \(pct(s.mean, 4)) s")
            svg.close()
            svg.open("g", ["class": "ci", "stroke": "#000", "stroke-width": "1.5"])
            svg.title("\(c.name) 95% CI of the mean: \(pct(s.meanLow, 4))–\(pct(s.meanHigh, 4)) s")
            svg.element("line", ["x1": .number(cx), "x2": .number(cx), "y1": .number(y(s.meanLow)), "y2": .number(y(s.meanHigh))])
            for end in [s.meanLow, s.meanHigh] {
                svg.element("line", ["x1": .number(cx - 8), "x2": .number(cx + 8), "y1": .number(y(end)), "y2": .number(y(end))])
            }
            svg.close()
            svg.close()
        }
        return svg.finish()
    }
}
