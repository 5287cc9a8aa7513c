#if canImport(Glibc)
import Glibc
#endif
/// The line and inline answers of one image for the addresses asked so far, as two sorted tables of
/// disjoint address intervals (one line-table row each; one innermost scope each) over a table of scopes
/// and two string tables. Built by ``DwarfUnitReader`` for the addresses no interval holds yet, kept in the
/// symbol cache between runs (``SymbolCache/dwarfIndex(for:)``), so that a warm run reads no DWARF at all.
/// See docs/ARCHITECTURE.md, "Line and inline index".
///
/// - Complexity: a lookup is a binary search over one table; adding answers sorts and merges the tables.
final class DwarfIndex {
    private(set) var files = StringTable()
    private(set) var names = StringTable()
    private(set) var scopes: [IndexScope] = []
    /// Sorted by `lo`, disjoint.
    private(set) var lines: [LineInterval] = []
    /// Sorted by `lo`, disjoint.
    private(set) var inlines: [InlineInterval] = []
    /// Whether answers were added since the index was read from the cache (or made empty).
    private(set) var changed = false
    /// Subprogram trees that could not be read whole (damaged DWARF), over all units read.
    private(set) var damaged = 0

    init() {}

    /// An index read from the cache: the tables as they were written (``isSound`` checked by the reader).
    init(files: StringTable, names: StringTable, scopes: [IndexScope], lines: [LineInterval], inlines: [InlineInterval]) {
        self.files = files
        self.names = names
        self.scopes = scopes
        self.lines = lines
        self.inlines = inlines
    }

    /// Whether every id points into its table, every interval is non-empty and the tables are sorted and
    /// disjoint, and scope chains end (a parent always comes before its scope): what a cache entry must
    /// pass before it is used.
    var isSound: Bool {
        guard files.isSound, names.isSound else { return false }
        let nf = Int32(files.count), nn = Int32(names.count)
        for (i, s) in scopes.enumerated() {
            guard s.name >= 0, s.name < nn, s.callFile >= -1, s.callFile < nf, s.parent >= -1, s.parent < Int32(i) else { return false }
        }
        var end: UInt64 = 0
        for (k, l) in lines.enumerated() {
            guard l.lo < l.hi, k == 0 || l.lo >= end, l.file >= -1, l.file < nf else { return false }
            end = l.hi
        }
        end = 0
        for (k, l) in inlines.enumerated() {
            guard l.lo < l.hi, k == 0 || l.lo >= end, l.leaf >= -1, l.leaf < Int32(scopes.count) else { return false }
            end = l.hi
        }
        return true
    }

    /// The index was written to the cache: ``changed`` again only when answers are added.
    func markSaved() { changed = false }

    /// Adds what units answered: their ids renumbered, their intervals merged into the tables. Intervals of
    /// one file are equal or apart; where units with overlapping ranges make two overlap, the one that
    /// starts first (at one start, the one already there) keeps the overlap and the other is cut.
    func adopt(_ units: [UnitAnswers]) {
        var newLines: [LineInterval] = [], newInlines: [InlineInterval] = []
        for u in units {
            let fileMap = u.files.map { files.intern($0) }
            let nameMap = u.names.map { names.intern($0) }
            let scopeBase = Int32(scopes.count)
            for s in u.scopes {
                scopes.append(IndexScope(name: nameMap[Int(s.name)], callFile: s.callFile < 0 ? -1 : fileMap[Int(s.callFile)],
                                         callLine: s.callLine, callColumn: s.callColumn, parent: s.parent < 0 ? -1 : s.parent + scopeBase))
            }
            for var l in u.lines {
                if l.file >= 0 { l.file = fileMap[Int(l.file)] }
                newLines.append(l)
            }
            for var l in u.inlines {
                if l.leaf >= 0 { l.leaf += scopeBase }
                newInlines.append(l)
            }
            damaged += u.damaged
        }
        guard !newLines.isEmpty || !newInlines.isEmpty else { return }
        changed = true
        lines = Self.merge(lines, newLines)
        inlines = Self.merge(inlines, newInlines)
    }

