#if canImport(Glibc)
import Glibc
#endif

/// The native `.xprof` format (docs/FORMAT.md).
public enum XprofFormat: SampleFormat {
    /// The name `info` and messages show for this format.
    public static let name = "xprof"

    /// True when the file starts with the magic `XPROFDAT` (docs/FORMAT.md).
    public static func sniff(prefix: [UInt8], path: String) -> Bool {
        prefix.starts(with: XprofLayout.magic)
    }

    /// Reads the header, METADATA and KERNEL_SYMBOLS chunks; BATCH chunks are read as batches are asked for.
    public static func open(path: String) throws(SampleIOError) -> any SampleSource {
        try XprofFileSource(path: path)
    }
}

/// A file opened for positioned reads; closes on deinit.
final class PositionedFile {
    let path: String
    let fd: Int32
    let size: Int

    init(path: String) throws(SampleIOError) {
        self.path = path
        fd = try FileBytes.openForReading(path)
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = FileBytes.posixError(path, "cannot stat")
            close(fd)
            throw e
        }
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Reads up to `count` bytes at `offset` (fewer only at the end of the file).
    func read(at offset: Int, count: Int) throws(SampleIOError) -> [UInt8] {
        let want = max(0, min(count, size - offset))
        var out = [UInt8](repeating: 0, count: want)
        let r: Result<Int, Errno> = out.withUnsafeMutableBytes { b in
            do throws(Errno) { return .success(try SystemCalls.pread(fd, into: b, at: offset)) } catch { return .failure(error) }
        }
        guard case .success(let got) = r else {
            if case .failure(let e) = r { throw FileBytes.posixError(path, "read failed", e) }
            return []
        }
        if got < want { out.removeSubrange(got...) }
        return out
    }
}

/// Streams the chunks of a native `.xprof` file.
final class XprofFileSource: SampleSource {
    private(set) var metadata: RunMetadata
    private(set) var stats = DecodeStats()
    private let file: PositionedFile
    private var offset: Int
    private var chunkIndex = 0
    private var samplesRead: UInt64 = 0
    private var sawEnd = false
    private var done = false

    init(path: String) throws(SampleIOError) {
        file = try PositionedFile(path: path)
        let head = try file.read(at: 0, count: XprofLayout.headerSize)
        var c = ByteCursor(head)
        guard head.count >= 8, head.starts(with: XprofLayout.magic) else {
            throw SampleIOError(.badData, "not an xprof file: expected magic XPROFDAT", path: path, offset: 0)
        }
        guard head.count == XprofLayout.headerSize else {
            throw SampleIOError.truncated(expected: "the 32-byte file header", at: 0, path: path, found: head.count)
        }
        _ = c.skip(8)
        let major = c.read(UInt16.self, .little) ?? 0
        let minor = c.read(UInt16.self, .little) ?? 0
        let headerSize = Int(c.read(UInt32.self, .little) ?? 0)
        _ = c.read(UInt64.self, .little)
        let crc = c.read(UInt32.self, .little) ?? 0
        guard major == XprofLayout.major else {
            throw SampleIOError(.unsupported, "format version \(major).\(minor), expected major version \(XprofLayout.major)",
                                path: path, offset: 8, hint: "use the xprof release that wrote this file")
        }
        guard Zlib.crc32(head[0..<24]) == crc else {
            throw SampleIOError(.badData, "file header CRC mismatch: the header is corrupt", path: path, offset: 24)
        }
        guard headerSize >= XprofLayout.headerSize, headerSize <= file.size else {
            throw SampleIOError(.badData, "header size \(headerSize), expected at least 32 and within the file",
                                path: path, offset: 12)
        }
        offset = headerSize
        metadata = RunMetadata()
        // The first chunk must be METADATA; kernel symbol chunks follow it.
        guard let (kind, _, payload, start) = try readChunk() else {
            throw SampleIOError(.truncated, "the file ends before its metadata chunk is complete", path: path,
                                offset: headerSize, hint: "the recording was cut short before it wrote anything useful; record again")
        }
        guard kind == XprofLayout.Kind.metadata.rawValue else {
            throw SampleIOError(.badData, "first chunk has kind \(kind), expected 1 (METADATA)", path: path, offset: start)
        }
        do {
            metadata = try MetadataJSON.decode(payload).metadata()
        } catch {
            throw error.at(path: path).withOffset(start)
        }
        if metadata.sourceFormat.isEmpty { metadata.sourceFormat = "xprof" }
        // Collect the kernel symbol snapshots that follow, leaving the cursor at the first other chunk.
        while let peek = try peekKind(), peek == XprofLayout.Kind.kernelSymbols.rawValue {
            guard let (_, _, payload, start) = try readChunk() else { break }
            var kc = ByteCursor(payload)
            guard let dom = kc.read(UInt32.self, .little) else {
                throw SampleIOError.truncated(expected: "the domain id of a kernel symbol chunk", at: start, path: path)
            }
            let text = String(decoding: payload[4...], as: UTF8.self)
            metadata.kernelSymbols.append(KernelSymbolSnapshot(domain: DomainID(dom), text: text))
        }
    }

