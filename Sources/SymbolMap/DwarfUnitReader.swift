internal import CElfUtils

/// One interval of addresses with one line-table answer: the row (`file` -1: no row, "??:0") that every
/// address in `lo..<hi` gets. Ids are a ``DwarfIndex``'s (or, in ``UnitAnswers``, the unit's).
struct LineInterval: BitwiseCopyable, Equatable {
    var lo: UInt64
    var hi: UInt64
    var file: Int32
    var line: Int32
    var column: Int32
    var reserved: Int32 = 0
}

/// One interval of addresses with one inline answer: the innermost subroutine scope there (`leaf` -1: no
/// function's DWARF covers it).
struct InlineInterval: BitwiseCopyable, Equatable {
    var lo: UInt64
    var hi: UInt64
    var leaf: Int32
    var reserved: Int32 = 0
}

/// A `DW_TAG_subprogram` or `DW_TAG_inlined_subroutine`: its name, where it was inlined (`callFile` -1 for
/// a subprogram) and the scope it was inlined into (`parent`; -1 ends the chain: a subprogram).
struct IndexScope: BitwiseCopyable, Equatable {
    var name: Int32
    var callFile: Int32
    var callLine: Int32
    var callColumn: Int32
    var parent: Int32
    var reserved: Int32 = 0
}

/// What one compilation unit answers for some of its addresses, with ids local to the unit (file names,
/// function names, scopes); ``DwarfIndex/adopt(_:)`` renumbers them for the image.
struct UnitAnswers {
    var files: [String] = []
    var names: [String] = []
    var scopes: [IndexScope] = []
    var lines: [LineInterval] = []
    var inlines: [InlineInterval] = []
    /// Subprogram trees that could not be read whole (damaged DWARF); their addresses get what was read.
    var damaged = 0
    /// The unit's top-level functions, when they were scanned (kept by the caller for the next read).
    var functions: [TopFunction]? = nil
    /// Whether the inline answers came from the DIEs read directly (DieReader.swift), not through libdw.
    var diesReadDirectly = false
}

/// A range of one of a unit's top-level functions and its DIE's offset (the same in every libdw reader of
/// the file).
struct TopFunction {
    var lo: UInt64
    var hi: UInt64
    var offset: UInt64
}

/// Reads what one unit says about a sorted list of its addresses, through libdw's DIE and line API: the
/// line-table row of each (a binary search over libdw's sorted rows) and, for inline chains, the unit's
/// top-level functions (a scan of the unit's first level, skipping types and declarations through their
/// `DW_AT_sibling`), then the whole `DW_TAG_subprogram` tree of only those functions that hold an address,
/// painted into intervals (the innermost scope wins; a later sibling over an earlier one, as
/// llvm-symbolizer paints them). See docs/ARCHITECTURE.md, "Line and inline index".
///
/// Touches nothing but its own libdw handle: units of different handles may be read on different threads.
struct DwarfUnitReader {
    var cudie: Dwarf_Die
    private let dbg: OpaquePointer
    /// The unit's address ranges (sorted): intervals without an answer are cut to the range they are in.
    private let unitRanges: [(UInt64, UInt64)]
    var out = UnitAnswers()
    private let compDir: String
    private let firstDirectory: String?
    private var files: OpaquePointer?
    private var fileCount = 0
    private var fileByPointer: [UnsafePointer<CChar>: Int32] = [:]
    private var nameByPointer: [UnsafePointer<CChar>: Int32] = [:]
    private var unknownName: Int32 = -1
    /// Other units read directly for names of `DW_FORM_ref_addr` origins, by index (DwarfUnitReader+Direct.swift).
    var otherUnits: [Int: DieUnit] = [:]
    /// The unit's addresses being answered (sorted), for skipping subtrees that hold none of them.
    var asked: [UInt64] = []

    /// The unit's line program read directly (``LineProgram``); nil when there is none, or when it could not
    /// be read here and libdw reads it instead.
    var program: LineProgram?
    /// Program file index → id in `out.files` (direct reading).
    private var fileByIndex: [UInt64: Int32] = [:]

    init(unit: Dwarf_Die, dbg: OpaquePointer, unitRanges: [(UInt64, UInt64)], sections: LineSections?) {
        cudie = unit
        self.dbg = dbg
        self.unitRanges = unitRanges
        compDir = DwarfHandle.compilationDirectory(of: &cudie)
        if let sections, let offset = Self.udata(&cudie, Int32(DW_AT_stmt_list)),
           let p = try? LineProgram(sections: sections, offset: offset, compDir: compDir.isEmpty ? nil : compDir) {
            program = p
            firstDirectory = p.firstDirectory
            return
        }
        // libdw (dwarf_getsrcfiles reads the whole line program in elfutils 0.188).
        firstDirectory = DwarfHandle.firstLineDirectory(of: &cudie)
        var f: OpaquePointer? = nil
        var n = 0
        if dwarf_getsrcfiles(&cudie, &f, &n) == 0 { files = f; fileCount = n }
    }

