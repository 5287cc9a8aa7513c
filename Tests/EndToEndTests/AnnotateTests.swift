import Foundation
import Testing

/// `xprof annotate` on a `perf record -g` recording of a C program built here with `gcc -O2 -g`: a hot loop
/// spread over several lines, with an always-inline helper (`mix`) and a long comment in the loop so that
/// the annotation leaves lines out. The per-line counts are checked against perf's and binutils' own
/// line attribution of the same samples, the total against `xprof report`, the text against the file.
@Suite(.serialized) struct AnnotateTests {
    static let source = """
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>

        /* Inlined into hot_loop: its samples count on the line of the call. */
        static inline __attribute__((always_inline)) uint64_t mix(uint64_t x)
        {
            x ^= x >> 13;
            x *= 0x9E3779B97F4A7C15ull;
            x ^= x >> 29;
            return x;
        }

        __attribute__((noinline)) uint64_t hot_loop(uint64_t n, uint64_t seed)
        {
            uint64_t a = seed, b = seed ^ 0x55;
            for (uint64_t i = 0; i < n; i++) {
                a += mix(a + i);
                b ^= a * 7 + (b >> 3);
                /*
                 * A comment long enough that the lines around it are more than
                 * twice the default context apart: the annotation shows "..."
                 * for the lines it leaves out.
                 *
                 *
                 *
                 */
                if ((a & 0xff) == 0x13)
                    b += i / ((a & 0xf) + 1);
                a = (a << 1) | (b >> 63);
            }
            return a ^ b;
        }

        int main(int argc, char **argv)
        {
            uint64_t n = argc > 1 ? strtoull(argv[1], 0, 10) : 50000000;
            uint64_t r = 0;
            for (int k = 0; k < 4; k++)
                r += hot_loop(n, r + (uint64_t)k);
            printf("%llu\\n", (unsigned long long)r);
            return 0;
        }

        """

    /// The built fixture and its recording.
    struct Recording: Sendable {
        var dir: URL
        /// The C file (the path DWARF names) and the executable.
        var sourcePath: String
        var exe: String
        var data: String
        /// The executable's `hot_loop` address (nm).
        var hotLoopStart: UInt64
    }

    nonisolated(unsafe) static var cached: Recording?

