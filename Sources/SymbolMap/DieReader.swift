#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// Why a unit's DIEs could not be read here (``DwarfUnitReader`` then reads the unit through libdw): the
/// `.debug_info` (or named section's) offset and what was expected there.
struct DieError: Error, CustomStringConvertible {
    var offset: Int
    var what: String
    var section = ".debug_info"
    var description: String { "\(section) offset 0x\(String(offset, radix: 16)): \(what)" }
}

/// A unit header of `.debug_info` (DWARF 2 to 5).
struct UnitHeader {
    /// Offsets in `.debug_info`: the header, the unit's first DIE, the end of the unit.
    var offset: Int
    var dieOffset: Int
    var end: Int
    var version: Int
    var addressSize: Int
    var offsetSize: Int
    var abbrevOffset: Int
}

/// The debugging sections the DIE reader uses, as libelf mapped them (and libdw inflated them: read after
/// `dwarf_begin_elf`), and the units of `.debug_info`. Read-only; shared by threads.
struct DebugSections: @unchecked Sendable {
    var info = UnsafeRawBufferPointer(start: nil, count: 0)
    var abbrev = UnsafeRawBufferPointer(start: nil, count: 0)
    var str = UnsafeRawBufferPointer(start: nil, count: 0)
    var lineStr = UnsafeRawBufferPointer(start: nil, count: 0)
    var strOffsets = UnsafeRawBufferPointer(start: nil, count: 0)
    var addr = UnsafeRawBufferPointer(start: nil, count: 0)
    var rnglists = UnsafeRawBufferPointer(start: nil, count: 0)
    var ranges = UnsafeRawBufferPointer(start: nil, count: 0)
    var bigEndian = false
    /// The units in file order (up to the first header that cannot be read).
    var units: [UnitHeader] = []
    /// Unit index by the offset of its first DIE (libdw's `dwarf_dieoffset` of the unit DIE).
    var unitByDIE: [Int: Int] = [:]

