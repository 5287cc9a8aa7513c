import Foundation
import Testing
@testable import SampleIO

/// The merging decoder's threads (file read in overlapping windows on one, records parsed on the caller's
/// — host samples by the C fast path, everything else record by record — merged and time-ordered on a
/// third) against the plain sample-by-sample decoder, on a generated perf.data of several megabytes:
/// samples of every cpumode, callchains of varied depth, records up to 60 KB that straddle window ends,
/// side-band events among the samples, rounds out of time order.
@Suite struct PerfMergedDecodeTests {
    /// sample_type: IP | TID | TIME | CALLCHAIN | CPU | PERIOD; sample_id_all with TID | TIME | CPU trailers.
    static let sampleType: UInt64 = 1 | 2 | 4 | 32 | 128 | 256

    /// `twoEvents`: as `perf record -a` writes them, two attrs of one layout with ID in it (ids 11, 12 and 21, 22),
    /// samples of both (and now and then of id 99, which no attr lists), trailers with the id.
    static func file(samples: Int, seed: UInt64, twoEvents: Bool = false) -> [UInt8] {
        let sampleType = twoEvents ? Self.sampleType | 64 : Self.sampleType
        var rng = seed
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 11
        }
        var data = ByteWriter()
        var time: UInt64 = 1_000_000
        func header(_ type: UInt32, misc: UInt16, size: Int) {
            data.write(type); data.write(misc); data.write(UInt16(size))
        }
        func trailer(pid: UInt32, tid: UInt32, time: UInt64) {
            data.write(pid); data.write(tid); data.write(time)
            if twoEvents { data.write(UInt64(21)) }
            data.write(UInt32(0)); data.write(UInt32(0))
        }
        for i in 0..<samples {
            if i % 997 == 0 {
                // An executable mapping of a new library (side band among the samples).
                let name = Array("/lib/libx\(i).so".utf8) + [0]
                let padded = (name.count + 7) & ~7
                header(1, misc: 2, size: 8 + 32 + padded + (twoEvents ? 32 : 24))
                data.write(UInt32(100)); data.write(UInt32(100))
                data.write(UInt64(0x7000_0000 + UInt64(i) * 0x10000)); data.write(UInt64(0x10000)); data.write(UInt64(0))
                data.write(bytes: name + [UInt8](repeating: 0, count: padded - name.count))
                trailer(pid: 100, tid: 100, time: time)
            }
            if i % 1500 == 1499 { header(68, misc: 0, size: 8) }  // FINISHED_ROUND
            let cpumode: UInt16 = [1, 2, 2, 2, 3, 4, 5, 0][Int(next() % 8)]
            // Mostly shallow chains; now and then one of thousands of entries (a record of up to ~60 KB).
            let depth = next() % 50 == 0 ? Int(next() % 7400) : Int(next() % 12)
            let tid = UInt32(100 + next() % 3)
            let t = time &+ next() % 5000 &- 2500  // slightly out of order within a round
            time += 1000
            header(9, misc: cpumode, size: 8 + 8 * (twoEvents ? 7 : 6) + 8 * depth)
            data.write(UInt64(0x7000_1000 + (next() % 40) * 16))  // ip
            data.write(UInt32(100)); data.write(tid)
            data.write(t)
            if twoEvents { data.write(next() % 200 == 0 ? UInt64(99) : [11, 12, 21, 22][Int(next() % 4)]) }
            data.write(UInt32(next() % 2)); data.write(UInt32(0))  // cpu, res
            data.write(UInt64(1000 + next() % 10))  // period
            data.write(UInt64(depth))
            for d in 0..<depth {
                data.write(d == 0 && depth > 3 ? UInt64(bitPattern: -512) : UInt64(0x7000_2000 + (next() % 8) * 16))
            }
        }
        header(68, misc: 0, size: 8)
        // File header, the attrs (each with its id section), their ids, then the data.
        var out = ByteWriter()
        let attrCount = twoEvents ? 2 : 1
        let attrSize = 128, attrsAt = 104, idsAt = attrsAt + attrCount * (attrSize + 16)
        let dataAt = idsAt + (twoEvents ? 32 : 0)
        out.write(bytes: Array("PERFILE2".utf8))
        out.write(UInt64(104)); out.write(UInt64(attrSize + 16))
        out.write(UInt64(attrsAt)); out.write(UInt64(attrCount * (attrSize + 16)))
        out.write(UInt64(dataAt)); out.write(UInt64(data.count))
        out.write(UInt64(0)); out.write(UInt64(0))
        for _ in 0..<4 { out.write(UInt64(0)) }
        for a in 0..<attrCount {
            // perf_event_attr: type 1 (software), size, config 0 (cpu-clock; 9, dummy, second), period, sample_type,
            // read_format, flags (bit 18: sample_id_all), then zeros.
            out.write(UInt32(1)); out.write(UInt32(attrSize)); out.write(UInt64(a == 0 ? 0 : 9)); out.write(UInt64(1000))
            out.write(sampleType); out.write(UInt64(0)); out.write(UInt64(1) << 18)
            for _ in 0..<((attrSize - 48) / 8) { out.write(UInt64(0)) }
            // ids: none, or two each
            if twoEvents { out.write(UInt64(idsAt + a * 16)); out.write(UInt64(16)) } else { out.write(UInt64(0)); out.write(UInt64(0)) }
        }
        if twoEvents { for id: UInt64 in [11, 12, 21, 22] { out.write(id) } }
        out.write(bytes: data.bytes)
        return out.bytes
    }

    @Test func threadedMergingAgreesWithTheSampleBySampleDecoder() throws {
        let bytes = Self.file(samples: 60_000, seed: 7)
        #expect(bytes.count > 5 << 20, "the file should span several read windows")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-merged-\(getpid()).data").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The file read in place by 4 MiB windows (the default) and by 1 MiB ones, and copied by 1 MiB ones.
        let ways: [PerfDataSource.WindowChoice] = [.init(), .init(inPlace: true, stride: 1 << 20), .init(inPlace: false, stride: 1 << 20)]
        for chains in [false, true] {
          for way in ways {
            let plain = try PerfDataSource(bytes: bytes, path: path)  // in memory: no threads, no merging
            plain.setCallchainsWanted(chains)
            // Mapped: read, parse and merge on three threads.
            let merged = try PerfDataSource(file: PerfFileBytes.open(path), path: path, windows: way)
            merged.setCallchainsWanted(chains)
            merged.setMergingAllowed(true)
            let a = try PerfDataOrderTests.epochs(plain), b = try PerfDataOrderTests.epochs(merged)
            #expect(a.sideband.count == 61)
            #expect(a.sideband == b.sideband)
            let diff = PerfDataOrderTests.firstDifference(a.epochs, b.epochs)
            #expect(diff == nil, "callchains \(chains), \(way): \(diff ?? "")")
            let total = b.epochs.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1[0] } }
            #expect(total == 60_000)
            #expect(plain.stats.droppedRecords.isEmpty && merged.stats.droppedRecords.isEmpty)
            #expect(merged.stats.warnings == plain.stats.warnings)
            #expect(merged.metadata.domains.map(\.id) == plain.metadata.domains.map(\.id))
          }
        }
    }

    /// perf record -a's files: two events of one layout, told apart by the samples' ids. The C loop finds each
    /// sample's event by id (and leaves a sample of an unlisted id to the record-by-record path, which drops it)
    /// exactly as the sample-by-sample decoder does.
    @Test func twoEventsByIDAgreeWithTheSampleBySampleDecoder() throws {
        let bytes = Self.file(samples: 30_000, seed: 11, twoEvents: true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-merged-ids-\(getpid()).data").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        for chains in [false, true] {
            let plain = try PerfDataSource(bytes: bytes, path: path)
            plain.setCallchainsWanted(chains)
            let merged = try PerfDataSource(file: PerfFileBytes.open(path), path: path)
            merged.setCallchainsWanted(chains)
            merged.setMergingAllowed(true)
            #expect(merged.fastLayout?.id_count == 4, "the C loop should take the file")
            let a = try PerfDataOrderTests.epochs(plain), b = try PerfDataOrderTests.epochs(merged)
            #expect(a.sideband == b.sideband)
            let diff = PerfDataOrderTests.firstDifference(a.epochs, b.epochs)
            #expect(diff == nil, "callchains \(chains): \(diff ?? "")")
            let events = Set(b.epochs.flatMap { $0.keys.map { $0.split(separator: " ")[6] } })
            #expect(events == ["0", "1"])
            let dropped = plain.stats.droppedRecords["sample (unknown event id)", default: 0]
            #expect(dropped > 50)
            #expect(merged.stats.droppedRecords == plain.stats.droppedRecords)
            let total = b.epochs.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1[0] } }
            #expect(total == UInt64(30_000 - dropped))
        }
    }

    /// Cut short or corrupted on disk, the file reads the same through the threads as in memory (where
    /// records are parsed and merged on the caller's thread): same samples, same warnings and drops.
    @Test func damagedFilesReadAlikeThreadedAndInMemory() throws {
        let full = Self.file(samples: 20_000, seed: 11)
        let dataAt = 104 + 128 + 16
        // Offsets of a few records: walk the headers.
        var starts: [Int] = []
        var o = dataAt
        while o + 8 <= full.count {
            starts.append(o)
            o += Int(full[o + 6]) | Int(full[o + 7]) << 8
        }
        let window = 1 << 20
        let cases: [(String, [UInt8])] = [
            ("cut inside a record in the second window", Array(full[0..<(starts[starts.count * 2 / 3] + 13)])),
            ("cut at a window's end", Array(full[0..<(dataAt + 2 * window)])),
            ("cut inside the last record", Array(full[0..<(full.count - 3)])),
            ("a record of size 0", { var b = full; let at = starts[starts.count / 2]; b[at + 6] = 0; b[at + 7] = 0; return b }()),
            ("a sample too short for its fields", { var b = full
                let at = starts.first { b[$0] == 9 && b[$0 + 4] & 7 == 2 && $0 > dataAt + window }!
                b[at + 6] = 24; b[at + 7] = 0  // a 24-byte "sample", then whatever follows read as records
                return b }()),
        ]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-damaged-\(getpid()).data").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (what, bytes) in cases {
          // 1 MiB windows (the cuts above are at their ends), read in place and copied.
          for inPlace in [true, false] {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let memory = try PerfDataSource(bytes: bytes, path: path)
            memory.setMergingAllowed(true)
            let disk = try PerfDataSource(file: PerfFileBytes.open(path), path: path, windows: .init(inPlace: inPlace, stride: window))
            disk.setMergingAllowed(true)
            let a = try PerfDataOrderTests.epochs(memory), b = try PerfDataOrderTests.epochs(disk)
            #expect(a.sideband == b.sideband, "\(what), in place \(inPlace)")
            let diff = PerfDataOrderTests.firstDifference(a.epochs, b.epochs)
            #expect(diff == nil, "\(what): \(diff ?? "")")
            #expect(memory.stats.warnings == disk.stats.warnings, "\(what)")
            #expect(memory.stats.droppedRecords == disk.stats.droppedRecords, "\(what)")
            #expect(!disk.stats.warnings.isEmpty || !disk.stats.droppedRecords.isEmpty, "\(what): the damage must be reported")
          }
        }
    }

    /// A file cut short on disk after it was opened (and mapped) reads up to the cut, read in place or
    /// copied alike: the samples before it, a warning, and no SIGBUS from a mapped page the file no longer has.
    @Test func fileCutWhileReadingEndsWithAWarning() throws {
        let bytes = Self.file(samples: 40_000, seed: 5)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-cut-\(getpid()).data").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let cut = bytes.count / 2 + 12345
        var counts: [Int] = []
        for inPlace in [true, false] {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let s = try PerfDataSource(file: PerfFileBytes.open(path), path: path, windows: .init(inPlace: inPlace, stride: 1 << 20))
            #expect(truncate(path, off_t(cut)) == 0)
            s.setMergingAllowed(true)
            var samples = 0
            while let b = try s.nextBatch() { samples += b.samples.reduce(0) { $0 + Int($1.count) } }
            #expect(samples > 0 && samples < 40_000, "in place \(inPlace): \(samples) samples")
            #expect(!s.stats.warnings.isEmpty, "in place \(inPlace): the short read must be reported")
            counts.append(samples)
        }
        #expect(counts[0] == counts[1], "read in place and copied: \(counts)")
    }

    /// Sources dropped before, during and after reading leave no thread behind: the reading and merging
    /// threads hold their objects until they end, and they end once the source cancels their hand-offs.
    @Test func droppedSourcesLeaveNoThreads() throws {
        let bytes = Self.file(samples: 30_000, seed: 3)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-drop-\(getpid()).data").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        final class Weak { weak var object: AnyObject?; init(_ o: AnyObject) { object = o } }
        var left: [Weak] = []
        for round in 0..<6 {
            let s = try PerfDataSource(file: PerfFileBytes.open(path), path: path)
            s.setMergingAllowed(true)
            #expect(s.threadObjects.count == 2, "a file on disk is read and merged on threads of their own")
            left += s.threadObjects.map(Weak.init)
            if round % 3 == 1 { _ = try s.nextBatch() }
            if round % 3 == 2 { while try s.nextBatch() != nil {} }
        }
        var waited = 0
        while left.contains(where: { $0.object != nil }) && waited < 500 { usleep(10_000); waited += 1 }
        #expect(left.allSatisfy { $0.object == nil }, "\(left.filter { $0.object != nil }.count) thread objects alive 5 s after their sources went")
    }

    /// The C loop's key hash is the merger's.
    @Test func fastPathHashIsTheMergersHash() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let k = SampleMerger.Key(ip: rng.next(), threads: rng.next(), place: rng.next(), cpus: rng.next())
            #expect(SampleMerger.hash(k, UnsafeBufferPointer(start: nil, count: 0)) == SampleMerger.fastPathHash(k))
            let chain = (0..<Int.random(in: 1...40, using: &rng)).map { _ in
                CallFrame(ip: rng.next(), mode: SampleMode(rawValue: UInt8.random(in: 0...3, using: &rng))!)
            }
            chain.withUnsafeBufferPointer { c in
                #expect(SampleMerger.hash(k, c) == SampleMerger.fastPathHash(k, chain: c))
            }
        }
    }
}
