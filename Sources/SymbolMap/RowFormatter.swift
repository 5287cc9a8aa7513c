#if canImport(Glibc)
import Glibc
#endif

/// Writes TSV rows from plain pointers into the symbol table (and the loaded DWARF units): only reads, so
/// several threads may each format their own addresses into their own sink at once.
struct RowFormatter {
    let symbols: SymbolTable.View
    let names: SymbolTable.NameView
    let lines: DwarfLines.View?

    /// One row per address: address, symbol, offset, file, line (`??` and `0` where unknown).
    func rows(_ addresses: UnsafeBufferPointer<UInt64>, into out: inout ByteSink) {
        // A local copy (registers) while writing: `out` may sit next to another thread's sink in memory, and
        // writing its count per byte would bounce that cache line between the two CPUs.
        var sink = out
        defer { out = sink }
        guard let lines else {
            for a in addresses { row(a, file: nil, 0, line: 0, into: &sink) }
            return
        }
        // With lines, in batches: the line tables are large and a lookup is two or three cache misses in a
        // row (bucket, search, row); short loops over a batch let the CPU overlap the misses of several
        // addresses: first every bucket, then every row, then the rows of output.
        let batch = 32
        withUnsafeTemporaryAllocation(of: LineSpan.self, capacity: batch) { spans in
            var at = 0
            while at < addresses.count {
                let end = min(addresses.count, at + batch)
                for k in at..<end {
                    let a = addresses[k]
                    if let u = lines.unitIndex(containing: a) {
                        let sp = lines.tables[u].span(for: a)
                        spans[k - at] = LineSpan(unit: Int32(u), lo: sp.lo, hi: sp.hi)
                    } else {
                        spans[k - at] = LineSpan(unit: -1, lo: 0, hi: 0)
                    }
                }
                for k in at..<end {
                    let sp = spans[k - at]
                    guard sp.unit >= 0 else { continue }
                    let t = lines.tables[Int(sp.unit)]
                    let i = t.index(for: addresses[k], in: (sp.lo, sp.hi))
                    if i >= 0, let e = t.entries?[i], e.file >= 0 {
                        spans[k - at] = LineSpan(unit: e.file &+ t.fileBase, lo: e.line, hi: 0)
                    } else {
                        spans[k - at] = LineSpan(unit: -1, lo: 0, hi: 0)
                    }
                }
                for k in at..<end {
                    let sp = spans[k - at]
                    if sp.unit >= 0 {
                        let (file, length) = lines.fileName(sp.unit)
                        row(addresses[k], file: file, length, line: sp.lo, into: &sink)
                    } else {
                        row(addresses[k], file: nil, 0, line: 0, into: &sink)
                    }
                }
                at = end
            }
        }
    }

    /// Where a line lookup is between passes: unit and bucket rows, then file id and line (unit -1: none).
    private struct LineSpan {
        var unit: Int32
        var lo: Int32
        var hi: Int32
    }

    /// One row: the symbol of `a`, and `file` (nil: unknown) and `line`.
    @inline(__always)
    private func row(_ a: UInt64, file: UnsafeMutablePointer<UInt8>?, _ fileLength: Int, line: Int32, into sink: inout ByteSink) {
        let sym = symbol(a)
        // Room for the whole row at once: 2 hex numbers, the two names, a line number, tabs.
        sink.reserve((sym?.nameLength ?? 0) + fileLength + 64)
        putAddress(a, into: &sink)
        if let sym { putSymbol(sym, at: a, into: &sink) } else { sink.put(63); sink.put(63); sink.put(9); sink.put(63); sink.put(63) }
        sink.put(9)
        putPlace(file, fileLength, line, into: &sink)
        sink.put(10)
    }

    /// The symbol holding `a`: where its name is in ``names`` and its start; nil if none.
    @inline(__always)
    func symbol(_ a: UInt64) -> (nameAt: Int, nameLength: Int, start: UInt64)? {
        guard let i = symbols.index(containing: a) else { return nil }
        let e = symbols.entries[i]
        return (Int(e.nameOffset), Int(e.nameLength), e.start)
    }

    /// The symbol's name, a tab and `a`'s offset in it (room must be reserved).
    @inline(__always)
    func putSymbol(_ s: (nameAt: Int, nameLength: Int, start: UInt64), at a: UInt64, into sink: inout ByteSink) {
        sink.put(names.bytes + s.nameAt, count: s.nameLength)
        sink.put(9)
        sink.putHex(a &- s.start)
    }

    /// The address and a tab (`??` for a line that was not an address; room must be reserved).
    @inline(__always)
    func putAddress(_ a: UInt64, into sink: inout ByteSink) {
        if a == UInt64.max { sink.put(63); sink.put(63) } else { sink.putHex(a) }
        sink.put(9)
    }

    /// `file`, a tab and `line` (`??` and 0 without a file; room must be reserved).
    @inline(__always)
    func putPlace(_ file: UnsafePointer<UInt8>?, _ length: Int, _ line: Int32, into sink: inout ByteSink) {
        if let file {
            sink.put(file, count: length)
            sink.put(9)
            sink.putDecimal(line)
        } else {
            sink.put(63); sink.put(63); sink.put(9); sink.put(48)
        }
    }
}