    /// The answers for `addresses` (sorted, each in this unit): rows when `lines`, chains when `inlines`.
    /// `functions`: the unit's top-level functions from an earlier read, if any (else they are scanned, and
    /// handed back in the answers).
    /// `sections`: the file's line sections, for reading the line program without libdw (nil: libdw reads it).
    /// `dies`: the file's debugging sections, for reading the unit's DIEs without libdw (nil: libdw reads
    /// them; so does it a unit the direct reader cannot read whole: DwarfUnitReader+Direct.swift).
    static func read(unit: Dwarf_Die, dbg: OpaquePointer, unitRanges: [(UInt64, UInt64)], addresses: [UInt64],
                     lines: Bool, inlines: Bool, functions: [TopFunction]? = nil, sections: LineSections? = nil,
                     dies: DebugSections? = nil) -> UnitAnswers {
        var r = DwarfUnitReader(unit: unit, dbg: dbg, unitRanges: unitRanges, sections: sections)
        if lines {
            if r.program == nil || !r.readLinesDirectly(addresses) { r.readLines(addresses) }
        }
        if inlines {
            if let dies, r.readInlinesDirectly(addresses, functions, dies) { return r.out }
            let tops = functions ?? r.topFunctions()
            r.readInlines(addresses, tops) { r, offset in r.walk(function: offset) }
            if functions == nil { r.out.functions = tops }
        }
        return r.out
    }

    /// The inline answers from the unit's DIEs read directly; false (and nothing changed) when the direct
    /// reader cannot read the unit whole.
    private mutating func readInlinesDirectly(_ addresses: [UInt64], _ functions: [TopFunction]?, _ s: DebugSections) -> Bool {
        guard let k = s.unitByDIE[Int(dwarf_dieoffset(&cudie))] else { return false }
        let saved = (out, fileByPointer, nameByPointer, unknownName, fileByIndex, originNames)
        do throws(DieError) {
            let u = try DieUnit(s, unit: k)
            guard u.tag == UInt32(DW_TAG_compile_unit) || u.tag == UInt32(DW_TAG_partial_unit) else { return false }
            let tops: [TopFunction]
            if let functions { tops = functions } else { tops = try Self.topFunctionsDirect(s, u) }
            asked = addresses
            try readInlines(addresses, tops) { (r, offset) throws(DieError) in try r.walkDirect(function: offset, s, u) }
            if functions == nil { out.functions = tops }
            out.diesReadDirectly = true
            return true
        } catch {
            (out, fileByPointer, nameByPointer, unknownName, fileByIndex, originNames) = saved
            return false
        }
    }

    /// The unit range holding `a` (nil if none).
    private func unitRange(_ a: UInt64) -> (UInt64, UInt64)? {
        unitRanges.first { a >= $0.0 && a < $0.1 }
    }

    /// `lo..<hi` cut to the unit range holding `a` (which it holds).
    func clip(_ lo: UInt64, _ hi: UInt64, around a: UInt64) -> (UInt64, UInt64) {
        guard let r = unitRange(a) else { return (a, a &+ 1) }
        return (max(lo, r.0), min(hi, r.1))
    }

    // MARK: Files and names

    mutating func file(_ p: UnsafePointer<CChar>?) -> Int32 {
        guard let p else { return -1 }
        if let id = fileByPointer[p] { return id }
        let id = Int32(out.files.count)
        out.files.append(DwarfHandle.displayPath(String(cString: p), compDir: compDir, firstDirectory: firstDirectory))
        fileByPointer[p] = id
        return id
    }

    /// The file of a `DW_AT_call_file` index (-1 when there is none such).
    mutating func file(index: Int) -> Int32 {
        if let program { return programFile(UInt64(truncatingIfNeeded: index), program) }
        guard let files, index >= 0, index < fileCount else { return -1 }
        return file(dwarf_filesrc(files, index, nil, nil))
    }

