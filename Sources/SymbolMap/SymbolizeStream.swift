#if canImport(Glibc)
import Glibc
#endif

extension Symbolizer {
    /// Opens the image at `path` (as ``init(path:debugDirectories:)`` does) and streams the TSV of the
    /// addresses read from `input` to `output`, like ``streamTSV(from:to:lines:)``. On two CPUs or more the
    /// image loads on a second thread while this one reads and parses the start of the input, and the
    /// rest is shared by both threads in pieces (rows still written in input order).
    ///
    /// - Throws: the error of opening the image, before anything is written to `output`.
    /// - Returns: the symbolizer (for its ``warnings``), notes about input lines that were not addresses, and
    ///   the first read or write error that ended the stream early (nil when it ran to the input's end).
    public static func streamTSV(image path: String, debugDirectories: [String] = ["/usr/lib/debug"], from input: Int32,
                                 to output: Int32, lines: Bool) throws(SymbolMapError)
        -> (symbolizer: Symbolizer, bad: [String], ioError: StreamError?) {
        try HelperThread.with { helper throws(SymbolMapError) in
            let s = TSVStream(input: input, output: output, lines: lines, helper: helper)
            defer { s.release() }
            var opened: Result<Symbolizer, SymbolMapError>? = nil
            func open() {
                do throws(SymbolMapError) {
                    let sym = try Symbolizer(path: path, debugDirectories: debugDirectories)
                    if lines { _ = sym.linesSource() }
                    opened = .success(sym)
                } catch {
                    opened = .failure(error)
                }
            }
            if let helper {
                // The load is one piece for the helper; this thread reads ahead meanwhile, and loads the
                // image itself if the helper has not started soon.
                helper.share(1, first: { s.readAhead(helper) }) { _, _ in open() }
            } else {
                open()
            }
            let symbolizer = try opened!.get()
            s.run(symbolizer)
            return (symbolizer, s.notes, s.ioError)
        }
    }

    /// Streams the TSV: reads addresses from `input` (one per line), writes their rows to `output` as it
    /// goes, in bounded memory (on two threads when two CPUs are free, rows still in input order).
    /// Returns notes about lines that were not addresses.
    public func streamTSV(from input: Int32, to output: Int32, lines: Bool) -> [String] {
        streamTSV(from: input, to: output, lines: lines, chunk: 1 << 18, threads: nil)
    }

    /// ``streamTSV(from:to:lines:)`` with the read size chosen, and a second thread when there are two CPUs
    /// (`threads` nil), always (true: tests) or never (false).
    func streamTSV(from input: Int32, to output: Int32, lines: Bool, chunk: Int, threads: Bool?) -> [String] {
        let body = { (helper: HelperThread?) -> [String] in
            let s = TSVStream(input: input, output: output, lines: lines, helper: helper, capacity: chunk)
            defer { s.release() }
            if lines { _ = self.linesSource() }
            s.run(self)
            return s.notes
        }
        if threads == false { return body(nil) }
        return HelperThread.with(force: threads == true, body)
    }
}

/// A read of the input or a write of the output that failed, ending a stream early.
public struct StreamError: Error, Sendable, CustomStringConvertible {
    /// Whether the output (not the input) failed.
    public var writing: Bool
    /// The `errno` of the failing call.
    public var code: Int32
    /// `cannot write the output: …` or `cannot read the input: …` with `strerror`'s text.
    public var description: String {
        "cannot \(writing ? "write the output" : "read the input"): \(String(cString: strerror(code)))"
    }
}

/// What one thread needs for one piece of work at a time: the piece's addresses, rows and notes. Pieces
/// take slots in turn; a slot is reused once its piece is written.
final class TSVSlot {
    var addresses: [UInt64] = []
    var sink = ByteSink(capacity: 1 << 16)
    var bad: [Symbolizer.BadLine] = []
    /// Input lines in the piece.
    var lines = 0

    deinit { sink.release() }
}

