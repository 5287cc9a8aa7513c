import Foundation
import Testing

/// A `perf record --call-graph dwarf` recording: xprof does not unwind the copied user stacks; it says so,
/// and what does not need unwinding (the self rows) still equals perf report's.
@Suite struct DwarfCallGraphTests {
    @Test func dwarfRecordingIsFlaggedAndSelfRowsAgree() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("perf.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock", "--call-graph", "dwarf,4096", "-F", "999", "-o", file, "--",
                                              XprofRunner.workload, "stacks", "0.5"])
        guard rec.status == 0 else {
            if XprofRunner.underCI { Issue.record("perf record failed under CI=true: \(rec.stderr)") }
            return
        }
        let x = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "--format", "csv"])
        #expect(x.status == 0)
        #expect(x.stderr.contains("recorded with --call-graph dwarf") && x.stderr.contains("does not unwind"), "\(x.stderr)")
        let t = try XprofRunner.xprof(["report", file, "--children", "--top", "3"])
        #expect(t.stdout.contains("# warning:") && t.stdout.contains("--call-graph dwarf"), "the table's header says it too")
        var got: [String: Double] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            got["\(f[2])|\(f[3])"] = Double(f[0])
        }
        let perf = try PerfRecordAgreementTests.perfRows(file)
        #expect(perf.count >= 5)
        for (pct, dso, sym) in perf.prefix(10) {
            let g = got["\(dso)|\(sym)"]
            #expect(g != nil && abs((g ?? 0) - pct) <= 0.01, "\(dso) \(sym): xprof \(g ?? -1)% vs perf \(pct)%")
        }
    }
}