    private func peekKind() throws(SampleIOError) -> UInt16? {
        let h = try file.read(at: offset, count: XprofLayout.chunkHeaderSize)
        guard h.count == XprofLayout.chunkHeaderSize, h.starts(with: XprofLayout.chunkMagic) else { return nil }
        return ByteCursor(h).peek(UInt16.self, .little, at: 4)
    }

    /// Reads the next chunk: (kind, record count, decompressed payload, chunk offset); nil at a clean or
    /// truncated end (a truncation is recorded as a warning).
    private func readChunk() throws(SampleIOError) -> (UInt16, UInt32, [UInt8], Int)? {
        let start = offset
        if start >= file.size { return nil }
        let h = try file.read(at: start, count: XprofLayout.chunkHeaderSize)
        if h.count < XprofLayout.chunkHeaderSize {
            stats.warnings.append("\(file.path): the file ends inside chunk \(chunkIndex) at byte \(start) "
                                  + "(\(h.count) of its 24 header bytes); read up to the last complete chunk")
            offset = file.size
            return nil
        }
        var c = ByteCursor(h)
        guard h.starts(with: XprofLayout.chunkMagic) else {
            throw SampleIOError(.badData, "chunk \(chunkIndex): expected chunk magic CHNK, found bytes "
                                + h.prefix(4).map { String(format2: $0) }.joined(separator: " "),
                                path: file.path, offset: start, hint: "the file is corrupt from here on")
        }
        _ = c.skip(4)
        let kind = c.read(UInt16.self, .little) ?? 0
        let flags = c.read(UInt16.self, .little) ?? 0
        let stored = Int(c.read(UInt32.self, .little) ?? 0)
        let size = Int(c.read(UInt32.self, .little) ?? 0)
        let count = c.read(UInt32.self, .little) ?? 0
        let crc = c.read(UInt32.self, .little) ?? 0
        guard stored <= XprofLayout.maxChunkBytes, size <= XprofLayout.maxChunkBytes else {
            throw SampleIOError(.badData, "chunk \(chunkIndex): sizes \(stored)/\(size) exceed the 256 MiB limit",
                                path: file.path, offset: start + 8, hint: "the file is corrupt from here on")
        }
        let body = try file.read(at: start + XprofLayout.chunkHeaderSize, count: stored)
        if body.count < stored {
            stats.warnings.append("\(file.path): the file ends inside chunk \(chunkIndex) at byte \(start) "
                                  + "(\(body.count) of its \(stored) payload bytes); read up to the last complete chunk")
            offset = file.size
            return nil
        }
        guard Zlib.crc32(body) == crc else {
            throw SampleIOError(.badData, "chunk \(chunkIndex) (kind \(kind)): CRC mismatch, the payload is corrupt",
                                path: file.path, offset: start + 20, hint: "the file is damaged; re-copy or re-record it")
        }
        var payload = body
        if flags & XprofLayout.flagCompressed != 0 {
            // deflate expands at most 1032-fold (a 258-byte match per 2 bits), so a payload size beyond that
            // is damage, refused before the output buffer is allocated (docs/ARCHITECTURE.md, "Sizes read from input").
            guard UInt64(size) <= UInt64(stored) * UInt64(XprofLayout.maxDeflateRatio) + 64 else {
                throw SampleIOError(.badData, "chunk \(chunkIndex): compressed payload of \(stored) bytes states \(size) bytes inflated, more than deflate's 1032-fold expansion allows",
                                    path: file.path, offset: start + 12, hint: "the file is corrupt from here on")
            }
            guard let inflated = Zlib.inflate(body[...], expectedSize: size) else {
                throw SampleIOError(.badData, "chunk \(chunkIndex): compressed payload does not inflate to \(size) bytes",
                                    path: file.path, offset: start + XprofLayout.chunkHeaderSize)
            }
            payload = inflated
        } else if size != stored {
            throw SampleIOError(.badData, "chunk \(chunkIndex): uncompressed but payload size \(size) ≠ stored size \(stored)",
                                path: file.path, offset: start + 12)
        }
        offset = start + XprofLayout.chunkHeaderSize + stored
        chunkIndex += 1
        return (kind, count, payload, start)
    }

