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
}
