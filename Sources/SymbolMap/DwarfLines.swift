#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// A source position.
public struct SourceLocation: Sendable, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }
}

/// One frame of the inline chain at an address: the function and where in it the address (for the
/// innermost frame) or the inlined call (for the outer frames) is.
public struct InlineFrame: Sendable, Equatable {
    public var function: String
    public var location: SourceLocation?
    /// True for every frame but the outermost (the real, out-of-line function).
    public var inlined: Bool
}

/// DWARF line tables and inline chains of one ELF file, read with libdw.
///
/// Two ways in. Lines alone (`xprof symbolize --lines`, reports by line): a unit's whole line table is read
/// on its first lookup into plain memory with a bucket index (``LineRows``, DwarfLines+LineRows.swift).
/// Lines with inline chains: the ``DwarfIndex`` of the image answers, built for the addresses asked by
/// ``prepare(_:lines:inlines:helper:)`` (only the units and functions that hold them are read, on two
/// threads) and kept in the symbol cache, so that the next run with the same addresses reads no DWARF
/// (docs/ARCHITECTURE.md, "Line and inline index").
///
/// The compilation unit of an address is found by binary search over all units' address ranges (gathered
/// on first need). The file is opened on first need too: a run answered by the cache does not open it.
/// Not thread-safe, but for ``withView(_:)``.
public final class DwarfLines {
    public let path: String
    /// The file, opened on first need (``open()``); the error of opening it, once tried.
    private var handle: DwarfHandle?
    private var openError: SymbolMapError?
    /// Unit address ranges sorted by start, in plain memory: starts, ends and unit indices.
    var rangeCount = 0
    var rangeLo = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    var rangeHi = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    var rangeUnit = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var rangesRead = false
    /// Per unit, its rows (``LineRows/loaded`` false until read); plain memory. Sized on first need.
    var tables = UnsafeMutablePointer<LineRows>.allocate(capacity: 1)
    var unitRows: [UnitRows?] = []
    var files: [String] = []
    /// All file names' bytes one after another; file `i` is `fileStarts[i]..<fileStarts[i + 1]`.
    var fileBytes = ByteSink(capacity: 4096)
    var fileStarts: [Int] = [0]
    /// The answers for inline chains (and their lines).
    let index: DwarfIndex
    /// Compilation units read for the index so far (0 in a run the cache answered).
    public private(set) var unitsRead = 0
    /// Where `index` came from and goes back to (nil: not kept).
    private let cache: SymbolCache?
    private let identity: SymbolCache.Identity?

    /// Opens the DWARF of the ELF file at `path`; with a `cache`, its index of answers is read from there
    /// when the file is unchanged (and then the file is only opened when an address needs more).
    public init(path: String, cache: SymbolCache? = nil) throws(SymbolMapError) {
        self.path = path
        self.cache = cache
        identity = cache == nil ? nil : SymbolCache.Identity(path: path)
        if let cache, let identity, let cached = cache.dwarfIndex(for: identity) {
            index = cached
            return
        }
        index = DwarfIndex()
        handle = try DwarfHandle(path: path)
    }

    deinit {
        unitRows = []
        tables.deallocate()
        rangeLo.deallocate()
        rangeHi.deallocate()
        rangeUnit.deallocate()
        fileBytes.release()
    }

    /// The open file, opening it on first call; nil (and ``problem`` says why) when that fails.
    func open() -> DwarfHandle? {
        if let handle { return handle }
        if openError != nil { return nil }
        do throws(SymbolMapError) {
            handle = try DwarfHandle(path: path)
        } catch {
            openError = error
        }
        return handle
    }

    /// Why the DWARF could not be read after all (a file answered by the cache, then changed or gone), or
    /// how many function trees were damaged; nil when all was well.
    public var problem: String? {
        if let openError { return "\(openError)" }
        if index.damaged > 0 {
            return "\(path): \(index.damaged) DWARF function tree\(index.damaged == 1 ? "" : "s") could not be read whole (damaged debugging information); their addresses may lack inline frames"
        }
        return nil
    }

