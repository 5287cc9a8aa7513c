#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// What the index needs from one DIE: its tag and children, where its attributes end, its sibling, and for
/// subroutines and units the attributes the inline index reads (values undecoded: forms and raw values).
struct DieInfo {
    var offset = 0
    /// A null entry (code 0: the end of a list of siblings).
    var isNull = false
    var tag: UInt32 = 0
    var hasChildren = false
    /// Where the attributes end: the first child, or (without children) the next sibling.
    var end = 0
    /// `DW_AT_sibling`'s offset in `.debug_info` (-1: none).
    var sibling = -1
    var nameForm: UInt16 = 0
    var name: UInt64 = 0
    var linkageForm: UInt16 = 0
    var linkage: UInt64 = 0
    /// `DW_AT_abstract_origin`, else `DW_AT_specification`: the DIE's offset in `.debug_info` (-1: none).
    var origin = -1
    var originIsAbstract = false
    var callFile = -1
    var callLine = 0
    var callColumn = 0
    var lowForm: UInt16 = 0
    var low: UInt64 = 0
    var highForm: UInt16 = 0
    var high: UInt64 = 0
    var rangesForm: UInt16 = 0
    var ranges: UInt64 = 0
    var entryForm: UInt16 = 0
    var entry: UInt64 = 0
    var strOffsetsBase: Int = -1
    var addrBase: Int = -1
    var rnglistsBase: Int = -1
    /// Whether it has `DW_AT_low_pc` or `DW_AT_ranges` (else no address is its).
    var hasCode: Bool { lowForm != 0 || rangesForm != 0 }
}

/// One unit read directly: its header, abbreviations and the bases its unit DIE gives (string offsets,
/// addresses, range lists, the base address of its ranges).
struct DieUnit {
    let header: UnitHeader
    let abbreviations: AbbreviationTable
    var strOffsetsBase = -1
    var addrBase = -1
    var rnglistsBase = -1
    var baseAddress: UInt64 = 0
    var tag: UInt32 = 0

    init(_ sections: DebugSections, unit: Int) throws(DieError) {
        header = sections.units[unit]
        abbreviations = try AbbreviationTable(sections, offset: header.abbrevOffset, unit: header)
        let cu = try DieUnit.scan(sections, self, at: header.dieOffset)
        tag = cu.tag
        strOffsetsBase = cu.strOffsetsBase
        addrBase = cu.addrBase
        rnglistsBase = cu.rnglistsBase
        if cu.lowForm != 0 {
            baseAddress = try address(sections, cu.lowForm, cu.low, at: cu.offset)
        } else if cu.entryForm != 0 {
            baseAddress = try address(sections, cu.entryForm, cu.entry, at: cu.offset)
        }
    }

