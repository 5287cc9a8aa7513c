import Profile
import SampleIO

/// The interactive HTML pages of `xprof export --format html`, `xprof diff --format html` and
/// `xprof scale --format html` (docs/ARCHITECTURE.md, "HTML pages").
///
/// Each page is one self-contained file: the ``CallTree`` as JSON in a `<script type="application/json">`,
/// the page's own script (``script``) and style (``style``) inline, and a Content-Security-Policy that allows
/// nothing from outside (no network, fonts or external scripts). The script builds every view from the call
/// tree of the classes the filters select, so the file holds counts per frame, never samples.
public enum HtmlPage {
    /// One recording: header figures, filters, top table, flame graph, callers/callees and source lines.
    /// - Complexity: O(nodes × runs) to write; the page's size grows with the distinct stacks.
    public static func profile(_ tree: CallTree, title: String) -> String {
        document(title: title, page: "profile", data: data(tree, page: "profile", scale: nil), body: profileBody(title: title, tree: tree, diff: false))
    }

    /// Two recordings (`runs[0]` the base, `runs[1]` the new one): a differential flame graph — the new
    /// profile's shape, each frame coloured by the change of its share — and the table of the largest changes.
    public static func diff(_ tree: CallTree, title: String) -> String {
        document(title: title, page: "diff", data: data(tree, page: "diff", scale: nil), body: profileBody(title: title, tree: tree, diff: true))
    }

    /// Recordings at several CPU counts (the tree's runs in the analysis's order): the scaling chart and table;
    /// a row picked there shows its function's flame graph (it and its callees) at every CPU count.
    public static func scale(_ tree: CallTree, analysis: ScalingAnalysis, chartRows: Int, title: String) -> String {
        var chart = ScalingChart.render(analysis, rows: chartRows)
        // Inline: without the XML declaration.
        if chart.hasPrefix("<?xml"), let end = chart.firstIndex(of: "\n") { chart = String(chart[chart.index(after: end)...]) }
        var body = "<h1>\(escape(title))</h1>\n"
        body += "<p class=\"sub\">\(escape(subtitle(tree)))</p>\n"
        body += figures
        body += "<h2>Share of samples per CPU count</h2>\n<p class=\"note\">Click a line, a legend entry or a table row for that function's flame graph at every CPU count.</p>\n"
        body += "<div id=\"chart\">\(chart)</div>\n"
        body += "<h2>Rows by growth</h2>\n<div class=\"scroll\" id=\"scale-table\"></div>\n<div id=\"focus\"></div>\n"
        return document(title: title, page: "scale", data: data(tree, page: "scale", scale: (analysis, 200)), body: body)
    }

    // MARK: - Pieces

    static let figures = """
        <div class="row"><div><h2>Runs</h2><div id="header-figures"></div></div>
        <div><h2>Domains</h2><div id="domain-figures"></div></div></div>

        """

    static func subtitle(_ tree: CallTree) -> String {
        guard let m = tree.runs.last?.metadata else { return "" }
        var parts: [String] = []
        if !m.sourceFormat.isEmpty { parts.append(m.sourceFormat) }
        if !m.command.isEmpty { parts.append("command: " + m.command.joined(separator: " ")) }
        if !m.hostname.isEmpty { parts.append("host " + m.hostname + (m.kernelRelease.isEmpty ? "" : " (" + m.kernelRelease + ")")) }
        if let f = tree.runs.last?.filterDescription, !f.isEmpty { parts.append("filters: " + f) }
        return parts.joined(separator: " · ")
    }

    static func profileBody(title: String, tree: CallTree, diff: Bool) -> String {
        var b = "<h1>\(escape(title))</h1>\n<p class=\"sub\">\(escape(subtitle(tree)))</p>\n" + figures
        b += """
            <div class="bar" id="filters"><label>Domain <select id="f-domain"></select></label>
            <label>Mode <select id="f-mode"></select></label>
            <label>Command <select id="f-comm"></select></label>
            <input id="search" type="search" placeholder="Search functions (regular expression)" autocomplete="off">
            <span id="matched"></span></div>

            """
        b += "<h2>\(diff ? "Largest changes (self share, percentage points)" : "Top functions")</h2>\n"
        b += "<p class=\"note\" id=\"top-note\"></p>\n<div class=\"scroll\" id=\"top\"></div>\n"
        b += "<h2>\(diff ? "Differential flame graph" : "Flame graph")</h2>\n"
        if diff {
            b += "<p class=\"note legend\">Shape and widths: the new profile. Colour: the change of each frame's share from the base"
                + "<span style=\"background:rgb(255,80,80)\"></span>grew<span style=\"background:rgb(80,80,255)\"></span>shrank"
                + "<span style=\"background:rgb(245,245,245)\"></span>unchanged. Click a frame to zoom.</p>\n"
        } else {
            b += "<p class=\"note legend\">Icicle: callers above callees, widths by event count. Click a frame to zoom."
            for (kind, name) in [(0, "host user"), (1, "host kernel"), (2, "hypervisor"), (3, "guest kernel"), (4, "guest user")] {
                b += "<span class=\"k\(kind)\"></span>\(name)"
            }
            b += "</p>\n"
        }
        b += """
            <div><button id="reset-zoom">Reset zoom</button> <span id="flame-total"></span></div>
            <div id="crumbs"></div><div id="hover"></div><div id="flame" class="flame"></div>
            <div id="details" hidden><h2 id="details-name"></h2>
            <div class="row"><div><h3>Callers</h3><div id="callers"></div></div><div><h3>Callees</h3><div id="callees"></div></div></div>
            <h3>Source lines (self samples)</h3><p class="note" id="lines-note"></p><div id="lines"></div></div>

            """
        return b
    }

