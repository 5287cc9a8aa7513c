internal import CElfUtils

/// A unit's line rows for the asked addresses: read directly from its line program (``LineProgram``), or
/// through libdw when that reading refuses (docs/ARCHITECTURE.md, "Line and inline index").
extension DwarfUnitReader {

    /// For each address the row llvm-symbolizer takes: among libdw's rows (sorted by address) the last at or
    /// before it, and of several rows at that address the last that does not end a sequence (where one
    /// sequence ends and the next begins at one address, the next one's row).
    mutating func readLines(_ addresses: [UInt64]) {
        var table: OpaquePointer? = nil
        var n = 0
        let loaded = dwarf_getsrclines(&cudie, &table, &n) == 0 && table != nil && n > 0
        func address(_ i: Int) -> UInt64 {
            var a: Dwarf_Addr = 0
            dwarf_lineaddr(dwarf_onesrcline(table, i), &a)
            return a
        }
        func ends(_ i: Int) -> Bool {
            var e = false
            dwarf_lineendsequence(dwarf_onesrcline(table, i), &e)
            return e
        }
        var last: LineInterval? = nil
        for a in addresses {
            if let l = last, a >= l.lo && a < l.hi { continue }
            var interval: LineInterval
            if !loaded {
                let (lo, hi) = clip(0, .max, around: a)
                interval = LineInterval(lo: lo, hi: hi, file: -1, line: 0, column: 0)
            } else {
                var lo = 0, hi = n
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    if address(mid) <= a { lo = mid + 1 } else { hi = mid }
                }
                let next = lo < n ? address(lo) : UInt64.max
                if lo == 0 {
                    let (l, h) = clip(0, next, around: a)
                    interval = LineInterval(lo: l, hi: h, file: -1, line: 0, column: 0)
                } else {
                    let at = address(lo - 1)
                    var k = lo - 1
                    while k >= 0, address(k) == at, ends(k) { k -= 1 }
                    let (l, h) = clip(at, next, around: a)
                    if k >= 0, address(k) == at, let row = dwarf_onesrcline(table, k) {
                        var line: Int32 = 0, column: Int32 = 0
                        dwarf_lineno(row, &line)
                        dwarf_linecol(row, &column)
                        interval = LineInterval(lo: l, hi: h, file: file(dwarf_linesrc(row, nil, nil)), line: line, column: column)
                    } else {
                        interval = LineInterval(lo: l, hi: h, file: -1, line: 0, column: 0)
                    }
                }
            }
            if interval.hi <= interval.lo { interval.lo = a; interval.hi = a &+ 1 }
            out.lines.append(interval)
            last = interval
        }
    }

    /// ``readLines(_:)`` from the line program read here (``LineProgram``): each sequence's rows as the
    /// program gives them, and for each address in the sequence the last row at or before it (of several rows
    /// at one address, the last), its interval up to the next row's address; addresses in no sequence get
    /// "no row" up to the sequences around them. False (nothing added) when the program is damaged: then
    /// libdw reads it and says what it can.
    mutating func readLinesDirectly(_ addresses: [UInt64]) -> Bool {
        guard let program else { return false }
        let count = addresses.count
        guard count > 0 else { return true }
        let answers: LineProgram.Answers
        do throws(LineProgramError) {
            answers = try addresses.withUnsafeBufferPointer { a throws(LineProgramError) in try program.answers(a) }
        } catch {
            return false
        }
        let answered = answers.answered
        var bounds = answers.sequences
        out.lines.reserveCapacity(out.lines.count + answers.intervals.count)
        for r in answers.intervals {
            var (l, h) = clip(r.lo, r.hi, around: r.first)
            if h <= l { l = r.first; h = r.first &+ 1 }
            let f = programFile(r.file, program)
            out.lines.append(LineInterval(lo: l, hi: h, file: f, line: f < 0 ? 0 : Int32(truncatingIfNeeded: r.line),
                                          column: f < 0 ? 0 : Int32(truncatingIfNeeded: r.column)))
        }
        // Addresses no sequence holds: "no row" between the sequences around them, cut to the unit's range.
        bounds.sort { $0.0 < $1.0 }
        var reach: [UInt64] = []
        reach.reserveCapacity(bounds.count)
        for b in bounds { reach.append(max(reach.last ?? 0, b.1)) }
        var last: LineInterval? = nil
        for k in 0..<count where !answered[k] {
            let x = addresses[k]
            if let l = last, x >= l.lo, x < l.hi { continue }
            var lo = 0, hi = bounds.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if bounds[mid].0 <= x { lo = mid + 1 } else { hi = mid }
            }
            let gapLo = lo > 0 ? min(reach[lo - 1], x) : 0
            let gapHi = lo < bounds.count ? bounds[lo].0 : UInt64.max
            let (l, h) = clip(gapLo, gapHi, around: x)
            let g = h > l && x >= l && x < h ? LineInterval(lo: l, hi: h, file: -1, line: 0, column: 0)
                                             : LineInterval(lo: x, hi: x &+ 1, file: -1, line: 0, column: 0)
            out.lines.append(g)
            last = g
        }
        return true
    }
}
