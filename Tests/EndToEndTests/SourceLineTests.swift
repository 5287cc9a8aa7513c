import Foundation
import Testing

/// `--sort line`: samples attributed to source lines through DWARF.
@Suite struct SourceLineTests {
    @Test func hotLinesAreInsideTheHotFunction() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("l.xprof").path
        #expect(try XprofRunner.xprof(["record", "-F", "1999", "-o", out, "--", XprofRunner.workload, "spin", "0.5"]).status == 0)
        let r = try XprofRunner.xprof(["report", out, "--mode", "user", "--sort", "symbol,line", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        // The body of workload_spin_hot in the workload's source: from its signature to the closing brace.
        let src = try String(contentsOf: XprofRunner.packageRoot.appendingPathComponent("Sources/xprof-workload/main.c"), encoding: .utf8)
        let lines = src.components(separatedBy: "\n")
        let first = try #require(lines.firstIndex { $0.contains("uint64_t workload_spin_hot(uint64_t x") }) + 1
        let last = try #require(lines[first...].firstIndex { $0 == "}" }) + 1
        var inside = 0.0, total = 0.0
        for row in r.stdout.split(separator: "\n").dropFirst() {
            let f = row.split(separator: ",").map(String.init)
            guard f.count == 4, f[2] == "workload_spin_hot" else { continue }
            let pct = Double(f[0]) ?? 0
            total += pct
            let parts = f[3].split(separator: ":")
            if parts.first == "main.c", let n = Int(parts.last ?? ""), n >= first, n <= last { inside += pct }
        }
        #expect(total > 80, "the spin loop dominates: \(r.stdout.prefix(300))")
        #expect(inside > total - 0.5, "workload_spin_hot's samples fall on its lines \(first)…\(last): \(r.stdout.prefix(400))")
    }
}
