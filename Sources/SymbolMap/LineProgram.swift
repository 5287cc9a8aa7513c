#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// The sections a line program refers to, as mapped (and inflated) by libelf for an open ``DwarfHandle``:
/// `.debug_line`, and the string sections its DWARF 5 file tables point into. Read-only; shared by threads.
struct LineSections: @unchecked Sendable {
    var line: UnsafeRawBufferPointer
    var lineStr: UnsafeRawBufferPointer
    var str: UnsafeRawBufferPointer
    var bigEndian: Bool

    init(line: UnsafeRawBufferPointer, lineStr: UnsafeRawBufferPointer, str: UnsafeRawBufferPointer, bigEndian: Bool) {
        self.line = line
        self.lineStr = lineStr
        self.str = str
        self.bigEndian = bigEndian
    }

    /// The sections of `elf` (after `dwarf_begin_elf`, which inflates zlib sections in place); nil when the
    /// file has no `.debug_line`.
    init?(elf: OpaquePointer) {
        var shstrndx = 0
        guard elf_getshdrstrndx(elf, &shstrndx) == 0 else { return nil }
        var line: UnsafeRawBufferPointer? = nil
        var lineStr = UnsafeRawBufferPointer(start: nil, count: 0), str = UnsafeRawBufferPointer(start: nil, count: 0)
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var shdr = GElf_Shdr()
            guard gelf_getshdr(s, &shdr) != nil, shdr.sh_type != UInt32(SHT_NOBITS),
                  shdr.sh_flags & UInt64(SHF_COMPRESSED) == 0, let namePointer = elf_strptr(elf, shstrndx, Int(shdr.sh_name)) else { continue }
            let name = String(cString: namePointer)
            guard name == ".debug_line" || name == ".debug_line_str" || name == ".debug_str" else { continue }
            guard let data = elf_getdata(s, nil), let buf = data.pointee.d_buf else { continue }
            let bytes = UnsafeRawBufferPointer(start: buf, count: data.pointee.d_size)
            switch name {
            case ".debug_line": line = bytes
            case ".debug_line_str": lineStr = bytes
            default: str = bytes
            }
        }
        guard let line else { return nil }
        self.line = line
        self.lineStr = lineStr
        self.str = str
        let ident = elf_getident(elf, nil)
        bigEndian = ident.map { $0[Int(EI_DATA)] == CChar(ELFDATA2MSB) } ?? false
    }
}

/// Why a line program could not be read here (the caller then asks libdw): the offset in `.debug_line` and
/// what was expected there.
struct LineProgramError: Error, CustomStringConvertible {
    var offset: Int
    var what: String
    var description: String { ".debug_line offset 0x\(String(offset, radix: 16)): \(what)" }
}

/// A bounds-checked reader of DWARF's encodings over one section.
private struct DwarfCursor {
    let bytes: UnsafeRawBufferPointer
    var at: Int
    let end: Int
    let bigEndian: Bool

    @inline(__always)
    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws(LineProgramError) {
        guard n >= 0, at <= end - n else { throw LineProgramError(offset: at, what: "\(what()) runs past the end of its unit") }
    }

    @inline(__always)
    mutating func u8() throws(LineProgramError) -> UInt8 {
        try need(1, "a byte")
        let v = bytes[at]
        at += 1
        return v
    }

    @inline(__always)
    mutating func fixed(_ size: Int) throws(LineProgramError) -> UInt64 {
        try need(size, "a \(size)-byte value")
        return DwarfBytes.fixed(bytes, &at, size: size, bigEndian: bigEndian)
    }

    @inline(__always)
    mutating func uleb() throws(LineProgramError) -> UInt64 {
        guard let v = DwarfBytes.unsignedLEB(bytes, &at, end: end) else { throw LineProgramError(offset: at, what: "an unsigned LEB128 number runs past the end of its unit") }
        return v
    }

