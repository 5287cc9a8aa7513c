import Foundation
import Testing
@testable import SampleIO

/// Xenoprof capture decoding checked against a C writer that lays the rings out with structs mirroring
/// Xen's public header and logs every sample it managed to put in a ring (Fixtures/xenoprof/xenoprof_writer.c).
@Suite struct XenoprofCaptureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Builds and runs the C writer; returns the capture folder.
    static func writeCapture() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let exe = dir.appendingPathComponent("writer").path
        let src = root.appendingPathComponent("Fixtures/xenoprof/xenoprof_writer.c").path
        #expect(try run("/usr/bin/gcc", ["-O2", "-Wall", "-Werror", "-o", exe, src]) == 0)
        let cap = dir.appendingPathComponent("capture")
        try FileManager.default.createDirectory(at: cap, withIntermediateDirectories: true)
        #expect(try run(exe, [cap.path]) == 0)
        return cap
    }

    @discardableResult
    static func run(_ exe: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    struct Key: Hashable {
        var domain: UInt32, vcpu: UInt32, mode: UInt8, ip: UInt64, event: UInt16
    }

    static func decode(_ path: String) throws -> (counts: [Key: Int], traces: [[UInt64]], stats: DecodeStats, meta: RunMetadata) {
        let src = try SampleReader.open(path: path)
        var counts: [Key: Int] = [:]
        var traces: [[UInt64]] = []
        while let b = try src.nextBatch() {
            for (i, s) in b.samples.enumerated() {
                counts[Key(domain: s.domain.rawValue, vcpu: s.vcpu, mode: s.mode.rawValue, ip: s.ip, event: s.event), default: 0] += 1
                let chain = b.callchain(of: i)
                if !chain.isEmpty { traces.append(chain.map(\.ip)) }
            }
        }
        return (counts, traces, src.stats, src.metadata)
    }

    @Test func decodedSamplesEqualWhatTheCWriterLogged() throws {
        let cap = try Self.writeCapture()
        var expected: [Key: Int] = [:]
        var expectedTraces: [[UInt64]] = []
        var expectedLost: [DomainID: UInt64] = [:]
        for line in try String(contentsOf: cap.appendingPathComponent("expected.log"), encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            switch f[0] {
            case "sample":
                let k = Key(domain: UInt32(f[1])!, vcpu: UInt32(f[2])!, mode: UInt8(f[3])!, ip: UInt64(f[4], radix: 16)!, event: UInt16(f[5])!)
                expected[k, default: 0] += 1
            case "trace":
                expectedTraces.append(f[3...].map { UInt64($0, radix: 16)! })
            case "lost":
                if let n = UInt64(f[2]), n > 0 { expectedLost[DomainID(UInt32(f[1])!)] = n }
            default: break
            }
        }
        let (counts, traces, stats, meta) = try Self.decode(cap.path)
        #expect(counts.values.reduce(0, +) == expected.values.reduce(0, +))
        #expect(counts == expected, "per (domain, vcpu, mode, address, event) counts differ")
        #expect(traces.sorted { $0.lexicographicallyPrecedes($1) } == expectedTraces.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(stats.lostSamples == expectedLost)
        #expect(expectedLost[DomainID(2)] ?? 0 > 0 && expectedLost[DomainID(3)] ?? 0 > 0, "the writer must have filled rings")
        #expect(stats.skipped.isEmpty && stats.warnings.isEmpty, "\(stats.skipped) \(stats.warnings)")
        #expect(meta.domains.first { $0.id == DomainID(2) }?.role == .passive)
        #expect(meta.domains.first { $0.id == .host }?.role == .coordinator)
        #expect(meta.extra["xen_version"] == "4.17.5")
        // The same capture packed as a tar decodes identically.
        let tar = cap.deletingLastPathComponent().appendingPathComponent("capture.tar").path
        #expect(try Self.run("/bin/tar", ["cf", tar, "-C", cap.deletingLastPathComponent().path, "capture"]) == 0)
        let (tcounts, _, tstats, _) = try Self.decode(tar)
        #expect(tcounts == counts)
        #expect(tstats.lostSamples == stats.lostSamples)
    }

    /// Head or tail outside [0, event_size): that buffer is reported and skipped, the others decoded.
    @Test(arguments: [(0, UInt32(16)), (0, UInt32(0xFFFF_FFFF)), (4, UInt32(99)), (8, UInt32(0)), (8, UInt32(1_000_000))])
    func corruptHeadTailOrSizeSkipsThatBufferOnly(field: Int, value: UInt32) throws {
        let cap = try Self.writeCapture()
        let (before, _, _, _) = try Self.decode(cap.path)
        let rings = cap.appendingPathComponent("dom0.rings")
        var bytes = try [UInt8](Data(contentsOf: rings))
        // First buffer of the second snapshot of dom0 (2 vcpus × (48 + 16 × 16) bytes per snapshot).
        let at = 2 * (48 + 16 * 16) + field
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<4 { bytes[at + i] = $0[i] } }
        try Data(bytes).write(to: rings)
        let (after, _, stats, _) = try Self.decode(cap.path)
        #expect(stats.skipped.count == 1, "\(stats.skipped)")
        #expect(stats.skipped.first?.contains("snapshot 1, buffer 0") == true)
        let total = { (c: [Key: Int]) in c.values.reduce(0, +) }
        #expect(total(after) < total(before) || field == 4, "the skipped buffer's samples are gone, the rest stay")
        #expect(total(after) > 0)
        // Other domains are untouched.
        let others = { (c: [Key: Int]) in c.filter { $0.key.domain != 0 } }
        #expect(others(after) == others(before))
    }

    /// Every truncation of every capture file: a clear error, or fewer samples with a warning — never a
    /// crash or a silently smaller total.
    @Test func truncatedCaptureFilesAreReported() throws {
        let cap = try Self.writeCapture()
        let (full, _, _, _) = try Self.decode(cap.path)
        let fullTotal = full.values.reduce(0, +)
        for name in ["capture.json", "dom0.rings", "dom2.rings", "dom3.rings"] {
            let url = cap.appendingPathComponent(name)
            let original = try Data(contentsOf: url)
            let step = max(1, original.count / 97)
            for cut in stride(from: 0, to: original.count, by: step) {
                try original.prefix(cut).write(to: url)
                do {
                    let (c, _, stats, _) = try Self.decode(cap.path)
                    let total = c.values.reduce(0, +)
                    #expect(total <= fullTotal)
                    if total < fullTotal {
                        #expect(!stats.warnings.isEmpty || !stats.skipped.isEmpty, "\(name) cut at \(cut): \(total) of \(fullTotal) samples without a warning")
                    }
                } catch let e as SampleIOError {
                    #expect(e.description.contains(cap.path) || e.path != nil, "\(name) cut at \(cut): error without a file: \(e)")
                }
            }
            try original.write(to: url)
        }
    }

    /// The OProfile event stream in both word sizes: CPU, domain, mode switches, cookies, traces; `capture.json`'s
    /// word sizes in bits or, as docs/FORMAT.md's example gives them, in bytes.
    @Test(arguments: [(4, false), (8, false), (4, true), (8, true)])
    func oprofileStreamDecodes(wordSize: Int, inBytes: Bool) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("os-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let esc: UInt64 = wordSize == 8 ? ~0 : 0xFFFF_FFFF
        var words: [UInt64] = []
        func code(_ c: UInt64, _ args: UInt64...) { words.append(esc); words.append(c); words.append(contentsOf: args) }
        code(2, 1)                      // CPU switch → cpu 1
        code(4)                         // kernel enter
        words += [0xffffffff81001000, 0] // kernel sample, event 0
        code(1, 1234, 0x5a1f)           // ctx switch: pid 1234, app cookie
        code(7, 1200)                   // tgid 1200
        code(3, 0x5a1f)                 // cookie switch: /usr/bin/dbench
        code(5)                         // user enter
        words += [0x1130, 1]            // user sample at file offset 0x1130, event 1
        code(10)                        // xen enter
        words += [0xffff82d040201000, 0]
        code(11, 2)                     // domain switch → 2 (passive)
        code(4)
        code(8)                         // trace begin: sample then two callers
        words += [0xffffffff81002000, 0, 0xffffffff81003000, 0, 0xffffffff81004000, 0]
        code(11, esc)                   // back to the coordinator
        code(4)
        words += [0xffffffff81005000, 0]
        var bytes: [UInt8] = []
        for w in words {
            if wordSize == 8 { withUnsafeBytes(of: w.littleEndian) { bytes += $0 } } else { withUnsafeBytes(of: UInt32(truncatingIfNeeded: w).littleEndian) { bytes += $0 } }
        }
        try Data(bytes).write(to: dir.appendingPathComponent("oprofile.stream"))
        let json = """
        {"format": "xenoprof-capture", "version": 1, "word_size": \(inBytes ? 8 : 64), "events": [{"name": "CPU_CLK_UNHALTED", "count": 1000}, {"name": "X", "count": 7}],
         "domains": [{"id": 0, "name": "Domain-0", "role": "active", "vcpus": 1, "max_samples": 16},
                     {"id": 2, "name": "g", "role": "passive", "vcpus": 1, "max_samples": 16}],
         "oprofile_stream": {"file": "oprofile.stream", "word_size": \(inBytes ? wordSize : wordSize * 8), "cookies": {"0x5a1f": "/usr/bin/dbench"}}}
        """
        try Data(json.utf8).write(to: dir.appendingPathComponent("capture.json"))
        let src = try SampleReader.open(path: dir.path)
        var samples: [Sample] = []
        var batches: [SampleBatch] = []
        while let b = try src.nextBatch() { samples += b.samples; batches.append(b) }
        let kernelIP: UInt64 = wordSize == 8 ? 0xffffffff81001000 : 0x81001000
        #expect(samples.count == 5)
        #expect(samples[0].ip == kernelIP && samples[0].mode == .kernel && samples[0].pcpu == 1 && samples[0].domain == .host)
        #expect(samples[1].mode == .user && samples[1].pid == 1200 && samples[1].tid == 1234 && samples[1].weight == 7)
        let mapping = batches.flatMap(\.sideband).compactMap { r -> Mapping? in if case .mapping(let m) = r.event { return m } else { return nil } }.first
        #expect(mapping?.path == "/usr/bin/dbench")
        #expect(samples[1].ip == (mapping?.start ?? 0) + 0x1130, "user samples sit at the cookie's synthetic base + offset")
        #expect(samples[2].mode == .hypervisor)
        #expect(samples[3].domain == DomainID(2) && samples[3].chainCount == 3)
        #expect(samples[4].domain == .host && samples[4].mode == .kernel)
        // Cut in the middle of an entry: a warning, not a crash.
        try Data(bytes.prefix(bytes.count - wordSize)).write(to: dir.appendingPathComponent("oprofile.stream"))
        let cut = try SampleReader.open(path: dir.path)
        while try cut.nextBatch() != nil {}
        #expect(!cut.stats.warnings.isEmpty)
    }
}
