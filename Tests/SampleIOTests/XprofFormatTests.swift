import Foundation
import Testing
@testable import SampleIO

/// Round trips and truncation/corruption tables for the native `.xprof` format (docs/FORMAT.md).
@Suite struct XprofFormatTests {
    static func makeMetadata() -> RunMetadata {
        var m = RunMetadata()
        m.sourceFormat = "xprof"
        m.hostname = "testhost"
        m.kernelRelease = "6.1.0-test"
        m.architecture = "x86_64"
        m.cpusOnline = 4
        m.cpusUsed = [0, 1, 2, 3]
        m.events = [EventInfo(name: "cpu-clock", frequency: 997)]
        m.command = ["xprof-workload", "spin", "1"]
        m.startTime = 1_700_000_000_000_000_000
        m.duration = 2_000_000_000
        m.domains = [DomainInfo(id: .host, name: "host", role: .coordinator, vcpus: 4),
                     DomainInfo(id: DomainID(2), name: "guest2", role: .passive, vcpus: 2)]
        m.symbolHints = [SymbolHint(domain: .host, kind: .user, path: "/bin/true", buildID: "abcdef")]
        m.kernelSymbols = [KernelSymbolSnapshot(domain: .host, text: "ffffffff81000000 T _stext\nffffffff81000100 t foo [mod]\n")]
        m.extra = ["recorder": "test"]
        return m
    }

    /// Batches with varied samples, callchains and every side-band type.
    static func makeBatches(count: Int, perBatch: Int) -> [SampleBatch] {
        var out: [SampleBatch] = []
        var n = 0
        for b in 0..<count {
            var batch = SampleBatch()
            batch.append(.mapping(Mapping(pid: Int32(100 + b), start: 0x400000, length: 0x1000, fileOffset: 0x2000,
                                          path: "/usr/bin/prog\(b)", buildID: [1, 2, 3, UInt8(b)], executable: true)), time: 5)
            batch.append(.comm(domain: .host, pid: Int32(100 + b), tid: Int32(101 + b), name: "prog\(b)", exec: b % 2 == 0))
            for i in 0..<perBatch {
                let s = Sample(ip: 0x400000 + UInt64(n * 16), weight: UInt64(1000 + i), time: UInt64(n), pid: Int32(100 + b),
                               tid: Int32(101 + b), domain: i % 3 == 0 ? DomainID(2) : .host, pcpu: UInt32(i % 4),
                               vcpu: UInt32(i % 2), event: 0, mode: SampleMode(rawValue: UInt8(i % 4))!)
                if i % 5 == 0 {
                    batch.append(s, callchain: [CallFrame(ip: s.ip, mode: s.mode), CallFrame(ip: 0x401000, mode: .user),
                                                CallFrame(ip: 0xffffffff81000010, mode: .kernel)])
                } else {
                    batch.samples.append(s)
                }
                n += 1
            }
            batch.append(.fork(domain: .host, pid: 7, ppid: 6, tid: 7, ptid: 6))
            batch.append(.exit(domain: .host, pid: 7, tid: 7))
            out.append(batch)
        }
        return out
    }

