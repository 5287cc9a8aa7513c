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

/// DWARF line tables and inline scopes of one ELF file, read with libdw.
///
/// The compilation unit of an address is found by binary search over all units' address ranges
/// (gathered once). A unit's line table is read on its first lookup into plain memory with a bucket
/// index (``LineRows``); its function/inline scopes are built on the first inline-chain lookup in it.
/// Nothing is looked up per address through `dwarf_getsrc_die` or `dwfl_module_addrinfo`.
///
/// Not thread-safe: units load lazily. The one exception is ``ensureUnits(_:helper:)``, which loads the
/// units a batch of addresses needs on two threads (the second through its own libdw handle: libdw is
/// not thread-safe per handle), after which ``withView(_:)`` serves lookups to several threads at once.
/// Owns the file, `Elf*` and `Dwarf*`.
public final class DwarfLines {
    public let path: String
    private let fd: Int32
    private let elf: OpaquePointer
    private let dbg: OpaquePointer
    /// A second handle on the file for loading units on a helper thread, opened on first need.
    private var second: (fd: Int32, elf: OpaquePointer, dbg: OpaquePointer, dies: [Dwarf_Die])?
    private var secondFailed = false
    /// Unit address ranges sorted by start, in plain memory: starts, ends and unit indices.
    private var rangeCount = 0
    private var rangeLo = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var rangeHi = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var rangeUnit = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var unitDies: [Dwarf_Die] = []
    private var units: [Unit?] = []
    /// Per unit, its rows' pointers (``LineRows/loaded`` false until read); plain memory.
    private var tables = UnsafeMutablePointer<LineRows>.allocate(capacity: 1)
    private var files: [String] = []
    private var fileIDs: [String: Int32] = [:]
    /// All file names' bytes one after another; file `i` is `fileStarts[i]..<fileStarts[i + 1]`.
    private var fileBytes = ByteSink(capacity: 4096)
    private var fileStarts: [Int] = [0]
    private var names: [String] = []
    private var nameIDs: [String: Int32] = [:]

    /// One line-table row: file id (-1 for the end of a sequence), line and column.
    struct LineRow {
        var file: Int32
        var line: Int32
        var column: Int32
    }

    /// One line-table row as kept for lookups: its address next to its file id (-1: end of a sequence) and
    /// line, so that the last probe of a search and the row share a cache line.
    struct LineEntry {
        var address: UInt64
        var file: Int32
        var line: Int32
    }

    /// A unit's rows sorted by address, in plain memory (owned by its ``Unit``), with a bucket index over
    /// the address range: a lookup is a short binary search inside one bucket.
    struct LineRows {
        var loaded = false
        var count = 0
        var entries: UnsafeMutablePointer<LineEntry>? = nil
        /// Columns per row (apart: only JSON and inline frames show them).
        var columns: UnsafeMutablePointer<Int32>? = nil
        var base: UInt64 = 0
        var shift: UInt64 = 0
        /// For bucket b: the first row at or above the bucket's start; one more entry (`count`) at the end.
        var buckets: UnsafeMutablePointer<Int32>? = nil
        var bucketCount = 0
        /// Added to the rows' unit-local file ids to give ids of the whole file.
        var fileBase: Int32 = 0

        /// The rows that may hold `address`'s (`lo..<hi`; `hi` 0 when none can).
        @inline(__always)
        func span(for address: UInt64) -> (lo: Int32, hi: Int32) {
            guard count > 0, address >= base, let buckets else { return (0, 0) }
            let b = Int(min(UInt64(bucketCount - 1), (address &- base) >> shift))
            return (buckets[b], buckets[b + 1])
        }

        /// The index of `address`'s row within `span` (the last one at or before it), -1 if none.
        @inline(__always)
        func index(for address: UInt64, in span: (lo: Int32, hi: Int32)) -> Int {
            guard let entries else { return -1 }
            var lo = Int(span.lo), hi = Int(span.hi)
            if hi == 0 { return -1 }
            while lo < hi {
                let mid = (lo + hi) >> 1
                if entries[mid].address <= address { lo = mid + 1 } else { hi = mid }
            }
            return lo - 1
        }

        /// The row for `address`: the last one at or before it, nil if none (or if it ends a sequence).
        @inline(__always)
        func row(for address: UInt64) -> LineRow? {
            let i = index(for: address, in: span(for: address))
            guard i >= 0, let entries, let columns else { return nil }
            let e = entries[i]
            return e.file < 0 ? nil : LineRow(file: e.file &+ fileBase, line: e.line, column: columns[i])
        }
    }

