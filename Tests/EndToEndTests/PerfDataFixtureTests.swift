import Foundation
import Testing

/// xprof against `perf report` on real perf.data files made by other tools (../shared/fixtures/perf).
@Suite struct PerfDataFixtureTests {
    static let readable = [
        "quipper__perf.data.singleprocess-3.8",
        "quipper__perf.data.callgraph-3.8",
        "quipper__perf.data.piped.header_features_aligned-6.12",
    ]

    struct PerfRow: Hashable {
        var comm: String
        var dso: String
    }

    /// Rows of `perf report --stdio --no-children -n --sort comm,dso -q`: percent, samples (or nK), comm, dso.
    /// Columns are padded with at least two spaces; a comm may itself contain one space ("D-Bus thread").
    static func expectedRows(_ text: String) -> [PerfRow: (Double, Int?)] {
        var out: [PerfRow: (Double, Int?)] = [:]
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: "  ", omittingEmptySubsequences: true)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard cols.count == 4, cols[0].hasSuffix("%"), let pct = Double(cols[0].dropLast()) else { continue }
            out[PerfRow(comm: cols[2], dso: cols[3])] = (pct, Int(cols[1]))
        }
        return out
    }

    @Test(arguments: readable)
    func commDsoRowsMatchPerfReport(name: String) throws {
        guard let file = XprofRunner.sharedFixture("perf/\(name)"),
              let expectedPath = XprofRunner.sharedFixture("perf/expected/\(name).report_comm_dso.txt") else { return }
        let expected = Self.expectedRows(try String(contentsOfFile: expectedPath, encoding: .utf8))
        let r = try XprofRunner.xprof(["report", file, "--sort", "comm,dso", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        var got: [PerfRow: (Double, Int)] = [:]
        for line in r.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            got[PerfRow(comm: String(f[2]), dso: String(f[3]))] = (Double(f[0]) ?? -1, Int(f[1]) ?? -1)
        }
        #expect(Set(got.keys) == Set(expected.keys), "comm/dso pairs differ: xprof \(got.keys.sorted { $0.comm < $1.comm }) perf \(expected.keys.sorted { $0.comm < $1.comm })")
        for (k, (pct, n)) in expected {
            guard let (gp, gn) = got[k] else { continue }
            #expect(abs(gp - pct) <= 0.01, "\(k): overhead \(gp) vs perf \(pct)")
            if let n { #expect(gn == n, "\(k): samples \(gn) vs perf \(n)") }
        }
    }

    /// `# Total Lost Samples`, `# Samples: N of event 'E'` and `# Event count (approx.)` of perf report.
    @Test(arguments: readable)
    func totalsMatchPerfReport(name: String) throws {
        guard let file = XprofRunner.sharedFixture("perf/\(name)"),
              let totalsPath = XprofRunner.sharedFixture("perf/expected/\(name).totals.txt") else { return }
        let totals = try String(contentsOfFile: totalsPath, encoding: .utf8)
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        #expect(info.status == 0, "\(info.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let samples = obj["total_samples"] as? Int ?? -1
        let period = obj["total_period"] as? Int ?? -1
        let lost = obj["lost_samples"] as? Int ?? -1
        for line in totals.split(separator: "\n") {
            if line.hasPrefix("# Total Lost Samples:") {
                #expect(Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) == lost)
            } else if line.hasPrefix("# Samples:") {
                let count = line.dropFirst("# Samples:".count).split(separator: " ")[0]
                if count.hasSuffix("K") {
                    // perf prints thousands as nK (rounded down).
                    #expect(samples / 1000 == Int(count.dropLast()), "samples \(samples) vs perf \(count)")
                } else {
                    #expect(samples == Int(count), "samples \(samples) vs perf \(count)")
                }
                if let q1 = line.firstIndex(of: "'"), let q2 = line.lastIndex(of: "'"), q1 < q2 {
                    let event = String(line[line.index(after: q1)..<q2])
                    let meta = obj["metadata"] as? [String: Any]
                    let events = (meta?["events"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
                    #expect(events.contains(event), "event \(event) not in \(events)")
                }
            } else if line.hasPrefix("# Event count (approx.):") {
                #expect(Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) == period)
            }
        }
    }

    @Test(arguments: readable)
    func buildIDsMatchUpstream(name: String) throws {
        guard let file = XprofRunner.sharedFixture("perf/\(name)"),
              let idsPath = XprofRunner.sharedFixture("perf/expected/\(name).buildids") else { return }
        var expected: [String] = []
        for line in try String(contentsOfFile: idsPath, encoding: .utf8).split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else { continue }
            let parts = t.split(separator: " ", maxSplits: 1)
            expected.append(parts.count == 2 && parts[0].count == 40 ? "\(parts[0]) \(parts[1])" : " \(t)")
        }
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let hints = (obj["build_ids"] as? [[String: Any]]) ?? []
        let got = hints.map { "\($0["build_id"] as? String ?? "") \($0["path"] as? String ?? "")" }
        #expect(got.sorted() == expected.sorted())
    }

    @Test func newerPerfFileWithLargerAttrReads() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture("perf/mstange_linux-perf-data__sleep.data"), "the shared fixture")
        let r = try XprofRunner.xprof(["report", file, "--sort", "comm,dso", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { $0.split(separator: ",")[2] == "sleep" })
        let info = try XprofRunner.xprof(["info", file])
        #expect(info.stdout.contains("perf.data"))
    }

    @Test func legacyV1FileIsRefusedClearly() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture("perf/KDAB_hotspot__perf.data.true.v1"), "the shared fixture")
        let r = try XprofRunner.xprof(["report", file])
        #expect(r.status == 65)
        #expect(r.stderr.contains("version 1"))
        #expect(r.stderr.contains("PERFFILE"))
        #expect(r.stderr.contains(file))
    }
}