/// The state of one streamed `xprof symbolize`: a read buffer of whole lines, addresses parsed ahead
/// while the image loads, and the slots the pieces of work use.
final class TSVStream {
    let input: Int32
    let output: Int32
    let lines: Bool
    let helper: HelperThread?
    let capacity: Int
    private let buf: UnsafeMutablePointer<UInt8>
    /// Bytes read and not yet parsed, at the front of `buf`.
    private var held = 0
    private var eof = false
    /// The first read or write error; the stream stops at it (no more input is read, no more rows written).
    private(set) var ioError: StreamError?
    /// Lines parsed so far (for the line numbers of notes).
    private var lineBase = 0
    /// Addresses parsed while the image was loading.
    private var pending: [UInt64] = []
    private var slots: [TSVSlot] = []
    private var bad: [Symbolizer.BadLine] = []
    /// Input bytes and parsed addresses per piece (about 50 KB of rows, within a slot's first buffer), and
    /// slots at least (two per thread: one at work, one written or waiting to be).
    private let pieceBytes = 1 << 14
    private let pieceAddresses = 1 << 10
    private let minSlots = 4

    init(input: Int32, output: Int32, lines: Bool, helper: HelperThread?, capacity: Int = 1 << 18) {
        self.input = input
        self.output = output
        self.lines = lines
        self.helper = helper
        self.capacity = max(64, capacity)
        buf = .allocate(capacity: self.capacity)
    }

    func release() {
        buf.deallocate()
    }

    var notes: [String] { bad.map(\.note) }

    /// Runs `work` for pieces `0..<n`, on both threads when there is a helper.
    private func share(_ n: Int, _ work: (Int) -> Void) {
        if let helper, n > 1 {
            helper.share(n) { i, _ in work(i) }
        } else {
            for i in 0..<n { work(i) }
        }
    }

    /// Runs `work(i, slot)` for pieces `0..<n` (on both threads when there is a helper) and `emit(i, slot)`
    /// on this thread in order, each piece as soon as it is done; pieces take the slots in turn.
    private func shareInOrder(_ n: Int, _ work: (Int, TSVSlot) -> Void, emit: (Int, TSVSlot) -> Void) {
        let count = minSlots
        while slots.count < count { slots.append(TSVSlot()) }
        let ss = slots
        if let helper, n > 1 {
            helper.shareInOrder(n, slots: ss.count, { i, k in work(i, ss[k]) }, emit: { i, k in emit(i, ss[k]) })
        } else {
            for i in 0..<n {
                work(i, ss[i % ss.count])
                emit(i, ss[i % ss.count])
            }
        }
    }

    /// Returns how many bytes at the front of the buffer are whole lines, reading when there are none
    /// (once only when `once`, maybe returning 0), and all of the bytes at the end of the input or when one
    /// line fills the buffer (a line that long is no address: it is parsed as it stands).
    private func nextLines(once: Bool = false) -> Int {
        while true {
            if eof { return held }
            var end = held
            while end > 0, buf[end - 1] != 10 { end -= 1 }
            if end > 0 { return end }
            if held == capacity { return held }
            let n = read(input, buf + held, capacity - held)
            if n < 0 && errno == EINTR { continue }
            if n < 0 && ioError == nil { ioError = StreamError(writing: false, code: errno) }
            if n <= 0 { eof = true; continue }
            held += n
            if once {
                end = held
                while end > 0, buf[end - 1] != 10 { end -= 1 }
                return held == capacity && end == 0 ? held : end
            }
        }
    }

    /// Drops the first `end` bytes of the buffer.
    private func consume(_ end: Int) {
        let rest = held - end
        if rest > 0 && end > 0 { memmove(buf, buf + end, rest) }
        held = rest
    }

    /// Whether `input` can be read without waiting (a file always can; a pipe or terminal when data or its
    /// end is there).
    private func readable() -> Bool {
        var p = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 1
    }

    /// While the helper loads the image: reads and parses whatever input is ready, up to a bound, without
    /// waiting for input that is not there yet, in pieces of 64 KB so as to stop soon after the image is
    /// there (the rest is then parsed by both threads). Stops early, leaving the load to this thread, if
    /// the helper has not started within a fraction of a millisecond (a busy machine).
    func readAhead(_ helper: HelperThread) {
        let started = Self.microseconds()
        func loading() -> Bool {
            let p = helper.progress()
            return p.taken ? !p.finished : Self.microseconds() - started < 300
        }
        // Room for all it may hold from the start: memory is only touched as it fills, and never copied.
        pending.reserveCapacity(1 << 18)
        while !eof, pending.count < 1 << 18, loading(), readable() {
            let end = nextLines(once: true)
            var at = 0
            while at < end {
                var stop = min(end, at + (1 << 16))
                while stop < end, buf[stop - 1] != 10 { stop += 1 }
                lineBase += Symbolizer.parseAddressLines(UnsafeBufferPointer(start: buf + at, count: stop - at), firstLine: lineBase,
                                                         into: &pending, bad: &bad)
                at = stop
                if !loading() { break }
            }
            consume(at)
            if at < end { break }
        }
    }

