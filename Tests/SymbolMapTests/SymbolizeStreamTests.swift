import Foundation
import Testing
@testable import SymbolMap

/// The streaming TSV path of `xprof symbolize` (chunked reads, lines split across reads, hex output)
/// against the whole-array path and against Swift's own formatting.
struct SymbolizeStreamTests {
    /// Hex digits through the nibble-spreading formatter equal `String(_:radix:)` for values of every width.
    @Test func hexOutputMatchesStringRadix() {
        var rng = SystemRandomNumberGenerator()
        var values: [UInt64] = [0, 1, 0xf, 0x10, 0xabcdef, 0xffff_ffff, 0x1_0000_0000, .max - 1]
        for bits in 1...64 { values.append(UInt64.random(in: 0...UInt64.max, using: &rng) >> (64 - bits)) }
        for v in values {
            var sink = ByteSink(capacity: 8)
            sink.appendHex(v)
            #expect(String(decoding: sink.bytes(), as: UTF8.self) == "0x" + String(v, radix: 16))
            sink.release()
        }
    }

    /// The address parser (eight digits at a time where it can) against a plain reading of each line, on
    /// lines of every length from 0 to 18 digits, either case, with and without `0x`, blanks, junk inside,
    /// after and instead, and lines cut short at the end of the input.
    @Test func parserAgreesWithAPlainReading() {
        var rng = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdefABCDEF"), junk = Array("gGxz:/-@`'~ .\u{7f}\u{80}")
        var lines: [String] = []
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...18, using: &rng)
            var t = String((0..<count).map { _ in digits.randomElement(using: &rng)! })
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: if !t.isEmpty { t.insert(junk.randomElement(using: &rng)!, at: t.index(t.startIndex, offsetBy: Int.random(in: 0..<t.count, using: &rng))) }
            case 1: t += String(junk.randomElement(using: &rng)!)
            case 2: t = "0x" + t
            case 3: t = "0X" + t + " "
            case 4: t = " \t" + t + "\r"
            default: break
            }
            lines.append(t)
        }
        func plain(_ line: Substring) -> UInt64?? {
            var t = Substring(line.unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\r" })
            while let l = t.unicodeScalars.last, l == " " || l == "\t" || l == "\r" { t = Substring(t.unicodeScalars.dropLast()) }
            if t.isEmpty { return .some(nil) }  // blank: no address, no row
            if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
            guard !t.isEmpty, t.count <= 16, t.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { return .some(.some(.max)) }
            return .some(UInt64(t, radix: 16)!)
        }
        for cut in [0, 1, 5, 9, 17] {
            var text = lines.joined(separator: "\n")
            text.removeLast(min(cut, text.count))
            var want: [UInt64] = []
            // (Split as bytes: "\r\n" is one Character.)
            for line in text.utf8.split(separator: 10, omittingEmptySubsequences: false) {
                if let a = plain(Substring(String(decoding: line, as: UTF8.self)))! { want.append(a) }
            }
            let got = Symbolizer.parseAddresses(Array(text.utf8)).addresses
            let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] }
            #expect(got.count == want.count && first == nil,
                    "cut \(cut): \(got.count) addresses, want \(want.count); first difference at \(first ?? -1): \(first.map { String(got[$0], radix: 16) + " vs " + String(want[$0], radix: 16) } ?? "")")
        }
    }

    /// Over half a megabyte of input (several reads, lines cut at read boundaries, `0x`/no prefix, upper case,
    /// blank and bad lines): the streamed output is byte for byte the array path's, and bad lines are named.
    @Test func streamedOutputEqualsArrayOutput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-stream-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var map = ""
        for i in 0..<500 { map += String(format: "ffffffff81%06x T func_%d\n", i * 0x100, i) }
        let mapPath = dir.appendingPathComponent("System.map").path
        try map.write(toFile: mapPath, atomically: true, encoding: .utf8)
        let symbolizer = try Symbolizer(path: mapPath)

        var input = "", expected: [UInt64] = []
        for i in 0..<40_000 {
            let a = 0xffff_ffff_8100_0000 + UInt64(i * 37 % 0x20000)
            switch i % 4 {
            case 0: input += "0x" + String(a, radix: 16) + "\n"
            case 1: input += String(a, radix: 16).uppercased() + "\n"
            case 2: input += "  0X" + String(a, radix: 16) + " \r\n"
            default: input += String(a, radix: 16) + "\n"
            }
            expected.append(a)
            if i == 20_000 { input += "\nnot-an-address\n"; expected.append(.max) }
        }
        input += String(expected[0], radix: 16)  // a last line without a newline
        expected.append(expected[0])
        #expect(input.utf8.count > 1 << 19)
        let inPath = dir.appendingPathComponent("in").path, outPath = dir.appendingPathComponent("out").path
        try input.write(toFile: inPath, atomically: true, encoding: .utf8)
        let fin = open(inPath, O_RDONLY), fout = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fin >= 0 && fout >= 0)
        let bad = symbolizer.streamTSV(from: fin, to: fout, lines: false)
        close(fin); close(fout)
        #expect(bad == ["line 20003: 'not-an-address' is not a hexadecimal address"])
        let streamed = try Data(contentsOf: URL(fileURLWithPath: outPath))
        #expect(streamed == Data(symbolizer.tsv(expected, lines: false)))
        #expect(String(decoding: streamed.prefix(40), as: UTF8.self).hasPrefix("0xffffffff81000000\tfunc_0\t0x0\t??\t0\n"))
    }

    /// Writes `text` to a new file in `dir`, returns its path.
    static func write(_ text: String, _ dir: URL, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `stream` from the file at `inPath` into a new file and returns what it wrote.
    static func streamed(_ inPath: String, _ dir: URL, _ stream: (Int32, Int32) throws -> [String]) throws -> (Data, [String]) {
        let outPath = dir.appendingPathComponent("out-\(UUID().uuidString)").path
        let fin = open(inPath, O_RDONLY), fout = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fin >= 0 && fout >= 0)
        let bad = try stream(fin, fout)
        close(fin); close(fout)
        return (try Data(contentsOf: URL(fileURLWithPath: outPath)), bad)
    }

    /// The threaded path (a helper thread even on one CPU): chunks from 4 KB to 256 KB, each cut into
    /// pieces both threads take, bad lines in many pieces and chunks; the rows are those of the array path,
    /// in input order, and every note names its own line. Also through the image-opening entry point
    /// (addresses parsed while the image loads, then written in pieces).
    @Test func threadedStreamKeepsOrderAcrossChunksAndPieces() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-stream2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var map = ""
        for i in 0..<3000 { map += String(format: "ffffffff81%06x T fn_%d_%@\n", i * 0x40, i, String(repeating: "x", count: i % 37)) }
        let mapPath = try Self.write(map, dir, "System.map")
        let symbolizer = try Symbolizer(path: mapPath)
        var input = "", expected: [UInt64] = [], notes: [String] = []
        var line = 0
        var rng = SystemRandomNumberGenerator()
        for i in 0..<120_000 {
            let a = 0xffff_ffff_8100_0000 + UInt64.random(in: 0..<0x31000, using: &rng)
            input += (i % 3 == 0 ? "0x" : "") + String(a, radix: 16) + "\n"
            line += 1
            expected.append(a)
            if i % 11_000 == 5_000 {
                input += "no\(i)\n"
                line += 1
                expected.append(.max)
                if notes.count < 10 { notes.append("line \(line): 'no\(i)' is not a hexadecimal address") }
                input += "\n"  // a blank line: no row, but counted
                line += 1
            }
        }
        let inPath = try Self.write(input, dir, "in")
        let want = Data(symbolizer.tsv(expected, lines: false))
        for chunk in [1 << 12, 1 << 15, 100_003, 1 << 18] {
            for threads in [true, false] {
                let (out, bad) = try Self.streamed(inPath, dir) { symbolizer.streamTSV(from: $0, to: $1, lines: false, chunk: chunk, threads: threads) }
                let same = out == want  // (not compared inside #expect: a diff of megabytes takes minutes)
                #expect(same, "chunk \(chunk), threads \(threads): \(out.count) bytes, want \(want.count)")
                #expect(bad == notes, "chunk \(chunk), threads \(threads)")
            }
        }
        let (out, bad) = try Self.streamed(inPath, dir) { fin, fout in
            try Symbolizer.streamTSV(image: mapPath, from: fin, to: fout, lines: false).bad
        }
        let same = out == want
        #expect(same)
        #expect(bad == notes)
    }

    /// Pieces handed to the helper thread run once each, in any split between the two threads, and a job the
    /// helper has not taken is withdrawn without waiting for it (many short jobs in a row).
    @Test func helperSharesEveryPieceOnce() {
        HelperThread.with(force: true) { helper in
            guard let helper else { Issue.record("no helper thread"); return }
            var helped = 0
            for n in [1, 2, 3, 7, 64] {
                for _ in 0..<300 {
                    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: n)
                    counts.initialize(repeating: 0)
                    var byHelper = 0
                    helper.share(n) { i, onHelper in
                        counts[i] += 1
                        if onHelper { byHelper += 1 }
                    }
                    #expect(counts.allSatisfy { $0 == 1 })
                    helped += byHelper
                    counts.deallocate()
                }
            }
            _ = helped  // how much the helper did depends on the machine
        }
    }

    /// Names and lines through the threaded path on a gcc -O2 -g shared object of several units: the units
    /// load on both threads (the helper through its own libdw handle) and the rows equal the array path's
    /// (units loaded one by one on one thread), whatever the chunk size.
    @Test func threadedLinesEqualArrayLines() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-stream3-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var objects: [String] = []
        for u in 0..<5 {
            var src = ""
            for i in (u * 300)..<((u + 1) * 300) {
                src += "static inline __attribute__((always_inline)) int mix_\(i)(int x) { return x * \(i + 3) + (x >> 3); }\n"
                src += "int func_\(i)(int x) {\n  int r = 0;\n  for (int k = 0; k < x; k++)\n    r += mix_\(i)(k) ^ r;\n  return r;\n}\n"
            }
            let c = try Self.write(src, dir, "u\(u).c")
            objects.append(dir.appendingPathComponent("u\(u).o").path)
            #expect(try Self.run("/usr/bin/gcc", ["-O2", "-g", "-fPIC", "-c", c, "-o", objects[u]]) == 0)
        }
        let so = dir.appendingPathComponent("lines.so").path
        #expect(try Self.run("/usr/bin/gcc", ["-shared", "-o", so] + objects) == 0)
        let table = try Symbolizer(path: so).table
        var rng = SystemRandomNumberGenerator()
        var addrs: [UInt64] = []
        for _ in 0..<60_000 { addrs.append(table.start(at: Int.random(in: 0..<table.count, using: &rng)) + UInt64.random(in: 0..<48, using: &rng)) }
        let inPath = try Self.write(addrs.map { String($0, radix: 16) }.joined(separator: "\n") + "\n", dir, "in")
        let want = Data(try Symbolizer(path: so).tsv(addrs, lines: true))
        #expect(String(decoding: want, as: UTF8.self).contains("u3.c\t"))
        for chunk in [1 << 13, 1 << 18] {
            for threads in [true, false] {
                let fresh = try Symbolizer(path: so)
                let (out, bad) = try Self.streamed(inPath, dir) { fresh.streamTSV(from: $0, to: $1, lines: true, chunk: chunk, threads: threads) }
                let same = out == want
                #expect(same, "chunk \(chunk), threads \(threads)")
                #expect(bad.isEmpty)
            }
        }
        let (out, _) = try Self.streamed(inPath, dir) { fin, fout in try Symbolizer.streamTSV(image: so, from: fin, to: fout, lines: true).bad }
        let sameAgain = out == want
        #expect(sameAgain)
    }

    static func run(_ tool: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
