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
        return DwarfBytes.fixed(bytes, &at, size: size)
    }

    @inline(__always)
    mutating func uleb() throws(DieError) -> UInt64 {
        guard let v = DwarfBytes.unsignedLEB(bytes, &at, end: end) else { throw DieError(offset: at, what: "an unsigned LEB128 number within the unit") }
        return v
    }

    @inline(__always)
    mutating func sleb() throws(DieError) -> Int64 {
        guard let v = DwarfBytes.signedLEB(bytes, &at, end: end) else { throw DieError(offset: at, what: "a signed LEB128 number within the unit") }
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
    /// The size of its `DW_AT_sibling` value when `siblingAt` is known.
    var siblingSize = 0
    /// Whether its DIEs are stepped over, not scanned: among a unit's top-level DIEs (all but subprograms
    /// with code, namespaces and modules), and inside a function's tree (all but subroutines and blocks).
    var skipAtTop = false
    var skipInFunction = false
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
            if size < 0 { a.siblingAt = -1 } else if a.siblingAt >= 0 { a.siblingSize = Self.fixedSize(a.siblingForm, unit) }
            let t = Int32(bitPattern: a.tag)
            a.skipAtTop = t == DW_TAG_subprogram ? !a.hasCode : t != DW_TAG_namespace && t != DW_TAG_module
            a.skipInFunction = t != DW_TAG_lexical_block && t != DW_TAG_try_block && t != DW_TAG_catch_block
                && t != DW_TAG_subprogram && t != DW_TAG_inlined_subroutine
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
