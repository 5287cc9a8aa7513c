#if canImport(Glibc)
import Glibc
#endif

/// Writes a native `.xprof` file (docs/FORMAT.md) chunk by chunk.
///
/// Each chunk goes to the file with one `write(2)` as soon as it is complete, so a process killed
/// mid-run leaves a file that reads up to its last chunk. A chunk the kernel refuses part of (a full
/// disk, `ulimit -f`, an I/O error) is cut off again, so the file still ends at a chunk boundary, and the
/// error says how much the file holds. Call ``finish(stats:duration:)`` to write the END chunk and close
/// the file.
public final class XprofWriter {
    /// Where the file goes: written there as it grows (a recording), or written beside it and renamed over
    /// it by ``finish(stats:duration:)`` (a conversion: a reader never sees half a file).
    public enum Placement: Sendable {
        case inPlace
        case renamedWhenFinished
    }

    /// The file the recording or conversion ends up at (as given to ``init(path:metadata:compress:placement:)``).
    public let path: String
    private var fd: Int32
    /// The file being written: `path`, or the temporary file renamed to it at the end.
    private let writingPath: String
    private var samplesWritten: UInt64 = 0
    /// Bytes of complete chunks in the file (where a failed chunk is cut back to).
    private var committedBytes = 0
    private let compress: Bool
    private var scratch = ByteWriter()

    /// Creates `path` and writes the header, METADATA and KERNEL_SYMBOLS chunks.
    /// - Parameter compress: zlib-compress BATCH chunks (level 1). Metadata and symbols are always compressed.
    public init(path: String, metadata: RunMetadata, compress: Bool = true,
                placement: Placement = .inPlace) throws(SampleIOError) {
        self.path = path
        self.compress = compress
        do throws(Errno) {
            if placement == .inPlace {
                fd = try SystemCalls.open(path, O_WRONLY | O_CREAT | O_TRUNC)
                writingPath = path
            } else {
                (fd, writingPath) = try SystemCalls.makeTemporaryFile(besides: path)
                _ = fchmod(fd, 0o666 & ~SystemCalls.creationMask)
            }
        } catch {
            throw FileBytes.posixError(path, "cannot create", error)
        }
        do {
            var h = ByteWriter(capacity: 32)
            h.write(bytes: XprofLayout.magic)
            h.write(XprofLayout.major)
            h.write(XprofLayout.minor)
            h.write(UInt32(XprofLayout.headerSize))
            h.write(UInt64(0))
            h.write(Zlib.crc32(h.bytes))
            h.write(UInt32(0))
            try append(h.bytes)
            try writeChunk(.metadata, payload: MetadataJSON(metadata).encoded(), count: 0, compress: true)
            for snap in metadata.kernelSymbols {
                var w = ByteWriter(capacity: snap.text.utf8.count + 4)
                w.write(snap.domain.rawValue)
                w.write(bytes: snap.text.utf8)
                try writeChunk(.kernelSymbols, payload: w.bytes, count: 0, compress: true)
            }
        } catch {
            SystemCalls.close(fd)
            fd = -1
            if writingPath != path { unlink(writingPath) }
            throw error
        }
    }

    deinit {
        if fd >= 0 {
            SystemCalls.close(fd)
            if writingPath != path { unlink(writingPath) }  // never finished: the old file stays
        }
    }

    /// Samples written so far.
    public var sampleCount: UInt64 { samplesWritten }

    /// Bytes of complete chunks written so far.
    public var byteCount: Int { committedBytes }

    /// Writes one BATCH chunk (nothing for an empty batch).
    public func write(_ batch: SampleBatch) throws(SampleIOError) {
        guard !batch.isEmpty else { return }
        scratch.removeAll()
        var w = scratch
        w.write(UInt32(batch.samples.count))
        let frameCount = batch.samples.reduce(0) { $0 + Int($1.chainCount) }
        w.write(UInt32(frameCount))
        w.write(UInt32(batch.sideband.count))
        w.write(UInt32(0))
        for s in batch.samples {
            w.write(s.ip); w.write(s.weight); w.write(s.time)
            w.write(s.pid); w.write(s.tid)
            w.write(s.domain.rawValue); w.write(s.pcpu); w.write(s.vcpu)
            w.write(s.event); w.write(s.mode.rawValue); w.write(UInt8(0))
            w.write(s.chainCount); w.write(UInt32(0))
        }
        for i in batch.samples.indices where batch.samples[i].chainCount > 0 {
            for f in batch.callchain(of: i) {
                w.write(f.ip); w.write(f.mode.rawValue)
                w.write(bytes: repeatElement(UInt8(0), count: 7))
            }
        }
        for r in batch.sideband {
            w.write(UInt32(clamping: r.beforeSample)); w.write(r.time)
            switch r.event {
            case .mapping(let m):
                w.write(XprofLayout.SidebandType.mapping.rawValue)
                w.write(m.domain.rawValue); w.write(m.pid); w.write(m.start); w.write(m.length); w.write(m.fileOffset)
                w.write(UInt8(m.executable ? 1 : 0))
                let id = m.buildID.prefix(64)
                w.write(UInt8(id.count)); w.write(bytes: id)
                w.writeString(m.path)
            case .comm(let d, let pid, let tid, let name, let exec):
                w.write(XprofLayout.SidebandType.comm.rawValue)
                w.write(d.rawValue); w.write(pid); w.write(tid); w.write(UInt8(exec ? 1 : 0)); w.writeString(name)
            case .fork(let d, let pid, let ppid, let tid, let ptid):
                w.write(XprofLayout.SidebandType.fork.rawValue)
                w.write(d.rawValue); w.write(pid); w.write(ppid); w.write(tid); w.write(ptid)
            case .exit(let d, let pid, let tid):
                w.write(XprofLayout.SidebandType.exit.rawValue)
                w.write(d.rawValue); w.write(pid); w.write(tid)
            }
        }
        scratch = w
        try writeChunk(.batch, payload: scratch.bytes, count: UInt32(batch.samples.count), compress: compress)
        samplesWritten += UInt64(batch.samples.count)
    }

