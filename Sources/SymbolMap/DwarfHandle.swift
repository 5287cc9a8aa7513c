#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// An ELF file opened for reading its DWARF with libdw: the descriptor, the `Elf*` (mapped) and a `Dwarf*`
/// on it, released in that order's reverse by `deinit` (`dwarf_end`, `elf_end`, `close`).
///
/// libdw is not thread-safe per `Dwarf*`; a second thread gets its own through ``secondReader()``, a
/// second `Dwarf*` on the same `Elf*`: the sections are mapped (and, when compressed, inflated by libelf)
/// once, both readers only read them (docs/ARCHITECTURE.md, "Line and inline index").
final class DwarfHandle {
    let path: String
    private let fd: Int32
    let elf: OpaquePointer
    let dbg: OpaquePointer
    /// The compilation units' DIEs, in file order.
    let unitDIEs: [Dwarf_Die]
    private var second: OpaquePointer?
    private var secondDIEs: [Dwarf_Die] = []
    private var secondTried = false
    /// `.debug_line` and its string sections, for reading line programs without libdw (``LineProgram``);
    /// nil when the file has none that can be read so (then libdw reads them). Found on first use: ask for it
    /// before handing work to other threads.
    private(set) lazy var lineSections: LineSections? = LineSections(elf: elf)
    /// `.debug_info`, `.debug_abbrev` and the sections their attributes point into, with the unit headers,
    /// for reading DIEs without libdw (DieReader.swift); nil when there are none to read so, or when
    /// `XPROF_DWARF_DIES=libdw` asks for libdw's reading (to compare the two). Found on first use: ask for it
    /// before handing work to other threads.
    private(set) lazy var debugSections: DebugSections? = {
        if let v = getenv("XPROF_DWARF_DIES"), String(cString: v) == "libdw" { return nil }
        return DebugSections(elf: elf)
    }()
    /// Sections inflated here rather than by libelf (DwarfHandle+Zstd.swift), freed after `elf_end`.
    private var inflated: [UnsafeMutableRawPointer] = []