    /// Reads the units' address ranges once (and sizes the per-unit tables).
    func readRanges() {
        guard !rangesRead else { return }
        rangesRead = true
        guard let h = open() else { return }
        var unitRanges = h.unitRanges()
        unitRanges.sort { $0.0 < $1.0 }
        rangeCount = unitRanges.count
        rangeLo.deallocate()
        rangeHi.deallocate()
        rangeUnit.deallocate()
        rangeLo = .allocate(capacity: max(1, rangeCount))
        rangeHi = .allocate(capacity: max(1, rangeCount))
        rangeUnit = .allocate(capacity: max(1, rangeCount))
        for (k, r) in unitRanges.enumerated() {
            rangeLo[k] = r.0
            rangeHi[k] = r.1
            rangeUnit[k] = Int32(r.2)
        }
        unitRows = Array(repeating: nil, count: h.unitDIEs.count)
        tables.deallocate()
        tables = .allocate(capacity: max(1, h.unitDIEs.count))
        tables.initialize(repeating: LineRows(), count: max(1, h.unitDIEs.count))
    }

    /// Number of compilation units.
    public var unitCount: Int { open()?.unitDIEs.count ?? 0 }

    func unitIndex(containing address: UInt64) -> Int? {
        readRanges()
        return Self.unitIndex(containing: address, count: rangeCount, lo: rangeLo, hi: rangeHi, unit: rangeUnit)
    }

    /// The unit whose range holds `address` (nil if none): a binary search over the unit ranges sorted by
    /// start, looking back a little because ranges may nest or overlap.
    @inline(__always)
    static func unitIndex(containing address: UInt64, count: Int, lo rangeLo: UnsafeMutablePointer<UInt64>,
                          hi rangeHi: UnsafeMutablePointer<UInt64>, unit rangeUnit: UnsafeMutablePointer<Int32>) -> Int? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if rangeLo[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        var i = lo - 1
        while i >= 0 && i >= lo - 8 {
            if address < rangeHi[i] { return Int(rangeUnit[i]) }
            i -= 1
        }
        return nil
    }

