import Foundation
import Testing

/// perf report's sample filters: `xprof report --comms/--dsos/--symbols [--percentage …]` must show the rows,
/// percentages and header totals `perf report` shows with the same filter, on one perf.data recorded here.
@Suite(.serialized) struct FilterAgreementTests {
    /// The `mixed` workload, then `dd` (a second command with samples of its own, for `--comms`), under
    /// `perf record -g --sample-cpu`: recorded once for every case.
    static let recording: String? = {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf"),
              let dir = try? XprofRunner.temporaryDirectory() else { return nil }
        let out = dir.appendingPathComponent("perf.data").path
        let script = "\(XprofRunner.workload) mixed 1 && dd if=/dev/zero of=/dev/null bs=64 count=1500000 2>/dev/null"
        guard let r = try? XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "2999", "-g", "--sample-cpu", "-o", out, "--", "/bin/sh", "-c", script]),
              r.status == 0 else { return nil }
        return out
    }()

    /// perf's header count as it prints it (`convert_unit`: "5K", "525").
    static func perfCount(_ n: Int) -> String {
        var (v, unit) = (n, "")
        for u in ["K", "M", "G"] where v > 1000 { (v, unit) = (v / 1000, u) }
        return "\(v)\(unit)"
    }

    static let cases: [[String]] = [
        ["--comms", "dd"],
        ["--comms", "dd", "--percentage", "relative"],
        ["--dsos", "libc.so.6,[kernel.kallsyms]"],
        ["--dsos", "libc.so.6,[kernel.kallsyms]", "--percentage", "relative"],
        ["--symbols", "syscall,workload_spin_hot"],
        ["--symbols", "syscall,workload_spin_hot", "--percentage", "absolute"],
    ]

    @Test(arguments: cases) func filteredReportAgreesWithPerf(_ filter: [String]) throws {
        guard let file = Self.recording else {
            if XprofRunner.underCI { Issue.record("perf record failed or perf is not installed under CI=true") }
            return
        }
        // perf filters its entries, not the samples: with a comm filter and no comm sort key, an entry (dso,sym)
        // merges samples of every command and keeps or drops them all by its first sample's command (perf 6.1
        // shows 10.6 % for --comms dd where dd's samples are 26.4 %). With comm a sort key each entry is one
        // command's, and perf's rows are the samples'.
        let byComm = filter.contains("--comms")
        let sort = byComm ? ["--sort", "comm,dso,sym"] : ["--sort", "dso,sym"]
        let p = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-children", "-g", "none"] + sort + filter)
        #expect(p.status == 0, "\(p.stderr)")
        // (perf leaves out the column of a key one name filters, as comm here: rows are dso, sym.)
        let perf = try PerfRecordAgreementTests.perfRows(file, extra: sort + filter)
        #expect(perf.count >= 2, "perf report \(filter) gave \(perf.count) rows")

        let x = try XprofRunner.xprof(["report", file, "--format", "csv"] + sort + filter)
        #expect(x.status == 0, "\(x.stderr)")
        var got: [String: Double] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: byComm ? 4 : 3, omittingEmptySubsequences: false)
            got[byComm ? "\(f[3])|\(f[4])" : "\(f[2])|\(f[3])"] = Double(f[0])
        }
        // (perf prints an unresolved address as hex relative to its mapping, xprof as `[unknown] 0x…` of the
        // address: such a row of dd's, among its top ten when the machine is busy, is not compared.)
        for (pct, dso, sym) in perf.prefix(10) where !sym.hasPrefix("0x") {
            let g = got["\(dso)|\(sym)"]
            #expect(g != nil, "\(filter): perf's row \(dso) \(sym) (\(pct)%) is missing from xprof's report")
            if let g { #expect(abs(g - pct) <= 0.1, "\(filter): \(dso) \(sym): xprof \(g)% vs perf \(pct)%") }
        }
        // Nothing the filter leaves out, and the kept rows add up as perf's do (absolute: less than 100 %).
        let sum = got.values.reduce(0, +), perfSum = perf.reduce(0) { $0 + $1.0 }
        #expect(abs(sum - perfSum) <= 0.5, "\(filter): xprof's rows add up to \(sum)%, perf's to \(perfSum)%")
        #expect(got.count <= perf.count + 2, "\(filter): xprof \(got.count) rows, perf \(perf.count)")

        // Totals: perf's header counts all samples (absolute) or the kept ones (relative), as xprof's must.
        let j = try XprofRunner.xprof(["report", file, "--format", "json"] + filter)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let samples = try #require(obj["total_samples"] as? Int), period = try #require(obj["total_period"] as? Int)
        #expect(p.stdout.contains("# Samples: \(Self.perfCount(samples)) "), "\(filter): xprof \(samples) samples; perf: \(p.stdout.split(separator: "\n").filter { $0.contains("Samples:") })")
        #expect(p.stdout.contains("# Event count (approx.): \(period)\n"), "\(filter): xprof event count \(period); perf: \(p.stdout.split(separator: "\n").filter { $0.contains("Event count") })")
        let f = try #require(obj["sample_filter"] as? [String: Any], "the JSON report says what was filtered")
        #expect((f["percentage"] as? String) == (filter.contains("relative") ? "relative" : "absolute"))
        // The table's header says it too.
        let t = try XprofRunner.xprof(["report", file] + filter)
        #expect(t.stdout.contains("# filter: only "), "\(t.stdout.prefix(600))")
    }

    /// diff and scale take the same filters: their rows are the filtered report's, with the same shares.
    @Test func diffAndScaleFilterAsReportDoes() throws {
        guard let file = Self.recording else {
            if XprofRunner.underCI { Issue.record("perf record failed or perf is not installed under CI=true") }
            return
        }
        let filter = ["--dsos", "libc.so.6", "--percentage", "relative"]
        let report = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "--format", "csv"] + filter)
        var want: [String: Double] = [:]
        for line in report.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            want["\(f[2])|\(f[3])"] = Double(f[0])
        }
        #expect(!want.isEmpty && want.keys.allSatisfy { $0.hasPrefix("libc.so.6|") }, "\(want)")
        let diff = try XprofRunner.xprof(["diff", file, file, "--sort", "dso,sym", "--format", "json"] + filter)
        #expect(diff.status == 0, "\(diff.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])
        let rows = try #require(obj["rows"] as? [[String: Any]])
        var got: [String: Double] = [:]
        for r in rows { got["\(r["image"] ?? "")|\(r["symbol"] ?? "")"] = r["base"] as? Double }
        #expect(Set(got.keys) == Set(want.keys))
        for (k, v) in want { #expect(abs((got[k] ?? -1) - v) < 0.001, "\(k): diff \(got[k] ?? -1) vs report \(v)") }
        let scale = try XprofRunner.xprof(["scale", file, file, "--cpus", "1,2", "--sort", "dso,sym", "--format", "json"] + filter)
        #expect(scale.status == 0, "\(scale.stderr)")
        let sj = try #require(try JSONSerialization.jsonObject(with: Data(scale.stdout.utf8)) as? [String: Any])
        let srows = try #require(sj["rows"] as? [[String: Any]])
        #expect(srows.count == want.count && srows.allSatisfy { $0["image"] as? String == "libc.so.6" }, "\(srows.prefix(3))")
    }

    @Test func childrenWithImageFilterIsRefused() throws {
        let r = try XprofRunner.xprof(["report", "/nonexistent", "--children", "--dsos", "libc.so.6"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--children with --dsos or --symbols is not supported"), "\(r.stderr)")
    }

    /// perf's `cpu` sort key (the recording has PERF_SAMPLE_CPU): the same (cpu, dso) rows and shares.
    @Test func cpuSortKeyAgreesWithPerf() throws {
        guard let file = Self.recording else {
            if XprofRunner.underCI { Issue.record("perf record failed or perf is not installed under CI=true") }
            return
        }
        let p = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-children", "-g", "none", "--sort", "cpu,dso"])
        #expect(p.status == 0, "\(p.stderr)")
        var perf: [String: Double] = [:]
        for line in p.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 3, f[0].hasSuffix("%"), let pct = Double(f[0].dropLast()), let cpu = Int(f[1]) else { continue }
            perf["\(cpu)|\(f[2...].joined(separator: " "))"] = pct
        }
        #expect(perf.count >= 4, "perf report --sort cpu,dso: \(p.stdout.suffix(600))")
        let x = try XprofRunner.xprof(["report", file, "--format", "csv", "--sort", "cpu,dso"])
        #expect(x.status == 0, "\(x.stderr)")
        var got: [String: Double] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            guard f.count == 4 else { continue }
            got["\(f[2])|\(f[3])"] = Double(f[0])
        }
        #expect(Set(got.keys) == Set(perf.keys), "xprof rows \(got.keys.sorted()), perf rows \(perf.keys.sorted())")
        for (k, pct) in perf {
            if let g = got[k] { #expect(abs(g - pct) <= 0.01, "\(k): xprof \(g)% vs perf \(pct)%") }
        }
    }
}
