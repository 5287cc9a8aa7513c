import Foundation
import Testing

/// `report --sort symbol,line` against addr2line on a gcc -O2 -g executable with deep inlining (the sources of
/// InlineChainAgreementTests, linked without PIE, DWARF 5 and 4): a perf.data file written here holds one user
/// sample at every third text address, so each (function, source line) row must count exactly the
/// addresses addr2line puts on that line (the line-table row: an inlined function's own line) and nm in that
/// function, on at least 99.9 % of the samples. The lines come from the DWARF index (docs/ARCHITECTURE.md,
/// "Line and inline index"): a second run with the same symbol cache must print the same report, and the
/// cache must hold the index the first run wrote.
@Suite(.serialized) struct ReportLineAgreementTests {
    /// A perf.data file (perf's file layout: header, one cpu-clock attr, data) with `pid`'s mapping of
    /// `path` (non-PIE: file offset = address - 0x400000) and one user sample at each address.
    static func perfData(path: String, pid: UInt32, addresses: [UInt64]) -> Data {
        var d = Data()
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        var records = Data()
        swap(&d, &records)
        // PERF_RECORD_COMM (3) and PERF_RECORD_MMAP (1), user mode (misc 2).
        var comm = Array("work".utf8) + [0]
        while comm.count % 8 != 0 { comm.append(0) }
        u32(3); u16(2); u16(UInt16(8 + 8 + comm.count)); u32(pid); u32(pid); d.append(contentsOf: comm)
        var name = Array(path.utf8) + [0]
        while name.count % 8 != 0 { name.append(0) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
        u32(1); u16(2); u16(UInt16(8 + 32 + name.count)); u32(pid); u32(pid)
        u64(0x400000); u64((size + 0xfff) & ~0xfff); u64(0); d.append(contentsOf: name)
        // PERF_RECORD_SAMPLE (9): ip, pid/tid, time, period.
        var t: UInt64 = 1_000_000
        for a in addresses {
            t += 1000
            u32(9); u16(2); u16(40); u64(a); u32(pid); u32(pid); u64(t); u64(1)
        }
        u32(68); u16(0); u16(8)  // FINISHED_ROUND
        swap(&d, &records)
        // Header: magic, size, attr size, attrs, data, event types, no feature bits.
        let attrSize: UInt64 = 128
        d.append(contentsOf: Array("PERFILE2".utf8))
        u64(104); u64(attrSize + 16)
        u64(104); u64(attrSize + 16)
        u64(104 + attrSize + 16); u64(UInt64(records.count))
        u64(0); u64(0)
        d.append(Data(count: 32))
        // perf_event_attr: software (1), cpu-clock (0), sample_type IP|TID|TIME|PERIOD, mmap|comm.
        u32(1); u32(UInt32(attrSize)); u64(0); u64(1); u64(1 | 2 | 4 | 256); u64(0); u64((1 << 8) | (1 << 9))
        d.append(Data(count: Int(attrSize) - 48))
        u64(0); u64(0)
        d.append(records)
        return d
    }

    @Test(arguments: [["-gdwarf-5"], ["-gdwarf-4"]])
    func symbolLineRowsAgreeWithAddr2line(_ flags: [String]) throws {
        for tool in ["/usr/bin/gcc", "/usr/bin/addr2line", "/usr/bin/nm"] where !FileManager.default.isExecutableFile(atPath: tool) {
            if XprofRunner.underCI { Issue.record("\(tool) missing under CI=true (make deps installs it)") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var units = try InlineChainAgreementTests.writeSources(dir)
        try "int work_0_0(int);\nint main(int argc, char **argv) { (void)argv; return work_0_0(argc) & 1; }\n"
            .write(to: dir.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        units.append("main.c")
        let exe = dir.appendingPathComponent("work").path
        let cc = try XprofRunner.run("/usr/bin/gcc", ["-O2", "-g", "-no-pie", "-o", exe] + flags + units.map { dir.appendingPathComponent($0).path })
        try #require(cc.status == 0, "gcc: \(cc.stderr)")
        let functions = try SymbolizeOracleTests.nmFunctions(exe)
        let addresses = functions.flatMap { f in stride(from: f.start, to: f.start + f.size, by: 3) }
        #expect(addresses.count > 30_000, "the fixture has \(addresses.count) text addresses")
        let data = dir.appendingPathComponent("perf.data")
        try Self.perfData(path: exe, pid: 4242, addresses: addresses).write(to: data)

        // The oracle: addr2line's line-table row (`file:line`, perhaps ` (discriminator N)`) and nm's function.
        let a2l = try XprofRunner.run("/usr/bin/addr2line", ["-e", exe], stdin: addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n")
        let places = a2l.stdout.split(separator: "\n").map(String.init)
        try #require(places.count == addresses.count, "addr2line answered \(places.count) of \(addresses.count)")
        var expected: [String: Int] = [:]
        var f = 0
        for (a, place) in zip(addresses, places) {
            while f + 1 < functions.count, functions[f + 1].start <= a { f += 1 }
            let p = String(place.prefix { $0 != " " })
            let file = p.split(separator: ":").dropLast().joined(separator: ":")
            var line = String(p.split(separator: ":").last ?? "0")
            if line == "?" { line = "0" }
            let base = file == "??" ? "??" : String(file.split(separator: "/").last ?? "??")
            expected["\(functions[f].name) \(base):\(line)", default: 0] += 1
        }

        let env = ["XPROF_CACHE_DIR": dir.appendingPathComponent("cache").path]
        let args = ["report", data.path, "--sort", "symbol,line", "--format", "csv", "--percent-limit", "0"]
        let cold = try XprofRunner.xprof(args, environment: env)
        #expect(cold.status == 0, "\(cold.stderr.suffix(2000))")
        var actual: [String: Int] = [:]
        for row in cold.stdout.split(separator: "\n").dropFirst() {
            let c = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard c.count == 4, let n = Int(c[1]) else { continue }
            actual["\(c[2]) \(c[3])", default: 0] += n
        }
        let total = addresses.count
        #expect(actual.values.reduce(0, +) == total, "every sample in a row: \(actual.values.reduce(0, +)) of \(total)")
        var same = 0
        var differ: [String] = []
        for (k, n) in expected {
            let m = actual[k] ?? 0
            same += min(n, m)
            if n != m { differ.append("\(k): addr2line \(n), xprof \(m)") }
        }
        let agreement = Double(same) / Double(total)
        #expect(agreement >= 0.999, "\(total - same) of \(total) samples on other rows: \(differ.sorted().prefix(8))")
        #expect(expected.count > 500, "the fixture spreads over many lines: \(expected.count)")
        // The index went to the symbol cache; a second run answers from it with the same report.
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cache/symbols").path)
        #expect(!entries.isEmpty, "the symbol cache holds the index")
        let warm = try XprofRunner.xprof(args, environment: env)
        #expect(warm.status == 0 && warm.stdout == cold.stdout)
        // Without the cache: the same report (the cache changes no answer).
        let plain = try XprofRunner.xprof(args, environment: ["XPROF_CACHE_DIR": dir.appendingPathComponent("other").path])
        #expect(plain.stdout == cold.stdout)
    }
}