    /// One unit's rows (memory it owns) and scopes.
    final class Unit {
        var index = 0
        var rows = LineRows()
        /// The unit's file names, in the order of its local file ids.
        var localFiles: [String] = []
        /// Out-of-line functions: (low, high, scope index), sorted, non-overlapping in practice.
        var functions: [(UInt64, UInt64, Int)] = []
        /// Scopes: name, depth, call site (for inlined ones), and for each function its inlined scopes.
        var scopes: [Scope] = []
        var scopesLoaded = false

        deinit {
            rows.entries?.deallocate()
            rows.columns?.deallocate()
            rows.buckets?.deallocate()
        }
    }

    struct Scope {
        var ranges: [(UInt64, UInt64)]
        var name: Int32
        var depth: Int
        var callFile: Int32
        var callLine: Int32
        var callColumn: Int32
        var inlines: [Int] = []
    }

    public init(path: String) throws(SymbolMapError) {
        self.path = path
        _ = elf_version(UInt32(EV_CURRENT))
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SymbolMapError(errno == ENOENT ? .missingFile : .other, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        guard let e = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw SymbolMapError(.corrupt, path: path, "libelf cannot read it: \(String(cString: elf_errmsg(-1)))")
        }
        guard let d = dwarf_begin_elf(e, DWARF_C_READ, nil) else {
            elf_end(e)
            close(fd)
            throw SymbolMapError(.noSymbols, path: path, "no DWARF debugging information (\(String(cString: dwarf_errmsg(-1))))",
                                 hint: "build with -g, or point --debug-dir at the separate debug file")
        }
        elf = e
        dbg = d
        indexUnits()
    }

    deinit {
        units = []
        tables.deallocate()
        rangeLo.deallocate()
        rangeHi.deallocate()
        rangeUnit.deallocate()
        fileBytes.release()
        if let s = second {
            dwarf_end(s.dbg)
            elf_end(s.elf)
            close(s.fd)
        }
        dwarf_end(dbg)
        elf_end(elf)
        close(fd)
    }

    private func intern(_ s: String, _ table: inout [String], _ ids: inout [String: Int32]) -> Int32 {
        if let i = ids[s] { return i }
        let i = Int32(table.count)
        table.append(s)
        ids[s] = i
        return i
    }

    /// The id of file name `s`, adding it if new.
    private func internFile(_ s: String) -> Int32 {
        if let i = fileIDs[s] { return i }
        let i = appendFile(s)
        fileIDs[s] = i
        return i
    }

    /// Adds a file name (without looking for an earlier copy) and returns its id.
    private func appendFile(_ s: String) -> Int32 {
        let i = Int32(files.count)
        files.append(s)
        var t = s
        t.withUTF8 { fileBytes.append($0) }
        fileStarts.append(fileBytes.count)
        return i
    }

    private static func ranges(of die: inout Dwarf_Die) -> [(UInt64, UInt64)] {
        var out: [(UInt64, UInt64)] = []
        var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        var offset: Int = 0
        while true {
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
            if offset <= 0 { break }
            if end > start { out.append((start, end)) }
        }
        return out
    }

    private func ranges(of die: inout Dwarf_Die) -> [(UInt64, UInt64)] { Self.ranges(of: &die) }

    /// The unit DIEs of a libdw handle, in file order.
    private static func unitDIEs(_ dbg: OpaquePointer) -> [Dwarf_Die] {
        var out: [Dwarf_Die] = []
        var cu: OpaquePointer? = nil
        while true {
            var next: OpaquePointer? = nil
            var version: Dwarf_Half = 0
            var unitType: UInt8 = 0
            var cudie = Dwarf_Die()
            var subdie = Dwarf_Die()
            if dwarf_get_units(dbg, cu, &next, &version, &unitType, &cudie, &subdie) != 0 { break }
            cu = next
            out.append(cudie)
        }
        return out
    }

