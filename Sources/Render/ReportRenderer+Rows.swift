import Profile
import SampleIO
import Dispatch

/// The report table's rows written as bytes: widths first, then the lines, with no string per cell, a large
/// table in pieces on two threads (docs/ARCHITECTURE.md, "Whole-system reports").
extension ReportRenderer {
    /// The width of a table's first column: its heading's or its widest cell's characters.
    static func firstColumnWidth(_ r: Report, heads: [String]) -> Int {
        var w = heads.first?.count ?? 0
        for row in r.rows {
            let text = !r.groupEvents.isEmpty ? (row.groupPercents.first.map { pct($0) + "%" } ?? String(row.samples))
                : r.children ? pct(row.childrenPercent) + "%" : pct(row.percent) + "%"
            w = max(w, text.count)
        }
        return w
    }

    /// `pct(v) + "%"` appended as bytes, without making strings: `v` rounded to hundredths and printed with two
    /// decimals, as `pct` prints it (its shortest form of the rounded value is those digits); other values
    /// (negative, -0, not finite, a billion and up) through `pct`.
    @inline(__always)
    static func appendPercent(_ v: Double, to out: inout [UInt8]) {
        let scaled = (v * 100).rounded()
        guard scaled.sign == .plus, scaled < 1e11 else {
            out.append(contentsOf: (pct(v) + "%").utf8)
            return
        }
        let n = UInt64(scaled)
        appendDecimal(n / 100, to: &out)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") &+ UInt8(n % 100 / 10))
        out.append(UInt8(ascii: "0") &+ UInt8(n % 10))
        out.append(UInt8(ascii: "%"))
    }

    /// The characters ``appendPercent(_:to:)`` writes.
    @inline(__always)
    static func percentLength(_ v: Double) -> Int {
        let scaled = (v * 100).rounded()
        guard scaled.sign == .plus, scaled < 1e11 else { return (pct(v) + "%").count }
        return decimalLength(UInt64(scaled) / 100) + 4
    }

    @inline(__always)
    static func decimalLength(_ n: UInt64) -> Int {
        var k = 1, v = n
        while v >= 10 { v /= 10; k += 1 }
        return k
    }

