import Foundation
import Testing

/// A leader-sampled group recorded here (`perf record -e '{cpu-clock,page-faults,context-switches}:S' -g`
/// on the bundled `mixed` workload): every record carries the three counters' values (PERF_SAMPLE_READ,
/// read_format GROUP|ID|LOST), and perf makes a sample of each counter that moved since its previous value.
/// xprof must count the same samples and event counts per event, and its per-event report sections must
/// match perf report's.
@Suite(.serialized) struct PerfGroupReadAgreementTests {
    static let events = ["cpu-clock", "page-faults", "context-switches"]

    /// One section of `perf report --stdio --no-group`: its header's sample count ("1K" kept as text) and
    /// event count, and its rows (percent, comm, dso).
    struct Section {
        var samples = ""
        var period = -1
        var rows: [(Double, String, String)] = []
    }

    static func record() throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return nil
        }
        let file = try XprofRunner.temporaryDirectory().appendingPathComponent("group.data").path
        let r = try XprofRunner.perfRecord(["-e", "{" + events.joined(separator: ",") + "}:S", "-F", "1999", "-g", "-o", file,
                                            "--", XprofRunner.workload, "mixed", "1.5"])
        #expect(r.status == 0, "perf record failed: \(r.stderr)")
        return r.status == 0 ? file : nil
    }

    /// `perf report --stdio --no-group --no-children --sort comm,dso -g none`, section by section.
    static func perfSections(_ file: String) throws -> [String: Section] {
        let r = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-group", "--no-children",
                                                      "--sort", "comm,dso", "-g", "none"])
        var out: [String: Section] = [:]
        var current: String?
        for line in r.stdout.split(separator: "\n") {
            if line.hasPrefix("# Samples:") {
                // "# Samples: 1K of events 'cpu-clock'" (events: a leader with members), "# Samples: 5  of event 'page-faults'"
                guard let q1 = line.firstIndex(of: "'"), let q2 = line.lastIndex(of: "'"), q1 < q2 else { continue }
                let name = String(line[line.index(after: q1)..<q2])
                current = name
                out[name, default: Section()].samples = String(line.dropFirst("# Samples:".count).split(separator: " ")[0])
            } else if line.hasPrefix("# Event count (approx.):"), let c = current {
                out[c]?.period = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? -1
            } else if !line.hasPrefix("#"), let c = current {
                let cols = line.split(separator: "  ", omittingEmptySubsequences: true)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard cols.count == 3, cols[0].hasSuffix("%"), let pct = Double(cols[0].dropLast()) else { continue }
                out[c]?.rows.append((pct, cols[1], cols[2]))
            }
        }
        return out
    }

    /// `perf script -F event,period`: samples and summed periods per event (exact, unlike the report's "1K").
    static func perfScriptTotals(_ file: String) throws -> [String: (samples: Int, period: Int)] {
        let r = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "event,period", "-G"])
        var out: [String: (samples: Int, period: Int)] = [:]
        for line in r.stdout.split(separator: "\n") {
            // "    1000542 cpu-clock: "
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count == 2, let p = Int(f[0]), f[1].hasSuffix(":") else { continue }
            let name = String(f[1].dropLast())
            out[name, default: (0, 0)].samples += 1
            out[name, default: (0, 0)].period += p
        }
        return out
    }

    @Test func perEventSamplesAndEventCountsMatchPerf() throws {
        let file = try XprofRunner.orSkip(try Self.record(), "the perf recording")
        let script = try Self.perfScriptTotals(file)
        let sections = try Self.perfSections(file)
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        #expect(info.status == 0, "\(info.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        var got: [String: (samples: Int, period: Int)] = [:]
        for e in obj["events"] as? [[String: Any]] ?? [] {
            got[e["name"] as? String ?? "?"] = (e["samples"] as? Int ?? -1, e["period"] as? Int ?? -1)
        }
        print("perf script: \(script); perf report: \(sections.mapValues { ($0.samples, $0.period) }); xprof info: \(got)")
        for name in Self.events {
            let s = try #require(script[name], "perf script shows no \(name) samples")
            let g = try #require(got[name], "xprof info has no event \(name): \(obj["events"] ?? "-")")
            #expect(g.samples == s.samples && g.period == s.period, "\(name): xprof \(g) vs perf script \(s)")
            if let sec = sections[name] {
                #expect(g.period == sec.period, "\(name): xprof event count \(g.period) vs perf report \(sec.period)")
                let n = sec.samples
                #expect(n.hasSuffix("K") ? g.samples / 1000 == Int(n.dropLast()) : g.samples == Int(n),
                        "\(name): xprof \(g.samples) samples vs perf report \(n)")
            } else {
                Issue.record("perf report has no section for \(name): \(sections.keys.sorted())")
            }
        }
        // A member that did not move delivers nothing: page faults are rarer than the leader's samples.
        #expect((script["page-faults"]?.samples ?? 0) < (script["cpu-clock"]?.samples ?? 0))
        #expect(obj["total_samples"] as? Int == script.values.reduce(0) { $0 + $1.samples })
        #expect((obj["dropped_records"] as? [String: Any] ?? [:]).isEmpty, "\(obj["dropped_records"] ?? "")")
        // perf report --group heads the whole group with the sums.
        let group = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--group", "--no-children",
                                                          "--sort", "comm", "-g", "none"])
        let count = group.stdout.split(separator: "\n").first { $0.hasPrefix("# Event count (approx.):") }
        #expect(count.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } == obj["total_period"] as? Int,
                "perf report --group: \(count ?? "no event count") vs xprof total \(obj["total_period"] ?? "-")")
    }

    /// `xprof report` shows a section per event (CSV: an event column first); each section's top comm/dso
    /// rows are perf report's, within 0.1 percentage points; `--event` shows one of them alone.
    @Test func perEventSectionsMatchPerfReport() throws {
        let file = try XprofRunner.orSkip(try Self.record(), "the perf recording")
        let sections = try Self.perfSections(file)
        let r = try XprofRunner.xprof(["report", file, "--sort", "comm,dso", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        var got: [String: [String: Double]] = [:]
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "event,overhead,samples,comm,image")
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 5 else { Issue.record("bad CSV row \(line)"); continue }
            got[String(f[0]), default: [:]]["\(f[3])|\(f[4])"] = Double(f[1])
        }
        #expect(Set(got.keys) == Set(Self.events), "xprof's sections \(got.keys.sorted())")
        for name in Self.events {
            let rows = sections[name]?.rows ?? []
            #expect(!rows.isEmpty, "perf report has no rows for \(name)")
            for (pct, comm, dso) in rows.prefix(5) {
                let x = got[name]?["\(comm)|\(dso)"]
                #expect(x != nil && abs(x! - pct) <= 0.1, "\(name) \(comm) \(dso): xprof \(x ?? -1)% vs perf \(pct)%")
            }
        }
        // One event alone: the same rows as its section.
        let one = try XprofRunner.xprof(["report", file, "--sort", "comm,dso", "--format", "csv", "--event", "context-switches"])
        #expect(one.status == 0, "\(one.stderr)")
        var alone: [String: Double] = [:]
        for line in one.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            alone["\(f[2])|\(f[3])"] = Double(f[0])
        }
        #expect(alone == got["context-switches"] ?? [:])
        let bad = try XprofRunner.xprof(["report", file, "--event", "cycles"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--event cycles") && bad.stderr.contains("cpu-clock"), "\(bad.stderr)")
    }
}