    /// The id of the line program's file `index` (-1 when the table has no such file).
    mutating func programFile(_ index: UInt64, _ program: LineProgram) -> Int32 {
        if let id = fileByIndex[index] { return id }
        var id: Int32 = -1
        if index < UInt64(program.fileCount), let name = program.libdwName(Int(index)) {
            id = Int32(out.files.count)
            out.files.append(DwarfHandle.displayPath(name, compDir: compDir, firstDirectory: firstDirectory))
        }
        fileByIndex[index] = id
        return id
    }

    /// The id of a string of the unit's DWARF (libdw hands back the same pointer for the same string).
    mutating func nameID(_ s: UnsafePointer<CChar>) -> Int32 {
        if let id = nameByPointer[s] { return id }
        let id = Int32(out.names.count)
        out.names.append(String(cString: s))
        nameByPointer[s] = id
        return id
    }

    /// Linkage name and name (ids, -1 when absent) found through a DIE's `DW_AT_abstract_origin` or
    /// `DW_AT_specification`, by the origin's offset: many inlined copies share one origin.
    var originNames: [UInt64: (linkage: Int32, name: Int32)] = [:]

    /// Linkage name and name of a DIE from its scan, each its own or else its origin's (as
    /// `dwarf_attr_integrate` finds them, 16 origins deep at most).
    private mutating func names(_ scan: AttributeScan, depth: Int) -> (linkage: Int32, name: Int32) {
        var linkage: Int32 = -1, name: Int32 = -1
        var a = scan.linkage
        if scan.hasLinkage, let s = dwarf_formstring(&a) { linkage = nameID(s) }
        a = scan.name
        if scan.hasName, let s = dwarf_formstring(&a) { name = nameID(s) }
        if (linkage < 0 || name < 0) && scan.hasOrigin && depth < 16 {
            var o = scan.origin
            var origin = Dwarf_Die()
            if dwarf_formref_die(&o, &origin) != nil {
                let offset = dwarf_dieoffset(&origin)
                let inherited: (linkage: Int32, name: Int32)
                if let known = originNames[offset] {
                    inherited = known
                } else {
                    var inner = AttributeScan()
                    _ = withUnsafeMutablePointer(to: &inner) { dwarf_getattrs(&origin, attributeScanCallback, $0, 0) }
                    inherited = names(inner, depth: depth + 1)
                    originNames[offset] = inherited
                }
                if linkage < 0 { linkage = inherited.linkage }
                if name < 0 { name = inherited.name }
            }
        }
        return (linkage, name)
    }

    /// The name llvm-symbolizer gives a subroutine: its linkage name, else its name, own or its origin's
    /// (``names(_:depth:)``); "??" without any.
    private mutating func name(_ scan: AttributeScan, depth: Int) -> Int32 {
        let (linkage, name) = names(scan, depth: depth)
        if linkage >= 0 { return linkage }
        if name >= 0 { return name }
        return unknownNameID()
    }

    /// The id of the name "??" (a subroutine without one).
    mutating func unknownNameID() -> Int32 {
        if unknownName < 0 {
            unknownName = Int32(out.names.count)
            out.names.append("??")
        }
        return unknownName
    }

    private static func udata(_ die: inout Dwarf_Die, _ name: Int32) -> Int? {
        var a = Dwarf_Attribute()
        var v: Dwarf_Word = 0
        guard dwarf_attr(&die, UInt32(name), &a) != nil, dwarf_formudata(&a, &v) == 0 else { return nil }
        return Int(truncatingIfNeeded: v)
    }

    // MARK: Inline chains

    /// The ranges of the unit's functions with code: the subprograms of its first level and of the
    /// namespaces there (C++ compilers may put definitions in them), sorted by start.
    private mutating func topFunctions() -> [TopFunction] {
        var out: [TopFunction] = []
        var child = Dwarf_Die()
        guard dwarf_child(&cudie, &child) == 0 else { return out }
        var stack = [child]
        while var die = stack.popLast() {
            while true {
                let tag = dwarf_tag(&die)
                if tag == DW_TAG_subprogram {
                    let off = dwarf_dieoffset(&die)
                    // Declarations have neither (dwarf_hasattr reads the abbreviation only).
                    if dwarf_hasattr(&die, UInt32(DW_AT_low_pc)) != 0 || dwarf_hasattr(&die, UInt32(DW_AT_ranges)) != 0 {
                        for (lo, hi) in DwarfHandle.ranges(of: &die) { out.append(TopFunction(lo: lo, hi: hi, offset: off)) }
                    }
                } else if tag == DW_TAG_namespace || tag == DW_TAG_module {
                    var inner = Dwarf_Die()
                    if dwarf_child(&die, &inner) == 0 { stack.append(inner) }
                }
                var sibling = Dwarf_Die()
                if dwarf_siblingof(&die, &sibling) != 0 { break }
                die = sibling
            }
        }
        out.sort { $0.lo < $1.lo }
        return out
    }

