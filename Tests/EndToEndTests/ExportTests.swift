import Foundation
import Testing

/// `xprof export --format folded`: collapsed stacks for flame graphs.
@Suite struct ExportTests {
    @Test func foldedStacksAddUpToTheReport() throws {
        // The storm's mprotect thread can starve under make test's load (a parallel build runs beside it):
        // record again, twice at most, when no kernel frame of its path was sampled.
        func kernelPath(_ lines: [Substring]) -> Bool {
            lines.contains { $0.split(separator: ";").contains { ($0.contains("mprotect") || $0.contains("tlb")) && $0.hasSuffix("_[k]") } }
        }
        var file = "", folded = XprofRunner.Result(status: -1, stdout: "", stderr: "")
        for _ in 0..<3 {
            let f = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["tlb", "1", "2"]), "a perf recording (perf)")
            file = f
            folded = try XprofRunner.xprof(["export", file, "--annotate"])
            if kernelPath(folded.stdout.split(separator: "\n")) { break }
        }
        #expect(folded.status == 0, "\(folded.stderr)")
        let lines = folded.stdout.split(separator: "\n")
        var leafCounts: [String: Int] = [:]
        var total = 0
        for l in lines {
            guard let space = l.lastIndex(of: " "), let n = Int(l[l.index(after: space)...]) else {
                Issue.record("bad folded line \(l)"); continue
            }
            let frames = l[..<space].split(separator: ";")
            #expect(frames.first == "xprof-workload", "stacks start with the command: \(l.prefix(80))")
            var leaf = String(frames.last ?? "")
            for tag in ["_[k]", "_[h]"] where leaf.hasSuffix(tag) { leaf = String(leaf.dropLast(tag.count)) }
            leafCounts[leaf, default: 0] += n
            total += n
        }
        // The storm's mprotect calls show in kernel frames (how many samples land in the flush routines
        // themselves, flush_tlb_mm_range, tlb_finish_mmu, ..., varies with the machine's load).
        #expect(kernelPath(lines), "the mprotect / TLB-flush path shows in kernel frames")
        // The leaves add up to the report's self samples per symbol.
        let report = try XprofRunner.xprof(["report", file, "--sort", "symbol", "--format", "csv"])
        var selfCounts: [String: Int] = [:]
        var reportTotal = 0
        for row in report.stdout.split(separator: "\n").dropFirst() {
            let f = row.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            let name = String(f[2]).replacingOccurrences(of: " ", with: "_")
            selfCounts[name, default: 0] += Int(f[1]) ?? 0
            reportTotal += Int(f[1]) ?? 0
        }
        #expect(total == reportTotal)
        #expect(leafCounts == selfCounts)
        // --period counts the event period: the sum is the report's total event count.
        let byPeriod = try XprofRunner.xprof(["export", file, "--period"])
        let periodSum = byPeriod.stdout.split(separator: "\n").reduce(0) { $0 + (Int($1.split(separator: " ").last ?? "") ?? 0) }
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(periodSum == obj["total_period"] as? Int)
    }
}