    /// The sections of `elf` (after `dwarf_begin_elf`); nil when it has no `.debug_info` and `.debug_abbrev`
    /// that can be read so, or is big-endian (libdw reads those).
    init?(elf: OpaquePointer) {
        var shstrndx = 0
        guard elf_getshdrstrndx(elf, &shstrndx) == 0 else { return nil }
        if let ident = elf_getident(elf, nil), ident[Int(EI_DATA)] == CChar(ELFDATA2MSB) { return nil }
        var scn: OpaquePointer? = nil
        var found = false
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var shdr = GElf_Shdr()
            guard gelf_getshdr(s, &shdr) != nil, shdr.sh_type != UInt32(SHT_NOBITS),
                  shdr.sh_flags & UInt64(SHF_COMPRESSED) == 0, let namePointer = elf_strptr(elf, shstrndx, Int(shdr.sh_name)) else { continue }
            let name = String(cString: namePointer)
            guard name.hasPrefix(".debug_") else { continue }
            guard let data = elf_getdata(s, nil), let buf = data.pointee.d_buf else { continue }
            let bytes = UnsafeRawBufferPointer(start: buf, count: data.pointee.d_size)
            switch name {
            case ".debug_info": info = bytes; found = true
            case ".debug_abbrev": abbrev = bytes
            case ".debug_str": str = bytes
            case ".debug_line_str": lineStr = bytes
            case ".debug_str_offsets": strOffsets = bytes
            case ".debug_addr": addr = bytes
            case ".debug_rnglists": rnglists = bytes
            case ".debug_ranges": ranges = bytes
            default: break
            }
        }
        guard found, abbrev.count > 0 else { return nil }
        readUnits()
    }

    /// The unit headers, up to the end of `.debug_info` or the first one that cannot be read.
    private mutating func readUnits() {
        var at = 0
        while at + 11 <= info.count {
            var c = DieCursor(info, at: at, end: info.count)
            guard let h = try? Self.header(&c, at: at) else { break }
            units.append(h)
            unitByDIE[h.dieOffset] = units.count - 1
            at = h.end
        }
    }

    private static func header(_ c: inout DieCursor, at: Int) throws(DieError) -> UnitHeader {
        var length = try c.fixed(4)
        var osize = 4
        if length == 0xffff_ffff { length = try c.fixed(8); osize = 8 } else if length >= 0xffff_fff0 {
            throw DieError(offset: at, what: "a unit length (0x\(String(length, radix: 16)) is reserved)")
        }
        guard length <= UInt64(c.end - c.at) else { throw DieError(offset: at, what: "a unit of \(length) bytes (the section ends first)") }
        let end = c.at + Int(length)
        let version = Int(try c.fixed(2))
        guard (2...5).contains(version) else { throw DieError(offset: at, what: "a unit version from 2 to 5 (found \(version))") }
        var asize = 0, abbrevOffset = 0
        if version >= 5 {
            let type = try c.u8()
            asize = Int(try c.u8())
            abbrevOffset = Int(try c.fixed(osize))
            // Only full and partial units: type and split units hold no code this reader looks for.
            guard type == UInt8(DW_UT_compile) || type == UInt8(DW_UT_partial) else {
                return UnitHeader(offset: at, dieOffset: end, end: end, version: version, addressSize: 8, offsetSize: osize, abbrevOffset: 0)
            }
        } else {
            abbrevOffset = Int(try c.fixed(osize))
            asize = Int(try c.u8())
        }
        guard asize == 4 || asize == 8 else { throw DieError(offset: at, what: "an address size of 4 or 8 (found \(asize))") }
        return UnitHeader(offset: at, dieOffset: c.at, end: end, version: version, addressSize: asize, offsetSize: osize, abbrevOffset: abbrevOffset)
    }

    /// The unit holding `.debug_info` offset `offset` (nil if none).
    func unit(holding offset: Int) -> Int? {
        var lo = 0, hi = units.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if units[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, offset < units[lo - 1].end, offset >= units[lo - 1].dieOffset else { return nil }
        return lo - 1
    }
}

/// A bounds-checked little-endian reader of one section's bytes.
struct DieCursor {
    let bytes: UnsafeRawBufferPointer
    var at: Int
    let end: Int

    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer, at: Int, end: Int) {
        self.bytes = bytes
        self.at = at
        self.end = end
    }

    @inline(__always)
    mutating func need(_ n: Int) throws(DieError) {
        guard at <= end - n else { throw DieError(offset: at, what: "\(n) more bytes within the unit") }
    }

    @inline(__always)
    mutating func u8() throws(DieError) -> UInt8 {
        try need(1)
        let v = bytes[at]
        at += 1
        return v
    }

    @inline(__always)
    mutating func fixed(_ size: Int) throws(DieError) -> UInt64 {
        try need(size)
        let v: UInt64
        switch size {
        case 1: v = UInt64(bytes[at])
        case 2: v = UInt64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        case 4: v = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case 8: v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        default:
            var x: UInt64 = 0
            for k in (0..<size).reversed() { x = x << 8 | UInt64(bytes[at + k]) }
            v = x
        }
        at += size
        return v
    }

    @inline(__always)
    mutating func uleb() throws(DieError) -> UInt64 {
        guard at < end else { throw DieError(offset: at, what: "an unsigned LEB128 number within the unit") }
        let first = bytes[at]
        if first & 0x80 == 0 { at += 1; return UInt64(first) }
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard at < end else { throw DieError(offset: at, what: "an unsigned LEB128 number within the unit") }
            let b = bytes[at]
            at += 1
            if shift < 64 { v |= UInt64(b & 0x7f) << shift }
            shift += 7
            if b & 0x80 == 0 { return v }
        }
    }

    @inline(__always)
    mutating func sleb() throws(DieError) -> Int64 {
        var v: Int64 = 0, shift: Int64 = 0
        var b: UInt8 = 0
        repeat {
            guard at < end else { throw DieError(offset: at, what: "a signed LEB128 number within the unit") }
            b = bytes[at]
            at += 1
            if shift < 64 { v |= Int64(b & 0x7f) << shift }
            shift += 7
        } while b & 0x80 != 0
        if shift < 64, b & 0x40 != 0 { v |= -(Int64(1) << shift) }
        return v
    }

    @inline(__always)
    mutating func skip(_ n: UInt64) throws(DieError) {
        guard n <= UInt64(end - at) else { throw DieError(offset: at, what: "a block of \(n) bytes within the unit") }
        at += Int(n)
    }
}