    private mutating func readInlines<E: Error>(_ addresses: [UInt64], _ tops: [TopFunction],
                                                walk: (inout DwarfUnitReader, UInt64) throws(E) -> Void) throws(E) {
        // The highest end among the ranges up to each one (ranges may overlap: functions of discarded
        // sections all start at 0).
        var reach: [UInt64] = []
        reach.reserveCapacity(tops.count)
        for t in tops { reach.append(max(reach.last ?? 0, t.hi)) }
        var walked = Set<UInt64>()
        var covered: (UInt64, UInt64) = (1, 0)
        for a in addresses {
            if a >= covered.0 && a < covered.1 { continue }
            var lo = 0, hi = tops.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if tops[mid].lo <= a { lo = mid + 1 } else { hi = mid }
            }
            var found: TopFunction? = nil
            var k = lo - 1
            while k >= 0, reach[k] > a {
                if a < tops[k].hi { found = tops[k]; break }
                k -= 1
            }
            if let f = found {
                if walked.insert(f.offset).inserted { try walk(&self, f.offset) }
                covered = (f.lo, f.hi)
            } else {
                let gapLo = lo > 0 ? min(reach[lo - 1], a) : 0
                let gapHi = lo < tops.count ? tops[lo].lo : UInt64.max
                let (l, h) = clip(gapLo, gapHi, around: a)
                let g = h > l ? InlineInterval(lo: l, hi: h, leaf: -1) : InlineInterval(lo: a, hi: a &+ 1, leaf: -1)
                out.inlines.append(g)
                covered = (g.lo, g.hi)
            }
        }
    }

    /// One subroutine range to paint: scope indices grow in the tree's pre-order, so of the ranges over
    /// an address the highest index is the innermost (or the later sibling).
    struct Paint {
        var at: UInt64
        var scope: Int32
        var starts: Bool
    }

    /// Reads the subprogram at `offset` and everything nested in it, and paints its intervals.
    private mutating func walk(function offset: UInt64) {
        var die = Dwarf_Die()
        guard dwarf_offdie(dbg, offset, &die) != nil else { out.damaged += 1; return }
        var paints: [Paint] = []
        visit(&die, parent: -1, depth: 0, into: &paints)
        paint(paints)
    }

    /// Nesting deeper than this is taken for damaged DWARF (real code nests a few dozen levels).
    static let maxDepth = 512

    /// One DIE of a function's tree, then its children in order (pre-order: a scope's index is above its
    /// parent's and its earlier siblings' and their descendants').
    private mutating func visit(_ d: inout Dwarf_Die, parent: Int32, depth: Int, into paints: inout [Paint]) {
        let tag = dwarf_tag(&d)
        var inside = parent
        var descend = tag == DW_TAG_lexical_block || tag == DW_TAG_try_block || tag == DW_TAG_catch_block
        if tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine {
            let inlined = tag == DW_TAG_inlined_subroutine
            // One pass over the DIE's attributes (libdw's dwarf_attr scans them per call).
            var scan = AttributeScan()
            _ = withUnsafeMutablePointer(to: &scan) { dwarf_getattrs(&d, attributeScanCallback, $0, 0) }
            let scope = Int32(out.scopes.count)
            out.scopes.append(IndexScope(
                name: name(scan, depth: 0),
                callFile: inlined ? file(index: scan.callFile) : -1,
                callLine: inlined ? Int32(truncatingIfNeeded: scan.callLine) : 0,
                callColumn: inlined ? Int32(truncatingIfNeeded: scan.callColumn) : 0,
                parent: inlined ? parent : -1))
            if scan.hasCode {
                for (lo, hi) in DwarfHandle.ranges(of: &d) {
                    paints.append(Paint(at: lo, scope: scope, starts: true))
                    paints.append(Paint(at: hi, scope: scope, starts: false))
                }
            }
            inside = scope
            descend = true
        }
        guard descend else { return }
        guard depth < Self.maxDepth else { out.damaged += 1; return }
        var child = Dwarf_Die()
        guard dwarf_child(&d, &child) == 0 else { return }
        while true {
            visit(&child, parent: inside, depth: depth + 1, into: &paints)
            var sibling = Dwarf_Die()
            let r = dwarf_siblingof(&child, &sibling)
            if r != 0 {
                if r < 0 { out.damaged += 1 }
                return
            }
            child = sibling
        }
    }

    /// Turns the ranges of one function's scopes into intervals, each with the highest scope over it.
    /// `leaves`: the scope of each paint's `scope` number when those are not scope ids themselves
    /// (DwarfUnitReader+Direct.swift numbers skipped subtrees too; their number maps to -2, and nothing is
    /// painted where one is on top).
    mutating func paint(_ paints: [Paint], leaves: [Int32]? = nil) {
        guard !paints.isEmpty else { return }
        let sorted = paints.sorted { $0.at < $1.at }
        var heap = MaxHeap()
        // Ranges open per scope; a function's scopes are numbered one after another.
        var first = Int32.max, last = Int32.min
        for p in paints { first = min(first, p.scope); last = max(last, p.scope) }
        var open = [Int32](repeating: 0, count: Int(last - first) + 1)
        var i = 0
        while i < sorted.count {
            let at = sorted[i].at
            while i < sorted.count, sorted[i].at == at {
                let p = sorted[i]
                if p.starts { heap.push(p.scope); open[Int(p.scope - first)] += 1 } else { open[Int(p.scope - first)] -= 1 }
                i += 1
            }
            while let top = heap.top, open[Int(top - first)] <= 0 { heap.pop() }
            guard let top = heap.top, i < sorted.count else { continue }
            let leaf = leaves?[Int(top)] ?? top
            if leaf < -1 { continue }
            let next = sorted[i].at
            if let l = out.inlines.last, l.hi == at, l.leaf == leaf {
                out.inlines[out.inlines.count - 1].hi = next
            } else {
                out.inlines.append(InlineInterval(lo: at, hi: next, leaf: leaf))
            }
        }
    }
}