    /// `old` (sorted, disjoint) with `new` added: sorted by start, `old` first at equal starts, and each
    /// interval cut to begin where the one before ends (dropped when nothing is left of it).
    /// - Complexity: O(n + m log m) for n old and m new intervals (one answer at a time stays cheap).
    private static func merge<T: IntervalAnswer>(_ old: [T], _ new: [T]) -> [T] {
        guard !new.isEmpty else { return old }
        let added = new.enumerated().sorted { ($0.element.lo, $0.offset) < ($1.element.lo, $1.offset) }.map(\.element)
        var out: [T] = []
        out.reserveCapacity(old.count + added.count)
        func put(_ y: T) {
            var x = y
            if let last = out.last, x.lo < last.hi {
                if x.hi <= last.hi { return }
                x.lo = last.hi
            }
            out.append(x)
        }
        var i = 0, k = 0
        while i < old.count || k < added.count {
            if k == added.count || (i < old.count && old[i].lo <= added[k].lo) {
                put(old[i])
                i += 1
            } else {
                put(added[k])
                k += 1
            }
        }
        return out
    }

    /// Those of `addresses` (sorted) that the index cannot answer: a line, when `lines`, or an inline chain,
    /// when `inlines`, is not known for them. One pass over the addresses and the tables together.
    func unanswered(_ addresses: [UInt64], lines wantLines: Bool, inlines wantInlines: Bool) -> [UInt64] {
        var out: [UInt64] = []
        lines.withUnsafeBufferPointer { lines in
            inlines.withUnsafeBufferPointer { inlines in
                var l = 0, i = 0
                for a in addresses where a != UInt64.max {
                    while l < lines.count, lines[l].hi <= a { l += 1 }
                    while i < inlines.count, inlines[i].hi <= a { i += 1 }
                    let hasLine = l < lines.count && lines[l].lo <= a
                    let hasInline = i < inlines.count && inlines[i].lo <= a
                    if (wantLines && !hasLine) || (wantInlines && !hasInline) { out.append(a) }
                }
            }
        }
        return out
    }