    /// Writes a LOST chunk for the given per-domain counts (nothing if all are zero).
    public func writeLost(_ lost: [DomainID: UInt64]) throws(SampleIOError) {
        let entries = lost.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        guard !entries.isEmpty else { return }
        var w = ByteWriter()
        for (d, n) in entries { w.write(d.rawValue); w.write(n) }
        try writeChunk(.lost, payload: w.bytes, count: UInt32(entries.count), compress: false)
    }

    /// Writes the END chunk (with `stats`' lost counts as a final LOST chunk) and closes the file.
    public func finish(stats: DecodeStats, duration: UInt64) throws(SampleIOError) {
        try writeLost(stats.lostSamples)
        let end = EndJSON(samples: samplesWritten, duration_ns: duration,
                          dropped: stats.droppedRecords, unknown: stats.unknownRecords,
                          skipped: stats.skipped, warnings: stats.warnings)
        try writeChunk(.end, payload: end.encoded(), count: 0, compress: false)
        if fsync(fd) != 0 && errno != EINVAL {
            throw FileBytes.posixError(path, "fsync failed")
        }
        SystemCalls.close(fd)
        fd = -1
        if writingPath != path && rename(writingPath, path) != 0 {
            let e = FileBytes.posixError(path, "cannot rename \(writingPath) to")
            unlink(writingPath)
            throw e
        }
    }

    /// Appends `bytes` (one whole chunk, or the file header) to the file. When the kernel takes only part
    /// of them, the file is cut back to its last complete chunk and the error says what the file holds.
    private func append(_ bytes: [UInt8]) throws(SampleIOError) {
        var written = 0
        do throws(Errno) {
            try SystemCalls.writeAll(fd, bytes[...], written: &written)
            committedBytes += bytes.count
        } catch {
            if written > 0 { _ = ftruncate(fd, off_t(committedBytes)) }
            throw FileBytes.posixError(path, "write failed", error)
                .adding(context: "the file keeps its first \(committedBytes) bytes: \(samplesWritten) samples in complete chunks, readable as they are")
        }
    }

    private func writeChunk(_ kind: XprofLayout.Kind, payload: [UInt8], count: UInt32, compress: Bool) throws(SampleIOError) {
        guard fd >= 0 else { throw SampleIOError(.other, "writer already finished", path: path) }
        var stored = payload
        var flags: UInt16 = 0
        if compress, let z = Zlib.deflate(payload, level: 1), z.count < payload.count {
            stored = z
            flags |= XprofLayout.flagCompressed
        }
        guard stored.count <= XprofLayout.maxChunkBytes, payload.count <= XprofLayout.maxChunkBytes else {
            throw SampleIOError(.other, "chunk of \(payload.count) bytes exceeds the format's 256 MiB limit", path: path,
                                hint: "write smaller batches")
        }
        var h = ByteWriter(capacity: XprofLayout.chunkHeaderSize + stored.count)
        h.write(bytes: XprofLayout.chunkMagic)
        h.write(kind.rawValue)
        h.write(flags)
        h.write(UInt32(stored.count))
        h.write(UInt32(payload.count))
        h.write(count)
        h.write(Zlib.crc32(stored))
        h.write(bytes: stored)
        try append(h.bytes)
    }
}

extension XprofWriter {
    /// Copies every batch of `source` into a new `.xprof` file at `path` (what `xprof convert` does).
    /// - Returns: the number of samples written.
    @discardableResult
    public static func convert(_ source: any SampleSource, to path: String) throws(SampleIOError) -> UInt64 {
        var meta = source.metadata
        if meta.sourceFormat.isEmpty { meta.sourceFormat = "xprof" }
        let writer = try XprofWriter(path: path, metadata: meta, placement: .renamedWhenFinished)
        while let batch = try source.nextBatch() {
            try writer.write(batch)
        }
        try writer.finish(stats: source.stats, duration: source.metadata.duration)
        return writer.sampleCount
    }
}