/// What ``DwarfUnitReader`` takes from a subroutine DIE's attributes, in one `dwarf_getattrs` pass.
private struct AttributeScan {
    var linkage = Dwarf_Attribute()
    var hasLinkage = false
    var name = Dwarf_Attribute()
    var hasName = false
    /// `DW_AT_abstract_origin` or `DW_AT_specification`.
    var origin = Dwarf_Attribute()
    var hasOrigin = false
    var originIsAbstract = false
    var callFile = -1
    var callLine = 0
    var callColumn = 0
    /// Whether it has `DW_AT_low_pc` or `DW_AT_ranges` (else no address is its).
    var hasCode = false
}

/// `dwarf_getattrs`'s callback filling an ``AttributeScan``.
private let attributeScanCallback: @convention(c) (UnsafeMutablePointer<Dwarf_Attribute>?, UnsafeMutableRawPointer?) -> Int32 = { attr, arg in
    guard let attr, let arg else { return 0 }
    let s = arg.assumingMemoryBound(to: AttributeScan.self)
    func value() -> Int {
        var v: Dwarf_Word = 0
        return dwarf_formudata(attr, &v) == 0 ? Int(truncatingIfNeeded: v) : 0
    }
    switch attr.pointee.code {
    case UInt32(DW_AT_linkage_name), UInt32(DW_AT_MIPS_linkage_name):
        if !s.pointee.hasLinkage { s.pointee.linkage = attr.pointee; s.pointee.hasLinkage = true }
    case UInt32(DW_AT_name):
        s.pointee.name = attr.pointee; s.pointee.hasName = true
    case UInt32(DW_AT_abstract_origin):
        s.pointee.origin = attr.pointee; s.pointee.hasOrigin = true; s.pointee.originIsAbstract = true
    case UInt32(DW_AT_specification):
        // dwarf_attr_integrate follows DW_AT_abstract_origin first.
        if !s.pointee.originIsAbstract { s.pointee.origin = attr.pointee; s.pointee.hasOrigin = true }
    case UInt32(DW_AT_call_file):
        var v: Dwarf_Word = 0
        s.pointee.callFile = dwarf_formudata(attr, &v) == 0 ? Int(truncatingIfNeeded: v) : -1
    case UInt32(DW_AT_call_line):
        s.pointee.callLine = value()
    case UInt32(DW_AT_call_column):
        s.pointee.callColumn = value()
    case UInt32(DW_AT_low_pc), UInt32(DW_AT_ranges):
        s.pointee.hasCode = true
    default:
        break
    }
    return 0
}

/// A max-heap of scope indices (for painting: the innermost scope open at an address).
private struct MaxHeap {
    private var items: [Int32] = []

    var top: Int32? { items.first }

    mutating func push(_ v: Int32) {
        items.append(v)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p] >= items[i] { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items[0] = items[items.count - 1]
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, items[l] > items[m] { m = l }
            if r < items.count, items[r] > items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
    }
}