    /// The DIE at `offset` of this unit, its attributes read (nil: a null entry, one byte).
    static func scan(_ s: DebugSections, _ u: DieUnit, at offset: Int) throws(DieError) -> DieInfo {
        var c = DieCursor(s.info, at: offset, end: u.header.end)
        guard offset >= u.header.dieOffset else { throw DieError(offset: offset, what: "a DIE inside its unit") }
        let code = try c.uleb()
        var d = DieInfo()
        d.offset = offset
        guard code != 0 else { d.end = c.at; d.isNull = true; return d }
        let k = u.abbreviations.index(of: code)
        guard k >= 0 else { throw DieError(offset: offset, what: "an abbreviation code of the unit's table (found \(code))") }
        let a = u.abbreviations.abbreviations[Int(k)]
        d.tag = a.tag
        d.hasChildren = a.hasChildren
        let h = u.header
        try u.abbreviations.specs.withUnsafeBufferPointer { specs throws(DieError) in
            for i in a.specStart..<a.specStart + a.specCount {
                let spec = specs[i]
                var form = spec.form
                let at = c.at
                var v: UInt64 = 0
                if form == UInt16(DW_FORM_indirect) {
                    let f = try c.uleb()
                    guard f <= 0xffff, f != UInt64(DW_FORM_indirect), f != UInt64(DW_FORM_implicit_const) else {
                        throw DieError(offset: at, what: "a form after DW_FORM_indirect (found 0x\(String(f, radix: 16)))")
                    }
                    form = UInt16(f)
                }
                switch UInt32(form) {
                case UInt32(DW_FORM_addr): v = try c.fixed(h.addressSize)
                case UInt32(DW_FORM_data1), UInt32(DW_FORM_ref1), UInt32(DW_FORM_flag), UInt32(DW_FORM_strx1), UInt32(DW_FORM_addrx1):
                    v = try c.fixed(1)
                case UInt32(DW_FORM_data2), UInt32(DW_FORM_ref2), UInt32(DW_FORM_strx2), UInt32(DW_FORM_addrx2): v = try c.fixed(2)
                case UInt32(DW_FORM_strx3), UInt32(DW_FORM_addrx3): v = try c.fixed(3)
                case UInt32(DW_FORM_data4), UInt32(DW_FORM_ref4), UInt32(DW_FORM_strx4), UInt32(DW_FORM_addrx4), UInt32(DW_FORM_ref_sup4):
                    v = try c.fixed(4)
                case UInt32(DW_FORM_data8), UInt32(DW_FORM_ref8), UInt32(DW_FORM_ref_sig8), UInt32(DW_FORM_ref_sup8): v = try c.fixed(8)
                case UInt32(DW_FORM_data16): try c.skip(16)
                case UInt32(DW_FORM_strp), UInt32(DW_FORM_line_strp), UInt32(DW_FORM_sec_offset), UInt32(DW_FORM_strp_sup),
                     UInt32(DW_FORM_GNU_ref_alt), UInt32(DW_FORM_GNU_strp_alt):
                    v = try c.fixed(h.offsetSize)
                case UInt32(DW_FORM_ref_addr): v = try c.fixed(h.version <= 2 ? h.addressSize : h.offsetSize)
                case UInt32(DW_FORM_udata), UInt32(DW_FORM_ref_udata), UInt32(DW_FORM_strx), UInt32(DW_FORM_addrx),
                     UInt32(DW_FORM_loclistx), UInt32(DW_FORM_rnglistx), UInt32(DW_FORM_GNU_addr_index), UInt32(DW_FORM_GNU_str_index):
                    v = try c.uleb()
                case UInt32(DW_FORM_sdata): v = UInt64(bitPattern: try c.sleb())
                case UInt32(DW_FORM_implicit_const): v = UInt64(bitPattern: spec.implicitConst)
                case UInt32(DW_FORM_flag_present): v = 1
                case UInt32(DW_FORM_string):
                    v = UInt64(c.at)
                    guard let n = memchr(s.info.baseAddress! + c.at, 0, c.end - c.at) else {
                        throw DieError(offset: at, what: "a NUL-terminated string within the unit")
                    }
                    c.at += (UnsafeRawPointer(n) - (s.info.baseAddress! + c.at)) + 1
                case UInt32(DW_FORM_block1): try c.skip(UInt64(try c.u8()))
                case UInt32(DW_FORM_block2): try c.skip(try c.fixed(2))
                case UInt32(DW_FORM_block4): try c.skip(try c.fixed(4))
                case UInt32(DW_FORM_block), UInt32(DW_FORM_exprloc): try c.skip(try c.uleb())
                default:
                    throw DieError(offset: at, what: "a form this reader knows (found 0x\(String(form, radix: 16)))")
                }
                switch UInt32(spec.name) {
                case UInt32(DW_AT_sibling):
                    d.sibling = try u.reference(form, v, at: at)
                case UInt32(DW_AT_name):
                    d.nameForm = form; d.name = v
                case UInt32(DW_AT_linkage_name), UInt32(DW_AT_MIPS_linkage_name):
                    if d.linkageForm == 0 { d.linkageForm = form; d.linkage = v }
                case UInt32(DW_AT_abstract_origin):
                    d.origin = try u.reference(form, v, at: at); d.originIsAbstract = true
                case UInt32(DW_AT_specification):
                    if !d.originIsAbstract { d.origin = try u.reference(form, v, at: at) }
                case UInt32(DW_AT_call_file):
                    d.callFile = Self.isConstant(form) ? Int(truncatingIfNeeded: v) : -1
                case UInt32(DW_AT_call_line):
                    d.callLine = Self.isConstant(form) ? Int(truncatingIfNeeded: v) : 0
                case UInt32(DW_AT_call_column):
                    d.callColumn = Self.isConstant(form) ? Int(truncatingIfNeeded: v) : 0
                case UInt32(DW_AT_low_pc):
                    d.lowForm = form; d.low = v
                case UInt32(DW_AT_high_pc):
                    d.highForm = form; d.high = v
                case UInt32(DW_AT_ranges):
                    d.rangesForm = form; d.ranges = v
                case UInt32(DW_AT_entry_pc):
                    d.entryForm = form; d.entry = v
                case UInt32(DW_AT_str_offsets_base):
                    d.strOffsetsBase = Int(truncatingIfNeeded: v)
                case UInt32(DW_AT_addr_base), UInt32(DW_AT_GNU_addr_base):
                    d.addrBase = Int(truncatingIfNeeded: v)
                case UInt32(DW_AT_rnglists_base):
                    d.rnglistsBase = Int(truncatingIfNeeded: v)
                default:
                    break
                }
            }
        }
        d.end = c.at
        return d
    }

