internal import CPerfShim

/// PERF_RECORD_COMPRESSED and COMPRESSED2: perf compresses its records as one zstd stream across these
/// records; their payloads are inflated here in turn and the records they hold are read before the next
/// record of the file. A record cut between two payloads is kept until the next one completes it.
final class PerfDecompressor {
    /// How much one record inflates to at most, from the COMPRESSED feature's `mmap_len` (a damaged one may
    /// say anything: only a hint for the size of the output chunks).
    var chunkHint = 0
    /// What one record may inflate to when the file has no COMPRESSED feature (perf's default ring buffer
    /// is 512 KiB + a page; `-m` makes it larger), and the most any `mmap_len` is believed.
    static let defaultRecordInflated = 64 << 20
    static let maxRecordInflated = 1 << 30
    /// Decompressed payloads still to read (plus any partial record carried over).
    private var inflated: [UInt8] = []
    private var inflatedPos = 0
    private var zstd: UnsafeMutableRawPointer? = nil

    deinit {
        xprof_zstd_stream_free(zstd)
    }

    /// Whether decompressed bytes wait to be read.
    var hasPending: Bool { inflatedPos < inflated.count }

    /// Decompresses one payload through the stream and appends what it gives; nil, or what went wrong
    /// (the payload's events are then lost).
    func inflate(_ src: UnsafeRawBufferPointer, offset: Int, path: String) -> String? {
        if zstd == nil { zstd = xprof_zstd_stream_new() }
        guard let zstd else {
            return "\(path): out of memory for a zstd stream; compressed records at and after byte \(offset) are lost"
        }
        // Chunks within 256 KiB ... 16 MiB; the stream is drained chunk by chunk anyway.
        var chunk = [UInt8](repeating: 0, count: min(max(chunkHint, 1 << 18), 1 << 24))
        var used = 0
        // perf's own rule: one record's payload inflates to at most the ring buffer's size (`mmap_len`: perf
        // compresses at most that much ring data at a time and decompresses into a buffer of that size). A
        // payload that goes on (a zstd frame of RLE blocks turns 64 KiB into 2 GiB) is refused, not buffered.
        let limit = chunkHint > 0 ? min(chunkHint, Self.maxRecordInflated) : Self.defaultRecordInflated
        var produced = 0
        let kept = inflated.count
        while true {
            var consumed = 0
            var err: UnsafePointer<CChar>? = nil
            let n = chunk.withUnsafeMutableBytes { dst in
                xprof_zstd_stream_feed(zstd, src.baseAddress! + used, src.count - used, dst.baseAddress, dst.count, &consumed, &err)
            }
            if n < 0 {
                return "\(path): compressed record at byte \(offset) does not decompress (zstd: \(err.map { String(cString: $0) } ?? "error")); its events are lost"
            }
            used += consumed
            produced += Int(n)
            if produced > limit {
                // This payload's output is dropped and the stream started anew (perf ends a frame per record).
                inflated.removeSubrange(max(kept, inflatedPos)...)
                xprof_zstd_stream_free(zstd)
                self.zstd = nil
                return "\(path): compressed record at byte \(offset) inflates to more than \(limit) bytes"
                    + (chunkHint > 0 ? " (the COMPRESSED header's mmap_len)" : " (no COMPRESSED header says how much)")
                    + "; its events are lost"
            }
            inflated.append(contentsOf: chunk[0..<Int(n)])
            // Done when all input is used and the output did not fill up (no more pending output).
            if used >= src.count && Int(n) < chunk.count { return nil }
        }
    }

    /// Hands the next whole decompressed record to `body` and moves past it; false (keeping a partial
    /// record for the next payload to complete) when none is whole.
    @inline(__always)
    func withNextRecord(big: Bool, _ body: (RawRecord) -> Void) -> Bool {
        let consumed = inflated.withUnsafeBytes { raw -> Int in
            let avail = raw.count - inflatedPos
            guard avail >= 8 else { return 0 }
            let v = raw.loadUnaligned(fromByteOffset: inflatedPos + 6, as: UInt16.self)
            let size = Int(big ? v.byteSwapped : v)
            guard size >= 8, size <= avail else { return 0 }
            body(RawRecord(p: UnsafeRawBufferPointer(rebasing: raw[inflatedPos..<(inflatedPos + size)]), big: big))
            return size
        }
        if consumed == 0 {
            inflated.removeSubrange(0..<inflatedPos)
            inflatedPos = 0
            return false
        }
        inflatedPos += consumed
        return true
    }

    /// Drops what is left at the end of the input (a partial record); true if there was something.
    func dropTail() -> Bool {
        guard hasPending else { return false }
        inflatedPos = inflated.count
        return true
    }
}
