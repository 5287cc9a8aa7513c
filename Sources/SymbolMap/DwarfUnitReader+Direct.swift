internal import CElfUtils

/// The inline half of ``DwarfUnitReader`` read from `.debug_info` and `.debug_abbrev` directly
/// (DieReader.swift) rather than through libdw's DIE calls, whose per-DIE abbreviation lookup and sibling
/// steps were most of a cold kernel `symbolize --inlines` (docs/ARCHITECTURE.md, "Line and inline index"):
/// the same top-level functions, the same function trees painted the same way, the same names. Anything
/// this reader does not know or finds damaged throws a ``DieError``, and the unit is read through libdw
/// instead (which reads what it can and counts the damage).
extension DwarfUnitReader {
    /// The ranges of the unit's functions with code (its first level and the namespaces there), as
    /// `topFunctions()` finds them through libdw, sorted by start.
    static func topFunctionsDirect(_ s: DebugSections, _ u: DieUnit) throws(DieError) -> [TopFunction] {
        var out: [TopFunction] = []
        let cu = try DieUnit.scan(s, u, at: u.header.dieOffset)
        guard cu.hasChildren else { return out }
        var stack = [cu.end]
        let subprogram = UInt32(DW_TAG_subprogram), namespace = UInt32(DW_TAG_namespace), module = UInt32(DW_TAG_module)
        // Types, variables and declarations are stepped over by their abbreviation alone.
        while var at = stack.popLast() {
            while at < u.header.end {
                if let next = try u.stepOver(s, at: at, top: true) { at = next; continue }
                let d = try DieUnit.scan(s, u, at: at)
                if d.isNull { break }
                if d.tag == subprogram {
                    if d.hasCode {
                        for (lo, hi) in try u.ranges(s, d) { out.append(TopFunction(lo: lo, hi: hi, offset: UInt64(d.offset))) }
                    }
                } else if (d.tag == namespace || d.tag == module) && d.hasChildren {
                    guard stack.count < 4096 else { throw DieError(offset: d.offset, what: "namespaces nested at most 4096 deep") }
                    stack.append(d.end)
                }
                at = try u.next(s, after: d)
            }
        }
        out.sort { $0.lo < $1.lo }
        return out
    }

    /// Reads the subprogram at `offset` and everything nested in it from the unit's bytes, and paints its
    /// intervals (as `walk(function:)` does through libdw).
    mutating func walkDirect(function offset: UInt64, _ s: DebugSections, _ u: DieUnit) throws(DieError) {
        guard offset < UInt64(u.header.end), Int(offset) >= u.header.dieOffset else {
            throw DieError(offset: Int(clamping: offset), what: "a function DIE inside its unit")
        }
        let d = try DieUnit.scan(s, u, at: Int(offset))
        var walk = Walk()
        _ = try visitDirect(d, s, u, parent: -1, depth: 0, into: &walk)
        paint(walk.paints, leaves: walk.leaves)
    }

    /// What a walk paints: ranges numbered in pre-order (`leaves`: each number's scope, -2 for a skipped
    /// subtree).
    struct Walk {
        var paints: [Paint] = []
        var leaves: [Int32] = []

        mutating func add(_ ranges: [(UInt64, UInt64)], leaf: Int32) {
            let order = Int32(leaves.count)
            leaves.append(leaf)
            for (lo, hi) in ranges {
                paints.append(Paint(at: lo, scope: order, starts: true))
                paints.append(Paint(at: hi, scope: order, starts: false))
            }
        }
    }

    /// Whether one of the addresses asked lies in `ranges`.
    private func holdsAsked(_ ranges: [(UInt64, UInt64)]) -> Bool {
        for (lo, hi) in ranges {
            var a = 0, b = asked.count
            while a < b {
                let mid = (a + b) >> 1
                if asked[mid] < lo { a = mid + 1 } else { b = mid }
            }
            if a < asked.count, asked[a] < hi { return true }
        }
        return false
    }