    /// Whether `form` is one of the constant forms (`dwarf_formudata` reads them as numbers).
    @inline(__always)
    static func isConstant(_ form: UInt16) -> Bool {
        switch UInt32(form) {
        case UInt32(DW_FORM_data1), UInt32(DW_FORM_data2), UInt32(DW_FORM_data4), UInt32(DW_FORM_data8),
             UInt32(DW_FORM_udata), UInt32(DW_FORM_sdata), UInt32(DW_FORM_implicit_const):
            return true
        default:
            return false
        }
    }

    /// A reference attribute's target as a `.debug_info` offset.
    @inline(__always)
    func reference(_ form: UInt16, _ v: UInt64, at: Int) throws(DieError) -> Int {
        switch UInt32(form) {
        case UInt32(DW_FORM_ref1), UInt32(DW_FORM_ref2), UInt32(DW_FORM_ref4), UInt32(DW_FORM_ref8), UInt32(DW_FORM_ref_udata):
            guard v < UInt64(header.end - header.offset) else { throw DieError(offset: at, what: "a reference inside its unit") }
            return header.offset + Int(v)
        case UInt32(DW_FORM_ref_addr):
            guard v < UInt64(Int.max) else { throw DieError(offset: at, what: "a reference inside .debug_info") }
            return Int(v)
        default:
            throw DieError(offset: at, what: "a reference form this reader follows (found 0x\(String(form, radix: 16)))")
        }
    }

    /// An address attribute's value (`DW_FORM_addr`, or an index into `.debug_addr`).
    func address(_ s: DebugSections, _ form: UInt16, _ v: UInt64, at: Int) throws(DieError) -> UInt64 {
        switch UInt32(form) {
        case UInt32(DW_FORM_addr):
            return v
        case UInt32(DW_FORM_addrx), UInt32(DW_FORM_addrx1), UInt32(DW_FORM_addrx2), UInt32(DW_FORM_addrx3), UInt32(DW_FORM_addrx4),
             UInt32(DW_FORM_GNU_addr_index):
            let size = header.addressSize
            guard addrBase >= 0, v < UInt64(s.addr.count), addrBase <= s.addr.count - size - Int(v) * size else {
                throw DieError(offset: at, what: "an address index within .debug_addr")
            }
            var c = DieCursor(s.addr, at: addrBase + Int(v) * size, end: s.addr.count)
            return try c.fixed(size)
        default:
            throw DieError(offset: at, what: "an address form (found 0x\(String(form, radix: 16)))")
        }
    }

