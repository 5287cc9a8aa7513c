import Foundation
import Testing

/// `report --group`: a recording's events side by side, as `perf report --group` shows them.
@Suite(.serialized) struct GroupReportTests {
    /// perf report --group --sort dso,sym rows: the shares (one per event), dso, symbol.
    static func perfRows(_ file: String) throws -> [([Double], String, String)] {
        let r = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--group", "--sort", "dso,sym"])
        #expect(r.status == 0, "\(r.stderr)")
        var rows: [([Double], String, String)] = []
        for line in r.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            // "    95.04%  94.61%  xprof-workload        [.] workload_tlb_touch"
            var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            var shares: [Double] = []
            while let w = words.first, w.hasSuffix("%"), let v = Double(w.dropLast()) { shares.append(v); words.removeFirst() }
            guard shares.count >= 2, words.count >= 3, words[1].hasPrefix("[") else { continue }
            rows.append((shares, words[0], words[2...].joined(separator: " ")))
        }
        return rows
    }

    @Test func eventsSideBySideAgreeWithPerfReportGroup() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("perf.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock,page-faults", "-F", "1999", "-o", file, "--",
                                              XprofRunner.workload, "tlb", "0.6", "2"])
        guard rec.status == 0 else {
            if XprofRunner.underCI { Issue.record("perf record failed under CI=true: \(rec.stderr)") }
            return
        }
        let perf = try Self.perfRows(file)
        #expect(perf.count >= 5, "perf report --group gave \(perf.count) rows")
        let x = try XprofRunner.xprof(["report", file, "--group", "--sort", "dso,sym", "--format", "csv"])
        #expect(x.status == 0, "\(x.stderr)")
        let lines = x.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "overhead:cpu-clock,overhead:page-faults,samples:cpu-clock,samples:page-faults,image,symbol")
        var got: [String: [Double]] = [:], order: [String] = []
        for line in lines.dropFirst() {
            let f = line.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            got["\(f[4])|\(f[5])"] = [Double(f[0]) ?? -1, Double(f[1]) ?? -1]
            order.append("\(f[4])|\(f[5])")
        }
        for (shares, dso, sym) in perf.prefix(10) {
            let g = got["\(dso)|\(sym)"]
            #expect(g != nil, "perf's row \(dso) \(sym) \(shares) is missing")
            if let g { #expect(zip(g, shares).allSatisfy { abs($0 - $1) <= 0.01 }, "\(dso) \(sym): xprof \(g) vs perf \(shares)") }
        }
        // Ordered by the first event's share, as perf orders them.
        let firstShares = order.compactMap { got[$0]?[0] }
        #expect(firstShares == firstShares.sorted(by: >))
        // The table names the events in its columns and header.
        let t = try XprofRunner.xprof(["report", file, "--group", "--top", "3"])
        #expect(t.stdout.contains("# cpu-clock  page-faults  Samples"), "\(t.stdout)")
        #expect(t.stdout.contains("group of events"), "\(t.stdout)")
        let j = try XprofRunner.xprof(["report", file, "--group", "--format", "json", "--top", "2"])
        let o = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        #expect((o["group"] as? [[String: Any]])?.count == 2, "\(j.stdout.prefix(300))")
    }

    @Test(arguments: [
        (["--children"], "does not combine with --children"),
        (["--event", "cpu-clock"], "--event picks one"),
    ]) func refusals(_ extra: [String], _ message: String) throws {
        let r = try XprofRunner.xprof(["report", "/dev/null", "--group"] + extra)
        #expect(r.status == 64 && r.stderr.contains(message), "\(r.stderr)")
    }
}
