import Foundation
import Testing
@testable import SampleIO

/// Truncations and corruptions of real perf.data files: each gives a clear error or a warning with what
/// could be read — never a crash, never a silently short total.
@Suite struct PerfDataCorruptionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/perf")
    static let files = ["quipper__perf.data.singleprocess-3.8", "quipper__perf.data.piped.header_features_aligned-6.12",
                        "quipper__perf.data.callgraph-3.8", "mstange_linux-perf-data__sleep.data"]

    static func fixture(_ name: String) -> [UInt8]? {
        let path = root.appendingPathComponent(name).path
        guard let d = FileManager.default.contents(atPath: path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("missing shared fixture \(path) under CI=true") }
            return nil
        }
        return [UInt8](d)
    }

    /// Decodes `bytes` fully: (samples, warnings) or the error.
    static func decode(_ bytes: [UInt8], path: String) -> Result<(Int, DecodeStats), SampleIOError> {
        do {
            let src = try PerfDataSource(bytes: bytes, path: path)
            var n = 0
            while let b = try src.nextBatch() { n += b.samples.count }
            return .success((n, src.stats))
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: files)
    func everyPrefixReadsOrFailsClearly(name: String) throws {
        guard let full = Self.fixture(name) else { return }
        guard case .success(let (total, fullStats)) = Self.decode(full, path: name) else {
            Issue.record("the intact fixture must decode"); return
        }
        #expect(fullStats.warnings.isEmpty, "\(fullStats.warnings)")
        // Every byte of the first 512, then a spread of cut points through the rest.
        var cuts = Array(0..<min(512, full.count))
        let step = max(1, full.count / 700)
        cuts += stride(from: 512, to: full.count, by: step)
        for cut in cuts {
            switch Self.decode(Array(full[0..<cut]), path: name) {
            case .success(let (n, stats)):
                #expect(n <= total, "cut \(cut): more samples than the whole file")
                if n < total {
                    #expect(!stats.warnings.isEmpty, "cut \(cut): \(n) of \(total) samples read without a warning")
                }
            case .failure(let e):
                #expect(!e.message.isEmpty)
                #expect(e.offset != nil || e.message.contains("truncated") || e.message.contains("HEADER_ATTR"),
                        "cut \(cut): error without a position: \(e)")
            }
        }
    }

    /// Record sizes set to 0, 7, a little too large and 0xFFFF at the first records of the data.
    @Test(arguments: [UInt16(0), 7, 0xFFFF, 9])
    func corruptRecordSizeIsReported(size: UInt16) throws {
        guard let full = Self.fixture("quipper__perf.data.singleprocess-3.8") else { return }
        let dataOffset = Int(full[40..<48].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var bytes = full
        // Third record of the data section.
        var o = dataOffset
        for _ in 0..<2 { o += Int(bytes[(o + 6)..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }) }
        withUnsafeBytes(of: size.littleEndian) { raw in bytes[o + 6] = raw[0]; bytes[o + 7] = raw[1] }
        switch Self.decode(bytes, path: "corrupt") {
        case .success(let (_, stats)):
            #expect(!stats.warnings.isEmpty || stats.totalDropped > 0, "a corrupt record size must be reported")
        case .failure(let e):
            #expect(!e.description.isEmpty)
        }
    }

    @Test func corruptHeaderFieldsGiveClearErrors() throws {
        guard let full = Self.fixture("quipper__perf.data.singleprocess-3.8") else { return }
        for (offset, value) in [(8, UInt64(50)), (16, UInt64(3)), (24, UInt64.max), (32, UInt64(1 << 40)), (40, UInt64(1 << 40))] {
            var bytes = full
            withUnsafeBytes(of: value.littleEndian) { raw in for i in 0..<8 { bytes[offset + i] = raw[i] } }
            switch Self.decode(bytes, path: "hdr") {
            case .success(let (_, stats)):
                #expect(!stats.warnings.isEmpty, "header field at \(offset) = \(value) accepted silently")
            case .failure(let e):
                #expect(e.offset != nil || e.message.contains("truncated"), "\(e)")
            }
        }
    }
}
