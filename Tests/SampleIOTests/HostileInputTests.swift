import Foundation
import Testing
@testable import SampleIO

/// Crafted inputs that used to trap, read out of bounds or decode wrongly (issue 14), each built byte by
/// byte here: an AUXTRACE size near 2^64, a compressed record inside compressed data, an MMAP2 record
/// shorter than its fixed fields, side-band trailers of an event whose layout differs from the first.
@Suite struct HostileInputTests {
    /// One `perf_event_attr` of a handmade perf.data file and the ids its events carry.
    struct Attr {
        var sampleType: UInt64
        var ids: [UInt64]
    }

    /// A perf.data file (PERFILE2, little-endian) with `attrs` (software cpu-clock, sample_id_all) and `data`
    /// as its data section.
    static func perfData(attrs: [Attr], data: [UInt8]) -> [UInt8] {
        var out = ByteWriter()
        let attrSize = 128, attrsAt = 104, entry = attrSize + 16
        let idsAt = attrsAt + attrs.count * entry
        let idCount = attrs.reduce(0) { $0 + $1.ids.count }
        let dataAt = idsAt + 8 * idCount
        out.write(bytes: Array("PERFILE2".utf8))
        out.write(UInt64(104)); out.write(UInt64(entry))
        out.write(UInt64(attrsAt)); out.write(UInt64(attrs.count * entry))
        out.write(UInt64(dataAt)); out.write(UInt64(data.count))
        out.write(UInt64(0)); out.write(UInt64(0))
        for _ in 0..<4 { out.write(UInt64(0)) }
        var idAt = idsAt
        for a in attrs {
            out.write(UInt32(1)); out.write(UInt32(attrSize)); out.write(UInt64(0))  // PERF_TYPE_SOFTWARE, cpu-clock
            out.write(UInt64(1_000_000)); out.write(a.sampleType); out.write(UInt64(0))
            out.write(UInt64(1) << 18)  // sample_id_all
            for _ in 0..<((attrSize - 48) / 8) { out.write(UInt64(0)) }
            out.write(UInt64(idAt)); out.write(UInt64(8 * a.ids.count))
            idAt += 8 * a.ids.count
        }
        for a in attrs { for id in a.ids { out.write(id) } }
        out.write(bytes: data)
        return out.bytes
    }

    /// IP | TID | TIME | CPU | PERIOD: a sample record of 48 bytes.
    static let plainSampleType: UInt64 = PerfAttr.ip | PerfAttr.tid | PerfAttr.time | PerfAttr.cpu | PerfAttr.period

    static func plainSample(ip: UInt64, time: UInt64, to w: inout ByteWriter) {
        w.write(UInt32(9)); w.write(UInt16(2)); w.write(UInt16(48))  // PERF_RECORD_SAMPLE, user mode
        w.write(ip); w.write(UInt32(7)); w.write(UInt32(7)); w.write(time)
        w.write(UInt32(0)); w.write(UInt32(0)); w.write(UInt64(1_000_000))
    }

    /// Decodes `bytes` in memory and, written to a file, through the mapped reader: samples and stats of each.
    static func decodeBothWays(_ bytes: [UInt8]) throws -> [(samples: [Sample], stats: DecodeStats)] {
        var results: [(samples: [Sample], stats: DecodeStats)] = []
        let memory = try PerfDataSource(bytes: bytes, path: "crafted.data")
        results.append((try drain(memory), memory.stats))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-hostile-\(UUID().uuidString).data")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let mapped = try PerfDataFormat.open(path: url.path)
        results.append((try drain(mapped), mapped.stats))
        return results
    }

    static func drain(_ source: any SampleSource) throws -> [Sample] {
        var out: [Sample] = []
        while let b = try source.nextBatch() { out += b.samples }
        return out
    }

    // MARK: AUXTRACE

    /// An AUXTRACE record (48 bytes) saying `size` bytes of AUX data follow it.
    static func auxtrace(size: UInt64, to w: inout ByteWriter) {
        w.write(UInt32(71)); w.write(UInt16(0)); w.write(UInt16(48))
        w.write(size); w.write(UInt64(0)); w.write(UInt64(0))  // size, offset, reference
        w.write(UInt32(0)); w.write(UInt32(7)); w.write(UInt32(0)); w.write(UInt32(0))  // idx, tid, cpu, reserved
    }