    /// The interval around `a`, which no unit's range holds, up to the ranges before and after it.
    private func gap(around a: UInt64) -> (UInt64, UInt64) {
        var lo = 0, hi = rangeCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            if rangeLo[mid] <= a { lo = mid + 1 } else { hi = mid }
        }
        var start: UInt64 = 0
        for k in 0..<lo where rangeHi[k] > start { start = rangeHi[k] }
        let end = lo < rangeCount ? rangeLo[lo] : UInt64.max
        return start <= a && a < end ? (start, end) : (a, a &+ 1)
    }

    /// The address ranges of unit `u`, sorted.
    private func ranges(ofUnit u: Int) -> [(UInt64, UInt64)] {
        if let known = unitRangeLists[u] { return known }
        var out: [(UInt64, UInt64)] = []
        for k in 0..<rangeCount where rangeUnit[k] == Int32(u) { out.append((rangeLo[k], rangeHi[k])) }
        unitRangeLists[u] = out
        return out
    }

    /// ``ranges(ofUnit:)`` by unit, as found.
    private var unitRangeLists: [Int: [(UInt64, UInt64)]] = [:]

    // MARK: The index of answers

    /// Makes the index answer every one of `addresses` (their rows when `lines`, their chains when
    /// `inlines`): the addresses it cannot answer yet are grouped by unit, and each unit holding some is
    /// read by ``DwarfUnitReader`` — on this thread and the helper's, each through its own libdw reader.
    /// Then ``location(for:)`` and ``frames(for:)`` answer from the index.
    func prepare(_ addresses: [UInt64], lines: Bool, inlines: Bool, helper: HelperThread?) {
        let missing = index.unanswered(addresses.sorted(), lines: lines, inlines: inlines)
        guard !missing.isEmpty, let h = open() else { return }
        readRanges()
        var byUnit: [Int: [UInt64]] = [:]
        var last: UInt64? = nil
        // Addresses in no unit: known to have no answer, up to the units around them.
        var outside = UnitAnswers()
        for a in missing where a != last {
            last = a
            if let u = unitIndex(containing: a) {
                byUnit[u, default: []].append(a)
            } else if outside.lines.last.map({ a >= $0.hi }) ?? true {
                let (lo, hi) = gap(around: a)
                outside.lines.append(LineInterval(lo: lo, hi: hi, file: -1, line: 0, column: 0))
                outside.inlines.append(InlineInterval(lo: lo, hi: hi, leaf: -1))
            }
        }
        let work = byUnit.keys.sorted()
        guard !work.isEmpty else { index.adopt([outside]); return }
        unitsRead += work.count
        let unitRanges = work.map { ranges(ofUnit: $0) }
        let results = UnsafeMutableBufferPointer<UnitAnswers>.allocate(capacity: work.count)
        results.initialize(repeating: UnitAnswers())
        defer { results.deinitialize(); results.deallocate() }
        let second = helper != nil && work.count > 1 ? h.secondReader() : nil
        let dies = h.unitDIEs, dbg = h.dbg
        let sections = h.lineSections
        let direct = inlines ? h.debugSections : nil
        let known = work.map { functionsByUnit[$0] }
        func read(_ k: Int, onHelper: Bool) {
            let u = work[k]
            let (reader, die) = onHelper ? (second!.dbg, second!.units[u]) : (dbg, dies[u])
            results[k] = DwarfUnitReader.read(unit: die, dbg: reader, unitRanges: unitRanges[k], addresses: byUnit[u] ?? [],
                                              lines: lines, inlines: inlines, functions: known[k], sections: sections, dies: direct)
        }
        if let helper, second != nil {
            // Largest units first (by the distance to the next unit's DIE), so that the two threads end
            // together: a large unit taken last would leave one thread working alone.
            var offsets = dies.map { d -> UInt64 in var d = d; return dwarf_dieoffset(&d) }
            offsets.append(UInt64.max)
            let order = work.indices.sorted { a, b in
                let sa = offsets[work[a] + 1] &- offsets[work[a]], sb = offsets[work[b] + 1] &- offsets[work[b]]
                return sa != sb ? sa > sb : a < b
            }
            helper.share(work.count) { k, onHelper in read(order[k], onHelper: onHelper) }
        } else {
            for k in work.indices { read(k, onHelper: false) }
        }
        for (k, u) in work.enumerated() {
            if let f = results[k].functions { functionsByUnit[u] = f; results[k].functions = nil }
        }
        index.adopt(Array(results) + [outside])
    }

    /// Writes the index to the symbol cache when it learnt something since it was read or last written
    /// (a no-op without a cache, or when the file changed meanwhile); answers found through whole line
    /// tables (``location(for:)``) are added to it first.
    public func saveIndex() {
        if !found.lines.isEmpty {
            index.adopt([found])
            found = UnitAnswers()
            foundFiles = [:]
        }
        guard index.changed, let cache, let identity, SymbolCache.Identity(path: path) == identity else { return }
        cache.store(index, for: identity)
        index.markSaved()
    }

    /// Line answers found through whole line tables since the last ``saveIndex()``, for the index (file ids
    /// its own: ``foundFiles`` maps the tables' ids to them).
    private var found = UnitAnswers()
    private var foundFiles: [Int32: Int32] = [:]

    /// Keeps the answer for `address` that `rows` (unit `u`'s table) give, as an interval for the index:
    /// from its row's address to the next row's, cut to the unit's range holding it.
    private func record(_ address: UInt64, unit u: Int, rows: LineRows) {
        let span = rows.span(for: address)
        let i = rows.index(for: address, in: span)
        var lo: UInt64 = 0, hi = UInt64.max
        var file: Int32 = -1, line: Int32 = 0, column: Int32 = 0
        if let entries = rows.entries, rows.count > 0 {
            if i >= 0 {
                lo = entries[i].address
                if entries[i].file >= 0 {
                    let global = entries[i].file &+ rows.fileBase
                    if let f = foundFiles[global] { file = f } else {
                        file = Int32(found.files.count)
                        found.files.append(files[Int(global)])
                        foundFiles[global] = file
                    }
                    line = entries[i].line
                    column = rows.columns?[i] ?? 0
                }
            }
            if i + 1 < rows.count { hi = entries[i + 1].address } else if i < 0 { hi = entries[0].address }
        }
        for (rlo, rhi) in ranges(ofUnit: u) where address >= rlo && address < rhi {
            lo = max(lo, rlo)
            hi = min(hi, rhi)
        }
        if !(lo <= address && address < hi) { lo = address; hi = address &+ 1 }
        found.lines.append(LineInterval(lo: lo, hi: hi, file: file, line: line, column: column))
    }

    // MARK: Lookups

    /// The line-table row for `address` (the last row at or before it in its sequence), nil outside any.
    /// - Complexity: O(log n) once the unit is loaded, or the index knows the address.
    ///
    /// What the index does not know is read from the unit's whole line table (``LineRows``), and the answer
    /// kept for the index (written to the symbol cache by ``saveIndex()``): reports look up many addresses
    /// of one unit, one at a time. A run whose addresses the cached index answers opens no DWARF.
    public func location(for address: UInt64) -> SourceLocation? {
        if let known = index.location(address) { return known }
        guard let u = unitIndex(containing: address) else {
            if open() != nil, rangesRead {
                let (lo, hi) = gap(around: address)
                found.lines.append(LineInterval(lo: lo, hi: hi, file: -1, line: 0, column: 0))
            }
            return nil
        }
        let rows = load(u)
        record(address, unit: u, rows: rows)
        guard let r = rows.row(for: address) else { return nil }
        return SourceLocation(file: files[Int(r.file)], line: Int(r.line), column: Int(r.column))
    }

    /// File id, line and column of `address` without building strings (see ``fileName(_:)``).
    public func rawLocation(for address: UInt64) -> (file: Int32, line: Int32, column: Int32)? {
        guard let u = unitIndex(containing: address), let r = load(u).row(for: address) else { return nil }
        return (r.file, r.line, r.column)
    }

    /// The path of a file id from ``rawLocation(for:)``.
    public func fileName(_ id: Int32) -> String { files[Int(id)] }

    /// The inline chain at `address`, innermost first; the last frame is the out-of-line function.
    /// Empty when no function's DWARF covers the address. Reads what the index lacks (one unit's functions
    /// that hold the address); for many addresses, ``prepare(_:lines:inlines:helper:)`` them first.
    public func frames(for address: UInt64) -> [InlineFrame] {
        if !index.hasInline(address) || !index.hasLine(address) {
            prepare([address], lines: true, inlines: true, helper: nil)
        }
        return index.frames(address)
    }

    /// The top-level functions of units read for inline chains, by unit index (the next read of the unit
    /// needs not scan it again).
    private var functionsByUnit: [Int: [TopFunction]] = [:]

    /// Compilation directories (`DW_AT_comp_dir`) by unit index, read on first need ("" when none).
    private var compDirs: [Int: String] = [:]

    /// The compilation directory (`DW_AT_comp_dir`) of the unit holding `address`; nil when none.
    public func compilationDirectory(for address: UInt64) -> String? {
        guard let i = unitIndex(containing: address), let h = open() else { return nil }
        if compDirs[i] == nil {
            var die = h.unitDIEs[i]
            compDirs[i] = DwarfHandle.compilationDirectory(of: &die)
        }
        let dir = compDirs[i] ?? ""
        return dir.isEmpty ? nil : dir
    }

    /// `file` (a name from a location of `address`) as a full path: a relative name is joined to the unit's
    /// compilation directory, as `addr2line` does. Absolute names, and names in units without a directory,
    /// come back as they are. (The names this type hands out are full already, as llvm-symbolizer's.)
    public func fullPath(_ file: String, for address: UInt64) -> String {
        guard !file.hasPrefix("/"), file != "??", let dir = compilationDirectory(for: address) else { return file }
        return dir.hasSuffix("/") ? dir + file : dir + "/" + file
    }
}