    @inline(__always)
    mutating func sleb() throws(LineProgramError) -> Int64 {
        guard let v = DwarfBytes.signedLEB(bytes, &at, end: end) else { throw LineProgramError(offset: at, what: "a signed LEB128 number runs past the end of its unit") }
        return v
    }

    /// A NUL-terminated string here (its start and length).
    mutating func cString() throws(LineProgramError) -> (Int, Int) {
        let start = at
        guard at < end, let base = bytes.baseAddress, let nul = memchr(base + at, 0, end - at) else {
            throw LineProgramError(offset: start, what: "a string without its terminating NUL")
        }
        at = UnsafeRawPointer(nul) - base + 1
        return (start, at - 1 - start)
    }
}

/// One compilation unit's line program (`.debug_line`, DWARF 2 to 5), read without libdw: the header's
/// directory and file tables, then the program decoded in one pass that keeps no rows, answering a sorted
/// list of addresses as it goes. libdw's `dwarf_getsrclines` decodes a whole program into a `malloc`ed row
/// each and sorts them, which was most of a cold `symbolize --inlines` on the kernel (docs/ARCHITECTURE.md,
/// "Line and inline index"). The answers are the rows llvm-symbolizer takes: within the sequence holding the
/// address, the last row at or before it (`LineProgramTests` checks them against libdw's rows).
struct LineProgram {
    private let sections: LineSections
    private let version: Int
    private let offsetSize: Int
    private let addressSize: Int
    private let minInstLength: UInt64
    private let maxOps: UInt64
    private let defaultIsStmt: Bool
    private let lineBase: Int64
    private let lineRange: UInt64
    private let opcodeBase: UInt8
    private let standardLengths: [UInt8]
    /// Per special opcode (from `opcodeBase` on): its operation advance and line advance (no division per row).
    private let specialAdvance: [(ops: UInt64, line: Int64)]
    private let programStart: Int
    private let programEnd: Int
    /// Directory names as libdw has them (entry 0: DWARF 5's own, else the compilation directory): where
    /// their bytes are (section 0 `.debug_line`, 1 `.debug_line_str`, 2 `.debug_str`); made strings on need.
    private var directories: [(section: UInt8, start: Int, count: Int)] = []
    /// Programs before DWARF 5: the compilation directory, their directory 0 (nil: none).
    private let compDir: String?
    /// File entries in the program's numbering (DWARF 5 from 0; before, from 1 with entry 0 unused): the
    /// name's bytes (in which section) and the directory index.
    private var fileEntries: [(section: UInt8, start: Int, count: Int, dir: Int)] = []

