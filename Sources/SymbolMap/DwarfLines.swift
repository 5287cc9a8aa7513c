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
/// (gathered once). A unit's line table and its function/inline scopes are built on its first lookup,
/// sorted, and then binary-searched; nothing is looked up per address through `dwarf_getsrc_die` or
/// `dwfl_module_addrinfo`. Not thread-safe (units load lazily); owns the file, `Elf*` and `Dwarf*`.
public final class DwarfLines {
    public let path: String
    private let fd: Int32
    private let elf: OpaquePointer
    private let dbg: OpaquePointer
    /// Unit address ranges: (start, end, unit index), sorted by start.
    private var unitRanges: [(UInt64, UInt64, Int)] = []
    private var unitDies: [Dwarf_Die] = []
    private var units: [Unit?] = []
    private var lastUnit: (lo: UInt64, hi: UInt64, unit: Unit)? = nil
    private var files: [String] = []
    private var fileIDs: [String: Int32] = [:]
    private var names: [String] = []
    private var nameIDs: [String: Int32] = [:]

    /// One unit's sorted line rows and scopes.
    final class Unit {
        var index = 0
        var addrs: [UInt64] = []
        var rows: [(file: Int32, line: Int32, column: Int32, end: Bool)] = []
        /// Out-of-line functions: (low, high, scope index), sorted, non-overlapping in practice.
        var functions: [(UInt64, UInt64, Int)] = []
        /// Scopes: name, depth, call site (for inlined ones), and for each function its inlined scopes.
        var scopes: [Scope] = []
        var scopesLoaded = false
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

    private func ranges(of die: inout Dwarf_Die) -> [(UInt64, UInt64)] {
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

    private func indexUnits() {
        var cu: OpaquePointer? = nil
        while true {
            var next: OpaquePointer? = nil
            var version: Dwarf_Half = 0
            var unitType: UInt8 = 0
            var cudie = Dwarf_Die()
            var subdie = Dwarf_Die()
            if dwarf_get_units(dbg, cu, &next, &version, &unitType, &cudie, &subdie) != 0 { break }
            cu = next
            let index = unitDies.count
            unitDies.append(cudie)
            for (s, e) in ranges(of: &cudie) { unitRanges.append((s, e, index)) }
        }
        unitRanges.sort { $0.0 < $1.0 }
        units = Array(repeating: nil, count: unitDies.count)
    }

    /// Number of compilation units.
    public var unitCount: Int { unitDies.count }

    private func unit(containing address: UInt64) -> Unit? {
        if let l = lastUnit, address >= l.lo, address < l.hi { return l.unit }
        var lo = 0, hi = unitRanges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if unitRanges[mid].0 <= address { lo = mid + 1 } else { hi = mid }
        }
        // Unit ranges may nest or overlap; look back a little for one that contains the address.
        var i = lo - 1
        while i >= 0 && i >= lo - 8 {
            if address < unitRanges[i].1 {
                let u = load(unitRanges[i].2)
                lastUnit = (unitRanges[i].0, unitRanges[i].1, u)
                return u
            }
            i -= 1
        }
        return nil
    }

    private func load(_ index: Int) -> Unit {
        if let u = units[index] { return u }
        let u = Unit()
        u.index = index
        var cudie = unitDies[index]
        // Line table.
        var lines: OpaquePointer? = nil
        var n = 0
        if dwarf_getsrclines(&cudie, &lines, &n) == 0, let lines {
            var rows: [(UInt64, Int, Int32, Int32, Int32, Bool)] = []
            rows.reserveCapacity(n)
            // libdw hands back the same string for the same file: map its address to our id once.
            var byPointer: [UnsafePointer<CChar>: Int32] = [:]
            for i in 0..<n {
                guard let l = dwarf_onesrcline(lines, i) else { continue }
                var addr: Dwarf_Addr = 0, line: Int32 = 0, col: Int32 = 0
                var end = false
                dwarf_lineaddr(l, &addr)
                dwarf_lineno(l, &line)
                dwarf_linecol(l, &col)
                dwarf_lineendsequence(l, &end)
                let f: Int32
                if let p = dwarf_linesrc(l, nil, nil) {
                    if let known = byPointer[p] { f = known } else {
                        f = intern(String(cString: p), &files, &fileIDs)
                        byPointer[p] = f
                    }
                } else {
                    f = intern("??", &files, &fileIDs)
                }
                rows.append((addr, i, f, line, col, end))
            }
            // Sequences can come in any order; within one address keep the table's order.
            rows.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            u.addrs = rows.map(\.0)
            u.rows = rows.map { ($0.2, $0.3, $0.4, $0.5) }
        }
        units[index] = u
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
                unitFiles.append(intern(s, &files, &fileIDs))
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
        guard let u = unit(containing: address) else { return nil }
        let lo = u.addrs.withUnsafeBufferPointer { a -> Int in
            var lo = 0, hi = a.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if a[mid] <= address { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        guard lo > 0 else { return nil }
        let r = u.rows[lo - 1]
        return r.end ? nil : (r.file, r.line, r.column)
    }

    /// The path of a file id from ``rawLocation(for:)``.
    public func fileName(_ id: Int32) -> String { files[Int(id)] }

    private func location(in u: Unit, _ address: UInt64) -> SourceLocation? {
        var lo = 0, hi = u.addrs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if u.addrs[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = u.rows[lo - 1]
        if r.end { return nil }
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
