import Profile
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SampleIO

/// Renders what `xprof info` shows: metadata, domain table, counts per domain and mode, lost, dropped,
/// unknown and unresolved samples, symbol sources.
public enum InfoRenderer {
    /// `info`'s text, or with `json` one object (`xprof.info/1`), from a report of the input.
    public static func render(_ r: Report, json: Bool) -> String {
        json ? renderJSON(r) : renderText(r)
    }

    static func renderText(_ r: Report) -> String {
        let m = r.metadata
        var out = ""
        // Keys and values, aligned on the longest key when all are known (a recording's extra keys can be long).
        var lines: [(String, String)] = []
        func line(_ k: String, _ v: String) { lines.append((k, v)) }
        line("file", r.source)
        line("format", m.sourceFormat)
        if let s = m.extra["synthetic"] { line("SYNTHETIC", s) }
        if !m.hostname.isEmpty { line("host", m.hostname) }
        if !m.kernelRelease.isEmpty { line("kernel", m.kernelRelease) }
        if !m.architecture.isEmpty { line("architecture", m.architecture) }
        if m.cpusOnline > 0 { line("cpus online", String(m.cpusOnline)) }
        if !m.cpusUsed.isEmpty { line("cpus used", ReportRenderer.cpuList(m.cpusUsed)) }
        if !m.cpuAffinity.isEmpty { line("cpu affinity", ReportRenderer.cpuList(m.cpuAffinity)) }
        for (i, e) in m.events.enumerated() {
            // Per event, what perf report heads its section with: samples and event count.
            let t = i < r.eventTotals.count ? r.eventTotals[i] : EventTotal(name: e.name, samples: 0, period: 0)
            line("event", ReportRenderer.eventDescription(e) + ": \(t.samples) samples, event count \(t.period)")
        }
        if !m.command.isEmpty { line("command", m.command.joined(separator: " ")) }
        if m.startTime > 0 {
            let d = Date(timeIntervalSince1970: Double(m.startTime) / 1e9)
            line("start", d.formatted(.iso8601))
        }
        if m.duration > 0 { line("duration", ReportRenderer.seconds(m.duration)) }
        for (k, v) in m.extra.sorted(by: { $0.key < $1.key }) where k != "synthetic" { line(k, v) }
        line("samples", String(r.totalSamples))
        line("event count", String(r.totalPeriod))
        line("lost samples", String(r.stats.totalLost))
        let unresolved = r.domains.reduce(0) { $0 + ($1.samples - $1.resolved) }
        line("unresolved", "\(unresolved) samples without a function")
        line("dropped records", String(r.stats.totalDropped) + (r.stats.droppedRecords.isEmpty ? "" : " (" + r.stats.droppedRecords.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
        if !r.stats.unknownRecords.isEmpty {
            line("unknown records", r.stats.unknownRecords.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        }
        if let c = r.samplesWithCallchains, r.inputSamples > 0 {
            var text = "none (recorded without -g: --children and --call-graph have nothing to draw)"
            if c > 0 {
                let share = Double(c) * 100 / Double(max(r.inputSamples, 1))
                text = "\(c) of \(r.inputSamples) samples" + (c == r.inputSamples ? "" : " (\((share * 10).rounded() / 10) %)")
            }
            line("callchains", text)
        }
        let width = max(18, (lines.map(\.0.count).max() ?? 0) + 2)
        for (k, v) in lines { out += k + String(repeating: " ", count: width - k.count) + v + "\n" }
        out += "\ndomains:\n"
        out += "  id      name              role         vcpus    samples      user    kernel  hypervisor  resolved      lost\n"
        var ids = Set(r.domains.map(\.domain))
        for d in m.domains { ids.insert(d.id) }
        for id in ids.sorted() {
            let info = m.domain(id)
            let s = r.domains.first { $0.domain == id }
            func col(_ v: String, _ w: Int, right: Bool = true) -> String {
                right ? String(repeating: " ", count: max(0, w - v.count)) + v : v + String(repeating: " ", count: max(0, w - v.count))
            }
            out += "  " + col(id.description, 6, right: false) + "  " + col(info?.name ?? s?.name ?? "", 16, right: false)
            out += "  " + col((info?.role ?? s?.role ?? .passive).rawValue, 11, right: false)
            out += "  " + col(String(info?.vcpus ?? 0), 5)
            out += "  " + col(String(s?.samples ?? 0), 9)
            out += "  " + col(String(s?.byMode[.user] ?? 0), 8) + "  " + col(String(s?.byMode[.kernel] ?? 0), 8)
            out += "  " + col(String(s?.byMode[.hypervisor] ?? 0), 10)
            out += "  " + col(ReportRenderer.pct(s?.resolvedPercent ?? 100, decimals: 1) + "%", 8)
            out += "  " + col(String(s?.lost ?? 0), 8) + "\n"
        }
        if !m.symbolHints.isEmpty {
            out += "\nsymbol sources:\n"
            for h in m.symbolHints {
                out += "  domain \(h.domain) \(h.kind.rawValue): \(h.path)" + (h.buildID.isEmpty ? "" : " build-id \(h.buildID)") + "\n"
            }
        }
        if !r.imagesWithHits.isEmpty {
            out += "\nimages with samples (build-id, path):\n"
            for (p, id) in r.imagesWithHits { out += "  " + (id.isEmpty ? String(repeating: " ", count: 40) : id) + " " + p + "\n" }
        }
        if !m.kernelSymbols.isEmpty {
            for k in m.kernelSymbols {
                let n = k.text.split(separator: "\n").count
                out += "  domain \(k.domain) kernel symbols recorded: \(n) functions\n"
            }
        }
        let notes = r.symbolWarnings + r.stats.warnings + r.stats.skipped
        if !notes.isEmpty {
            out += "\nwarnings:\n"
            for n in notes { out += "  " + n + "\n" }
        }
        return out
    }

    static func renderJSON(_ r: Report) -> String {
        let o: [String: JSONValue] = [
            "schema": "xprof.info/1",
            "source": .of(r.source),
            "metadata": ReportRenderer.metadataObject(r.metadata),
            "total_samples": .of(r.totalSamples),
            "total_period": .of(r.totalPeriod),
            "events": .array(r.eventTotals.enumerated().map { i, t in
                var e: [String: JSONValue] = ["name": .of(t.name), "samples": .of(t.samples), "period": .of(t.period)]
                // How the event was sampled, where the input says: samples a second, or events a sample.
                if i < r.metadata.events.count {
                    if let f = r.metadata.events[i].frequency { e["frequency"] = .of(f) }
                    if let p = r.metadata.events[i].period { e["sample_period"] = .of(p) }
                }
                return .object(e)
            }),
            "lost_samples": .of(r.stats.totalLost),
            "samples_with_callchains": r.samplesWithCallchains.map { .of($0) } ?? .null,
            "dropped_records": .of(r.stats.droppedRecords),
            "unknown_records": .of(r.stats.unknownRecords),
            "unresolved_samples": .of(r.domains.reduce(0) { $0 + ($1.samples - $1.resolved) }),
            "warnings": .of(r.symbolWarnings + r.stats.warnings),
            "skipped": .of(r.stats.skipped),
            "build_ids": .array(r.imagesWithHits.map { .object(["path": .of($0.path), "build_id": .of($0.buildID)]) }),
            "domains": ReportRenderer.domainObjects(r),
        ]
        return JSONValue.object(o).rendered()
    }
}