    /// One DIE of a function's tree, then its children in order (pre-order, as `visit`). Where the DIE's
    /// subtree ends when its children were read; nil when they were not (the caller steps over them).
    private mutating func visitDirect(_ d: DieInfo, _ s: DebugSections, _ u: DieUnit, parent: Int32, depth: Int,
                                      into walk: inout Walk) throws(DieError) -> Int? {
        let tag = Int32(bitPattern: d.tag)
        var inside = parent
        var descend = tag == DW_TAG_lexical_block || tag == DW_TAG_try_block || tag == DW_TAG_catch_block
        if tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine {
            let inlined = tag == DW_TAG_inlined_subroutine
            let scope = Int32(out.scopes.count)
            out.scopes.append(IndexScope(
                name: try nameDirect(d, s, u),
                callFile: inlined ? file(index: d.callFile) : -1,
                callLine: inlined ? Int32(truncatingIfNeeded: d.callLine) : 0,
                callColumn: inlined ? Int32(truncatingIfNeeded: d.callColumn) : 0,
                parent: inlined ? parent : -1))
            walk.add(d.hasCode ? try u.ranges(s, d) : [], leaf: scope)
            inside = scope
            descend = true
        }
        guard descend else { return nil }
        guard depth < Self.maxDepth else { throw DieError(offset: d.offset, what: "a function tree nested at most \(Self.maxDepth) deep") }
        guard d.hasChildren else { return d.end }
        var at = d.end
        let inlinedSubroutine = UInt32(DW_TAG_inlined_subroutine)
        // Variables, parameters, labels, call sites: stepped over by their abbreviation alone.
        while true {
            guard at < u.header.end else { throw DieError(offset: at, what: "the end of a function's children inside its unit") }
            if let next = try u.stepOver(s, at: at, top: false) { at = next; continue }
            let child = try DieUnit.scan(s, u, at: at)
            if child.isNull { return child.end }
            // An inlined subroutine where no address asked lies: only its ranges, which cut its parent's
            // intervals and are left unanswered (read again if asked later). Its descendants lie inside them.
            // (Lexical blocks are walked: where no scope inside one covers an address, its parent does, and
            // the parent's intervals stay whole.)
            if child.hasCode, child.tag == inlinedSubroutine {
                let ranges = try u.ranges(s, child)
                if !ranges.isEmpty && !holdsAsked(ranges) {
                    walk.add(ranges, leaf: -2)
                    at = try u.next(s, after: child)
                    continue
                }
            }
            if let end = try visitDirect(child, s, u, parent: inside, depth: depth + 1, into: &walk) {
                at = end
            } else {
                at = try u.next(s, after: child)
            }
        }
    }

    /// The name llvm-symbolizer gives a subroutine (as `name(_:depth:)`), from the DIE's bytes.
    private mutating func nameDirect(_ d: DieInfo, _ s: DebugSections, _ u: DieUnit) throws(DieError) -> Int32 {
        let (linkage, name) = try namesDirect(d, s, u, depth: 0)
        if linkage >= 0 { return linkage }
        if name >= 0 { return name }
        return unknownNameID()
    }

    /// Linkage name and name (ids, -1 when absent), each the DIE's own or else its origin's, 16 origins deep
    /// at most (as `dwarf_attr_integrate` finds them); origins' answers kept by their offset.
    private mutating func namesDirect(_ d: DieInfo, _ s: DebugSections, _ u: DieUnit, depth: Int) throws(DieError) -> (linkage: Int32, name: Int32) {
        var linkage: Int32 = -1, name: Int32 = -1
        if let p = try u.string(s, d.linkageForm, d.linkage, at: d.offset) { linkage = nameID(p) }
        if let p = try u.string(s, d.nameForm, d.name, at: d.offset) { name = nameID(p) }
        if (linkage < 0 || name < 0) && d.origin >= 0 && depth < 16 {
            let key = UInt64(d.origin)
            let inherited: (linkage: Int32, name: Int32)
            if let known = originNames[key] {
                inherited = known
            } else {
                let ou = try unit(holding: d.origin, s, u)
                let o = try DieUnit.scan(s, ou, at: d.origin)
                guard !o.isNull else { throw DieError(offset: d.offset, what: "an origin that is a DIE (a null entry at 0x\(String(d.origin, radix: 16)))") }
                inherited = try namesDirect(o, s, ou, depth: depth + 1)
                originNames[key] = inherited
            }
            if linkage < 0 { linkage = inherited.linkage }
            if name < 0 { name = inherited.name }
        }
        return (linkage, name)
    }

    /// The unit holding `.debug_info` offset `offset`: `u`, or another unit (read once; `DW_FORM_ref_addr`
    /// origins may be in other units).
    private mutating func unit(holding offset: Int, _ s: DebugSections, _ u: DieUnit) throws(DieError) -> DieUnit {
        if offset >= u.header.dieOffset && offset < u.header.end { return u }
        guard let k = s.unit(holding: offset) else { throw DieError(offset: offset, what: "a DIE inside some unit") }
        if let known = otherUnits[k] { return known }
        let other = try DieUnit(s, unit: k)
        otherUnits[k] = other
        return other
    }
}