    /// Reads the header of the program at `offset` (a unit's `DW_AT_stmt_list`). `compDir`: the unit's
    /// `DW_AT_comp_dir` (nil when it has none), the directory 0 of programs before DWARF 5.
    init(sections: LineSections, offset: Int, compDir: String?) throws(LineProgramError) {
        self.sections = sections
        self.compDir = compDir
        var c = DwarfCursor(bytes: sections.line, at: offset, end: sections.line.count, bigEndian: sections.bigEndian)
        guard offset >= 0, offset < sections.line.count else { throw LineProgramError(offset: offset, what: "a line program (the offset is past the section's end)") }
        var length = try c.fixed(4)
        var osize = 4
        if length == 0xffff_ffff { length = try c.fixed(8); osize = 8 } else if length >= 0xffff_fff0 {
            throw LineProgramError(offset: offset, what: "a unit length (0x\(String(length, radix: 16)) is reserved)")
        }
        guard length <= UInt64(c.end - c.at) else { throw LineProgramError(offset: offset, what: "a unit of \(length) bytes (the section ends first)") }
        programEnd = c.at + Int(length)
        c = DwarfCursor(bytes: sections.line, at: c.at, end: programEnd, bigEndian: sections.bigEndian)
        offsetSize = osize
        let v = Int(try c.fixed(2))
        guard (2...5).contains(v) else { throw LineProgramError(offset: offset + osize, what: "a line table version from 2 to 5 (found \(v))") }
        version = v
        var asize = 8
        if v >= 5 {
            asize = Int(try c.u8())
            _ = try c.u8()  // segment selector size
            guard asize == 4 || asize == 8 else { throw LineProgramError(offset: c.at - 2, what: "an address size of 4 or 8 (found \(asize))") }
        }
        addressSize = asize
        let headerLength = try c.fixed(osize)
        guard headerLength <= UInt64(programEnd - c.at) else { throw LineProgramError(offset: c.at, what: "a header length within the unit") }
        programStart = c.at + Int(headerLength)
        minInstLength = UInt64(try c.u8())
        maxOps = v >= 4 ? UInt64(max(1, try c.u8())) : 1
        defaultIsStmt = try c.u8() != 0
        lineBase = Int64(Int8(bitPattern: try c.u8()))
        lineRange = UInt64(try c.u8())
        guard lineRange > 0 else { throw LineProgramError(offset: c.at - 1, what: "a line range above 0") }
        opcodeBase = try c.u8()
        guard opcodeBase > 0 else { throw LineProgramError(offset: c.at - 1, what: "an opcode base above 0") }
        var lengths: [UInt8] = [0]
        for _ in 1..<Int(opcodeBase) { lengths.append(try c.u8()) }
        standardLengths = lengths
        var special: [(ops: UInt64, line: Int64)] = Array(repeating: (0, 0), count: 256)
        for op in Int(opcodeBase)..<256 {
            let adjusted = UInt64(op - Int(opcodeBase))
            special[op] = (adjusted / lineRange, lineBase + Int64(adjusted % lineRange))
        }
        specialAdvance = special
        if v >= 5 {
            try readEntries5(&c, files: false)
            try readEntries5(&c, files: true)
        } else {
            directories.append((0, 0, 0))
            while true {
                let (s, n) = try c.cString()
                if n == 0 { break }
                directories.append((0, s, n))
            }
            fileEntries.append((0, 0, 0, 0))
            while true {
                let (s, n) = try c.cString()
                if n == 0 { break }
                let dir = Int(truncatingIfNeeded: try c.uleb())
                _ = try c.uleb()
                _ = try c.uleb()
                fileEntries.append((0, s, n, dir))
            }
        }
    }