    private static func microseconds() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int(t.tv_sec) * 1_000_000 + Int(t.tv_nsec / 1000)
    }

    /// Writes the rows of the addresses parsed ahead, then streams the rest of the input.
    func run(_ symbolizer: Symbolizer) {
        let dw = lines ? symbolizer.linesSource() : nil
        if !pending.isEmpty {
            dw?.ensureUnits([pending], helper: helper)
            let per = pieceAddresses
            pending.withUnsafeBufferPointer { all in
                symbolizer.withFormatter(lines: dw) { f in
                    shareInOrder((all.count + per - 1) / per, { i, slot in
                        f.rows(UnsafeBufferPointer(rebasing: all[(i * per)..<min(all.count, (i + 1) * per)]), into: &slot.sink)
                    }, emit: { _, slot in
                        self.emitRows(slot)
                    })
                }
            }
            pending = []
        }
        while true {
            let end = nextLines()
            if end > 0 {
                process(symbolizer, dw, end)
                consume(end)
            }
            if eof && held == 0 || ioError?.writing == true { break }
        }
    }

    /// Writes a piece's rows, unless an earlier write failed (then they are dropped).
    private func emitRows(_ slot: TSVSlot) {
        guard ioError?.writing != true else { slot.sink.reset(); return }
        let e = slot.sink.write(to: output)
        if e != 0 { ioError = StreamError(writing: true, code: e) }
    }

    /// Parses and writes the first `end` bytes of the buffer (whole lines), in pieces cut at line ends.
    private func process(_ symbolizer: Symbolizer, _ dw: DwarfLines?, _ end: Int) {
        var cuts = [0]
        while cuts[cuts.count - 1] < end {
            let at = cuts[cuts.count - 1]
            var stop = helper == nil ? end : min(end, at + pieceBytes)
            while stop < end, buf[stop - 1] != 10 { stop += 1 }
            cuts.append(stop)
        }
        let n = cuts.count - 1
        let buf = self.buf
        func parse(_ i: Int, _ slot: TSVSlot) {
            slot.addresses.removeAll(keepingCapacity: true)
            slot.bad.removeAll()
            slot.lines = Symbolizer.parseAddressLines(UnsafeBufferPointer(start: buf + cuts[i], count: cuts[i + 1] - cuts[i]),
                                                      firstLine: 0, into: &slot.addresses, bad: &slot.bad)
        }
        // In input order: notes numbered after the lines before them, rows written.
        func emit(_ i: Int, _ slot: TSVSlot) {
            for var note in slot.bad where bad.count < 10 {
                note.line += lineBase
                bad.append(note)
            }
            lineBase += slot.lines
            emitRows(slot)
        }
        if let dw {
            // Lines: the units all pieces need are loaded (by both threads) before any piece is formatted;
            // each piece keeps its own slot throughout.
            while slots.count < n { slots.append(TSVSlot()) }
            let ss = slots
            share(n) { parse($0, ss[$0]) }
            dw.ensureUnits(ss[0..<n].map(\.addresses), helper: helper)
            symbolizer.withFormatter(lines: dw) { f in
                if let helper, n > 1 {
                    helper.shareInOrder(n, slots: n, { i, _ in ss[i].addresses.withUnsafeBufferPointer { f.rows($0, into: &ss[i].sink) } },
                                        emit: { i, _ in emit(i, ss[i]) })
                } else {
                    for i in 0..<n {
                        ss[i].addresses.withUnsafeBufferPointer { f.rows($0, into: &ss[i].sink) }
                        emit(i, ss[i])
                    }
                }
            }
        } else {
            symbolizer.withFormatter(lines: nil) { f in
                shareInOrder(n, { i, slot in
                    parse(i, slot)
                    slot.addresses.withUnsafeBufferPointer { f.rows($0, into: &slot.sink) }
                }, emit: emit)
            }
        }
    }
}