    /// Builds the fixture and records it once for the suite; nil (a skip, or a failure under CI=true)
    /// when gcc or perf is missing.
    static func recording() throws -> Recording? {
        if let cached { return cached }
        for tool in ["/usr/bin/gcc", "/usr/bin/perf", "/usr/bin/addr2line", "/usr/bin/nm"] where !FileManager.default.isExecutableFile(atPath: tool) {
            if XprofRunner.underCI { Issue.record("\(tool) is not installed under CI=true") }
            return nil
        }
        let dir = try XprofRunner.temporaryDirectory()
        let src = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        let c = src.appendingPathComponent("annotate_fixture.c").path
        try source.write(toFile: c, atomically: true, encoding: .utf8)
        let exe = dir.appendingPathComponent("annotate_fixture").path
        let cc = try XprofRunner.run("/usr/bin/gcc", ["-O2", "-g", "-o", exe, c])
        try #require(cc.status == 0, "gcc: \(cc.stderr)")
        let data = dir.appendingPathComponent("perf.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "2999", "-g", "-o", data, "--", exe, "50000000"])
        try #require(rec.status == 0, "perf record failed: \(rec.stderr)")
        let nm = try XprofRunner.run("/usr/bin/nm", [exe])
        let line = try #require(nm.stdout.split(separator: "\n").first { $0.hasSuffix(" T hot_loop") })
        let start = try #require(UInt64(line.split(separator: " ")[0], radix: 16))
        let r = Recording(dir: dir, sourcePath: c, exe: exe, data: data, hotLoopStart: start)
        cached = r
        return r
    }

    /// One sample of `perf script -F ip,sym,symoff,srcline --full-source-path`: its symbol, offset in it
    /// and perf's source line (`/path/file.c:LINE`, found by perf through addr2line: the innermost line).
    struct PerfSample {
        var symbol: String
        var offset: UInt64
        var srcline: String
    }

    static func perfSamples(_ data: String) throws -> [PerfSample] {
        let r = try XprofRunner.run("/usr/bin/perf", ["script", "-i", data, "-F", "ip,sym,symoff,srcline", "--full-source-path", "-G"])
        #expect(r.status == 0, "perf script: \(r.stderr)")
        // Each sample is two lines: "  ADDR sym+0xOFF" then "  /path/file.c:LINE".
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [PerfSample] = []
        var i = 0
        while i + 1 < lines.count {
            let f = lines[i].split(separator: " ", maxSplits: 1)
            if f.count == 2, let plus = f[1].lastIndex(of: "+"), let off = UInt64(f[1][f[1].index(plus, offsetBy: 3)...], radix: 16) {
                out.append(PerfSample(symbol: String(f[1][..<plus]), offset: off, srcline: Self.stripDiscriminator(lines[i + 1])))
            }
            i += 2
        }
        return out
    }

    /// `file:line` without addr2line's ` (discriminator N)`.
    static func stripDiscriminator(_ s: String) -> String {
        if let r = s.range(of: " (discriminator") { return String(s[..<r.lowerBound]) }
        return s
    }

    /// Per address: the outermost line of `addr2line -i` (the function's own line: for inlined code, the
    /// line of the call).
    static func outermostLines(_ exe: String, _ addresses: [UInt64]) throws -> [UInt64: String] {
        let r = try XprofRunner.run("/usr/bin/addr2line", ["-i", "-a", "-e", exe] + addresses.map { "0x" + String($0, radix: 16) })
        #expect(r.status == 0, "addr2line: \(r.stderr)")
        var out: [UInt64: String] = [:]
        var current: UInt64?
        for line in r.stdout.split(separator: "\n") {
            if line.hasPrefix("0x") {
                current = UInt64(line.dropFirst(2), radix: 16)
            } else if let current {
                out[current] = stripDiscriminator(String(line))  // the last line of a chain wins: the outermost
            }
        }
        return out
    }

    static func annotateJSON(_ args: [String]) throws -> [String: Any] {
        let r = try XprofRunner.xprof(["annotate"] + args + ["--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout.prefix(300))")
    }

    static func function(_ json: [String: Any], _ name: String) throws -> [String: Any] {
        let fs = try #require(json["functions"] as? [[String: Any]])
        return try #require(fs.first { $0["symbol"] as? String == name }, "no \(name) in \(fs.map { $0["symbol"] ?? "" })")
    }

    /// Per-line counts of the annotation: by the function's own line (`file:line` → samples) and by the
    /// innermost line (inlined samples at the inlined line they ran, the rest at their own line).
    static func lineCounts(_ f: [String: Any]) -> (own: [String: Int], innermost: [String: Int]) {
        var own: [String: Int] = [:], inner: [String: Int] = [:]
        for file in f["files"] as? [[String: Any]] ?? [] {
            let path = file["path"] as? String ?? ""
            for row in file["lines"] as? [[String: Any]] ?? [] {
                let n = row["samples"] as? Int ?? 0, line = row["line"] as? Int ?? 0
                guard n > 0 else { continue }
                own["\(path):\(line)", default: 0] += n
                var rest = n
                for s in row["inlined"] as? [[String: Any]] ?? [] {
                    let k = s["samples"] as? Int ?? 0
                    inner["\(s["file"] as? String ?? ""):\(s["line"] as? Int ?? 0)", default: 0] += k
                    rest -= k
                }
                if rest > 0 { inner["\(path):\(line)", default: 0] += rest }
            }
        }
        return (own, inner)
    }

    /// The per-line counts equal perf's. What is compared: every `perf script` sample in `hot_loop` has
    /// perf's srcline, which is addr2line's innermost line (inside `mix` for the inlined code); xprof's
    /// annotation puts inlined samples on the call's line of `hot_loop` and lists them per inlined line. So:
    /// (1) xprof's innermost view (inlined sites at their own line, the rest at the function's line) must
    /// equal perf's srclines aggregated per line; (2) xprof's per-line counts of the function's own source
    /// must equal the outermost line that `addr2line -i` gives for each sample's address (nm's `hot_loop`
    /// plus perf's symbol offset), aggregated per line.
    @Test func perLineCountsEqualPerfScriptAndAddr2line() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let samples = try Self.perfSamples(rec.data).filter { $0.symbol == "hot_loop" }
        #expect(samples.count > 500, "hot_loop got \(samples.count) samples")
        var perfInner: [String: Int] = [:]
        for s in samples { perfInner[s.srcline, default: 0] += 1 }
        let outer = try Self.outermostLines(rec.exe, Array(Set(samples.map { rec.hotLoopStart + $0.offset })).sorted())
        var perfOwn: [String: Int] = [:]
        for s in samples { perfOwn[outer[rec.hotLoopStart + s.offset] ?? "??", default: 0] += 1 }

        let json = try Self.annotateJSON([rec.data, "--symbol", "hot_loop"])
        let f = try Self.function(json, "hot_loop")
        let (own, inner) = Self.lineCounts(f)
        // The figures, for the record.
        for key in Set(perfOwn.keys).union(own.keys).sorted(by: { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }) {
            print("annotate hot_loop \(key.split(separator: "/").last ?? ""): xprof \(own[key] ?? 0), addr2line -i outermost \(perfOwn[key] ?? 0)")
        }
        for key in Set(perfInner.keys).union(inner.keys).sorted(by: { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }) {
            print("annotate hot_loop innermost \(key.split(separator: "/").last ?? ""): xprof \(inner[key] ?? 0), perf srcline \(perfInner[key] ?? 0)")
        }
        #expect(own == perfOwn, "own-line counts: xprof \(own) vs addr2line -i \(perfOwn)")
        #expect(inner == perfInner, "innermost counts: xprof \(inner) vs perf srcline \(perfInner)")
        #expect(f["samples"] as? Int == samples.count)
        #expect((f["unknown_lines"] as? [String: Any])?["samples"] as? Int == 0)
        // The recording exercises inlining: mix's samples sit on the line that calls it.
        let callLine = try #require(Self.source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("a += mix(a + i);") }) + 1
        let callees = f["inlined_callees"] as? [[String: Any]] ?? []
        let mixSamples = callees.first { $0["function"] as? String == "mix" }?["samples"] as? Int ?? 0
        #expect(mixSamples > 50, "mix is inlined and hot: \(callees)")
        #expect(own["\(rec.sourcePath):\(callLine)"] ?? 0 >= mixSamples, "mix's samples count on line \(callLine), its call")
    }

    /// The annotation's total is the function's self samples of `xprof report --sort symbol`, and its share.
    @Test func totalEqualsReportSelfSamples() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let json = try Self.annotateJSON([rec.data])
        let f = try Self.function(json, "hot_loop")
        let report = try XprofRunner.xprof(["report", rec.data, "--sort", "symbol", "--format", "csv"])
        let rows: [[String]] = report.stdout.split(separator: "\n").map { line in line.split(separator: ",").map(String.init) }
        let row: [String] = try #require(rows.first { (r: [String]) in r.count == 3 && r[2] == "hot_loop" })
        let reportSamples = Int(row[1]) ?? -1, reportPercent = Double(row[0]) ?? -1
        #expect(f["samples"] as? Int == reportSamples, "annotate \(f["samples"] ?? "?") vs report \(reportSamples)")
        #expect(abs((f["percent_of_total"] as? Double ?? -1) - reportPercent) < 0.001)
        // Every file's lines, the ?? row and the addresses add up to the same total.
        let files = f["files"] as? [[String: Any]] ?? []
        let lineSum = files.flatMap { $0["lines"] as? [[String: Any]] ?? [] }.reduce(0) { $0 + ($1["samples"] as? Int ?? 0) }
        let unknown = (f["unknown_lines"] as? [String: Any])?["samples"] as? Int ?? -1
        let addressSum = (f["addresses"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["samples"] as? Int ?? 0) }
        #expect(lineSum + unknown == reportSamples)
        #expect(addressSum == reportSamples)
        // Without --symbol: the hottest functions, hot_loop first.
        let names = (json["functions"] as? [[String: Any]] ?? []).compactMap { $0["symbol"] as? String }
        #expect(names.first == "hot_loop" && names.count <= 3, "\(names)")
    }