    private static func string(_ b: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<start + count]), as: UTF8.self)
    }

    /// A DWARF 5 directory or file table: its entry formats, then its entries.
    private mutating func readEntries5(_ c: inout DwarfCursor, files: Bool) throws(LineProgramError) {
        let formatCount = Int(try c.u8())
        var formats: [(UInt64, UInt64)] = []
        for _ in 0..<formatCount { formats.append((try c.uleb(), try c.uleb())) }
        let count = try c.uleb()
        guard count <= UInt64(programEnd - c.at) else { throw LineProgramError(offset: c.at, what: "a \(files ? "file" : "directory") count within the unit") }
        for _ in 0..<count {
            var path: (UInt8, Int, Int)? = nil
            var dir = 0
            for (content, form) in formats {
                let at = c.at
                switch content {
                case UInt64(DW_LNCT_path):
                    path = try stringForm(&c, form, at: at)
                case UInt64(DW_LNCT_directory_index):
                    switch form {
                    case UInt64(DW_FORM_data1): dir = Int(try c.u8())
                    case UInt64(DW_FORM_data2): dir = Int(try c.fixed(2))
                    case UInt64(DW_FORM_udata): dir = Int(truncatingIfNeeded: try c.uleb())
                    default: throw LineProgramError(offset: at, what: "a directory index form (found 0x\(String(form, radix: 16)))")
                    }
                default:
                    try skip(&c, form, at: at)
                }
            }
            guard let path else { throw LineProgramError(offset: c.at, what: "a path in each \(files ? "file" : "directory") entry") }
            if files {
                fileEntries.append((path.0, path.1, path.2, dir))
            } else {
                directories.append((path.0, path.1, path.2))
            }
        }
    }

    private func section(_ k: UInt8) -> UnsafeRawBufferPointer {
        k == 0 ? sections.line : k == 1 ? sections.lineStr : sections.str
    }

    /// A string attribute: inline (`DW_FORM_string`) or an offset into `.debug_line_str`/`.debug_str`.
    private func stringForm(_ c: inout DwarfCursor, _ form: UInt64, at: Int) throws(LineProgramError) -> (UInt8, Int, Int) {
        switch form {
        case UInt64(DW_FORM_string):
            let (s, n) = try c.cString()
            return (0, s, n)
        case UInt64(DW_FORM_line_strp), UInt64(DW_FORM_strp):
            let which: UInt8 = form == UInt64(DW_FORM_line_strp) ? 1 : 2
            let off = try c.fixed(offsetSize)
            let sec = section(which)
            guard off < UInt64(sec.count) else {
                throw LineProgramError(offset: at, what: "a string offset within \(which == 1 ? ".debug_line_str" : ".debug_str") (found 0x\(String(off, radix: 16)))")
            }
            guard let base = sec.baseAddress, let nul = memchr(base + Int(off), 0, sec.count - Int(off)) else {
                throw LineProgramError(offset: at, what: "a NUL-terminated string")
            }
            return (which, Int(off), UnsafeRawPointer(nul) - (base + Int(off)))
        default:
            throw LineProgramError(offset: at, what: "a path form this reader knows (found 0x\(String(form, radix: 16)))")
        }
    }

    /// Steps over an attribute value of `form`.
    private func skip(_ c: inout DwarfCursor, _ form: UInt64, at: Int) throws(LineProgramError) {
        switch form {
        case UInt64(DW_FORM_data1), UInt64(DW_FORM_flag), UInt64(DW_FORM_strx1): c.at += 1
        case UInt64(DW_FORM_data2), UInt64(DW_FORM_strx2): c.at += 2
        case UInt64(DW_FORM_strx3): c.at += 3
        case UInt64(DW_FORM_data4), UInt64(DW_FORM_strx4): c.at += 4
        case UInt64(DW_FORM_data8): c.at += 8
        case UInt64(DW_FORM_data16): c.at += 16
        case UInt64(DW_FORM_udata), UInt64(DW_FORM_strx): _ = try c.uleb()
        case UInt64(DW_FORM_sdata): _ = try c.sleb()
        case UInt64(DW_FORM_string): _ = try c.cString()
        case UInt64(DW_FORM_line_strp), UInt64(DW_FORM_strp), UInt64(DW_FORM_sec_offset): c.at += offsetSize
        case UInt64(DW_FORM_block): let n = try c.uleb(); try c.need(Int(clamping: n), "a block"); c.at += Int(n)
        case UInt64(DW_FORM_block1): let n = Int(try c.u8()); c.at += n
        case UInt64(DW_FORM_block2): let n = Int(try c.fixed(2)); c.at += n
        case UInt64(DW_FORM_block4): let n = Int(try c.fixed(4)); c.at += n
        default: throw LineProgramError(offset: at, what: "an entry form this reader knows (found 0x\(String(form, radix: 16)))")
        }
        guard c.at <= c.end else { throw LineProgramError(offset: at, what: "an entry within the unit") }
    }

    /// How many file entries the table has (numbered as the program numbers them).
    var fileCount: Int { fileEntries.count }

    /// File `index`'s name as libdw gives it (`directory/name`, the name alone when absolute or when its
    /// directory is unknown); nil for an index outside the table.
    func libdwName(_ index: Int) -> String? {
        guard index >= 0, index < fileEntries.count, !(version < 5 && index == 0) else { return nil }
        let e = fileEntries[index]
        let name = Self.string(section(e.section), e.start, e.count)
        if name.hasPrefix("/") { return name }
        guard e.dir >= 0, e.dir < directories.count else { return nil }
        guard let d = directory(e.dir) else { return name }
        return d + "/" + name
    }

    /// The first directory as libdw has it (``DwarfHandle/firstLineDirectory(of:)``).
    var firstDirectory: String? { directories.isEmpty ? nil : directory(0) }

    /// Directory `i` (in range) as libdw has it.
    private func directory(_ i: Int) -> String? {
        if version < 5 && i == 0 { return compDir }
        let d = directories[i]
        return Self.string(section(d.section), d.start, d.count)
    }

    /// What a program says about a sorted list of addresses (``answers(_:)``).
    struct Answers {
        /// One per run of addresses between two row addresses: the row's interval, file index (the program's
        /// numbering), line and column, and the first address it answers.
        var intervals: [(lo: UInt64, hi: UInt64, file: UInt64, line: Int64, column: UInt64, first: UInt64)] = []
        /// Which addresses an interval answers.
        var answered: [Bool] = []
        /// Every sequence's address range, in program order.
        var sequences: [(UInt64, UInt64)] = []
    }

    /// Decodes the program once and answers `addresses` (sorted, distinct): for an address in a sequence,
    /// the last row at or before it (of several at one address, the last) and the interval up to the next
    /// row's address; an address in several sequences takes the first. Rows are not kept. Throws for a
    /// damaged program, and for a sequence whose rows go back in address (not seen from compilers): libdw
    /// then reads the unit instead.
    func answers(_ addresses: UnsafeBufferPointer<UInt64>) throws(LineProgramError) -> Answers {
        var sink = AnswerSink(addresses: addresses)
        try decode(&sink)
        return sink.out
    }

    /// Every row of the program in its order (for a whole unit's table, ``DwarfLines/LineRows``), those at
    /// their sequence's end address marked as ending it (as libdw gives them).
    func rows() throws(LineProgramError) -> [Row] {
        var sink = RowCollector()
        try decode(&sink)
        return sink.rows
    }

    /// One row of the state machine (`file` in the program's numbering).
    struct Row {
        var address: UInt64
        var file: UInt64
        var line: Int64
        var column: UInt64
        var endSequence: Bool
    }

    /// Runs the state machine over the program, handing each row to `sink` as it is made.
    private func decode<S: LineRowSink>(_ sink: inout S) throws(LineProgramError) {
        var c = DwarfCursor(bytes: sections.line, at: programStart, end: programEnd, bigEndian: sections.bigEndian)
        var address: UInt64 = 0, opIndex: UInt64 = 0, file: UInt64 = 1, line: Int64 = 1, column: UInt64 = 0
        let opcodeBase = self.opcodeBase, lineRange = self.lineRange
        let minInst = minInstLength, maxOps = self.maxOps
        @inline(__always) func advance(_ steps: UInt64) {
            if maxOps == 1 {
                address &+= minInst &* steps
            } else {
                address &+= minInst &* ((opIndex &+ steps) / maxOps)
                opIndex = (opIndex &+ steps) % maxOps
            }
        }
        try specialAdvance.withUnsafeBufferPointer { special throws(LineProgramError) in
        @inline(__always) func emit(end: Bool, at offset: Int) throws(LineProgramError) {
            try sink.row(Row(address: address, file: file, line: line, column: column, endSequence: end), at: offset)
        }
        while c.at < c.end {
            let op = c.bytes[c.at]
            c.at += 1
            if op >= opcodeBase {
                let s = special[Int(op)]
                advance(s.ops)
                line &+= s.line
                try emit(end: false, at: c.at - 1)
                continue
            }
            switch op {
            case 0:
                let at = c.at - 1
                let len = try c.uleb()
                guard len > 0, len <= UInt64(c.end - c.at) else {
                    throw LineProgramError(offset: at, what: "an extended opcode of a length within the unit (found \(len))")
                }
                let next = c.at + Int(len)
                let sub = try c.u8()
                switch sub {
                case UInt8(DW_LNE_end_sequence):
                    try emit(end: true, at: at)
                    address = 0; opIndex = 0; file = 1; line = 1; column = 0
                case UInt8(DW_LNE_set_address):
                    let size = Int(len) - 1
                    guard size == 4 || size == 8 || size == addressSize else {
                        throw LineProgramError(offset: at, what: "an address of 4 or 8 bytes (found \(size))")
                    }
                    address = try c.fixed(size)
                    opIndex = 0
                default:
                    // DW_LNE_define_file (DWARF 2-4, unused by compilers since), DW_LNE_set_discriminator, vendors'.
                    break
                }
                c.at = next
            case UInt8(DW_LNS_copy):
                try emit(end: false, at: c.at - 1)
            case UInt8(DW_LNS_advance_pc):
                advance(try c.uleb())
            case UInt8(DW_LNS_advance_line):
                line &+= try c.sleb()
            case UInt8(DW_LNS_set_file):
                file = try c.uleb()
            case UInt8(DW_LNS_set_column):
                column = try c.uleb()
            case UInt8(DW_LNS_negate_stmt), UInt8(DW_LNS_set_basic_block), UInt8(DW_LNS_set_prologue_end), UInt8(DW_LNS_set_epilogue_begin):
                break
            case UInt8(DW_LNS_const_add_pc):
                advance(UInt64(255 - opcodeBase) / lineRange)
            case UInt8(DW_LNS_fixed_advance_pc):
                address &+= try c.fixed(2)
                opIndex = 0
            default:
                // DW_LNS_set_isa and opcodes of a later version or a vendor: their operands are LEB128 numbers.
                for _ in 0..<Int(standardLengths[Int(op)]) { _ = try c.uleb() }
            }
        }
        }
    }
}

