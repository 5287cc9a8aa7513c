import Profile
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SampleIO
import Dispatch

/// Output formats of `xprof report`.
public enum ReportFormat: String, Sendable, CaseIterable {
    case table, csv, json
}

/// Renders a ``Report`` as an aligned table, CSV or JSON.
public enum ReportRenderer {
    /// One report in `format`: ``table(_:)``, ``csv(_:)`` or ``json(_:)``.
    public static func render(_ r: Report, as format: ReportFormat) -> String {
        switch format {
        case .table: table(r)
        case .csv: csv(r)
        case .json: json(r)
        }
    }

    /// Renders the per-event reports of one recording (``ReportBuilder/buildPerEvent(source:path:options:)``):
    /// a single one as ``render(_:as:)`` does; several as perf report does, a section per event — tables one
    /// after the other (the recording's description only once), CSV rows with an `event` column first, JSON
    /// as an `xprof.report-events/1` object holding each event's report.
    public static func render(_ reports: [Report], as format: ReportFormat) -> String {
        guard reports.count > 1 else { return reports.first.map { render($0, as: format) } ?? "" }
        switch format {
        case .table:
            return reports.enumerated().map { i, r in table(r, recordingHeader: i == 0) }.joined(separator: "\n")
        case .csv:
            var out = ""
            for (i, r) in reports.enumerated() {
                for (j, line) in csv(r).split(separator: "\n").enumerated() where i == 0 || j > 0 {
                    out += (j == 0 ? "event" : CSV.field(r.event ?? "")) + "," + line + "\n"
                }
            }
            return out
        case .json:
            let o: [String: JSONValue] = [
                "schema": "xprof.report-events/1",
                "source": .of(reports[0].source),
                "reports": .array(reports.enumerated().map { jsonObject($1, section: $0) }),
            ]
            return fillCallGraphs(JSONValue.object(o).rendered(), reports)
        }
    }

    /// Percent with two decimals, e.g. `12.34`.
    public static func pct(_ v: Double, decimals: Int = 2) -> String {
        let scale = pow10(decimals)
        let r = (v * scale).rounded() / scale
        var s = String(r)
        if let dot = s.firstIndex(of: ".") {
            let have = s.distance(from: dot, to: s.endIndex) - 1
            if have < decimals { s += String(repeating: "0", count: decimals - have) }
        } else {
            s += "." + String(repeating: "0", count: decimals)
        }
        return s
    }

    private static func pow10(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<n { v *= 10 }
        return v
    }

    static func seconds(_ ns: UInt64) -> String { pct(Double(ns) / 1e9) + " s" }