    static func document(title: String, page: String, data: [UInt8], body: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="xprof">
            <title>\(escape(title))</title>
            <style>\(style)</style>
            </head>
            <body data-page="\(page)">

            """
        out += body
        out += "<script type=\"application/json\" id=\"xprof-data\">"
        out += String(decoding: data, as: UTF8.self)
        out += "</script>\n<script>\n" + script + "</script>\n</body></html>\n"
        return out
    }

    /// Text for HTML content and attribute values (the SVG writer's escaping serves HTML as well).
    static func escape(_ s: String) -> String { SVGWriter.escape(s) }

    // MARK: - Data

    /// The page's JSON (see docs/ARCHITECTURE.md for its fields).
    static func data(_ tree: CallTree, page: String, scale: (analysis: ScalingAnalysis, rows: Int)?) -> [UInt8] {
        var j = JSONText()
        let runCount = tree.runs.count
        j.raw("{\"page\":"); j.string(page)
        j.raw(",\"runs\":[")
        for (r, run) in tree.runs.enumerated() {
            if r > 0 { j.raw(",") }
            let m = run.metadata
            j.raw("{\"label\":"); j.string(run.label)
            j.raw(",\"source\":"); j.string(run.source)
            j.raw(",\"event\":"); j.string(run.event)
            j.raw(",\"command\":"); j.string(m.command.joined(separator: " "))
            j.raw(",\"format\":"); j.string(m.sourceFormat)
            j.raw(",\"duration\":"); j.number(m.duration)
            j.raw(",\"cpus\":"); j.number(UInt64(m.cpusUsed.isEmpty ? max(0, m.cpusOnline) : m.cpusUsed.count))
            j.raw(",\"inputSamples\":"); j.number(run.inputSamples)
            j.raw(",\"filter\":"); j.string(run.filterDescription)
            j.raw(",\"percentage\":")
            if let p = run.percentage { j.string(p.rawValue) } else { j.raw("null") }
            j.raw(",\"lost\":[")
            for (k, (d, n)) in run.lost.sorted(by: { $0.key < $1.key }).enumerated() {
                j.raw(k == 0 ? "[" : ",["); j.number(UInt64(d.rawValue)); j.raw(","); j.number(n); j.raw("]")
            }
            j.raw("],\"classes\":[")
            for c in tree.classes.indices {
                let t = c < run.classTotals.count ? run.classTotals[c] : CallTree.ClassTotals()
                if c > 0 { j.raw(",") }
                j.numbers([t.samples, t.period, t.resolved, t.excludedSamples, t.excludedPeriod])
            }
            j.raw("]}")
        }
        // Domains: the recordings' names and roles, and every domain a class has.
        var domains: [DomainID: (String, String)] = [:]
        for run in tree.runs {
            for d in run.metadata.domains where domains[d.id] == nil { domains[d.id] = (d.name, d.role.rawValue) }
        }
        for c in tree.classes where domains[c.domain] == nil {
            domains[c.domain] = c.domain == .hypervisor ? ("xen", "hypervisor") : c.domain == .host ? ("host", "coordinator") : ("domain\(c.domain)", "")
        }
        j.raw("],\"domains\":[")
        for (k, (d, v)) in domains.sorted(by: { $0.key < $1.key }).enumerated() {
            j.raw(k == 0 ? "[" : ",["); j.number(UInt64(d.rawValue)); j.raw(","); j.string(v.0); j.raw(","); j.string(v.1); j.raw("]")
        }
        // Functions as (image index, symbol); classes as (domain, mode, command index).
        var images: [String] = [], imageIndex: [String: Int] = [:]
        var comms: [String] = [], commIndex: [String: Int] = [:]
        func index(_ s: String, _ list: inout [String], _ map: inout [String: Int]) -> Int {
            if let i = map[s] { return i }
            list.append(s)
            map[s] = list.count - 1
            return list.count - 1
        }
        j.raw("],\"functions\":[")
        for (k, f) in tree.functions.enumerated() {
            if k > 0 { j.raw(",") }
            j.number(UInt64(index(f.image, &images, &imageIndex))); j.raw(","); j.string(f.symbol)
        }
        j.raw("],\"images\":"); j.strings(images)
        j.raw(",\"classes\":[")
        for (k, c) in tree.classes.enumerated() {
            if k > 0 { j.raw(",") }
            j.numbers([UInt64(c.domain.rawValue), UInt64(c.mode.rawValue), UInt64(index(c.comm, &comms, &commIndex))])
        }
        j.raw("],\"comms\":"); j.strings(comms)
        // Each class's nodes in depth-first order: depth (1 under the class), function, kind, then per run
        // the self samples and period.
        j.raw(",\"trees\":[")
        for (c, root) in tree.classRoot.enumerated() {
            j.raw(c == 0 ? "[" : ",[")
            var first = true
            var todo: [(Int32, Int)] = tree.children[Int(root)].reversed().map { ($0, 1) }
            while let (n, depth) = todo.popLast() {
                if !first { j.raw(",") }
                first = false
                j.number(UInt64(depth)); j.raw(","); j.number(UInt64(tree.function[Int(n)])); j.raw(",")
                j.number(UInt64(tree.kind[Int(n)].rawValue))
                for r in 0..<runCount {
                    let s = Int(n) < tree.selfSamples[r].count ? tree.selfSamples[r][Int(n)] : 0
                    let p = Int(n) < tree.selfPeriod[r].count ? tree.selfPeriod[r][Int(n)] : 0
                    j.raw(","); j.number(s); j.raw(","); j.number(p)
                }
                for child in tree.children[Int(n)].reversed() { todo.append((child, depth + 1)) }
            }
            j.raw("]")
        }
        j.raw("],\"lines\":[")
        var first = true
        let keys = tree.lineCounts.keys.sorted { ($0.sampleClass, $0.function, $0.line) < ($1.sampleClass, $1.function, $1.line) }
        for k in keys {
            guard let counts = tree.lineCounts[k] else { continue }
            if !first { j.raw(",") }
            first = false
            j.numbers([UInt64(k.sampleClass), UInt64(k.function), UInt64(k.line)])
            for r in 0..<runCount {
                j.raw(","); j.number(r < counts.count ? counts[r].samples : 0); j.raw(","); j.number(r < counts.count ? counts[r].period : 0)
            }
        }
        j.raw("],\"lineNames\":"); j.strings(tree.lineNames)
        j.raw(",\"lineText\":{")
        for (k, (line, text)) in tree.lineText.sorted(by: { $0.key < $1.key }).enumerated() {
            if k > 0 { j.raw(",") }
            j.string(String(line)); j.raw(":"); j.string(text)
        }
        j.raw("}")
        if let (a, count) = scale {
            j.raw(",\"scale\":{\"keys\":"); j.strings(a.keys.map(\.rawValue))
            j.raw(",\"runs\":["); j.raw(a.runs.map { String($0.cpus) }.joined(separator: ",")); j.raw("]")
            j.raw(",\"rows\":[")
            for (k, row) in a.rows.prefix(count).enumerated() {
                if k > 0 { j.raw(",") }
                j.raw("{\"values\":"); j.strings(row.values)
                j.raw(",\"percents\":["); j.raw(row.percents.map { ReportRenderer.pct($0, decimals: 4) }.joined(separator: ",")); j.raw("]")
                j.raw(",\"growth\":"); j.raw(row.growth.isFinite ? ReportRenderer.pct(row.growth, decimals: 4) : "null")
                j.raw(",\"monotonic\":"); j.raw(row.monotonic ? "true" : "false")
                j.raw(",\"grows\":"); j.raw(row.growsSignificantly ? "true" : "false"); j.raw("}")
            }
            j.raw("]}")
        }
        j.raw("}")
        return j.bytes
    }
}

/// JSON written straight into bytes (the page's data is mostly integers; no tree of values is built).
/// Strings escape `<` as well, so that the text cannot end the `<script>` element that holds it.
struct JSONText {
    var bytes: [UInt8] = []

    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func number(_ v: UInt64) { bytes.append(contentsOf: String(v).utf8) }

    mutating func numbers(_ vs: [UInt64]) {
        for (k, v) in vs.enumerated() {
            if k > 0 { bytes.append(0x2C) }
            number(v)
        }
    }

    mutating func string(_ s: String) {
        bytes.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x3C: bytes.append(contentsOf: "\\u003c".utf8)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: "\\u00".utf8)
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }

    mutating func strings(_ list: [String]) {
        bytes.append(0x5B)
        for (k, s) in list.enumerated() {
            if k > 0 { bytes.append(0x2C) }
            string(s)
        }
        bytes.append(0x5D)
    }
}