/// What the line program decoder hands its rows to.
protocol LineRowSink {
    mutating func row(_ r: LineProgram.Row, at offset: Int) throws(LineProgramError)
}

/// Keeps every row. As libdw does, rows at the address where their sequence ends are marked as ending it
/// too (they hold no address; a lookup there must not take them for the next sequence's code).
private struct RowCollector: LineRowSink {
    var rows: [LineProgram.Row] = []
    private var sequenceStart = 0
    mutating func row(_ r: LineProgram.Row, at offset: Int) throws(LineProgramError) {
        if r.endSequence {
            var k = rows.count - 1
            while k >= sequenceStart, rows[k].address == r.address { rows[k].endSequence = true; k -= 1 }
            rows.append(r)
            sequenceStart = rows.count
        } else {
            rows.append(r)
        }
    }
}

/// Answers a sorted list of addresses as rows come, keeping only the row before (``LineProgram/answers(_:)``).
private struct AnswerSink: LineRowSink {
    let addresses: UnsafeBufferPointer<UInt64>
    var out = LineProgram.Answers()
    /// The sequence being decoded: whether one is, its start, the next address to answer.
    private var inSequence = false, sequenceStart: UInt64 = 0, k = 0
    /// The row before (the last at its address).
    private var previous: LineProgram.Row? = nil