    @Test(arguments: [UInt64.max, UInt64.max - 47, UInt64(Int.max), UInt64(Int.max) - 40, 1 << 62, 57])
    func auxtraceSizeBeyondTheDataIsAWarningNotATrap(size: UInt64) throws {
        var data = ByteWriter()
        Self.plainSample(ip: 0x1000, time: 1, to: &data)
        Self.auxtrace(size: size, to: &data)
        data.write(bytes: [UInt8](repeating: 0xAA, count: 8))  // fewer AUX bytes than the record says
        Self.plainSample(ip: 0x2000, time: 2, to: &data)
        for (samples, stats) in try Self.decodeBothWays(Self.perfData(attrs: [Attr(sampleType: Self.plainSampleType, ids: [])], data: data.bytes)) {
            #expect(samples.map(\.ip) == [0x1000])
            #expect(stats.warnings.contains { $0.contains("AUXTRACE record 1 at byte") && $0.contains("says \(size) bytes follow it") },
                    "\(stats.warnings)")
        }
    }

    @Test func auxtraceDataIsSkipped() throws {
        var data = ByteWriter()
        Self.auxtrace(size: 16, to: &data)
        data.write(bytes: [UInt8](repeating: 0xAA, count: 16))
        Self.plainSample(ip: 0x2000, time: 2, to: &data)
        for (samples, stats) in try Self.decodeBothWays(Self.perfData(attrs: [Attr(sampleType: Self.plainSampleType, ids: [])], data: data.bytes)) {
            #expect(samples.map(\.ip) == [0x2000])
            #expect(stats.warnings.isEmpty, "\(stats.warnings)")
        }
    }

    // MARK: nested PERF_RECORD_COMPRESSED

    /// A zstd frame holding `bytes` in one raw (stored) block: no compression needed to build one.
    static func zstdFrame(_ bytes: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]  // magic
        f.append(0x00)  // frame header descriptor: no content size, not single segment, no checksum
        f.append(0x50)  // window descriptor: 2^(10 + 10) = 1 MiB
        let header = UInt32(1) | UInt32(0) << 1 | UInt32(bytes.count) << 3  // last block, raw, size
        f += [UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16 & 0xFF)]
        return f + bytes
    }

    /// A PERF_RECORD_COMPRESSED record (type 81) carrying `frame` (its size is not padded to 8 bytes, as
    /// perf writes them; PERF_RECORD_COMPRESSED2 added the padding).
    static func compressed(_ frame: [UInt8], to w: inout ByteWriter) {
        w.write(UInt32(81)); w.write(UInt16(0)); w.write(UInt16(8 + frame.count))
        w.write(bytes: frame)
    }

    @Test func compressedRecordInsideCompressedDataIsRefused() throws {
        var innermost = ByteWriter()
        Self.plainSample(ip: 0x3000, time: 3, to: &innermost)
        var inner = ByteWriter()
        Self.compressed(Self.zstdFrame(innermost.bytes), to: &inner)  // nested: refused
        Self.plainSample(ip: 0x2000, time: 2, to: &inner)            // after it: still decoded
        var data = ByteWriter()
        Self.plainSample(ip: 0x1000, time: 1, to: &data)
        Self.compressed(Self.zstdFrame(inner.bytes), to: &data)
        Self.plainSample(ip: 0x4000, time: 4, to: &data)
        for (samples, stats) in try Self.decodeBothWays(Self.perfData(attrs: [Attr(sampleType: Self.plainSampleType, ids: [])], data: data.bytes)) {
            #expect(samples.map(\.ip) == [0x1000, 0x2000, 0x4000])
            #expect(stats.droppedRecords["compressed (nested)"] == 1, "\(stats.droppedRecords)")
            #expect(stats.warnings.contains { $0.contains("PERF_RECORD_COMPRESSED record inside decompressed data") }, "\(stats.warnings)")
        }
    }

    @Test func compressedRecordsDecode() throws {
        var inner = ByteWriter()
        Self.plainSample(ip: 0x2000, time: 2, to: &inner)
        var data = ByteWriter()
        Self.compressed(Self.zstdFrame(inner.bytes), to: &data)
        Self.plainSample(ip: 0x4000, time: 4, to: &data)
        for (samples, stats) in try Self.decodeBothWays(Self.perfData(attrs: [Attr(sampleType: Self.plainSampleType, ids: [])], data: data.bytes)) {
            #expect(samples.map(\.ip) == [0x2000, 0x4000])
            #expect(stats.droppedRecords.isEmpty, "\(stats.droppedRecords)")
            #expect(stats.warnings.isEmpty, "\(stats.warnings)")
        }
    }

    /// A zstd frame of `blocks` RLE blocks, each 128 KiB of zeros (4 bytes apiece: 64 KiB of frame inflate
    /// to 2 GiB).
    static func zstdZeros(blocks: Int) -> [UInt8] {
        var f: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x50]  // magic, no content size, 1 MiB window
        for k in 0..<blocks {
            let header = UInt32(k == blocks - 1 ? 1 : 0) | UInt32(1) << 1 | UInt32(128 << 10) << 3  // RLE, 128 KiB
            f += [UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16 & 0xFF), 0]
        }
        return f
    }

    /// A compressed record of 64 KiB that inflates to 2 GiB: refused once it passes what one record may
    /// inflate to (perf's rule: the ring buffer's size; 64 MiB without a COMPRESSED header) instead of being
    /// buffered whole; the records around it are read.
    @Test func compressedRecordInflatingPastItsLimitIsRefused() throws {
        let frame = Self.zstdZeros(blocks: 16_380)
        var data = ByteWriter()
        Self.plainSample(ip: 0x1000, time: 1, to: &data)
        Self.compressed(frame, to: &data)
        Self.plainSample(ip: 0x4000, time: 4, to: &data)
        var inner = ByteWriter()
        Self.plainSample(ip: 0x5000, time: 5, to: &inner)
        Self.compressed(Self.zstdFrame(inner.bytes), to: &data)  // the stream starts anew after the refusal
        for (samples, stats) in try Self.decodeBothWays(Self.perfData(attrs: [Attr(sampleType: Self.plainSampleType, ids: [])], data: data.bytes)) {
            #expect(samples.map(\.ip) == [0x1000, 0x4000, 0x5000])
            #expect(stats.droppedRecords["compressed"] == 1, "\(stats.droppedRecords)")
            #expect(stats.warnings.contains { $0.contains("inflates to more than \(PerfDecompressor.defaultRecordInflated) bytes") }, "\(stats.warnings)")
        }
    }

    // MARK: sample_id_all trailers by id

    @Test func sideBandTrailersUseTheAttrTheirIDNames() throws {
        // Event 1: IDENTIFIER | IP | TID | TIME | CPU | PERIOD (trailer TID, TIME, CPU, IDENTIFIER: 32 bytes).
        // Event 2: IDENTIFIER | IP | TIME | PERIOD (trailer TIME, IDENTIFIER: 16 bytes).
        let first = Attr(sampleType: PerfAttr.identifier | Self.plainSampleType, ids: [101])
        let second = Attr(sampleType: PerfAttr.identifier | PerfAttr.ip | PerfAttr.time | PerfAttr.period, ids: [202])
        var data = ByteWriter()
        // COMM of event 2 at time 5000: pid, tid, "spin\0" padded to 8, then its 16-byte trailer.
        data.write(UInt32(3)); data.write(UInt16(0)); data.write(UInt16(8 + 8 + 8 + 16))
        data.write(UInt32(7)); data.write(UInt32(7)); data.write(bytes: Array("spin".utf8) + [0, 0, 0, 0])
        data.write(UInt64(5000)); data.write(UInt64(202))
        // A sample of event 2 at time 6000 and one of event 1 at 7000.
        data.write(UInt32(9)); data.write(UInt16(2)); data.write(UInt16(8 + 32))
        data.write(UInt64(202)); data.write(UInt64(0x2000)); data.write(UInt64(6000)); data.write(UInt64(1))
        data.write(UInt32(9)); data.write(UInt16(2)); data.write(UInt16(8 + 48))
        data.write(UInt64(101)); data.write(UInt64(0x1000)); data.write(UInt32(7)); data.write(UInt32(7))
        data.write(UInt64(7000)); data.write(UInt32(0)); data.write(UInt32(0)); data.write(UInt64(1))
        data.write(UInt32(68)); data.write(UInt16(0)); data.write(UInt16(8))  // FINISHED_ROUND
        let source = try PerfDataSource(bytes: Self.perfData(attrs: [first, second], data: data.bytes), path: "two-layouts.data")
        var comms: [(time: UInt64, before: [UInt64])] = []
        var ips: [UInt64] = []
        while let b = try source.nextBatch() {
            for r in b.sideband {
                if case .comm = r.event { comms.append((r.time, b.samples[..<min(r.beforeSample, b.samples.count)].map(\.ip))) }
            }
            ips += b.samples.map(\.ip)
        }
        #expect(ips == [0x2000, 0x1000])
        #expect(comms.count == 1)
        #expect(comms.first?.time == 5000, "the COMM's time is read with event 2's layout: \(comms)")
        #expect(comms.first?.before == [], "the COMM (5000) comes before both samples")
    }

    // MARK: MMAP2 in the live ring parser

    /// A live-ring MMAP2 record of `size` bytes (build-id form, claiming a 200-byte build-id).
    static func mmap2(size: Int) -> [UInt8] {
        var w = ByteWriter()
        w.write(UInt32(10)); w.write(UInt16(2 | 1 << 14)); w.write(UInt16(size))
        w.write(UInt32(7)); w.write(UInt32(7)); w.write(UInt64(0x40_0000)); w.write(UInt64(0x1000)); w.write(UInt64(0))
        while w.count < size { w.write(UInt8(w.count == 40 ? 200 : 0x41)) }
        return Array(w.bytes.prefix(size))
    }

    @Test(arguments: [40, 41, 48, 63, 64, 71])
    func shortMMAP2RecordsAreDropped(size: Int) {
        var parser = PerfRecordParser(sampleType: Self.plainSampleType)
        Self.mmap2(size: size).withUnsafeBytes { parser.parse($0) }
        #expect(parser.batch.sideband.isEmpty)
        #expect(parser.stats.droppedRecords["mmap2"] == 1, "\(parser.stats.droppedRecords)")
    }

    @Test func completeMMAP2RecordIsAMapping() throws {
        var parser = PerfRecordParser(sampleType: Self.plainSampleType)
        var record = Self.mmap2(size: 72)
        record += Array("/bin/x".utf8) + [0, 0]
        record[6] = UInt8(record.count)
        record.withUnsafeBytes { parser.parse($0) }
        guard case .mapping(let m) = try #require(parser.batch.sideband.first).event else {
            Issue.record("expected a mapping: \(parser.batch.sideband)"); return
        }
        #expect(m.path == "/bin/x" && m.start == 0x40_0000 && m.buildID.count == 20)
    }
}