    private func indexUnits() {
        unitDies = Self.unitDIEs(dbg)
        var unitRanges: [(UInt64, UInt64, Int)] = []
        for i in unitDies.indices {
            var cudie = unitDies[i]
            for (s, e) in ranges(of: &cudie) { unitRanges.append((s, e, i)) }
        }
        unitRanges.sort { $0.0 < $1.0 }
        rangeCount = unitRanges.count
        for p in [rangeLo, rangeHi] { p.deallocate() }
        rangeUnit.deallocate()
        rangeLo = .allocate(capacity: max(1, rangeCount))
        rangeHi = .allocate(capacity: max(1, rangeCount))
        rangeUnit = .allocate(capacity: max(1, rangeCount))
        for (k, r) in unitRanges.enumerated() {
            rangeLo[k] = r.0
            rangeHi[k] = r.1
            rangeUnit[k] = Int32(r.2)
        }
        units = Array(repeating: nil, count: unitDies.count)
        tables.deallocate()
        tables = .allocate(capacity: max(1, unitDies.count))
        tables.initialize(repeating: LineRows(), count: max(1, unitDies.count))
    }

    /// Number of compilation units.
    public var unitCount: Int { unitDies.count }

    /// Lookups as plain pointers for several threads at once: valid until the next call that may load a
    /// unit or add a file name (``ensureUnits(_:helper:)``, ``rawLocation(for:)``, ``frames(for:)`` …).
    struct View {
        let rangeCount: Int
        let rangeLo: UnsafeMutablePointer<UInt64>
        let rangeHi: UnsafeMutablePointer<UInt64>
        let rangeUnit: UnsafeMutablePointer<Int32>
        let tables: UnsafeMutablePointer<LineRows>
        let fileBytes: UnsafeMutablePointer<UInt8>
        let fileStarts: UnsafePointer<Int>

        /// The unit whose range holds `address` (nil if none): a binary search over the unit ranges,
        /// looking back a little because ranges may nest or overlap.
        @inline(__always)
        func unitIndex(containing address: UInt64) -> Int? {
            DwarfLines.unitIndex(containing: address, count: rangeCount, lo: rangeLo, hi: rangeHi, unit: rangeUnit)
        }

        /// File id, line and column of `address` when its unit is loaded.
        @inline(__always)
        func row(for address: UInt64) -> LineRow? {
            guard let u = unitIndex(containing: address) else { return nil }
            return tables[u].row(for: address)
        }

        /// The bytes of file `id`'s name.
        @inline(__always)
        func fileName(_ id: Int32) -> (UnsafeMutablePointer<UInt8>, Int) {
            let s = fileStarts[Int(id)]
            return (fileBytes + s, fileStarts[Int(id) + 1] - s)
        }
    }

    /// Calls `body` with a ``View``: the units the addresses need must have been loaded
    /// (``ensureUnits(_:helper:)``); rows of other units read as unknown.
    func withView<R>(_ body: (View) throws -> R) rethrows -> R {
        try fileStarts.withUnsafeBufferPointer { fs in
            try body(View(rangeCount: rangeCount, rangeLo: rangeLo, rangeHi: rangeHi, rangeUnit: rangeUnit, tables: tables,
                          fileBytes: fileBytes.base, fileStarts: fs.baseAddress!))
        }
    }

    private func unit(containing address: UInt64) -> Unit? {
        guard let i = unitIndex(containing: address) else { return nil }
        return load(i)
    }