    /// A string attribute's bytes (NUL-terminated inside its section), nil for an absent one.
    func string(_ s: DebugSections, _ form: UInt16, _ v: UInt64, at: Int) throws(DieError) -> UnsafePointer<CChar>? {
        let section: UnsafeRawBufferPointer
        var offset = v
        switch UInt32(form) {
        case 0: return nil
        case UInt32(DW_FORM_string): section = s.info
        case UInt32(DW_FORM_strp): section = s.str
        case UInt32(DW_FORM_line_strp): section = s.lineStr
        case UInt32(DW_FORM_strx), UInt32(DW_FORM_strx1), UInt32(DW_FORM_strx2), UInt32(DW_FORM_strx3), UInt32(DW_FORM_strx4),
             UInt32(DW_FORM_GNU_str_index):
            let size = header.offsetSize
            guard strOffsetsBase >= 0, v < UInt64(s.strOffsets.count), strOffsetsBase <= s.strOffsets.count - size - Int(v) * size else {
                throw DieError(offset: at, what: "a string index within .debug_str_offsets")
            }
            var c = DieCursor(s.strOffsets, at: strOffsetsBase + Int(v) * size, end: s.strOffsets.count)
            offset = try c.fixed(size)
            section = s.str
        default:
            throw DieError(offset: at, what: "a string form this reader knows (found 0x\(String(form, radix: 16)))")
        }
        guard offset < UInt64(section.count), let base = section.baseAddress,
              memchr(base + Int(offset), 0, section.count - Int(offset)) != nil else {
            throw DieError(offset: at, what: "a NUL-terminated string inside its section")
        }
        return (base + Int(offset)).assumingMemoryBound(to: CChar.self)
    }

    /// The address ranges of a DIE as `dwarf_ranges` gives them: `low_pc`..`high_pc` when it has both, else
    /// its `DW_AT_ranges` list (`.debug_rnglists` for DWARF 5, `.debug_ranges` before); empty ones left out.
    func ranges(_ s: DebugSections, _ d: DieInfo) throws(DieError) -> [(UInt64, UInt64)] {
        if d.lowForm != 0, d.highForm != 0 {
            let lo = try address(s, d.lowForm, d.low, at: d.offset)
            let hi: UInt64
            if Self.isConstant(d.highForm) { hi = lo &+ d.high } else { hi = try address(s, d.highForm, d.high, at: d.offset) }
            return hi > lo ? [(lo, hi)] : []
        }
        guard d.rangesForm != 0 else { return [] }
        var out: [(UInt64, UInt64)] = []
        let size = header.addressSize
        if header.version >= 5 {
            var offset: Int
            if d.rangesForm == UInt16(DW_FORM_rnglistx) {
                let osize = header.offsetSize
                guard rnglistsBase >= 0, d.ranges < UInt64(s.rnglists.count), rnglistsBase <= s.rnglists.count - osize - Int(d.ranges) * osize else {
                    throw DieError(offset: d.offset, what: "a range list index within .debug_rnglists")
                }
                var c = DieCursor(s.rnglists, at: rnglistsBase + Int(d.ranges) * osize, end: s.rnglists.count)
                offset = rnglistsBase + Int(try c.fixed(osize))
            } else {
                guard d.rangesForm == UInt16(DW_FORM_sec_offset), d.ranges < UInt64(s.rnglists.count) else {
                    throw DieError(offset: d.offset, what: "a range list offset within .debug_rnglists")
                }
                offset = Int(d.ranges)
            }
            var c = DieCursor(s.rnglists, at: offset, end: s.rnglists.count)
            var base = baseAddress
            do throws(DieError) {
                while true {
                    let kind = try c.u8()
                    switch UInt32(kind) {
                    case UInt32(DW_RLE_end_of_list): return out
                    case UInt32(DW_RLE_base_addressx): base = try address(s, UInt16(DW_FORM_addrx), try c.uleb(), at: d.offset)
                    case UInt32(DW_RLE_startx_endx):
                        let a = try address(s, UInt16(DW_FORM_addrx), try c.uleb(), at: d.offset)
                        let b = try address(s, UInt16(DW_FORM_addrx), try c.uleb(), at: d.offset)
                        if b > a { out.append((a, b)) }
                    case UInt32(DW_RLE_startx_length):
                        let a = try address(s, UInt16(DW_FORM_addrx), try c.uleb(), at: d.offset)
                        let n = try c.uleb()
                        if n > 0 { out.append((a, a &+ n)) }
                    case UInt32(DW_RLE_offset_pair):
                        let a = try c.uleb(), b = try c.uleb()
                        if b > a { out.append((base &+ a, base &+ b)) }
                    case UInt32(DW_RLE_base_address): base = try c.fixed(size)
                    case UInt32(DW_RLE_start_end):
                        let a = try c.fixed(size), b = try c.fixed(size)
                        if b > a { out.append((a, b)) }
                    case UInt32(DW_RLE_start_length):
                        let a = try c.fixed(size), n = try c.uleb()
                        if n > 0 { out.append((a, a &+ n)) }
                    default:
                        throw DieError(offset: c.at - 1, what: "a range list entry kind (found \(kind))", section: ".debug_rnglists")
                    }
                }
            } catch {
                throw DieError(offset: c.at, what: error.what, section: ".debug_rnglists")
            }
        }
        guard d.rangesForm == UInt16(DW_FORM_sec_offset) || AbbreviationTable.fixedSize(d.rangesForm, header) > 0,
              d.ranges < UInt64(s.ranges.count) else {
            throw DieError(offset: d.offset, what: "a range list offset within .debug_ranges")
        }
        var c = DieCursor(s.ranges, at: Int(d.ranges), end: s.ranges.count)
        var base = baseAddress
        let top: UInt64 = size == 8 ? .max : 0xffff_ffff
        do throws(DieError) {
            while true {
                let a = try c.fixed(size), b = try c.fixed(size)
                if a == 0 && b == 0 { return out }
                if a == top { base = b; continue }
                if b > a { out.append((base &+ a, base &+ b)) }
            }
        } catch {
            throw DieError(offset: c.at, what: "a range list ending within .debug_ranges", section: ".debug_ranges")
        }
    }