    init(addresses: UnsafeBufferPointer<UInt64>) {
        self.addresses = addresses
        out.answered = [Bool](repeating: false, count: addresses.count)
    }

    @inline(__always)
    mutating func row(_ r: LineProgram.Row, at offset: Int) throws(LineProgramError) {
        let n = addresses.count
        if !inSequence {
            inSequence = true
            sequenceStart = r.address
            var lo = 0, hi = n
            while lo < hi {
                let mid = (lo + hi) >> 1
                if addresses[mid] < r.address { lo = mid + 1 } else { hi = mid }
            }
            k = lo
            previous = nil
        }
        if let p = previous {
            guard r.address >= p.address else {
                throw LineProgramError(offset: offset, what: "rows in address order within a sequence")
            }
            if r.address > p.address {
                var first = true
                while k < n, addresses[k] < r.address {
                    if !out.answered[k] {
                        out.answered[k] = true
                        if first {
                            out.intervals.append((p.address, r.address, p.file, p.line, p.column, addresses[k]))
                            first = false
                        }
                    }
                    k += 1
                }
            }
        }
        if r.endSequence {
            if r.address > sequenceStart { out.sequences.append((sequenceStart, r.address)) }
            inSequence = false
            previous = nil
        } else {
            previous = r
        }
    }
}
