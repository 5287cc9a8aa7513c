import Foundation
import Testing

/// A perf.data recorded here by `perf record -g` on a bundled workload: xprof's report must agree with
/// `perf report` and `perf script` on the same file.
@Suite(.serialized) struct PerfRecordAgreementTests {
    static func recordPerf(_ args: [String], perfOptions: [String] = []) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return nil
        }
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("perf.data").path
        let r = try XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "2999", "-g", "-o", out] + perfOptions + ["--"]
                                           + [XprofRunner.workload] + args)
        #expect(r.status == 0, "perf record failed: \(r.stderr)")
        return out
    }

    /// The first `count` rows of `perf report --sort dso,sym` are in xprof's report, within 0.1 percentage points.
    static func expectTopRowsAgree(_ file: String, count: Int = 10, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let perf = try perfRows(file)
        let x = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "--format", "csv"])
        var got: [String: Double] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            got["\(f[2])|\(f[3])"] = Double(f[0])
        }
        for (pct, dso, sym) in perf.prefix(count) {
            #expect(abs((got["\(dso)|\(sym)"] ?? -100) - pct) <= 0.1, "\(dso) \(sym): xprof \(got["\(dso)|\(sym)"] ?? -1) vs perf \(pct)",
                    sourceLocation: sourceLocation)
        }
    }

    /// `perf report --stdio --no-children --sort dso,sym -g none` rows: (percent, dso, symbol).
    /// `extra`: more options (a filter such as `--dsos`).
    static func perfRows(_ file: String, extra: [String] = []) throws -> [(Double, String, String)] {
        let r = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-children", "--sort", "dso,sym",
                                                      "-g", "none"] + extra)
        var rows: [(Double, String, String)] = []
        for line in r.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            // "    68.87%  xprof-workload        [.] workload_tlb_touch"
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].hasSuffix("%"), let pct = Double(parts[0].dropLast()) else { continue }
            let rest = String(parts[1])
            // The symbol column starts with perf's mode tag: [.] user, [k] kernel, [g] guest kernel, [u] guest user, [H] hypervisor.
            guard let mark = ["[.] ", "[k] ", "[g] ", "[u] ", "[H] "].compactMap({ rest.range(of: " " + $0) }).first else { continue }
            let dso = rest[..<mark.lowerBound].trimmingCharacters(in: .whitespaces)
            let sym = rest[mark.upperBound...].trimmingCharacters(in: .whitespaces)
            rows.append((pct, dso, sym))
        }
        return rows
    }

    @Test func dsoSymTop20AgreesWithPerfReport() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["tlb", "1.5", "2"]), "a perf recording (perf)")
        let perf = try Self.perfRows(file)
        #expect(perf.count >= 20, "perf report gave \(perf.count) rows")
        let r = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        var xprof: [String: Double] = [:]
        for line in r.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
            xprof["\(f[2])|\(f[3])"] = Double(f[0])
        }
        for (pct, dso, sym) in perf.prefix(20) {
            let got = xprof["\(dso)|\(sym)"]
            #expect(got != nil, "perf's row \(dso) \(sym) (\(pct)%) is missing from xprof's report")
            if let got { #expect(abs(got - pct) <= 0.1, "\(dso) \(sym): xprof \(got)% vs perf \(pct)%") }
        }
        // The symbol cache changes nothing: the whole report without it, and with a new cache (written) and
        // again (read back), is the same.
        let cacheDir = try XprofRunner.temporaryDirectory().path
        let args = ["report", file, "--sort", "dso,sym", "--format", "csv", "--percent-limit", "0"]
        let off = try XprofRunner.xprof(args, environment: ["XPROF_SYMBOL_CACHE": "0"])
        let cold = try XprofRunner.xprof(args, environment: ["XPROF_CACHE_DIR": cacheDir])
        let warm = try XprofRunner.xprof(args, environment: ["XPROF_CACHE_DIR": cacheDir])
        #expect(off.status == 0 && !off.stdout.isEmpty)
        #expect(cold.stdout == off.stdout && warm.stdout == off.stdout)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: cacheDir + "/symbols")) ?? []
        #expect(entries.filter { $0.hasSuffix(".xsym") }.count >= 2, "entries for the workload and libc at least: \(entries)")
    }

    @Test func childrenTop20AgreesWithPerfReportChildren() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["tlb", "1", "2"]), "a perf recording (perf)")
        let r = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--children", "--sort", "dso,sym", "-g", "none"])
        var perf: [(Double, Double, String)] = []
        for line in r.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard f.count == 3, f[0].hasSuffix("%"), f[1].hasSuffix("%"), let c = Double(f[0].dropLast()), let s = Double(f[1].dropLast()) else { continue }
            let rest = String(f[2])
            guard let mark = ["[.] ", "[k] "].compactMap({ rest.range(of: " " + $0) }).first else { continue }
            let key = rest[..<mark.lowerBound].trimmingCharacters(in: .whitespaces) + "|" + rest[mark.upperBound...].trimmingCharacters(in: .whitespaces)
            perf.append((c, s, key))
        }
        #expect(perf.count >= 20)
        let x = try XprofRunner.xprof(["report", file, "--children", "--sort", "dso,sym", "--format", "csv"])
        var got: [String: (Double, Double)] = [:]
        for line in x.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 4, omittingEmptySubsequences: false)
            got["\(f[3])|\(f[4])"] = (Double(f[0]) ?? -1, Double(f[1]) ?? -1)
        }
        // perf prints unresolved callers as raw addresses; compare the rows it could name.
        for (c, s, key) in perf.prefix(20) where !key.contains("|0x") && !key.hasPrefix("[unknown]") {
            let g = got[key]
            #expect(g != nil, "perf's children row \(key) is missing")
            if let g {
                #expect(abs(g.0 - c) <= 0.1, "\(key): children \(g.0) vs perf \(c)")
                #expect(abs(g.1 - s) <= 0.1, "\(key): self \(g.1) vs perf \(s)")
            }
        }
    }

    /// `perf record -z`: records compressed with zstd as one stream across PERF_RECORD_COMPRESSED records.
    @Test func zstdCompressedRecordingDecodesCompletely() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["tlb", "1", "2"], perfOptions: ["-z"]), "a perf recording (perf)")
        let header = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--header-only"])
        guard header.stdout.contains("compressed") || header.stdout.contains("zstd") else {
            if XprofRunner.underCI { Issue.record("perf record -z did not compress (perf built without zstd?)") }
            return
        }
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "period", "-G"])
        let n = script.stdout.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(obj["total_samples"] as? Int == n, "xprof \(obj["total_samples"] ?? "?") vs perf script \(n)")
        #expect((obj["dropped_records"] as? [String: Any] ?? [:]).isEmpty, "\(obj["warnings"] ?? "")")
        try Self.expectTopRowsAgree(file)
    }

    /// `--call-graph dwarf` puts REGS_USER and STACK_USER (a copy of the user stack, 4 KB here) in every sample:
    /// all of it must be walked over exactly, or every later field and record would be misread.
    @Test func dwarfCallGraphSamplesDecodeCompletely() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["mixed", "1"], perfOptions: ["--call-graph", "dwarf,4096"]), "a perf recording (perf)")
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "period", "-G"])
        let n = script.stdout.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(n > 100)
        #expect(obj["total_samples"] as? Int == n, "xprof \(obj["total_samples"] ?? "?") vs perf script \(n)")
        #expect((obj["dropped_records"] as? [String: Any] ?? [:]).isEmpty, "\(obj["warnings"] ?? "")")
        try Self.expectTopRowsAgree(file)
    }

    /// A big-endian perf.data (a recording rewritten by scripts/perfdata-to-big-endian.py as a big-endian
    /// machine would have written it): perf reads it, and xprof must report what perf reports and what it
    /// reports for the original.
    @Test func bigEndianFileAgreesWithPerfReport() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["mixed", "1"]), "a perf recording (perf)")
        let be = file + ".be"
        let conv = try XprofRunner.run("/usr/bin/python3", [XprofRunner.packageRoot.appendingPathComponent("scripts/perfdata-to-big-endian.py").path, file, be])
        #expect(conv.status == 0, "\(conv.stderr)")
        let head = try #require(FileHandle(forReadingAtPath: be)?.readData(ofLength: 8))
        #expect(String(decoding: head, as: UTF8.self) == "2ELIFREP", "the big-endian magic")
        let perf = try Self.perfRows(be)
        #expect(perf.count >= 5, "perf report read the big-endian file")
        func rows(_ path: String) throws -> [String: Double] {
            let r = try XprofRunner.xprof(["report", path, "--sort", "dso,sym", "--format", "csv", "--force-symbols"])
            #expect(r.status == 0, "\(r.stderr)")
            var out: [String: Double] = [:]
            for line in r.stdout.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",", maxSplits: 3, omittingEmptySubsequences: false)
                out["\(f[2])|\(f[3])"] = Double(f[0])
            }
            return out
        }
        let big = try rows(be), little = try rows(file)
        #expect(big == little, "the same report from both byte orders")
        for (pct, dso, sym) in perf.prefix(10) {
            #expect(abs((big["\(dso)|\(sym)"] ?? -100) - pct) <= 0.1, "\(dso) \(sym): xprof \(big["\(dso)|\(sym)"] ?? -1) vs perf \(pct)")
        }
    }

    /// A leader-sampled group (`{cpu-clock,task-clock}:S`): every sample carries PERF_SAMPLE_READ in the
    /// GROUP|ID|LOST read format. Each record is walked over exactly and split as perf splits it: perf script
    /// shows one line per group member whose value changed, and xprof counts the same samples.
    @Test func groupReadSamplesDecodeCompletely() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return
        }
        let file = try XprofRunner.temporaryDirectory().appendingPathComponent("group.data").path
        let rec = try XprofRunner.perfRecord(["-e", "{cpu-clock,task-clock}:S", "-F", "1999", "-g", "-o", file,
                                                        "--", XprofRunner.workload, "mixed", "1"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "period", "-G"])
        let n = script.stdout.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(n > 100)
        #expect(obj["total_samples"] as? Int == n, "xprof \(obj["total_samples"] ?? "?") samples vs perf script \(n) member samples")
        #expect((obj["dropped_records"] as? [String: Any] ?? [:]).isEmpty, "\(obj["warnings"] ?? "")")
    }

    @Test func sampleCountEqualsPerfScript() throws {
        let file = try XprofRunner.orSkip(try Self.recordPerf(["mixed", "1"]), "a perf recording (perf)")
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "ip"])
        let perfCount = script.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        // With -g, `perf script -F ip` prints each sample's chain one address per line; count samples instead.
        let samplesOnly = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "period", "-G"])
        let n = samplesOnly.stdout.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
        #expect(obj["total_samples"] as? Int == n, "xprof \(obj["total_samples"] ?? "?") vs perf script \(n) (ip lines \(perfCount))")
    }
}