    /// Where the DIE after `d` (its next sibling, or the null entry ending the list) starts: its
    /// `DW_AT_sibling`, else past its children, each stepped over in turn.
    func next(_ s: DebugSections, after d: DieInfo) throws(DieError) -> Int {
        guard d.hasChildren else { return d.end }
        if d.sibling >= 0 {
            guard d.sibling > d.offset, d.sibling < header.end else { throw DieError(offset: d.offset, what: "a sibling after the DIE inside its unit") }
            return d.sibling
        }
        return try skipChildren(s, from: d.end)
    }

    /// Where the DIE at `at` ends (its next sibling, or the null entry ending the list), when `skip` says
    /// its abbreviation's DIEs need not be scanned: its attributes are stepped over by their forms alone
    /// (at once when all have a fixed size), its children through its `DW_AT_sibling` or one by one. Nil
    /// when the DIE must be scanned (and for a null entry).
    @inline(__always)
    func stepOver(_ s: DebugSections, at: Int, top: Bool) throws(DieError) -> Int? {
        var c = DieCursor(s.info, at: at, end: header.end)
        let code = try c.uleb()
        guard code != 0 else { return nil }
        let k = abbreviations.index(of: code)
        guard k >= 0 else { throw DieError(offset: at, what: "an abbreviation code of the unit's table (found \(code))") }
        let a = abbreviations.abbreviations[Int(k)]
        guard top ? a.skipAtTop : a.skipInFunction else { return nil }
        if a.fixedSize >= 0 {
            if a.hasChildren, a.siblingAt >= 0 {
                var v = DieCursor(s.info, at: c.at + a.siblingAt, end: header.end)
                let target = try reference(a.siblingForm, try v.fixed(a.siblingSize), at: at)
                guard target > at, target < header.end else { throw DieError(offset: at, what: "a sibling after the DIE inside its unit") }
                return target
            }
            try c.skip(UInt64(a.fixedSize))
        } else {
            let sibling = try skipAttributes(&c, a)
            if a.hasChildren, sibling >= 0 {
                guard sibling > at, sibling < header.end else { throw DieError(offset: at, what: "a sibling after the DIE inside its unit") }
                return sibling
            }
        }
        return a.hasChildren ? try skipChildren(s, from: c.at) : c.at
    }

