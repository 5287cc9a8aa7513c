import Profile
#if canImport(Glibc)
import Glibc
#endif
/// `xprof scale --svg`: the top rows of a ``ScalingAnalysis`` as an SVG line chart.
///
/// x is the CPU count of each run (a tick at each count; a log2 axis when the counts span a factor of 4 or more,
/// as 1, 2, 4 … 64 do, so the small counts are not squeezed together; else linear), y a row's share of that run's
/// samples in percent, one polyline per row in the order `scale` ranks them, with a legend. Rows whose share
/// grows at every CPU step (the table's ↑) are drawn thick, with triangles, and marked ↑ in the legend.
public enum ScalingChart {
    // Geometry (pixels).
    static let minimumWidth = 960.0, height = 520.0
    /// Width of a legend character at 12 px (generous: the legend must never cut a name).
    static let legendCharacter = 7.4
    static let left = 70.0, right = 620.0, top = 70.0, bottom = 450.0
    /// Space between the plot's edges and the first and last CPU count.
    static let inset = 24.0
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    /// The chart of the first `rows` rows of `s` (all of them when fewer).
    public static func render(_ s: ScalingAnalysis, rows count: Int) -> String {
        let rows = Array(s.rows.prefix(max(0, count)))
        let cpus = s.runs.map { Double($0.cpus) }
        let lo = cpus.min() ?? 0, hi = cpus.max() ?? 0
        let logarithmic = lo >= 1 && hi / lo >= 4
        let scaled: (Double) -> Double = logarithmic ? { log2($0) } : { $0 }
        func x(_ c: Double) -> Double {
            let a = scaled(lo), b = scaled(hi)
            return b > a ? left + inset + (scaled(c) - a) / (b - a) * (right - left - 2 * inset) : (left + right) / 2
        }
        let highest = rows.flatMap(\.percents).max() ?? 0
        let (step, yTop) = ChartScale.ticks(upTo: highest)
        func y(_ p: Double) -> Double { bottom - p / yTop * (bottom - top) }

        // Wide enough for the longest legend entry in full (names are never cut: `scale`'s rows are often
        // long C++ or image-qualified names, and a cut one cannot be told from its neighbour).
        let longest = rows.map { ($0.growsSignificantly ? 2 : 0) + $0.values.joined(separator: " ").count }.max() ?? 0
        let width = max(minimumWidth, right + 62 + Double(longest) * legendCharacter + 16)
        var svg = SVGWriter(width: width, height: height)
        svg.element("text", ["x": .number(width / 2), "y": "24", "font-size": "17", "text-anchor": "middle"],
                    text: "xprof scale: share of samples per CPU count (top \(rows.count) row\(rows.count == 1 ? "" : "s") by growth)")
        svg.element("text", ["x": .number(width / 2), "y": "44", "font-size": "12", "fill": "#555", "text-anchor": "middle"],
                    text: "sorted by \(s.keys.map(\.rawValue).joined(separator: ",")); thick lines with triangles (↑): shares that grow at every CPU step")

        // Axes, grid and ticks.
        ChartScale.drawYTicks(&svg, step: step, top: yTop, left: left, right: right, y: y) { v in SVGWriter.number(v, decimals: 4) + "%" }
        for c in Set(cpus).sorted() {
            svg.open("g", ["class": "xtick"])
            svg.element("line", ["x1": .number(x(c)), "x2": .number(x(c)), "y1": .number(bottom), "y2": .number(bottom + 5), "stroke": "#000"])
            svg.element("text", ["x": .number(x(c)), "y": .number(bottom + 18), "font-size": "11", "text-anchor": "middle"],
                        text: SVGWriter.number(c, decimals: 0))
            svg.close()
        }
        svg.element("line", ["x1": .number(left), "x2": .number(left), "y1": .number(top), "y2": .number(bottom), "stroke": "#000"])
        svg.element("text", ["x": .number((left + right) / 2), "y": .number(bottom + 40), "font-size": "12", "text-anchor": "middle",
                             "class": .text(logarithmic ? "xlabel log2" : "xlabel")],
                    text: logarithmic ? "CPUs (log scale)" : "CPUs")
        svg.element("text", ["x": "18", "y": .number((top + bottom) / 2), "font-size": "12", "text-anchor": "middle",
                             "transform": .text("rotate(-90 18 \(SVGWriter.number((top + bottom) / 2)))")], text: "share of samples (%)")

        // One line per row, then its legend entry.
        for (k, r) in rows.enumerated() {
            let colour = palette[k % palette.count]
            let growing = r.growsSignificantly
            let name = r.values.joined(separator: " ")
            let points = zip(cpus, r.percents).map { (x($0), y($1)) }
            var tip = name + ": " + zip(s.runs, r.percents).map { "\(ReportRenderer.pct($1))% at \($0.cpus) CPU\($0.cpus == 1 ? "" : "s")" }
                .joined(separator: ", ")
            tip += "; growth " + (r.growth.isInfinite ? "new" : ReportRenderer.pct(r.growth) + "x") + (growing ? ", grows at every step" : "")
            svg.open("g", ["class": .text(growing ? "row growing" : "row")])
            svg.title(tip)
            svg.element("polyline", ["class": "share",
                                     "points": .text(points.map { SVGWriter.number($0.0) + "," + SVGWriter.number($0.1) }.joined(separator: " ")),
                                     "fill": "none", "stroke": .text(colour), "stroke-width": growing ? "3.5" : "1.5",
                                     "stroke-dasharray": k < palette.count ? "none" : "6 3"])
            for (i, p) in points.enumerated() {
                marker(&svg, at: p, growing: growing, colour: colour,
                       title: "\(name): \(ReportRenderer.pct(r.percents[i]))% at \(s.runs[i].cpus) CPU\(s.runs[i].cpus == 1 ? "" : "s")")
            }
            svg.close()

            let ly = top + 8 + Double(k) * 20
            svg.open("g", ["class": "legend"])
            svg.title(tip)
            svg.element("line", ["x1": .number(right + 24), "x2": .number(right + 54), "y1": .number(ly), "y2": .number(ly),
                                 "stroke": .text(colour), "stroke-width": growing ? "3.5" : "1.5"])
            marker(&svg, at: (right + 39, ly), growing: growing, colour: colour, title: nil)
            let label = (growing ? "↑ " : "") + name
            svg.element("text", ["x": .number(right + 62), "y": .number(ly + 4), "font-size": "12", "font-weight": growing ? "bold" : "normal"],
                        text: label)
            svg.close()
        }
        return svg.finish()
    }

    /// A circle, or for growing rows an upward triangle, centred on `p`.
    private static func marker(_ svg: inout SVGWriter, at p: (Double, Double), growing: Bool, colour: String, title: String?) {
        let n = SVGWriter.number
        if growing {
            let d = "M\(n(p.0, 2)),\(n(p.1 - 6, 2)) L\(n(p.0 + 5.5, 2)),\(n(p.1 + 4, 2)) L\(n(p.0 - 5.5, 2)),\(n(p.1 + 4, 2)) Z"
            svg.open("path", ["class": "point", "d": .text(d), "fill": .text(colour)])
        } else {
            svg.open("circle", ["class": "point", "cx": .number(p.0), "cy": .number(p.1), "r": "3.5", "fill": .text(colour)])
        }
        if let title { svg.title(title) }
        svg.close()
    }
}