/// One abbreviation: its tag, whether its DIEs have children, and its attribute specifications
/// (`specStart..<specStart + specCount` of the table's `specs`).
struct Abbreviation {
    var tag: UInt32 = 0
    var hasChildren = false
    var specStart = 0
    var specCount = 0
    /// The size of all its attribute values when every form has a fixed size (-1 otherwise), and the offset
    /// of the `DW_AT_sibling` value among them (-1: none, or not at a fixed place): such DIEs are stepped over
    /// without decoding their attributes.
    var fixedSize = -1
    var siblingAt = -1
    var siblingForm: UInt16 = 0
    /// Whether it has `DW_AT_low_pc` or `DW_AT_ranges` (a declaration has neither).
    var hasCode = false
}

/// One attribute specification of an abbreviation.
struct AttributeSpec {
    var name: UInt16
    var form: UInt16
    var implicitConst: Int64
}

/// A unit's abbreviation table (`.debug_abbrev` at the unit's offset).
struct AbbreviationTable {
    var byCode: [Int32] = []
    var sparse: [UInt64: Int32] = [:]
    var abbreviations: [Abbreviation] = []
    var specs: [AttributeSpec] = []

    init(_ sections: DebugSections, offset: Int, unit: UnitHeader) throws(DieError) {
        var c = DieCursor(sections.abbrev, at: offset, end: sections.abbrev.count)
        abbreviations.reserveCapacity(256)
        specs.reserveCapacity(1024)
        byCode.reserveCapacity(257)
        guard offset >= 0, offset < sections.abbrev.count else {
            throw DieError(offset: offset, what: "an abbreviation table (past the section's end)", section: ".debug_abbrev")
        }
        while true {
            let at = c.at
            let code = try Self.abbrevUleb(&c, at)
            if code == 0 { break }
            var a = Abbreviation()
            let tag = try Self.abbrevUleb(&c, at)
            guard tag <= UInt64(UInt32.max) else { throw DieError(offset: at, what: "a tag", section: ".debug_abbrev") }
            a.tag = UInt32(tag)
            a.hasChildren = (try Self.abbrevByte(&c, at)) != 0
            a.specStart = specs.count
            var size = 0
            while true {
                let name = try Self.abbrevUleb(&c, at)
                let form = try Self.abbrevUleb(&c, at)
                if name == 0 && form == 0 { break }
                var implicitConst: Int64 = 0
                if form == UInt64(DW_FORM_implicit_const) {
                    do throws(DieError) { implicitConst = try c.sleb() } catch { throw DieError(offset: at, what: "an implicit constant", section: ".debug_abbrev") }
                }
                guard name <= 0xffff, form <= 0xffff else {
                    throw DieError(offset: at, what: "an attribute and form below 0x10000 (found 0x\(String(name, radix: 16)), 0x\(String(form, radix: 16)))", section: ".debug_abbrev")
                }
                if name == UInt64(DW_AT_low_pc) || name == UInt64(DW_AT_ranges) { a.hasCode = true }
                if name == UInt64(DW_AT_sibling), size >= 0 { a.siblingAt = size; a.siblingForm = UInt16(form) }
                if size >= 0 {
                    let s = Self.fixedSize(UInt16(form), unit)
                    size = s < 0 ? -1 : size + s
                }
                specs.append(AttributeSpec(name: UInt16(name), form: UInt16(form), implicitConst: implicitConst))
            }
            a.specCount = specs.count - a.specStart
            a.fixedSize = size
            if size < 0 { a.siblingAt = -1 }
            let index = Int32(abbreviations.count)
            abbreviations.append(a)
            if code < 4096 {
                if Int(code) >= byCode.count { byCode.append(contentsOf: repeatElement(-1, count: Int(code) + 1 - byCode.count)) }
                byCode[Int(code)] = index
            } else {
                sparse[code] = index
            }
        }
    }