    init(path: String) throws(SymbolMapError) {
        self.path = path
        _ = elf_version(UInt32(EV_CURRENT))
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SymbolMapError(errno == ENOENT ? .missingFile : .other, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        guard var e = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw SymbolMapError(.corrupt, path: path, "libelf cannot read it: \(String(cString: elf_errmsg(-1)))")
        }
        if Self.hasZstdSections(e) {
            // Mapped privately, so that the inflated sections can take the compressed ones' place.
            elf_end(e)
            guard let p = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, nil) else {
                close(fd)
                throw SymbolMapError(.corrupt, path: path, "libelf cannot read it: \(String(cString: elf_errmsg(-1)))")
            }
            e = p
            do throws(SymbolMapError) {
                inflated = try Self.inflateZstdSections(e, path: path)
            } catch {
                elf_end(e)
                close(fd)
                throw error
            }
        }
        guard let d = dwarf_begin_elf(e, DWARF_C_READ, nil) else {
            let why = String(cString: dwarf_errmsg(-1))
            elf_end(e)
            close(fd)
            inflated.forEach { free($0) }
            throw SymbolMapError(.noSymbols, path: path, "no DWARF debugging information (\(why))",
                                 hint: "build with -g, or point --debug-dir at the separate debug file")
        }
        elf = e
        dbg = d
        unitDIEs = Self.unitDIEs(d)
    }

    deinit {
        if let second { dwarf_end(second) }
        dwarf_end(dbg)
        elf_end(elf)
        inflated.forEach { free($0) }
        close(fd)
    }

    /// A second reader of the same sections for another thread, with its unit DIEs (the same units in the
    /// same order); nil when libdw will not open one or finds other units. Opened on first call; call it
    /// before handing work to the other thread (opening touches the shared `Elf*`).
    func secondReader() -> (dbg: OpaquePointer, units: [Dwarf_Die])? {
        if let second { return (second, secondDIEs) }
        if secondTried { return nil }
        secondTried = true
        guard let d = dwarf_begin_elf(elf, DWARF_C_READ, nil) else { return nil }
        let dies = Self.unitDIEs(d)
        guard dies.count == unitDIEs.count else { dwarf_end(d); return nil }
        second = d
        secondDIEs = dies
        return (d, dies)
    }

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

    /// The units' address ranges, (start, end, unit index): from `.debug_aranges` (one table libdw reads at
    /// once), and for the units it leaves out (or all of them, when there is none), from the unit DIE's own
    /// ranges (`DW_AT_ranges` or `low_pc`/`high_pc`).
    func unitRanges() -> [(UInt64, UInt64, Int)] {
        var out: [(UInt64, UInt64, Int)] = []
        var covered = [Bool](repeating: false, count: unitDIEs.count)
        var aranges: OpaquePointer? = nil
        var n = 0
        if dwarf_getaranges(dbg, &aranges, &n) == 0, let aranges, n > 0 {
            var unitAt: [UInt64: Int] = [:]
            for i in unitDIEs.indices {
                var d = unitDIEs[i]
                unitAt[dwarf_dieoffset(&d)] = i
            }
            for k in 0..<n {
                guard let a = dwarf_onearange(aranges, k) else { continue }
                var start: Dwarf_Addr = 0, length: Dwarf_Word = 0
                var offset: Dwarf_Off = 0
                guard dwarf_getarangeinfo(a, &start, &length, &offset) == 0, length > 0, let u = unitAt[offset] else { continue }
                out.append((start, start &+ length, u))
                covered[u] = true
            }
        }
        for i in unitDIEs.indices where !covered[i] {
            var cudie = unitDIEs[i]
            for (s, e) in Self.ranges(of: &cudie) { out.append((s, e, i)) }
        }
        return out
    }

    /// The address ranges of a DIE (`DW_AT_low_pc`/`DW_AT_high_pc` or `DW_AT_ranges`, from `.debug_ranges`
    /// or `.debug_rnglists`), empty ones left out.
    static func ranges(of die: inout Dwarf_Die) -> [(UInt64, UInt64)] {
        var out: [(UInt64, UInt64)] = []
        var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        var offset = 0
        while true {
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
            if offset <= 0 { break }
            if end > start { out.append((start, end)) }
        }
        return out
    }

    /// A unit's `DW_AT_comp_dir` ("" when it has none).
    static func compilationDirectory(of die: inout Dwarf_Die) -> String {
        var a = Dwarf_Attribute()
        if dwarf_attr_integrate(&die, UInt32(DW_AT_comp_dir), &a) != nil, let s = dwarf_formstring(&a) { return String(cString: s) }
        return ""
    }

    /// The first directory of a unit's line table (libdw's entry 0: the table's own in DWARF 5, the
    /// compilation directory before), nil when the unit has no line table.
    static func firstLineDirectory(of die: inout Dwarf_Die) -> String? {
        var files: OpaquePointer? = nil
        var n = 0
        guard dwarf_getsrcfiles(&die, &files, &n) == 0, let files else { return nil }
        var dirs: UnsafePointer<UnsafePointer<CChar>?>? = nil
        var ndirs = 0
        guard dwarf_getsrcdirs(files, &dirs, &ndirs) == 0, let dirs, ndirs > 0, let d = dirs[0] else { return nil }
        return String(cString: d)
    }

    /// A file name of a unit's line table as libdw gives it (`directory/name`, the directory left out when
    /// the name is absolute) turned into the path llvm-symbolizer and addr2line print: a name relative to a
    /// directory other than the first one (itself relative) is relative to the compilation directory, which
    /// is joined in front. Names under the first directory stay as they are: DWARF 5's directory 0 *is* the
    /// compilation directory (the Linux kernel's, made relative by `-fdebug-prefix-map`, stays relative),
    /// and libdw's entry 0 of an older table is the compilation directory already.
    ///
    /// libdw joins a directory ending in `/` and a name with another `/` (`asm//msr-trace.h`); the other tools
    /// join them with one, and so does this (a doubled `/` is made single).
    static func displayPath(_ libdwName: String, compDir: String, firstDirectory: String?) -> String {
        let name = hasDoubleSlash(libdwName) ? singleSlashes(libdwName) : libdwName
        guard !name.hasPrefix("/"), !compDir.isEmpty, name != "??" else { return name }
        if let d = firstDirectory, !d.isEmpty, name.hasPrefix(d.hasSuffix("/") ? d : d + "/") { return name }
        return compDir.hasSuffix("/") ? compDir + name : compDir + "/" + name
    }

    /// Whether `s` holds `//` (a byte scan: `String.contains` of a string goes through the generic
    /// string-processing search, which was 3 % of a cold kernel `symbolize --inlines`).
    private static func hasDoubleSlash(_ s: String) -> Bool {
        var previous: UInt8 = 0
        for c in s.utf8 {
            if c == UInt8(ascii: "/") && previous == c { return true }
            previous = c
        }
        return false
    }

    /// `s` with each run of `/` after the first character made one `/`.
    private static func singleSlashes(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for c in s.utf8 {
            if c == UInt8(ascii: "/"), out.count > 1, out[out.count - 1] == UInt8(ascii: "/") { continue }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