    @inline(__always)
    static func appendDecimal(_ n: UInt64, to out: inout [UInt8]) {
        let k = decimalLength(n)
        var v = n
        let end = out.count + k
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: k))
        var i = end - 1
        while true {
            out[i] = UInt8(ascii: "0") &+ UInt8(v % 10)
            v /= 10
            if v == 0 { break }
            i -= 1
        }
    }

    /// A cell's width in characters: its bytes when it is ASCII (every name but a few C++ ones), else its
    /// characters.
    @inline(__always)
    static func characterCount(_ s: String) -> Int {
        var ascii = true
        for b in s.utf8 where b >= 0x80 {
            ascii = false
            break
        }
        return ascii ? s.utf8.count : s.count
    }

    /// The heading lines and rows of a table that is not a --group one, as `table` lays them out: numbers
    /// right-aligned, values left-aligned, the last column not padded, trailing spaces trimmed, each row's
    /// call graph after it. Written as bytes in two passes (the widths, then the lines), with no string per
    /// cell: a whole system's million rows took seconds as strings (docs/PERFDATA.md, whole-system recordings).
    /// `prefix` and `suffix` go before and after them in the string returned (one string of the whole table);
    /// `parts`: how many pieces the rows are cut into, one per thread (by default two from 100,000 rows on).
    static func rowLines(_ r: Report, heads: [String], numeric: Int, prefix: String = "", suffix: String = "", parts: Int? = nil) -> String {
        let columns = heads.count
        let nk = columns - numeric
        // A million rows are measured and written in two halves on two threads (the decoding thread is done
        // by now): the same bytes, about half the wall time of this step.
        let parts = max(1, min(parts ?? (r.rows.count >= 100_000 ? 2 : 1), max(1, r.rows.count)))
        let bounds = (0...parts).map { r.rows.count * $0 / parts }
        func measure(_ rows: Range<Int>) -> (widths: [Int], lastBytes: Int) {
            var widths = [Int](repeating: 0, count: columns)
            var lastBytes = 0
            for i in rows {
                var c = 0
                if r.children { widths[c] = max(widths[c], percentLength(r.rows[i].childrenPercent)); c += 1 }
                widths[c] = max(widths[c], percentLength(r.rows[i].percent)); c += 1
                widths[c] = max(widths[c], decimalLength(r.rows[i].samples)); c += 1
                for k in 0..<nk {
                    let v = k < r.rows[i].values.count ? r.rows[i].values[k] : ""
                    widths[c + k] = max(widths[c + k], v.utf8.isEmpty ? 0 : characterCount(v))
                    if k == nk - 1 { lastBytes += v.utf8.count }
                }
            }
            return (widths, lastBytes)
        }
        let measured = inParallel(parts) { measure(bounds[$0]..<bounds[$0 + 1]) }
        var widths = heads.map(\.count)
        for m in measured {
            for c in 0..<columns { widths[c] = max(widths[c], m.widths[c]) }
        }
        let space = UInt8(ascii: " ")
        @inline(__always) func pad(_ n: Int, _ out: inout [UInt8]) {
            if n > 0 { out.append(contentsOf: repeatElement(space, count: n)) }
        }
        @inline(__always) func endLine(_ out: inout [UInt8]) {
            while let b = out.last, b == space { out.removeLast() }
            out.append(UInt8(ascii: "\n"))
        }
        let lineBytes = widths.prefix(columns - 1).reduce(2 * columns + 2, +)
        func lines(_ rows: Range<Int>, lastBytes: Int) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(rows.count * lineBytes + lastBytes + 4096)
            for i in rows {
                out.append(contentsOf: "  ".utf8)
                var c = 0
                let row = (childrenPercent: r.rows[i].childrenPercent, percent: r.rows[i].percent, samples: r.rows[i].samples)
                if r.children {
                    pad(widths[c] - percentLength(row.childrenPercent), &out)
                    appendPercent(row.childrenPercent, to: &out)
                    out.append(contentsOf: "  ".utf8)
                    c += 1
                }
                pad(widths[c] - percentLength(row.percent), &out)
                appendPercent(row.percent, to: &out)
                out.append(contentsOf: "  ".utf8)
                c += 1
                pad(widths[c] - decimalLength(row.samples), &out)
                appendDecimal(row.samples, to: &out)
                c += 1
                for k in 0..<nk {
                    out.append(contentsOf: "  ".utf8)
                    let v = k < r.rows[i].values.count ? r.rows[i].values[k] : ""
                    out.append(contentsOf: v.utf8)
                    if k < nk - 1 { pad(widths[c + k] - (v.utf8.isEmpty ? 0 : characterCount(v)), &out) }
                }
                endLine(&out)
                if let g = r.rows[i].callGraph { out.append(contentsOf: callGraphText(g).utf8) }
            }
            return out
        }
        var out = Array(prefix.utf8)
        func heading(_ cells: [String]) {
            out.append(contentsOf: "# ".utf8)
            for (i, c) in cells.enumerated() {
                if i > 0 { out.append(contentsOf: "  ".utf8) }
                let n = c.count
                if i < numeric {
                    pad(widths[i] - n, &out)
                    out.append(contentsOf: c.utf8)
                } else {
                    out.append(contentsOf: c.utf8)
                    if i < columns - 1 { pad(widths[i] - n, &out) }
                }
            }
            endLine(&out)
        }
        heading(heads)
        heading(widths.map { String(repeating: ".", count: $0) })
        let written = inParallel(parts) { lines(bounds[$0]..<bounds[$0 + 1], lastBytes: measured[$0].lastBytes) }
        let end = Array(suffix.utf8)
        if parts == 1 {
            out += written[0]
            out += end
            return String(decoding: out, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: out.count + written.reduce(0) { $0 + $1.count } + end.count) { buffer in
            var at = 0
            for part in [out] + written + [end] {
                part.withUnsafeBufferPointer { p in
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[at..<(at + p.count)]).initialize(from: p)
                }
                at += part.count
            }
            return at
        }
    }

    /// What ``inParallel(_:_:)`` hands its threads: each touches its own piece only.
    struct UncheckedSendable<V>: @unchecked Sendable {
        let value: V
        init(_ value: V) { self.value = value }
    }

    /// `work(i)` for i in 0..<n, on as many threads (this one and n - 1 others, through Dispatch), in order.
    static func inParallel<T>(_ n: Int, _ work: (Int) -> T) -> [T] {
        if n == 1 { return [work(0)] }
        let results = UnsafeMutablePointer<T?>.allocate(capacity: n)
        results.initialize(repeating: nil, count: n)
        defer {
            results.deinitialize(count: n)
            results.deallocate()
        }
        withoutActuallyEscaping(work) { work in
            // Each piece writes its own result; the call returns when every piece is done.
            let shared = UncheckedSendable((work, results))
            DispatchQueue.concurrentPerform(iterations: n) { i in shared.value.1[i] = shared.value.0(i) }
        }
        return (0..<n).map { results[$0]! }
    }
}