    /// The header lines (without `# `) shared by table output and `xprof info`.
    public static func headerLines(_ r: Report) -> [String] {
        let m = r.metadata
        var lines: [String] = []
        lines.append("xprof report of \(r.source) (\(m.sourceFormat.isEmpty ? "unknown format" : m.sourceFormat))")
        if m.extra["synthetic"] != nil {
            lines.append("SYNTHETIC DATA: \(m.extra["synthetic"]!)")
        }
        var host: [String] = []
        if !m.hostname.isEmpty { host.append("host \(m.hostname)") }
        if !m.kernelRelease.isEmpty { host.append("kernel \(m.kernelRelease)") }
        if !m.architecture.isEmpty { host.append(m.architecture) }
        if let xv = m.extra["xen_version"] { host.append("Xen \(xv)") }
        if !host.isEmpty { lines.append(host.joined(separator: ", ")) }
        let events = m.events.map(eventDescription)
        var run: [String] = []
        if !events.isEmpty { run.append("event: " + events.joined(separator: ", ")) }
        if m.cpusOnline > 0 || !m.cpusUsed.isEmpty {
            run.append("CPUs: \(m.cpusOnline) online" + (m.cpusUsed.isEmpty ? "" : ", used \(cpuList(m.cpusUsed))")
                       + (m.cpuAffinity.isEmpty ? "" : ", command's affinity \(cpuList(m.cpuAffinity))"))
        }
        if m.duration > 0 { run.append("duration \(seconds(m.duration))") }
        if !run.isEmpty { lines.append(run.joined(separator: "; ")) }
        if !m.command.isEmpty { lines.append("command: " + m.command.joined(separator: " ")) }
        let lost = r.stats.totalLost
        // In a recording of several events, the counts of one event's report say which.
        var counts = (m.events.count > 1 ? r.event.map { "event \($0): " } ?? "" : "") + "samples: \(r.totalSamples)"
        if !r.filterDescription.isEmpty { counts += " of \(r.inputSamples) (only \(r.filterDescription))" }
        counts += ", event count (period) \(r.totalPeriod); lost samples: \(lost)"
        if r.stats.totalDropped > 0 { counts += "; dropped records: \(r.stats.totalDropped)" }
        if r.groupEvents.isEmpty {
            lines.append(counts)
        } else {
            // perf's --group: each column is a share of its own event's total.
            let each = r.groupEvents.map { "\($0.name) \($0.samples) samples, event count \($0.period)" }.joined(separator: "; ")
            lines.append("group of events (each column a share of its event's total): " + each + "; lost samples: \(lost)"
                         + (r.filterDescription.isEmpty ? "" : " (only \(r.filterDescription))"))
        }
        if let f = r.sampleFilter {
            // As perf's header: the counts above are the 100 % — all samples (absolute) or the kept (relative).
            lines.append(f.percentage == .absolute
                ? "filter: only \(f.description): kept \(f.keptSamples) samples, event count \(f.keptPeriod); percentages of all samples (--percentage absolute)"
                : "filter: only \(f.description): kept \(f.keptSamples) of \(f.allSamples) samples, event count \(f.keptPeriod) of \(f.allPeriod); percentages of the kept samples (--percentage relative)")
        }
        let resolved = r.domains.filter { $0.samples > 0 }.map { "\($0.name) (\($0.domain)) \(pct($0.resolvedPercent, decimals: 1))%" }
        if !resolved.isEmpty { lines.append("resolved: " + resolved.joined(separator: ", ")) }
        let lostBy = r.domains.filter { $0.lost > 0 }.map { "\($0.name) \($0.lost)" }
        if !lostBy.isEmpty { lines.append("lost by domain: " + lostBy.joined(separator: ", ")) }
        return lines
    }

    /// An event as the header names it: with its sampling rate or period (none for the members of a
    /// leader-sampled group, whose period is 0).
    static func eventDescription(_ e: EventInfo) -> String {
        if let f = e.frequency { return "\(e.name) at \(f) Hz" }
        if let p = e.period, p > 0 { return "\(e.name) every \(p) events" }
        return e.name
    }