    static func write(_ batches: [SampleBatch], lost: [DomainID: UInt64] = [:], finish: Bool = true) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-\(UUID().uuidString).xprof").path
        let w = try XprofWriter(path: path, metadata: makeMetadata())
        for b in batches { try w.write(b) }
        if finish {
            var st = DecodeStats()
            for (d, n) in lost { st.addLost(n, domain: d) }
            st.drop("sample", count: 2)
            try w.finish(stats: st, duration: 3_000_000_000)
        }
        return path
    }

    static func readAll(_ path: String) throws -> (RunMetadata, [SampleBatch], DecodeStats) {
        let src = try SampleReader.open(path: path)
        var batches: [SampleBatch] = []
        while let b = try src.nextBatch() { batches.append(b) }
        return (src.metadata, batches, src.stats)
    }

    @Test func roundTripPreservesEverything() throws {
        let batches = Self.makeBatches(count: 3, perBatch: 50)
        let path = try Self.write(batches, lost: [.host: 7, DomainID(2): 3])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (meta, back, stats) = try Self.readAll(path)
        var expected = Self.makeMetadata()
        expected.duration = 3_000_000_000
        #expect(meta == expected)
        #expect(back == batches)
        #expect(stats.lostSamples == [.host: 7, DomainID(2): 3])
        #expect(stats.droppedRecords == ["sample": 2])
        #expect(stats.warnings.isEmpty)
    }

    @Test func uncompressedRoundTrip() throws {
        let batches = Self.makeBatches(count: 2, perBatch: 10)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-\(UUID().uuidString).xprof").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try XprofWriter(path: path, metadata: Self.makeMetadata(), compress: false)
        for b in batches { try w.write(b) }
        try w.finish(stats: DecodeStats(), duration: 1)
        #expect(try Self.readAll(path).1 == batches)
    }

    /// Chunk start offsets of a file, found by walking the chunk headers.
    static func chunkOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var o = 32
        while o + 24 <= bytes.count {
            offsets.append(o)
            let stored = ByteCursor(bytes).peek(UInt32.self, .little, at: o + 8) ?? 0
            o += 24 + Int(stored)
        }
        return offsets
    }

    /// Every prefix at and around each chunk boundary, and in the middle of each chunk: either the samples of
    /// all complete chunks with a warning, or a clear error — never a crash, never extra or partial batches.
    @Test func truncationAtEveryChunkBoundaryAndMidChunk() throws {
        let batches = Self.makeBatches(count: 4, perBatch: 40)
        let path = try Self.write(batches, lost: [.host: 1])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = try FileBytes.read(path)
        let offsets = Self.chunkOffsets(bytes)
        #expect(offsets.count == 1 + 1 + 4 + 1 + 1)  // metadata, kernel symbols, 4 batches, lost, end
        var cuts = Set<Int>([0, 1, 8, 16, 31, 32])
        for (i, o) in offsets.enumerated() {
            let next = i + 1 < offsets.count ? offsets[i + 1] : bytes.count
            cuts.formUnion([o, o + 1, o + 12, o + 23, o + 24, (o + next) / 2, next - 1])
        }
        let tmp = path + ".cut"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let metadataEnd = offsets[1]  // a complete METADATA chunk is needed to read anything
        for cut in cuts.sorted() where cut < bytes.count {
            try FileBytes.write(Array(bytes[0..<cut]), to: tmp)
            do {
                let (_, back, stats) = try Self.readAll(tmp)
                // Complete batch chunks before the cut are all there, in order.
                let complete = offsets.indices.filter { i in
                    let end = i + 1 < offsets.count ? offsets[i + 1] : bytes.count
                    return i >= 2 && i < 6 && end <= cut
                }.count
                #expect(back == Array(batches.prefix(complete)), "cut at \(cut)")
                #expect(!stats.warnings.isEmpty, "cut at \(cut) must warn")
                #expect(cut >= metadataEnd, "a cut inside the metadata must fail, cut at \(cut)")
            } catch let e as SampleIOError {
                #expect(cut < metadataEnd, "cut at \(cut) after metadata should read, got \(e)")
                #expect(e.description.contains(tmp), "error names the file: \(e)")
            }
        }
    }

    /// Corruptions: each gives a SampleIOError naming the file and offset (or a warning) — never a crash.
    @Test(arguments: [0, 9, 12, 24, 40, 44, 52, 60])
    func corruptedByteGivesClearError(position: Int) throws {
        let path = try Self.write(Self.makeBatches(count: 2, perBatch: 8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try FileBytes.read(path)
        let offsets = Self.chunkOffsets(bytes)
        // Positions up to 31 hit the file header; others hit the first batch chunk's header/payload.
        let at = position < 32 ? position : offsets[2] + (position - 32)
        bytes[at] ^= 0x5A
        try FileBytes.write(bytes, to: path)
        do {
            _ = try Self.readAll(path)
            Issue.record("corruption at byte \(at) was not detected")
        } catch let e as SampleIOError {
            #expect(e.description.contains(path))
            #expect(e.offset != nil)
        }
    }

    /// A compressed batch chunk whose header states a payload of 256 MiB (the format's limit) for a few
    /// hundred stored bytes: deflate cannot expand that far, so it is refused before a 256 MiB buffer is
    /// allocated (docs/ARCHITECTURE.md, "Sizes read from input").
    @Test func statedInflatedSizeBeyondDeflatesReachIsRefused() throws {
        let path = try Self.write(Self.makeBatches(count: 2, perBatch: 8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try FileBytes.read(path)
        let chunk = Self.chunkOffsets(bytes)[2]
        let stored = Int(ByteCursor(bytes).peek(UInt32.self, .little, at: chunk + 8) ?? 0)
        #expect(ByteCursor(bytes).peek(UInt16.self, .little, at: chunk + 6) == 1, "the writer compresses batches")
        for (k, b) in withUnsafeBytes(of: UInt32(256 << 20).littleEndian, Array.init).enumerated() { bytes[chunk + 12 + k] = b }
        try FileBytes.write(bytes, to: path)
        do {
            _ = try Self.readAll(path)
            Issue.record("a payload size of 256 MiB for \(stored) stored bytes was accepted")
        } catch let e as SampleIOError {
            #expect(e.description.contains("compressed payload of \(stored) bytes states 268435456 bytes inflated"), "\(e)")
            #expect(e.description.contains(path))
            #expect(e.offset == chunk + 12)
        }
    }

    @Test func notAnXprofFileIsRefusedByContent() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fake-\(UUID().uuidString).xprof").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileBytes.write(Array("hello world, not a profile".utf8), to: path)
        do {
            _ = try SampleReader.open(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unsupported)
            #expect(error.description.contains("68 65 6c 6c 6f"))
        }
    }

    @Test func missingFileIsMissingInput() {
        do {
            _ = try SampleReader.open(path: "/nonexistent/x.xprof")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .missingInput)
        }
    }
}