    /// Steps over the attribute values of a DIE of abbreviation `a` (the cursor just past its code); its
    /// `DW_AT_sibling` (-1: none).
    @inline(__always)
    func skipAttributes(_ c: inout DieCursor, _ a: Abbreviation) throws(DieError) -> Int {
        var sibling = -1
        let h = header
        try abbreviations.specs.withUnsafeBufferPointer { specs throws(DieError) in
            for i in a.specStart..<a.specStart + a.specCount {
                let spec = specs[i]
                var form = UInt32(spec.form)
                let at = c.at
                if form == UInt32(DW_FORM_indirect) {
                    let f = try c.uleb()
                    guard f <= 0xffff, f != UInt64(DW_FORM_indirect), f != UInt64(DW_FORM_implicit_const) else {
                        throw DieError(offset: at, what: "a form after DW_FORM_indirect (found 0x\(String(f, radix: 16)))")
                    }
                    form = UInt32(f)
                }
                if spec.name == UInt16(DW_AT_sibling) {
                    let size = AbbreviationTable.fixedSize(UInt16(form), h)
                    let v = size > 0 ? try c.fixed(size) : try c.uleb()
                    sibling = try reference(UInt16(form), v, at: at)
                    continue
                }
                switch form {
                case UInt32(DW_FORM_exprloc), UInt32(DW_FORM_block): try c.skip(try c.uleb())
                case UInt32(DW_FORM_block1): try c.skip(UInt64(try c.u8()))
                case UInt32(DW_FORM_block2): try c.skip(try c.fixed(2))
                case UInt32(DW_FORM_block4): try c.skip(try c.fixed(4))
                case UInt32(DW_FORM_udata), UInt32(DW_FORM_ref_udata), UInt32(DW_FORM_strx), UInt32(DW_FORM_addrx),
                     UInt32(DW_FORM_loclistx), UInt32(DW_FORM_rnglistx), UInt32(DW_FORM_GNU_addr_index), UInt32(DW_FORM_GNU_str_index),
                     UInt32(DW_FORM_sdata):
                    guard c.at < c.end else { throw DieError(offset: at, what: "a LEB128 number within the unit") }
                    while c.bytes[c.at] & 0x80 != 0 {
                        c.at += 1
                        guard c.at < c.end else { throw DieError(offset: at, what: "a LEB128 number within the unit") }
                    }
                    c.at += 1
                case UInt32(DW_FORM_string):
                    guard let base = c.bytes.baseAddress, let n = memchr(base + c.at, 0, c.end - c.at) else {
                        throw DieError(offset: at, what: "a NUL-terminated string within the unit")
                    }
                    c.at += (UnsafeRawPointer(n) - (base + c.at)) + 1
                default:
                    let size = AbbreviationTable.fixedSize(UInt16(form), h)
                    guard size >= 0 else { throw DieError(offset: at, what: "a form this reader knows (found 0x\(String(form, radix: 16)))") }
                    try c.skip(UInt64(size))
                }
            }
        }
        return sibling
    }

    /// Steps over a list of sibling DIEs (and their children) starting at `from`; where the list's null
    /// entry ends.
    func skipChildren(_ s: DebugSections, from: Int) throws(DieError) -> Int {
        var at = from
        var depth = 1
        let info = s.info
        let abbreviations = abbreviations
        while depth > 0 {
            guard at < header.end else { throw DieError(offset: at, what: "the end of a list of children inside the unit") }
            var c = DieCursor(info, at: at, end: header.end)
            let code = try c.uleb()
            if code == 0 { depth -= 1; at = c.at; continue }
            let k = abbreviations.index(of: code)
            guard k >= 0 else { throw DieError(offset: at, what: "an abbreviation code of the unit's table (found \(code))") }
            let a = abbreviations.abbreviations[Int(k)]
            if a.fixedSize >= 0 {
                if a.hasChildren, a.siblingAt >= 0 {
                    var v = DieCursor(info, at: c.at + a.siblingAt, end: header.end)
                    let size = a.siblingSize
                    let target = try reference(a.siblingForm, try v.fixed(size), at: at)
                    guard target > at, target < header.end else { throw DieError(offset: at, what: "a sibling after the DIE inside its unit") }
                    at = target
                    continue
                }
                try c.skip(UInt64(a.fixedSize))
                at = c.at
                if a.hasChildren {
                    depth += 1
                    guard depth <= 1024 else { throw DieError(offset: at, what: "DIEs nested at most 1024 deep") }
                }
                continue
            }
            let sibling = try skipAttributes(&c, a)
            if a.hasChildren, sibling >= 0 {
                guard sibling > at, sibling < header.end else { throw DieError(offset: at, what: "a sibling after the DIE inside its unit") }
                at = sibling
            } else {
                at = c.at
                if a.hasChildren {
                    depth += 1
                    guard depth <= 1024 else { throw DieError(offset: at, what: "DIEs nested at most 1024 deep") }
                }
            }
        }
        return at
    }
}