    func nextBatch() throws(SampleIOError) -> SampleBatch? {
        while !done {
            guard let (kind, count, payload, start) = try readChunk() else {
                done = true
                if !sawEnd {
                    stats.warnings.append("\(file.path): no END chunk: the recording did not finish (killed?); "
                                          + "\(samplesRead) samples read up to the last complete chunk")
                }
                return nil
            }
            switch XprofLayout.Kind(rawValue: kind) {
            case .batch:
                let batch = try decodeBatch(payload, count: count, chunkOffset: start)
                samplesRead += UInt64(batch.samples.count)
                return batch
            case .lost:
                var c = ByteCursor(payload)
                for _ in 0..<count {
                    guard let d = c.read(UInt32.self, .little), let n = c.read(UInt64.self, .little) else {
                        throw SampleIOError.truncated(expected: "\(count) LOST entries", at: start, path: file.path)
                    }
                    stats.addLost(n, domain: DomainID(d))
                }
            case .end:
                let end = try EndJSON.decode(payload)
                sawEnd = true
                if end.duration_ns > 0 { metadata.duration = end.duration_ns }
                for (k, v) in end.dropped ?? [:] { stats.drop(k, count: v) }
                for (k, v) in end.unknown ?? [:] { stats.unknown(k, count: v) }
                stats.skipped += end.skipped ?? []
                stats.warnings += end.warnings ?? []
                if end.samples != samplesRead {
                    stats.warnings.append("\(file.path): END chunk counts \(end.samples) samples but the batches hold \(samplesRead)")
                }
            case .metadata, .kernelSymbols:
                stats.unknown("xprof chunk \(kind) out of place")
            case nil:
                stats.unknown("xprof chunk kind \(kind)")
            }
        }
        return nil
    }