    private static func abbrevUleb(_ c: inout DieCursor, _ at: Int) throws(DieError) -> UInt64 {
        do throws(DieError) { return try c.uleb() } catch { throw DieError(offset: at, what: "an abbreviation within the section", section: ".debug_abbrev") }
    }

    private static func abbrevByte(_ c: inout DieCursor, _ at: Int) throws(DieError) -> UInt8 {
        do throws(DieError) { return try c.u8() } catch { throw DieError(offset: at, what: "an abbreviation within the section", section: ".debug_abbrev") }
    }

    /// The size of a value of `form` when it does not depend on the value (-1 when it does).
    static func fixedSize(_ form: UInt16, _ u: UnitHeader) -> Int {
        switch UInt32(form) {
        case UInt32(DW_FORM_addr): return u.addressSize
        case UInt32(DW_FORM_data1), UInt32(DW_FORM_ref1), UInt32(DW_FORM_flag), UInt32(DW_FORM_strx1), UInt32(DW_FORM_addrx1): return 1
        case UInt32(DW_FORM_data2), UInt32(DW_FORM_ref2), UInt32(DW_FORM_strx2), UInt32(DW_FORM_addrx2): return 2
        case UInt32(DW_FORM_strx3), UInt32(DW_FORM_addrx3): return 3
        case UInt32(DW_FORM_data4), UInt32(DW_FORM_ref4), UInt32(DW_FORM_strx4), UInt32(DW_FORM_addrx4), UInt32(DW_FORM_ref_sup4): return 4
        case UInt32(DW_FORM_data8), UInt32(DW_FORM_ref8), UInt32(DW_FORM_ref_sig8), UInt32(DW_FORM_ref_sup8): return 8
        case UInt32(DW_FORM_data16): return 16
        case UInt32(DW_FORM_strp), UInt32(DW_FORM_line_strp), UInt32(DW_FORM_sec_offset), UInt32(DW_FORM_strp_sup),
             UInt32(DW_FORM_GNU_ref_alt), UInt32(DW_FORM_GNU_strp_alt): return u.offsetSize
        case UInt32(DW_FORM_ref_addr): return u.version <= 2 ? u.addressSize : u.offsetSize
        case UInt32(DW_FORM_flag_present), UInt32(DW_FORM_implicit_const): return 0
        default: return -1
        }
    }

    @inline(__always)
    func index(of code: UInt64) -> Int32 {
        if code < UInt64(byCode.count) { return byCode[Int(code)] }
        return sparse[code] ?? -1
    }
}

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
    func stepOver(_ s: DebugSections, at: Int, if skip: (Abbreviation) -> Bool) throws(DieError) -> Int? {
        var c = DieCursor(s.info, at: at, end: header.end)
        let code = try c.uleb()
        guard code != 0 else { return nil }
        let k = abbreviations.index(of: code)
        guard k >= 0 else { throw DieError(offset: at, what: "an abbreviation code of the unit's table (found \(code))") }
        let a = abbreviations.abbreviations[Int(k)]
        guard skip(a) else { return nil }
        if a.fixedSize >= 0 {
            if a.hasChildren, a.siblingAt >= 0 {
                var v = DieCursor(s.info, at: c.at + a.siblingAt, end: header.end)
                let target = try reference(a.siblingForm, try v.fixed(AbbreviationTable.fixedSize(a.siblingForm, header)), at: at)
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
                    let size = AbbreviationTable.fixedSize(a.siblingForm, header)
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