    static func cpuList(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let c = cpus.sorted()
        while i < c.count {
            var j = i
            while j + 1 < c.count, c[j + 1] == c[j] + 1 { j += 1 }
            parts.append(j > i ? "\(c[i])-\(c[j])" : "\(c[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `recordingHeader`: whether to describe the recording (file, host, events, command) before the counts;
    /// false for the second and later sections of a per-event report.
    public static func table(_ r: Report, recordingHeader: Bool = true) -> String {
        var out = ""
        var lines = headerLines(r)
        if !recordingHeader, let counts = lines.firstIndex(where: { $0.hasPrefix("event \(r.event ?? "")") }) {
            lines.removeFirst(counts)
        }
        for l in lines { out += "# " + l + "\n" }
        for w in r.symbolWarnings { out += "# warning: " + w + "\n" }
        for w in r.stats.warnings { out += "# warning: " + w + "\n" }
        for s in r.stats.skipped { out += "# skipped: " + s + "\n" }
        if let cg = r.callGraph { out += "# " + callGraphHeading(cg, children: r.children) + "\n" }
        out += "#\n"
        let grouped = !r.groupEvents.isEmpty
        let heads = grouped ? r.groupEvents.map(\.name) + ["Samples"] + r.keys.map(\.title)
            : (r.children ? ["Children", "Self"] : ["Overhead"]) + ["Samples"] + r.keys.map(\.title)
        let numeric = grouped ? r.groupEvents.count + 1 : r.children ? 3 : 2
        // What follows the rows: rows left out by the limits, or that there are none.
        func footer() -> String {
            var out = ""
            if r.rowsOmitted > 0 {
                let p = r.totalPeriod == 0 ? 0 : Double(r.omittedPeriod) * 100 / Double(r.totalPeriod)
                let first = pct(p) + "%"
                out += "  " + String(repeating: " ", count: max(0, firstColumnWidth(r, heads: heads) - first.count)) + first
                out += "  (\(r.rowsOmitted) more rows below the limits)\n"
            }
            if r.rows.isEmpty { out += "  (no samples)\n" }
            return out
        }
        // (The rows written into the one string returned: a whole system's table is 125 MB.)
        if !grouped { return rowLines(r, heads: heads, numeric: numeric, prefix: out, suffix: footer()) }
        do {
        // A whole system's report has a million rows (--children names every caller): each row's cells are made
        // once and written straight into `out`, with the columns' character counts measured once.
        let columns = heads.count
        func cells(_ row: ReportRow) -> [String] {
            if grouped { return row.groupPercents.map { pct($0) + "%" } + [String(row.samples)] + row.values }
            return (r.children ? [pct(row.childrenPercent) + "%"] : []) + [pct(row.percent) + "%", String(row.samples)] + row.values
        }
        var widths = heads.map(\.count)
        var rowCells: [String] = []
        rowCells.reserveCapacity(r.rows.count * columns)
        var counts: [Int32] = []
        counts.reserveCapacity(r.rows.count * columns)
        for row in r.rows {
            let c = cells(row)
            for i in 0..<columns {
                let text = i < c.count ? c[i] : ""
                let n = text.utf8.count == 0 ? 0 : text.count
                widths[i] = max(widths[i], n)
                rowCells.append(text)
                counts.append(Int32(n))
            }
        }
        let blanks = String(repeating: " ", count: 256)
        func pad(_ n: Int) {
            var left = n
            while left > 0 {
                let k = min(left, 256)
                out.append(contentsOf: blanks.prefix(k))
                left -= k
            }
        }
        // The last column is not padded (its spaces would be trimmed again); trailing spaces are trimmed.
        func line(_ cols: ArraySlice<String>, counts: ArraySlice<Int32>?, prefix: String) {
            let start = out.utf8.count
            out += prefix
            for i in 0..<cols.count {
                let c = cols[cols.startIndex + i]
                let n = counts.map { Int($0[$0.startIndex + i]) } ?? c.count
                if i > 0 { out += "  " }
                if i < numeric {
                    pad(widths[i] - n)
                    out += c
                } else {
                    out += c
                    if i < cols.count - 1 { pad(widths[i] - n) }
                }
            }
            var spaces = 0
            for b in out.utf8.reversed() {
                if b != UInt8(ascii: " ") { break }
                spaces += 1
            }
            if spaces > 0, out.utf8.count - spaces >= start {
                out.removeLast(spaces)
            }
            out += "\n"
        }
        out.reserveCapacity(out.utf8.count + r.rows.count * (widths.prefix(columns - 1).reduce(2 * columns, +) + 24))
        line(heads[...], counts: nil, prefix: "# ")
        line(widths.map { String(repeating: ".", count: $0) }[...], counts: nil, prefix: "# ")
        for (i, row) in r.rows.enumerated() {
            line(rowCells[(i * columns)..<((i + 1) * columns)], counts: counts[(i * columns)..<((i + 1) * columns)], prefix: "  ")
            if let g = row.callGraph { out += callGraphText(g) }
        }
        }
        return out + footer()
    }

    /// A header line of column names, then one line per row: `children` (with `--children`), `overhead` (the
    /// row's percent, 4 decimals) and `samples`, then the sort keys' values (quoted where they hold `,`, `"` or a
    /// newline). With `--group`: `overhead:EVENT` and `samples:EVENT` per event instead. No metadata, no totals.
    public static func csv(_ r: Report) -> String {
        if !r.groupEvents.isEmpty {
            // --group: a share and a sample count per event (named in the header), then the keys.
            let names = r.groupEvents.map(\.name)
            var out = (names.map { "overhead:" + $0 } + names.map { "samples:" + $0 } + r.keys.map(\.rawValue))
                .map(CSV.field).joined(separator: ",") + "\n"
            for row in r.rows {
                out += (row.groupPercents.map { pct($0, decimals: 4) } + row.groupSamples.map { String($0) } + row.values.map(CSV.field))
                    .joined(separator: ",") + "\n"
            }
            return out
        }
        var out = ((r.children ? ["children"] : []) + ["overhead", "samples"] + r.keys.map(\.rawValue)).joined(separator: ",") + "\n"
        for row in r.rows {
            out += ((r.children ? [pct(row.childrenPercent, decimals: 4)] : []) + [pct(row.percent, decimals: 4), String(row.samples)]
                    + row.values.map(CSV.field)).joined(separator: ",") + "\n"
        }
        return out
    }

    /// The metadata as JSON.
    static func metadataObject(_ m: RunMetadata) -> JSONValue {
        var o: [String: JSONValue] = [
            "source_format": .of(m.sourceFormat), "hostname": .of(m.hostname), "kernel_release": .of(m.kernelRelease),
            "architecture": .of(m.architecture), "cpus_online": .of(m.cpusOnline), "cpus_used": .of(m.cpusUsed), "cpu_affinity": .of(m.cpuAffinity),
            "command": .of(m.command), "start_time_ns": .of(m.startTime), "duration_ns": .of(m.duration),
        ]
        o["events"] = .array(m.events.map { e in
            var d: [String: JSONValue] = ["name": .of(e.name)]
            if let f = e.frequency { d["frequency"] = .of(f) }
            if let p = e.period { d["period"] = .of(p) }
            return .object(d)
        })
        o["domains"] = .array(m.domains.map {
            .object(["id": .of($0.id.rawValue), "name": .of($0.name), "role": .of($0.role.rawValue), "vcpus": .of($0.vcpus)])
        })
        o["extra"] = .of(m.extra)
        return .object(o)
    }

    static func domainObjects(_ r: Report) -> JSONValue {
        .array(r.domains.map { d in
            var modes: [String: JSONValue] = [:]
            for (m, n) in d.byMode { modes[m.description] = .of(n) }
            return .object(["id": .of(d.domain.rawValue), "name": .of(d.name), "role": .of(d.role.rawValue),
                            "samples": .of(d.samples), "period": .of(d.period), "resolved_samples": .of(d.resolved),
                            "lost_samples": .of(d.lost), "modes": .object(modes)])
        })
    }

    /// One `xprof.report/1` object: the source, totals, lost and dropped counts, metadata, warnings, domains,
    /// the sample filter, and every row with its percent, samples, period and, when built, call graph.
    public static func json(_ r: Report) -> String {
        fillCallGraphs(jsonObject(r, section: 0).rendered(), [r])
    }

    /// The report as a JSON value; call graphs as stand-ins (``callGraphToken(section:row:)``) that
    /// ``fillCallGraphs(_:_:)`` replaces once encoded.
    static func jsonObject(_ r: Report, section: Int) -> JSONValue {
        var o: [String: JSONValue] = [
            "schema": "xprof.report/1",
            "source": .of(r.source),
            "total_samples": .of(r.totalSamples),
            "total_period": .of(r.totalPeriod),
            "input_samples": .of(r.inputSamples),
            "lost_samples": .of(r.stats.totalLost),
            "dropped_records": .of(r.stats.totalDropped),
            "sort": .of(r.keys.map(\.rawValue)),
            "metadata": metadataObject(r.metadata),
            "warnings": .of(r.symbolWarnings + r.stats.warnings),
            "rows_omitted": .of(r.rowsOmitted),
            "domains": domainObjects(r),
        ]
        if let f = r.sampleFilter {
            o["sample_filter"] = .object(["filter": .of(f.description), "percentage": .of(f.percentage.rawValue),
                                          "kept_samples": .of(f.keptSamples), "kept_period": .of(f.keptPeriod),
                                          "all_samples": .of(f.allSamples), "all_period": .of(f.allPeriod)])
        }
        o["rows"] = .array(r.rows.enumerated().map { i, row in
            var d: [String: JSONValue] = ["overhead": .of(row.percent), "samples": .of(row.samples), "period": .of(row.period)]
            if r.children { d["children"] = .of(row.childrenPercent); d["children_period"] = .of(row.childrenPeriod) }
            for (k, v) in zip(r.keys, row.values) { d[k.rawValue] = k == .pid || k == .cpu ? (Int(v).map { .of($0) } ?? .of(v)) : .of(v) }
            if row.callGraph != nil { d["call_graph"] = .of(callGraphToken(section: section, row: i)) }
            if !r.groupEvents.isEmpty {
                d["events"] = .array(r.groupEvents.indices.map { e in
                    .object(["event": .of(r.groupEvents[e].name), "overhead": .of(row.groupPercents[e]),
                             "samples": .of(row.groupSamples[e]), "period": .of(row.groupPeriods[e])])
                })
            }
            return .object(d)
        })
        if let e = r.event { o["event"] = .of(e) }
        if !r.groupEvents.isEmpty {
            o["group"] = .array(r.groupEvents.map { .object(["event": .of($0.name), "samples": .of($0.samples), "period": .of($0.period)]) })
        }
        if let cg = r.callGraph {
            o["call_graph_settings"] = .object(["order": .of(cg.order.rawValue), "limit": .of(cg.limit), "percent_of": "total"])
        }
        return .object(o)
    }
}