    private func decodeBatch(_ p: [UInt8], count: UInt32, chunkOffset: Int) throws(SampleIOError) -> SampleBatch {
        var c = ByteCursor(p)
        let at = chunkOffset + XprofLayout.chunkHeaderSize
        func bad(_ what: String) -> SampleIOError {
            SampleIOError(.badData, "batch chunk \(chunkIndex - 1): \(what)", path: file.path, offset: at + c.offset)
        }
        guard let ns = c.read(UInt32.self, .little), let nf = c.read(UInt32.self, .little),
              let nb = c.read(UInt32.self, .little), c.skip(4) else { throw bad("payload shorter than its 16-byte counts") }
        guard ns == count else { throw bad("holds \(ns) samples but its header says \(count)") }
        guard UInt64(ns) * UInt64(XprofLayout.sampleSize) + UInt64(nf) * UInt64(XprofLayout.frameSize) <= UInt64(c.remaining) else {
            throw bad("\(ns) samples and \(nf) frames do not fit in the \(c.remaining) bytes left")
        }
        var batch = SampleBatch()
        batch.samples.reserveCapacity(Int(ns))
        var chain: UInt32 = 0
        p.withUnsafeBytes { raw in
            var o = c.offset
            for _ in 0..<Int(ns) {
                func u64(_ d: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o + d, as: UInt64.self)) }
                func u32(_ d: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o + d, as: UInt32.self)) }
                let cc = u32(48)
                let s = Sample(ip: u64(0), weight: u64(8), time: u64(16),
                               pid: Int32(bitPattern: u32(24)), tid: Int32(bitPattern: u32(28)),
                               domain: DomainID(u32(32)), pcpu: u32(36), vcpu: u32(40),
                               event: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o + 44, as: UInt16.self)),
                               mode: SampleMode(rawValue: raw[o + 46]) ?? .unknown,
                               chainStart: cc == 0 ? 0 : chain, chainCount: cc)
                chain &+= cc
                batch.samples.append(s)
                o += XprofLayout.sampleSize
            }
        }
        guard UInt64(chain) == UInt64(nf) else { throw bad("samples name \(chain) callchain frames but the batch holds \(nf)") }
        _ = c.skip(Int(ns) * XprofLayout.sampleSize)
        batch.frames.reserveCapacity(Int(nf))
        for _ in 0..<Int(nf) {
            let ip = c.read(UInt64.self, .little) ?? 0
            let mode = c.read(UInt8.self, .little) ?? 3
            _ = c.skip(7)
            batch.frames.append(CallFrame(ip: ip, mode: SampleMode(rawValue: mode) ?? .unknown))
        }
        for i in 0..<Int(nb) {
            guard let r = readSideband(&c, sampleCount: Int(ns)) else {
                stats.drop("sideband", count: Int(nb) - i)
                stats.warnings.append("\(file.path): batch chunk \(chunkIndex - 1): side-band record \(i) at byte \(at + c.offset) is malformed; \(Int(nb) - i) side-band records dropped")
                break
            }
            batch.sideband.append(r)
        }
        return batch
    }

    private func readSideband(_ c: inout ByteCursor, sampleCount: Int) -> SidebandRecord? {
        guard let before = c.read(UInt32.self, .little), let time = c.read(UInt64.self, .little),
              let type = c.read(UInt8.self, .little) else { return nil }
        let idx = min(Int(before), sampleCount)
        func i32() -> Int32? { c.read(UInt32.self, .little).map { Int32(bitPattern: $0) } }
        func str() -> String? {
            guard let n = c.read(UInt32.self, .little), let b = c.readBytes(Int(n)) else { return nil }
            return String(decoding: b, as: UTF8.self)
        }
        switch XprofLayout.SidebandType(rawValue: type) {
        case .mapping:
            guard let d = c.read(UInt32.self, .little), let pid = i32(), let start = c.read(UInt64.self, .little),
                  let len = c.read(UInt64.self, .little), let off = c.read(UInt64.self, .little),
                  let ex = c.read(UInt8.self, .little), let idLen = c.read(UInt8.self, .little), idLen <= 64,
                  let id = c.readBytes(Int(idLen)), let path = str() else { return nil }
            return SidebandRecord(beforeSample: idx, time: time, event: .mapping(
                Mapping(domain: DomainID(d), pid: pid, start: start, length: len, fileOffset: off, path: path,
                        buildID: Array(id), executable: ex != 0)))
        case .comm:
            guard let d = c.read(UInt32.self, .little), let pid = i32(), let tid = i32(),
                  let ex = c.read(UInt8.self, .little), let name = str() else { return nil }
            return SidebandRecord(beforeSample: idx, time: time,
                                  event: .comm(domain: DomainID(d), pid: pid, tid: tid, name: name, exec: ex != 0))
        case .fork:
            guard let d = c.read(UInt32.self, .little), let pid = i32(), let ppid = i32(), let tid = i32(), let ptid = i32()
            else { return nil }
            return SidebandRecord(beforeSample: idx, time: time,
                                  event: .fork(domain: DomainID(d), pid: pid, ppid: ppid, tid: tid, ptid: ptid))
        case .exit:
            guard let d = c.read(UInt32.self, .little), let pid = i32(), let tid = i32() else { return nil }
            return SidebandRecord(beforeSample: idx, time: time, event: .exit(domain: DomainID(d), pid: pid, tid: tid))
        case nil:
            return nil
        }
    }
}

extension SampleIOError {
    /// This error with the byte offset filled in (if it had none).
    func withOffset(_ o: Int) -> SampleIOError {
        var e = self
        if e.offset == nil { e.offset = o }
        return e
    }
}