    private func unitIndex(containing address: UInt64) -> Int? {
        Self.unitIndex(containing: address, count: rangeCount, lo: rangeLo, hi: rangeHi, unit: rangeUnit)
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

    private func load(_ index: Int) -> Unit {
        if let u = units[index] { return u }
        var die = unitDies[index]
        let u = Self.readUnit(&die, index: index)
        adopt(u)
        return u
    }

    /// Makes a unit read by ``readUnit(_:index:)`` (on any thread) part of the tables: its file names get
    /// ids of the whole file. Not thread-safe.
    private func adopt(_ u: Unit) {
        u.rows.fileBase = Int32(files.count)
        for f in u.localFiles { _ = appendFile(f) }
        units[u.index] = u
        tables[u.index] = u.rows
    }

    /// Loads the units that `addresses` fall in and that are not loaded yet: on this thread and, when there
    /// are two or more and `helper` is given, on the helper thread too (through a second libdw handle).
    /// Afterwards ``withView(_:)`` finds every one of the addresses' rows.
    func ensureUnits(_ batches: [[UInt64]], helper: HelperThread?) {
        var needed: [Int] = []
        var seen = [Bool](repeating: false, count: unitDies.count)
        for addresses in batches {
            var last = -1
            for a in addresses {
                guard let u = unitIndex(containing: a), u != last else { continue }
                last = u
                if units[u] == nil && !seen[u] { seen[u] = true; needed.append(u) }
            }
        }
        loadUnits(needed, helper: helper)
    }

    /// Loads units by index (see ``ensureUnits(_:helper:)``).
    func loadUnits(_ needed: [Int], helper: HelperThread?) {
        if needed.isEmpty { return }
        guard needed.count >= 2, let helper else {
            for i in needed { _ = load(i) }
            return
        }
        // Both threads take the next unit until none are left (units differ in size); the helper reads
        // through the second handle, opened on its first unit.
        let results = UnsafeMutableBufferPointer<Unit?>.allocate(capacity: needed.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let dies = unitDies
        let path = self.path
        var second = self.second
        var tried = secondFailed
        helper.share(needed.count) { k, onHelper in
            if onHelper {
                if second == nil && !tried {
                    tried = true
                    if let o = Self.openSecond(path) {
                        if o.dies.count == dies.count { second = o } else { dwarf_end(o.dbg); elf_end(o.elf); close(o.fd) }
                    }
                }
                if var die = second?.dies[needed[k]] {
                    results[k] = Self.readUnit(&die, index: needed[k])
                    return
                }
                // No second handle: leave the unit to this thread, below.
                return
            }
            var die = dies[needed[k]]
            results[k] = Self.readUnit(&die, index: needed[k])
        }
        self.second = second
        secondFailed = tried && second == nil
        for r in results { if let u = r { adopt(u) } }
        // Units the helper could not read (no second handle) are read here.
        for i in needed where units[i] == nil { _ = load(i) }
    }

    /// Opens the file a second time for loading units on another thread; nil if that fails.
    private static func openSecond(_ path: String) -> (fd: Int32, elf: OpaquePointer, dbg: OpaquePointer, dies: [Dwarf_Die])? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let e = elf_begin(fd, ELF_C_READ_MMAP, nil) else { close(fd); return nil }
        guard let d = dwarf_begin_elf(e, DWARF_C_READ, nil) else { elf_end(e); close(fd); return nil }
        return (fd, e, d, unitDIEs(d))
    }

    /// Reads one unit's line table into plain memory. Touches nothing shared but the unit's libdw handle,
    /// so units of different handles can be read on different threads.
    private static func readUnit(_ cudie: inout Dwarf_Die, index: Int) -> Unit {
        let u = Unit()
        u.index = index
        let dir = compilationDirectory(of: &cudie)
        var lines: OpaquePointer? = nil
        var n = 0
        guard dwarf_getsrclines(&cudie, &lines, &n) == 0, let lines, n > 0 else { return u }
        var entries = UnsafeMutablePointer<LineEntry>.allocate(capacity: n)
        var columns = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        // libdw hands back the same string for the same file: map its address to a local id, once.
        var byPointer: [UnsafePointer<CChar>: Int32] = [:]
        var lastPointer: UnsafePointer<CChar>? = nil
        var lastFile: Int32 = 0
        var unknownFile: Int32 = -1
        var k = 0
        var sorted = true
        var previous: UInt64 = 0
        for i in 0..<n {
            guard let l = dwarf_onesrcline(lines, i) else { continue }
            var addr: Dwarf_Addr = 0, line: Int32 = 0, col: Int32 = 0
            var end = false
            dwarf_lineaddr(l, &addr)
            dwarf_lineno(l, &line)
            dwarf_linecol(l, &col)
            dwarf_lineendsequence(l, &end)
            var f: Int32
            if let p = dwarf_linesrc(l, nil, nil) {
                if p == lastPointer { f = lastFile } else {
                    if let known = byPointer[p] { f = known } else {
                        f = Int32(u.localFiles.count)
                        u.localFiles.append(unitPath(String(cString: p), dir: dir))
                        byPointer[p] = f
                    }
                    lastPointer = p
                    lastFile = f
                }
            } else {
                if unknownFile < 0 {
                    unknownFile = Int32(u.localFiles.count)
                    u.localFiles.append("??")
                }
                f = unknownFile
            }
            if addr < previous { sorted = false }
            previous = addr
            entries[k] = LineEntry(address: addr, file: end ? -1 : f, line: line)
            columns[k] = col
            k += 1
        }
        if !sorted {
            // Sequences can come in any order (libdw sorts them; in case it did not): by address, and within
            // one address in the table's order.
            var order = Array(0..<k)
            order.sort { entries[$0].address != entries[$1].address ? entries[$0].address < entries[$1].address : $0 < $1 }
            let ne = UnsafeMutablePointer<LineEntry>.allocate(capacity: n), nc = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            for (j, o) in order.enumerated() { ne[j] = entries[o]; nc[j] = columns[o] }
            entries.deallocate(); columns.deallocate()
            entries = ne; columns = nc
        }
        var t = LineRows(loaded: true, count: k, entries: entries, columns: columns)
        if k > 0 {
            t.base = entries[0].address
            let span = entries[k - 1].address &- t.base
            var sh: UInt64 = 0
            while (span >> sh) >= UInt64(k) { sh += 1 }
            t.shift = sh
            t.bucketCount = Int(span >> sh) + 1
            let b = UnsafeMutablePointer<Int32>.allocate(capacity: t.bucketCount + 1)
            var j = 0
            for bucket in 0..<t.bucketCount {
                let start = t.base &+ (UInt64(bucket) << sh)
                while j < k, entries[j].address < start { j += 1 }
                b[bucket] = Int32(j)
            }
            b[t.bucketCount] = Int32(k)
            t.buckets = b
        }
        u.rows = t
        return u
    }

    /// Builds a unit's function and inline scopes (on the first inline-chain lookup in it).
    private func loadScopes(_ u: Unit) {
        guard !u.scopesLoaded else { return }
        u.scopesLoaded = true
        var cudie = unitDies[u.index]
        // File names of the unit for call_file attributes.
        var srcFiles: OpaquePointer? = nil
        var nfiles = 0
        var unitFiles: [Int32] = []
        if dwarf_getsrcfiles(&cudie, &srcFiles, &nfiles) == 0, let srcFiles {
            for i in 0..<nfiles {
                let s = dwarf_filesrc(srcFiles, i, nil, nil).map { String(cString: $0) } ?? "??"
                unitFiles.append(internFile(Self.unitPath(s, dir: compilationDirectory(unit: u.index))))
            }
        }
        // Scopes: walk the DIE tree once.
        var child = Dwarf_Die()
        if dwarf_child(&cudie, &child) == 0 {
            walk(&child, depth: 0, function: -1, unit: u, unitFiles: unitFiles)
        }
        u.functions.sort { $0.0 < $1.0 }
    }

    private func attrUInt(_ die: inout Dwarf_Die, _ name: Int32) -> Int32 {
        var a = Dwarf_Attribute()
        var v: Dwarf_Word = 0
        guard dwarf_attr(&die, UInt32(name), &a) != nil, dwarf_formudata(&a, &v) == 0 else { return 0 }
        return Int32(truncatingIfNeeded: v)
    }

    private func scopeName(_ die: inout Dwarf_Die) -> String {
        var a = Dwarf_Attribute()
        for attr in [DW_AT_name, DW_AT_linkage_name] {
            if dwarf_attr_integrate(&die, UInt32(attr), &a) != nil, let s = dwarf_formstring(&a) {
                return String(cString: s)
            }
        }
        return "??"
    }

    private func walk(_ first: inout Dwarf_Die, depth: Int, function: Int, unit u: Unit, unitFiles: [Int32]) {
        var die = first
        while true {
            let tag = dwarf_tag(&die)
            var nextFunction = function
            var nextDepth = depth
            if tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine {
                let rs = ranges(of: &die)
                if !rs.isEmpty {
                    let inlined = tag == DW_TAG_inlined_subroutine
                    let cf = inlined ? attrUInt(&die, Int32(DW_AT_call_file)) : 0
                    var s = Scope(ranges: rs, name: intern(scopeName(&die), &names, &nameIDs), depth: depth,
                                  callFile: inlined && Int(cf) < unitFiles.count ? unitFiles[Int(cf)] : -1,
                                  callLine: inlined ? attrUInt(&die, Int32(DW_AT_call_line)) : 0,
                                  callColumn: inlined ? attrUInt(&die, Int32(DW_AT_call_column)) : 0)
                    let idx = u.scopes.count
                    if !inlined || function < 0 {
                        s.depth = 0
                        u.scopes.append(s)
                        for (lo, hi) in rs { u.functions.append((lo, hi, idx)) }
                        nextFunction = idx
                        nextDepth = 1
                    } else {
                        u.scopes.append(s)
                        u.scopes[function].inlines.append(idx)
                        nextDepth = depth + 1
                    }
                }
            }
            var child = Dwarf_Die()
            if dwarf_child(&die, &child) == 0 {
                walk(&child, depth: nextDepth, function: nextFunction, unit: u, unitFiles: unitFiles)
            }
            var sib = Dwarf_Die()
            if dwarf_siblingof(&die, &sib) != 0 { break }
            die = sib
        }
    }

    /// The line-table row for `address` (the last row at or before it in its sequence), nil outside any.
    /// - Complexity: O(log n) once the unit is loaded.
    public func location(for address: UInt64) -> SourceLocation? {
        guard let u = unit(containing: address) else { return nil }
        return location(in: u, address)
    }

    /// File id, line and column of `address` without building strings (see ``fileName(_:)``).
    public func rawLocation(for address: UInt64) -> (file: Int32, line: Int32, column: Int32)? {
        guard let u = unit(containing: address), let r = u.rows.row(for: address) else { return nil }
        return (r.file, r.line, r.column)
    }

    /// Compilation directories (`DW_AT_comp_dir`) by unit index, read on first need ("" when none).
    private var compDirs: [Int: String] = [:]

    /// The compilation directory (`DW_AT_comp_dir`) of the unit holding `address`; nil when none.
    public func compilationDirectory(for address: UInt64) -> String? {
        guard let i = unitIndex(containing: address) else { return nil }
        let dir = compilationDirectory(unit: i)
        return dir.isEmpty ? nil : dir
    }

    /// Unit `i`'s DW_AT_comp_dir ("" when it has none), read once.
    private func compilationDirectory(unit i: Int) -> String {
        if let d = compDirs[i] { return d }
        var die = unitDies[i]
        let dir = Self.compilationDirectory(of: &die)
        compDirs[i] = dir
        return dir
    }

    private static func compilationDirectory(of die: inout Dwarf_Die) -> String {
        var a = Dwarf_Attribute()
        if dwarf_attr_integrate(&die, UInt32(DW_AT_comp_dir), &a) != nil, let s = dwarf_formstring(&a) { return String(cString: s) }
        return ""
    }

    /// A file name of a unit compiled in `dir` as a full path (see ``fullPath(_:for:)``): how every name enters
    /// the file table, so lines read `/build/dir/sub/x.c` wherever addr2line and llvm-symbolizer say so.
    private static func unitPath(_ file: String, dir: String) -> String {
        guard !file.hasPrefix("/"), file != "??", !dir.isEmpty else { return file }
        return dir.hasSuffix("/") ? dir + file : dir + "/" + file
    }

    /// `file` (a name from a location of `address`) as a full path: libdw leaves a file name relative when
    /// the line table's directory entry is relative (DWARF 5 tables of files given to the compiler by a
    /// relative path), and such names are relative to the unit's compilation directory, which is joined
    /// here as `addr2line` does. Absolute names, and names in units without a directory, come back as they are.
    public func fullPath(_ file: String, for address: UInt64) -> String {
        guard !file.hasPrefix("/"), file != "??", let dir = compilationDirectory(for: address) else { return file }
        return dir.hasSuffix("/") ? dir + file : dir + "/" + file
    }

    /// The path of a file id from ``rawLocation(for:)``.
    public func fileName(_ id: Int32) -> String { files[Int(id)] }

    private func location(in u: Unit, _ address: UInt64) -> SourceLocation? {
        guard let r = u.rows.row(for: address) else { return nil }
        return SourceLocation(file: files[Int(r.file)], line: Int(r.line), column: Int(r.column))
    }

    /// The inline chain at `address`, innermost first; the last frame is the out-of-line function.
    /// Empty when no function's DWARF covers the address.
    public func frames(for address: UInt64) -> [InlineFrame] {
        guard let u = unit(containing: address) else { return [] }
        loadScopes(u)
        var lo = 0, hi = u.functions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if u.functions[mid].0 <= address { lo = mid + 1 } else { hi = mid }
        }
        var fn = -1
        var i = lo - 1
        while i >= 0 && i >= lo - 4 {
            if address < u.functions[i].1 { fn = u.functions[i].2; break }
            i -= 1
        }
        guard fn >= 0 else { return [] }
        var chain = [fn]
        chain += u.scopes[fn].inlines.filter { k in u.scopes[k].ranges.contains { address >= $0.0 && address < $0.1 } }
        chain.sort { u.scopes[$0].depth > u.scopes[$1].depth }  // innermost first
        var out: [InlineFrame] = []
        var loc = location(in: u, address)
        for k in chain {
            let s = u.scopes[k]
            out.append(InlineFrame(function: names[Int(s.name)], location: loc, inlined: k != fn))
            // The next (outer) frame is located at this inlined scope's call site.
            loc = s.callFile >= 0 ? SourceLocation(file: files[Int(s.callFile)], line: Int(s.callLine), column: Int(s.callColumn)) : nil
        }
        return out
    }
}
