/// Walks the records of a perf.data's data section: where the next one is, whether it is whole, and the
/// bytes some records say follow them (HEADER_TRACING_DATA, AUXTRACE). A record comes out as a
/// ``RawRecord`` pointing into the file (or into the reading window): valid until the cursor moves on.
///
/// Records are read from the file's bytes directly, or — when merged samples need nothing of the file
/// after their record (``startStreaming()``) — through a window that is refilled as the cursor
/// moves, by reading threads (``WindowReader``) when they could be started. Bounds are compared with the
/// bytes remaining, so a damaged size cannot overflow.
final class PerfRecordCursor {
    let file: PerfFileBytes
    /// Whether the file is big-endian (every record read swaps).
    let big: Bool
    /// The offset of the next record, and the end of the data.
    var pos: Int
    let end: Int
    /// The number of the next record (for messages), counted from the first of the data.
    var recordIndex = 0

    /// Whether records are read through `window` (see ``startStreaming()``): it holds the file's
    /// bytes `windowStart ..< windowEnd`.
    private(set) var streaming = false
    private static let windowSize = 1 << 20
    private let ownWindow = UnsafeMutableRawPointer.allocate(byteCount: PerfRecordCursor.windowSize, alignment: 16)
    private(set) var window: UnsafeRawPointer
    private(set) var windowStart = 0
    private(set) var windowEnd = 0
    /// With reading threads, `window` is the buffer of their window `windowIndex`.
    private var reader: WindowReader?
    private var windowIndex = -1
    private let windowChoice: PerfDataSource.WindowChoice

    init(file: PerfFileBytes, big: Bool, from start: Int, to end: Int, windows: PerfDataSource.WindowChoice) {
        self.file = file
        self.big = big
        pos = start
        self.end = end
        windowChoice = windows
        window = UnsafeRawPointer(ownWindow)
    }

    deinit {
        reader?.cancel()
        ownWindow.deallocate()
    }

    /// The reading threads, while they run (tests watch them go).
    var threadObject: AnyObject? { reader }

    /// Reads a mapped file through the window from here on (a file held in memory is read in place, as
    /// before); true when it does.
    func startStreaming() -> Bool {
        streaming = file.isMapped
        return streaming
    }

    /// With ``startStreaming()``: has the window read ahead by threads of their own, when they can be started.
    func startReadingThreads() {
        guard streaming else { return }
        let r = WindowReader(file: file, start: pos, end: end, stride: windowChoice.stride, inPlace: windowChoice.inPlace)
        if r.begin() { reader = r }
    }

    /// Makes the window hold `o ..< o + n` (n ≤ 64 KiB + 8), reading from `o` on when it does not; false
    /// when the file ends (or cannot be read) before `o + n`.
    @inline(__always)
    func windowHolds(_ o: Int, _ n: Int) -> Bool {
        if o >= windowStart && o + n <= windowEnd { return true }
        if let reader { return nextWindow(reader, holding: o, n) }
        let got = file.read(into: ownWindow, count: min(Self.windowSize, end - o), at: o)
        windowStart = o
        windowEnd = o + got
        return o + n <= windowEnd
    }

    /// `windowHolds` with a reader: moves on to the window whose first `stride` bytes hold `o`.
    private func nextWindow(_ reader: WindowReader, holding o: Int, _ n: Int) -> Bool {
        let want = (o - reader.start) / reader.stride
        while windowIndex < want {
            if windowIndex >= 0 { reader.give(windowIndex) }
            windowIndex += 1
            guard windowIndex < reader.windows else {
                windowStart = 0
                windowEnd = 0
                windowIndex = Int.max
                return false
            }
            let (buffer, count) = reader.take(windowIndex)
            window = buffer
            windowStart = reader.start + windowIndex * reader.stride
            windowEnd = windowStart + count
            if count < min(reader.size, reader.end - windowStart) {
                // Unreadable from here on: nothing after this window.
                windowIndex = Int.max
                break
            }
        }
        return o >= windowStart && o + n <= windowEnd
    }

    /// The record at `o` if its header is complete and its size fits (else nil).
    func record(at o: Int) -> RawRecord? {
        guard o >= 0, o + 8 <= end else { return nil }
        if streaming {
            guard windowHolds(o, 8) else { return nil }
            let v = window.loadUnaligned(fromByteOffset: o - windowStart + 6, as: UInt16.self)
            let size = Int(big ? v.byteSwapped : v)
            guard size >= 8, o + size <= end, windowHolds(o, size) else { return nil }
            return RawRecord(p: UnsafeRawBufferPointer(start: window + (o - windowStart), count: size), big: big)
        }
        let raw = file.raw
        let v = raw.loadUnaligned(fromByteOffset: o + 6, as: UInt16.self)
        let size = Int(big ? v.byteSwapped : v)
        guard size >= 8, o + size <= end else { return nil }
        return RawRecord(p: UnsafeRawBufferPointer(rebasing: raw[o..<(o + size)]), big: big)
    }

    /// What ``next()`` finds.
    enum Next {
        case record(RawRecord)
        /// The data ends here.
        case end
        /// The data is damaged here: what is wrong (the rest is skipped).
        case damaged(String)
    }

    /// The record at `pos` (``advance(past:type:)`` moves past it).
    func next() -> Next {
        guard pos < end else { return .end }
        guard pos + 8 <= end else {
            defer { pos = end }
            return .damaged("the data ends inside a record header at byte \(pos) (record \(recordIndex)); the last \(end - pos) bytes are ignored")
        }
        guard let r = record(at: pos) else {
            defer { pos = end }
            let v = file.raw.loadUnaligned(fromByteOffset: pos + 6, as: UInt16.self)
            let size = big ? v.byteSwapped : v
            if size < 8 {
                return .damaged("record \(recordIndex) at byte \(pos) has size \(size) (at least 8 expected); the data after it cannot be read and is ignored")
            }
            return .damaged("record \(recordIndex) at byte \(pos) needs \(size) bytes but only \(end - pos) remain (truncated file); ignored")
        }
        return .record(r)
    }

    /// Bytes that follow a record in the stream without being part of it (tracing data, AUX data), as the
    /// record says (a damaged one may say up to 2^64 - 1: ``advance(past:type:)`` checks it).
    private func extraBytes(after r: RawRecord, type: UInt32) -> UInt64 {
        switch type {
        case PerfDataFormat.headerTracingData where r.count >= 12:
            return (UInt64(r.u32(8)) + 7) & ~7
        case PerfDataFormat.auxtrace where r.count >= 16:
            return r.u64(8)
        default:
            return 0
        }
    }

    /// Moves past the record `r` at `pos` and the bytes that follow it, counting it; nil, or what is wrong
    /// (then the cursor is at the end) when those bytes run past the end of the data section.
    func advance(past r: RawRecord, type: UInt32) -> String? {
        let extra = extraBytes(after: r, type: type)
        let remaining = end - pos - r.count  // >= 0: record(at:) checked the record fits
        guard extra <= UInt64(remaining) else {
            let name = type == PerfDataFormat.auxtrace ? "AUXTRACE" : "HEADER_TRACING_DATA"
            defer { pos = end }
            return "the \(name) record \(recordIndex) at byte \(pos) says \(extra) bytes follow it, but only \(remaining) remain in the data section; the rest of the data cannot be found and is ignored (the file is damaged or cut short)"
        }
        pos += r.count + Int(extra)
        recordIndex += 1
        return nil
    }
}