    /// The interval of `table` holding `a` (its index), nil if none.
    @inline(__always)
    static func find<T: IntervalAnswer>(_ table: UnsafeBufferPointer<T>, _ a: UInt64) -> Int? {
        var lo = 0, hi = table.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if table[mid].lo <= a { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && a < table[lo - 1].hi ? lo - 1 : nil
    }

    /// The interval of `table` holding `a` (its index), nil if none.
    @inline(__always)
    private static func find<T: IntervalAnswer>(_ table: [T], _ a: UInt64) -> Int? {
        var lo = 0, hi = table.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if table[mid].lo <= a { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && a < table[lo - 1].hi ? lo - 1 : nil
    }

    /// Whether a line answer for `a` is known.
    func hasLine(_ a: UInt64) -> Bool { Self.find(lines, a) != nil }
    /// Whether an inline answer for `a` is known.
    func hasInline(_ a: UInt64) -> Bool { Self.find(inlines, a) != nil }

    /// The line-table row of `a` when known: nil when not asked yet, `.some(nil)` when it has none.
    func location(_ a: UInt64) -> SourceLocation?? {
        guard let i = Self.find(lines, a) else { return nil }
        let l = lines[i]
        guard l.file >= 0 else { return .some(nil) }
        return SourceLocation(file: files.string(l.file), line: Int(l.line), column: Int(l.column))
    }

    /// The inline chain at `a`, innermost first, the out-of-line function last (each frame located at the
    /// row of `a`, then at the call site of the frame inside it), as llvm-symbolizer gives it; empty when no
    /// function's DWARF covers `a` or the answer is not known.
    func frames(_ a: UInt64) -> [InlineFrame] {
        guard let i = Self.find(inlines, a), inlines[i].leaf >= 0 else { return [] }
        var out: [InlineFrame] = []
        var loc: SourceLocation? = location(a) ?? nil
        var s = inlines[i].leaf
        // A chain is never longer than the scopes (parents come first): bounded even for a bad entry.
        while s >= 0 && out.count <= scopes.count {
            let scope = scopes[Int(s)]
            out.append(InlineFrame(function: names.string(scope.name), location: loc, inlined: scope.parent >= 0))
            loc = scope.callFile >= 0 ? SourceLocation(file: files.string(scope.callFile), line: Int(scope.callLine), column: Int(scope.callColumn)) : nil
            s = scope.parent
        }
        return out
    }
}

/// An interval with an answer (``LineInterval``, ``InlineInterval``), for merging and searching both tables.
protocol IntervalAnswer {
    var lo: UInt64 { get set }
    var hi: UInt64 { get }
}

extension LineInterval: IntervalAnswer {}
extension InlineInterval: IntervalAnswer {}

/// Strings one after another in one byte array (string `i` is `bytes[starts[i]..<starts[i + 1]]`): written to
/// and read from the cache as two arrays, and written out without making a `String`. The table of ids
/// by string, for adding, is made on the first ``intern(_:)``.
struct StringTable {
    private(set) var bytes: [UInt8] = []
    private(set) var starts: [UInt32] = [0]
    /// Ids by hash of their bytes (-1: empty), for ``intern(_:)``; made on its first call.
    private var slots: [Int32] = []

    init() {}

    /// A table read back (``isSound`` says whether it may be used).
    init(bytes: [UInt8], starts: [UInt32]) {
        self.bytes = bytes
        self.starts = starts
    }

    var count: Int { starts.count - 1 }

    /// Whether the starts begin at 0, never go back and end at the bytes' end.
    var isSound: Bool {
        guard starts.first == 0, starts.last.map({ Int($0) == bytes.count }) == true else { return false }
        for k in 1..<starts.count where starts[k] < starts[k - 1] { return false }
        return true
    }

    /// String `i` (`i` in `0..<count`).
    func string(_ i: Int32) -> String {
        String(decoding: bytes[Int(starts[Int(i)])..<Int(starts[Int(i) + 1])], as: UTF8.self)
    }

    /// The range of string `i` in ``bytes``.
    @inline(__always)
    func range(_ i: Int32) -> (start: Int, count: Int) {
        let s = Int(starts[Int(i)])
        return (s, Int(starts[Int(i) + 1]) - s)
    }

    /// The id of `s`, added if new.
    mutating func intern(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { intern(bytes: $0) }
    }

    /// The id of the string of `p`'s bytes, added if new: an open-addressing table of ids over ``bytes``
    /// (FNV-1a hashes of the bytes; a `[String: Int32]` hashed each string with SipHash, the main part of
    /// adding a kernel's units to the index).
    mutating func intern(bytes p: UnsafeBufferPointer<UInt8>) -> Int32 {
        if slots.isEmpty || (count + 1) * 2 > slots.count {
            // A table read from the symbol cache has its strings and no slots yet: room for all of them.
            var size = max(1024, slots.count * 2)
            while size < (count + 1) * 2 { size *= 2 }
            rehash(size)
        }
        let mask = slots.count - 1
        var h = Self.hash(p) & mask
        while true {
            let id = slots[h]
            if id < 0 {
                let i = Int32(count)
                bytes.append(contentsOf: p)
                starts.append(UInt32(bytes.count))
                slots[h] = i
                return i
            }
            if equals(id, p) { return id }
            h = (h + 1) & mask
        }
    }

    private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in p { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    private func equals(_ id: Int32, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        let (start, n) = range(id)
        guard n == p.count else { return false }
        return bytes.withUnsafeBufferPointer { b in n == 0 || memcmp(b.baseAddress! + start, p.baseAddress!, n) == 0 }
    }

    /// Makes the table `size` slots (a power of two) and puts every string's id in it.
    private mutating func rehash(_ size: Int) {
        slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<count {
                let (start, n) = range(Int32(i))
                var h = Self.hash(UnsafeBufferPointer(rebasing: b[start..<start + n])) & mask
                while slots[h] >= 0 { h = (h + 1) & mask }
                slots[h] = Int32(i)
            }
        }
    }
}