    /// The rows of the text output: (line number, samples or nil for '.', text), and whether `...` came before.
    static func textRows(_ out: String) -> [(line: Int, samples: Int?, text: String, gap: Bool)] {
        var rows: [(Int, Int?, String, Bool)] = []
        var gap = false
        for l in out.split(separator: "\n", omittingEmptySubsequences: false) {
            if l.trimmingCharacters(in: .whitespaces) == "..." { gap = true; continue }
            // "  Samples   %Func  %Total    Line  Source": three counts, the line number, two spaces, the text.
            let s = String(l)
            guard s.count >= 33 else { continue }
            let head = s.prefix(33), cols = head.split(separator: " ")
            guard cols.count == 4, let n = Int(cols[3]) else { continue }
            let text = s.count > 35 ? String(s.dropFirst(35)) : ""
            rows.append((n, Int(cols[0]), text, gap))
            gap = false
        }
        return rows
    }

    /// The text printed for each line is that line of the file; lines without samples appear within
    /// --context lines of a line with samples, and `...` stands where lines are left out.
    @Test func sourceTextEqualsTheFileWithContext() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let fileLines = try String(contentsOfFile: rec.sourcePath, encoding: .utf8).components(separatedBy: "\n")
        for context in [3, 0, 1] {
            let r = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop", "--context", String(context)])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("source \(rec.sourcePath)"))
            let rows = Self.textRows(r.stdout)
            #expect(rows.count >= 5, "\(r.stdout)")
            let hot = Set(rows.filter { ($0.samples ?? 0) > 0 }.map(\.line))
            for row in rows {
                #expect(row.text == fileLines[row.line - 1], "line \(row.line): printed '\(row.text)', file '\(fileLines[row.line - 1])'")
                #expect(hot.contains { abs($0 - row.line) <= context }, "line \(row.line) is within \(context) of a hot line")
            }
            // Every line within the context of a hot line is shown, and gaps are marked.
            var expected = Set<Int>()
            for h in hot { for k in max(1, h - context)...min(fileLines.count, h + context) { expected.insert(k) } }
            #expect(Set(rows.map(\.line)) == expected)
            for (a, b) in zip(rows, rows.dropFirst()) {
                #expect(b.gap == (b.line > a.line + 1), "'...' between lines \(a.line) and \(b.line) only when lines are left out")
            }
        }
        // The comment in the loop is longer than twice the default context: '...' appears.
        let r = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop"])
        #expect(Self.textRows(r.stdout).contains { $0.gap }, "\(r.stdout)")
        #expect(r.stdout.contains("inlined into it: mix"))
        // --inlines lists mix's lines under the call, with their text.
        let inl = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop", "--inlines"])
        #expect(inl.stdout.contains("↳ mix annotate_fixture.c:"), "\(inl.stdout)")
        #expect(inl.stdout.contains("|    x ^= x >> 13;") || inl.stdout.contains("|    x ^= x >> 29;"), "\(inl.stdout)")
    }

    /// A moved source file: the note names the file and the option, counts stay; --source-dir (a folder, or
    /// OLD=NEW) finds it again and the text is the file's.
    @Test func missingSourceNoteAndSourceDir() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let before = Self.lineCounts(try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop"]), "hot_loop")).own
        let srcDir = URL(fileURLWithPath: rec.sourcePath).deletingLastPathComponent()
        let moved = rec.dir.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: srcDir, to: moved)
        defer { try? FileManager.default.moveItem(at: moved, to: srcDir) }

        let missing = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop"])
        #expect(missing.status == 0, "\(missing.stderr)")
        #expect(missing.stdout.contains("note: source file \(rec.sourcePath) not found"), "\(missing.stdout)")
        #expect(missing.stdout.contains("--source-dir"), "the note says how to point xprof at it")
        let bare = Self.textRows(missing.stdout)
        #expect(!bare.isEmpty && bare.allSatisfy { $0.text.isEmpty && ($0.samples ?? 0) > 0 }, "only hot lines, no text: \(missing.stdout)")
        let missingJSON = try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop"]), "hot_loop")
        #expect(Self.lineCounts(missingJSON).own == before, "the counts do not depend on finding the file")
        let file = try #require((missingJSON["files"] as? [[String: Any]])?.first)
        #expect(file["found_at"] is NSNull)

        let movedFile = moved.appendingPathComponent("annotate_fixture.c").path
        let fileLines = try String(contentsOfFile: movedFile, encoding: .utf8).components(separatedBy: "\n")
        for option in [moved.path, srcDir.path + "=" + moved.path] {
            let r = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop", "--source-dir", option])
            #expect(r.status == 0)
            #expect(!r.stdout.contains("not found"), "--source-dir \(option): \(r.stdout)")
            #expect(r.stdout.contains("source \(movedFile) (DWARF: \(rec.sourcePath))"), "\(r.stdout)")
            let rows = Self.textRows(r.stdout)
            #expect(rows.count > bare.count)
            for row in rows { #expect(row.text == fileLines[row.line - 1]) }
            let j = try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop", "--source-dir", option]), "hot_loop")
            #expect(Self.lineCounts(j).own == before)
        }
    }

    /// An unknown --symbol is a usage error (64) naming the close matches.
    @Test func unknownSymbolExits64WithCloseMatches() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let r = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_lop"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--symbol hot_lop: no function of that name has samples"), "\(r.stderr)")
        #expect(r.stderr.contains("close matches: hot_loop"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    /// The same binary without DWARF (a --symfs root holding a copy stripped of its debugging information,
    /// same build-id): a note on the function, and its samples per address — the same as with DWARF.
    @Test func imageWithoutDwarfShowsCountsPerAddress() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        let root = rec.dir.appendingPathComponent("symfs")
        let copy = root.path + rec.exe
        try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let strip = try XprofRunner.run("/usr/bin/objcopy", ["--strip-debug", rec.exe, copy])
        #expect(strip.status == 0, "\(strip.stderr)")
        let withDwarf = try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop"]), "hot_loop")
        let plain = try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop", "--symfs", root.path]), "hot_loop")
        #expect((plain["note"] as? String ?? "").contains("\(copy) has no DWARF line information"), "\(plain["note"] ?? "none")")
        #expect((plain["files"] as? [Any])?.isEmpty == true)
        #expect((plain["unknown_lines"] as? [String: Any])?["samples"] as? Int == plain["samples"] as? Int)
        func perAddress(_ f: [String: Any]) -> [String: Int] {
            var out: [String: Int] = [:]
            for a in f["addresses"] as? [[String: Any]] ?? [] { out[a["address"] as? String ?? ""] = a["samples"] as? Int }
            return out
        }
        #expect(perAddress(plain) == perAddress(withDwarf))
        #expect(perAddress(plain).values.reduce(0, +) == plain["samples"] as? Int)
        let text = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop", "--symfs", root.path])
        #expect(text.stdout.contains("note: \(copy) has no DWARF line information"), "\(text.stdout)")
        #expect(text.stdout.contains("Address"))
        #expect(perAddress(plain).keys.allSatisfy { text.stdout.contains("  " + $0 + "\n") })
    }

    /// --asm: objdump's instructions of hot_loop, each with the samples perf script gives its address; a
    /// missing objdump is said plainly.
    @Test func asmCountsPerInstruction() throws {
        let rec = try XprofRunner.orSkip(try Self.recording(), "the recording")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/objdump") else {
            if XprofRunner.underCI { Issue.record("objdump is not installed under CI=true") }
            return
        }
        let f = try Self.function(try Self.annotateJSON([rec.data, "--symbol", "hot_loop", "--asm"]), "hot_loop")
        let instructions = f["instructions"] as? [[String: Any]] ?? []
        let dump = try XprofRunner.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", rec.exe])
        var inFunction = false
        var objdumpAddresses: [String] = []
        for line in dump.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix("<hot_loop>:") { inFunction = true; continue }
            if inFunction && line.isEmpty { break }
            if inFunction, let colon = line.firstIndex(of: ":") { objdumpAddresses.append("0x" + line[..<colon].trimmingCharacters(in: .whitespaces)) }
        }
        #expect(instructions.compactMap { $0["address"] as? String } == objdumpAddresses)
        var perf: [String: Int] = [:]
        for s in try Self.perfSamples(rec.data) where s.symbol == "hot_loop" {
            perf["0x" + String(rec.hotLoopStart + s.offset, radix: 16), default: 0] += 1
        }
        var got: [String: Int] = [:]
        for i in instructions where (i["samples"] as? Int ?? 0) > 0 { got[i["address"] as? String ?? ""] = i["samples"] as? Int }
        #expect(got == perf, "per instruction: xprof \(got) vs perf script \(perf)")
        #expect(f["asm_note"] is NSNull)
        let missing = try XprofRunner.xprof(["annotate", rec.data, "--symbol", "hot_loop", "--asm", "--objdump", "/nonexistent/objdump"])
        #expect(missing.status == 0)
        #expect(missing.stdout.contains("note: /nonexistent/objdump not found: no disassembly"), "\(missing.stdout)")
    }
}
