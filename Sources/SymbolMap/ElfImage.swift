#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// A loadable segment (`PT_LOAD`) of an ELF file.
public struct LoadSegment: Sendable, Equatable {
    /// `p_vaddr`: the ELF virtual address the segment is loaded at (before any load bias).
    public var virtualAddress: UInt64
    /// `p_memsz`: its size in memory in bytes (at least ``fileSize``; the rest is zero-filled, as `.bss`).
    public var memorySize: UInt64
    /// `p_offset`: where the segment's bytes start in the file.
    public var fileOffset: UInt64
    /// `p_filesz`: how many bytes of the segment the file holds.
    public var fileSize: UInt64
    /// Whether `PF_X` is set (text; the segments samples can fall in).
    public var executable: Bool
}

/// An ELF file read with libelf: its function symbols (`.symtab`, else `.dynsym`), build-id and
/// load segments. Everything is read in `init`; the file is closed before it returns, so an instance is
/// an immutable value safe to share between threads.
public final class ElfImage: Sendable {
    /// The file the image was read from, as given.
    public let path: String
    /// Lower-case hex of `NT_GNU_BUILD_ID`, "" if none.
    public let buildID: String
    /// The function symbols (and `name@plt` entries for the PLT's slots), by ELF virtual address; empty when
    /// the file has neither `.symtab` nor `.dynsym`.
    public let symbols: SymbolTable
    /// Whether the file is `ET_DYN` (PIE executable or shared library).
    public let isPositionIndependent: Bool
    /// Every `PT_LOAD` program header, in file order: with a mapping's file offset they turn a runtime address
    /// into an ELF virtual address.
    public let loadSegments: [LoadSegment]
    /// Which symbol table the symbols came from: `.symtab`, `.dynsym` or "" (none).
    public let symbolSection: String
    /// The file name in `.gnu_debuglink` (where the separate debug file is), nil if none.
    public let debugLink: String?
    /// Whether the file has DWARF line information (`.debug_line`).
    public let hasDebugLines: Bool

    /// An image from its parts (a symbol cache entry).
    init(path: String, buildID: String, symbols: SymbolTable, isPositionIndependent: Bool, loadSegments: [LoadSegment],
         symbolSection: String, debugLink: String?, hasDebugLines: Bool) {
        self.path = path
        self.buildID = buildID
        self.symbols = symbols
        self.isPositionIndependent = isPositionIndependent
        self.loadSegments = loadSegments
        self.symbolSection = symbolSection
        self.debugLink = debugLink
        self.hasDebugLines = hasDebugLines
    }

    /// Reads `path` whole (symbols, build-id, load segments, debug link) and closes it. Throws `missingFile`
    /// when it does not exist, `other` when it cannot be opened otherwise, `notELF` for another kind of file,
    /// `corrupt` when libelf cannot read its headers or symbol table.
    public convenience init(path: String) throws(SymbolMapError) {
        try self.init(path: path, extraSymbols: [])
    }

    /// Reads `path` as ``init(path:)`` does, its symbol table holding `extraSymbols` too: a separate debug
    /// file's `.symtab` with the PLT stubs of the image it describes (``pltSymbols(path:)``; the debug
    /// file's `.plt` holds no code and its `.rela.plt` may be gone), as perf adds them.
    public init(path: String, extraSymbols: [SymbolTable.Entry]) throws(SymbolMapError) {
        self.path = path
        _ = elf_version(UInt32(EV_CURRENT))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw SymbolMapError(e == ENOENT ? .missingFile : .other, path: path, "cannot open: \(String(cString: strerror(e)))",
                                 hint: "check the path")
        }
        defer { close(fd) }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            throw SymbolMapError(.corrupt, path: path, "libelf cannot read it: \(String(cString: elf_errmsg(-1)))")
        }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else {
            throw SymbolMapError(.notELF, path: path, "not an ELF file", hint: "give an ELF image, a System.map or a kallsyms dump")
        }
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else {
            throw SymbolMapError(.corrupt, path: path, "unreadable ELF header: \(String(cString: elf_errmsg(-1)))",
                                 hint: "the file is truncated or corrupt")
        }
        isPositionIndependent = ehdr.e_type == UInt16(ET_DYN)
        // A cut file: libelf reads what is there, so check the tables lie inside the file.
        var st = stat()
        if fstat(fd, &st) == 0 {
            let size = UInt64(st.st_size)
            let shEnd = ehdr.e_shoff &+ UInt64(ehdr.e_shnum) &* UInt64(ehdr.e_shentsize)
            if ehdr.e_shoff > 0 && shEnd > size {
                throw SymbolMapError(.corrupt, path: path,
                                     "truncated or corrupt ELF: the section header table ends at byte \(shEnd) but the file has \(size) bytes",
                                     hint: "the file was cut short; copy it again")
            }
            let phEnd = ehdr.e_phoff &+ UInt64(ehdr.e_phnum) &* UInt64(ehdr.e_phentsize)
            if ehdr.e_phoff > 0 && phEnd > size {
                throw SymbolMapError(.corrupt, path: path,
                                     "truncated or corrupt ELF: the program header table ends at byte \(phEnd) but the file has \(size) bytes",
                                     hint: "the file was cut short; copy it again")
            }
        }

        var segments: [LoadSegment] = []
        var phnum = 0
        if elf_getphdrnum(elf, &phnum) == 0 {
            for i in 0..<phnum {
                var ph = GElf_Phdr()
                guard gelf_getphdr(elf, Int32(i), &ph) != nil, ph.p_type == UInt32(PT_LOAD) else { continue }
                segments.append(LoadSegment(virtualAddress: ph.p_vaddr, memorySize: ph.p_memsz, fileOffset: ph.p_offset,
                                            fileSize: ph.p_filesz, executable: ph.p_flags & UInt32(PF_X) != 0))
            }
        }
        loadSegments = segments

        var shstrndx = 0
        guard elf_getshdrstrndx(elf, &shstrndx) == 0 else {
            throw SymbolMapError(.corrupt, path: path, "no section name table: \(String(cString: elf_errmsg(-1)))",
                                 hint: "the file is truncated or corrupt")
        }
        var symtab: OpaquePointer? = nil, dynsym: OpaquePointer? = nil
        var versym: OpaquePointer? = nil, verdef: OpaquePointer? = nil
        var buildID = ""
        var debugLink: String? = nil
        var hasLines = false
        var execSections: [(UInt64, UInt64)] = []
        // The PLT and its relocations, for `name@plt` symbols.
        var plt: (addr: UInt64, size: UInt64)? = nil, pltSec: (addr: UInt64, size: UInt64)? = nil
        var relaPlt: OpaquePointer? = nil
        var scn: OpaquePointer? = elf_nextscn(elf, nil)
        while let s = scn {
            var sh = GElf_Shdr()
            if gelf_getshdr(s, &sh) != nil {
                if sh.sh_type == UInt32(SHT_SYMTAB) { symtab = s }
                if sh.sh_type == UInt32(SHT_DYNSYM) { dynsym = s }
                if sh.sh_type == UInt32(SHT_GNU_versym) { versym = s }
                if sh.sh_type == UInt32(SHT_GNU_verdef) { verdef = s }
                if sh.sh_flags & UInt64(SHF_EXECINSTR) != 0 { execSections.append((sh.sh_addr, sh.sh_addr &+ sh.sh_size)) }
                if sh.sh_type == UInt32(SHT_NOTE), buildID.isEmpty, let data = elf_getdata(s, nil) {
                    buildID = Self.readBuildID(data)
                }
                if let n = elf_strptr(elf, shstrndx, Int(sh.sh_name)) {
                    let name = String(cString: n)
                    if name == ".gnu_debuglink", let data = elf_getdata(s, nil), let buf = data.pointee.d_buf, data.pointee.d_size > 0 {
                        let raw = UnsafeRawBufferPointer(start: buf, count: Int(data.pointee.d_size))
                        let text = raw.prefix { $0 != 0 }
                        if !text.isEmpty { debugLink = String(decoding: text, as: UTF8.self) }
                    }
                    if name == ".debug_line" && sh.sh_type != UInt32(SHT_NOBITS) { hasLines = true }
                    if sh.sh_type == UInt32(SHT_PROGBITS) && sh.sh_flags & UInt64(SHF_EXECINSTR) != 0 {
                        if name == ".plt" { plt = (sh.sh_addr, sh.sh_size) }
                        if name == ".plt.sec" { pltSec = (sh.sh_addr, sh.sh_size) }
                    }
                    if name == ".rela.plt" && sh.sh_type == UInt32(SHT_RELA) { relaPlt = s }
                }
            }
            scn = elf_nextscn(elf, s)
        }
        self.buildID = buildID
        self.debugLink = debugLink
        self.hasDebugLines = hasLines
        var entries = SymbolTable.Builder()
        var section = ""
        for (candidate, name) in [(symtab, ".symtab"), (dynsym, ".dynsym")] {
            guard let s = candidate else { continue }
            // .dynsym names carry their symbol version as perf prints them: name@@VER (default) or name@VER.
            let versions = name == ".dynsym" ? Self.readVersions(elf: elf, versym: versym, verdef: verdef) : nil
            entries = try Self.readFunctions(elf: elf, section: s, path: path, execSections: execSections, versions: versions)
            if entries.count > 0 { section = name; break }
        }
        if ehdr.e_machine == UInt16(EM_X86_64), let relaPlt, let table = pltSec ?? plt {
            Self.forEachPLTSymbol(elf: elf, rela: relaPlt, table: table, header: pltSec == nil ? 16 : 0) { address, size, stub in
                var name = stub
                name.withUTF8 { entries.add(address: address, size: size, name: $0, isGlobal: true, isWeak: false) }
            }
        }
        for e in extraSymbols {
            var name = e.name
            name.withUTF8 { entries.add(address: e.address, size: e.size, name: $0, isGlobal: e.isGlobal, isWeak: e.isWeak) }
        }
        symbolSection = section
        symbols = SymbolTable(builder: entries)
    }

    private static func readBuildID(_ data: UnsafeMutablePointer<Elf_Data>) -> String {
        var offset = 0
        while true {
            var nhdr = GElf_Nhdr()
            var nameOff = 0, descOff = 0
            let next = gelf_getnote(data, offset, &nhdr, &nameOff, &descOff)
            if next == 0 { return "" }
            if nhdr.n_type == UInt32(NT_GNU_BUILD_ID), nhdr.n_namesz == 4, let base = data.pointee.d_buf {
                let bytes = UnsafeRawBufferPointer(start: base + descOff, count: Int(nhdr.n_descsz))
                return bytes.map { b in
                    let d = Array("0123456789abcdef")
                    return String([d[Int(b >> 4)], d[Int(b & 15)]])
                }.joined()
            }
            offset = next
        }
    }

    /// Version suffix per .dynsym index ("" when the symbol has no version of this file's own).
    /// The version of each `.dynsym` entry as perf prints it after a name (`@@VER` for the default version,
    /// `@VER` for a hidden one): an index into `names` per symbol (0: none). Nil without version sections.
    struct SymbolVersions {
        var names: [String] = [""]
        var perSymbol: [UInt16] = []

        func suffix(_ symbol: Int) -> String? {
            guard symbol < perSymbol.count, perSymbol[symbol] != 0 else { return nil }
            return names[Int(perSymbol[symbol])]
        }
    }

    private static func readVersions(elf: OpaquePointer, versym: OpaquePointer?, verdef: OpaquePointer?) -> SymbolVersions? {
        guard let versym, let verdef, let vsData = elf_getdata(versym, nil), let vdData = elf_getdata(verdef, nil) else { return nil }
        var vdShdr = GElf_Shdr()
        guard gelf_getshdr(verdef, &vdShdr) != nil else { return nil }
        var names: [Int: String] = [:]
        var offset = 0
        // Offsets are the file's (vd_next, vd_aux: 32-bit each, summed): past the section they end the walk
        // (libelf takes an Int32 offset; a damaged chain would otherwise overflow it).
        let end = min(vdData.pointee.d_size, Int(Int32.max))
        for _ in 0..<4096 {
            guard offset < end else { break }
            var vd = GElf_Verdef()
            guard gelf_getverdef(vdData, Int32(offset), &vd) != nil else { break }
            var aux = GElf_Verdaux()
            let auxAt = offset + Int(vd.vd_aux)
            if vd.vd_flags & UInt16(VER_FLG_BASE) == 0, auxAt < end, gelf_getverdaux(vdData, Int32(auxAt), &aux) != nil,
               let cname = elf_strptr(elf, Int(vdShdr.sh_link), Int(aux.vda_name)) {
                names[Int(vd.vd_ndx)] = String(cString: cname)
            }
            if vd.vd_next == 0 { break }
            offset += Int(vd.vd_next)
        }
        var vsShdr = GElf_Shdr()
        guard gelf_getshdr(versym, &vsShdr) != nil else { return nil }
        // Suffix ids: (version index with its hidden bit) -> position in `out.names`.
        var out = SymbolVersions()
        var ids: [Int: UInt16] = [:]
        let count = Int(vsShdr.sh_size / 2)
        out.perSymbol = [UInt16](repeating: 0, count: count)
        for i in 0..<count {
            var v = GElf_Versym()
            guard gelf_getversym(vsData, Int32(i), &v) != nil, let n = names[Int(v & 0x7fff)] else { continue }
            let key = Int(v)
            if let id = ids[key] { out.perSymbol[i] = id; continue }
            guard out.names.count < Int(UInt16.max) else { continue }
            let id = UInt16(out.names.count)
            out.names.append((v & 0x8000 != 0 ? "@" : "@@") + n)
            ids[key] = id
            out.perSymbol[i] = id
        }
        return out
    }

    /// `name@plt` for each PLT entry, as perf and objdump name them (the stubs have no symbols of their
    /// own; without these a sample in one is charged to whatever symbol precedes the PLT, often `_init`).
    /// x86-64: 16-byte entries in the order of their GOT slots (the relocations' offsets), after a 16-byte
    /// header in `.plt` (none in `.plt.sec`, the IBT layout). Relocations without a symbol (IRELATIVE) are
    /// left unnamed.
    private static func forEachPLTSymbol(elf: OpaquePointer, rela: OpaquePointer, table: (addr: UInt64, size: UInt64),
                                         header: UInt64, _ body: (UInt64, UInt64, String) -> Void) {
        var sh = GElf_Shdr()
        guard gelf_getshdr(rela, &sh) != nil, sh.sh_entsize > 0, let data = elf_getdata(rela, nil),
              let dynsym = elf_getscn(elf, Int(sh.sh_link)), let symData = elf_getdata(dynsym, nil) else { return }
        var symHeader = GElf_Shdr()
        guard gelf_getshdr(dynsym, &symHeader) != nil else { return }
        let entrySize: UInt64 = 16
        let count = Int(sh.sh_size / sh.sh_entsize)
        // The stubs are in the order of the GOT slots they jump through, which `.rela.plt` need not follow:
        // glibc's libc.so.6 lists its IRELATIVE slots among the others, so its 6th relocation
        // (`__tls_get_addr`, GOT 0x1d30b8) is the 24th stub (0x26180). The relocations sorted by slot, as
        // perf sorts them (stable: equal slots keep their order).
        var relocations: [(slot: UInt64, symbol: Int32)] = []
        relocations.reserveCapacity(count)
        for k in 0..<count {
            var r = GElf_Rela()
            guard gelf_getrela(data, Int32(k), &r) != nil else { break }
            relocations.append((r.r_offset, Int32(truncatingIfNeeded: r.r_info >> 32)))
        }
        let ordered = relocations.enumerated().sorted { ($0.element.slot, $0.offset) < ($1.element.slot, $1.offset) }
        for (k, (_, reloc)) in ordered.enumerated() {
            let address = table.addr &+ header &+ UInt64(k) &* entrySize
            guard address &+ entrySize <= table.addr &+ table.size else { break }
            let symIndex = reloc.symbol
            guard symIndex != 0 else { continue }
            var sym = GElf_Sym()
            guard gelf_getsym(symData, symIndex, &sym) != nil,
                  let cname = elf_strptr(elf, Int(symHeader.sh_link), Int(sym.st_name)), cname[0] != 0 else { continue }
            body(address, entrySize, String(cString: cname) + "@plt")
        }
    }

    /// The `name@plt` stubs of the x86-64 image at `path` (empty for another machine, or when it has no PLT
    /// or cannot be read): what a separate debug file's table lacks (``init(path:extraSymbols:)``).
    public static func pltSymbols(path: String) -> [SymbolTable.Entry] {
        _ = elf_version(UInt32(EV_CURRENT))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return [] }
        defer { elf_end(elf) }
        var ehdr = GElf_Ehdr(), shstrndx = 0
        guard elf_kind(elf) == ELF_K_ELF, gelf_getehdr(elf, &ehdr) != nil, ehdr.e_machine == UInt16(EM_X86_64),
              elf_getshdrstrndx(elf, &shstrndx) == 0 else { return [] }
        var plt: (addr: UInt64, size: UInt64)? = nil, pltSec: (addr: UInt64, size: UInt64)? = nil
        var relaPlt: OpaquePointer? = nil
        var scn = elf_nextscn(elf, nil)
        while let sc = scn {
            var sh = GElf_Shdr()
            if gelf_getshdr(sc, &sh) != nil, let n = elf_strptr(elf, shstrndx, Int(sh.sh_name)) {
                let name = String(cString: n)
                if sh.sh_type == UInt32(SHT_PROGBITS) && sh.sh_flags & UInt64(SHF_EXECINSTR) != 0 {
                    if name == ".plt" { plt = (sh.sh_addr, sh.sh_size) }
                    if name == ".plt.sec" { pltSec = (sh.sh_addr, sh.sh_size) }
                }
                if name == ".rela.plt" && sh.sh_type == UInt32(SHT_RELA) { relaPlt = sc }
            }
            scn = elf_nextscn(elf, sc)
        }
        guard let relaPlt, let table = pltSec ?? plt else { return [] }
        var out: [SymbolTable.Entry] = []
        forEachPLTSymbol(elf: elf, rela: relaPlt, table: table, header: pltSec == nil ? 16 : 0) { address, size, name in
            out.append(SymbolTable.Entry(address: address, size: size, name: name, isGlobal: true))
        }
        return out
    }

    /// An ARM/AArch64/RISC-V mapping symbol (`$a`, `$d`, `$t`, `$x`, optionally `.suffix`), which marks
    /// code or data, not a function. Swift's mangled names also start with `$` (`$s4main3fooyyF`) and are
    /// functions.
    static func isMappingSymbol(_ name: UnsafePointer<CChar>, length: Int) -> Bool {
        guard length >= 2, name[0] == 36 /* $ */ else { return false }
        switch UInt8(bitPattern: name[1]) {
        case UInt8(ascii: "a"), UInt8(ascii: "d"), UInt8(ascii: "t"), UInt8(ascii: "x"): return length == 2 || name[2] == 46 /* . */
        default: return false
        }
    }

    private static func readFunctions(elf: OpaquePointer, section: OpaquePointer, path: String,
                                      execSections: [(UInt64, UInt64)], versions: SymbolVersions?) throws(SymbolMapError) -> SymbolTable.Builder {
        var sh = GElf_Shdr()
        guard gelf_getshdr(section, &sh) != nil, sh.sh_entsize > 0 else { return SymbolTable.Builder() }
        guard let data = elf_getdata(section, nil) else {
            throw SymbolMapError(.corrupt, path: path, "symbol table unreadable: \(String(cString: elf_errmsg(-1)))",
                                 hint: "the file is truncated or corrupt")
        }
        let count = Int(sh.sh_size / sh.sh_entsize)
        // The builder has room for all symbols from the start (memory it does not fill is never touched, and
        // nothing is copied to grow). The string table is copied into it whole (one copy) and names are taken
        // by their offsets there: no lookup, copy or growth per name (a Swift binary's 30,000 names are long).
        var b = SymbolTable.Builder(capacity: count)
        guard let strScn = elf_getscn(elf, Int(sh.sh_link)), let sd = elf_getdata(strScn, nil),
              let buf = sd.pointee.d_buf, sd.pointee.d_size > 0 else { return b }
        let strtab = UnsafeRawBufferPointer(start: buf, count: Int(sd.pointee.d_size))
        b.bytes = Array(strtab)
        // With versions (.dynsym): the symbol index of each function added, to put versions on names below.
        var symbolIndex: [Int32] = []
        for i in 0..<count {
            var sym = GElf_Sym()
            guard gelf_getsym(data, Int32(i), &sym) != nil else { continue }
            let type = Int32(sym.st_info & 0xf)
            let bind = Int32(sym.st_info >> 4)
            guard sym.st_shndx != UInt16(SHN_UNDEF), sym.st_value != 0 || type == STT_FUNC else { continue }
            let isFunc = type == STT_FUNC || type == STT_GNU_IFUNC
            // Untyped symbols count when they sit in executable sections (assembly entry points).
            guard isFunc || (type == STT_NOTYPE && execSections.contains { sym.st_value >= $0.0 && sym.st_value < $0.1 }) else { continue }
            let at = Int(sym.st_name)
            guard at < strtab.count, let base = strtab.baseAddress else { continue }
            let p = (base + at).assumingMemoryBound(to: CChar.self)
            let length = strnlen(p, strtab.count - at)
            guard length > 0, !Self.isMappingSymbol(p, length: length) else { continue }
            b.add(address: sym.st_value, size: sym.st_size, nameAt: at, length: length,
                  isGlobal: bind == STB_GLOBAL, isWeak: bind == STB_WEAK)
            if versions != nil { symbolIndex.append(Int32(i)) }
        }
        if let versions { b.addVersions(symbolIndex: symbolIndex, versions: versions) }
        return b
    }

    /// The ELF virtual address of the byte at `fileOffset` (through the `PT_LOAD` segment holding it).
    public func virtualAddress(forFileOffset offset: UInt64) -> UInt64? {
        for s in loadSegments where offset >= s.fileOffset && offset < s.fileOffset &+ max(s.fileSize, s.memorySize) {
            return s.virtualAddress &+ (offset - s.fileOffset)
        }
        return nil
    }
}

extension ElfImage {
    /// Where the separate debug file of this image is, by the conventions Debian's `-dbg` packages
    /// follow: `DIR/.build-id/xx/rest.debug` (from the build-id), then the `.gnu_debuglink` name next to
    /// the file, in its `.debug/` folder, and under `DIR` + the file's folder. `debugDirectories` default to
    /// `/usr/lib/debug`. Returns nil when none exists.
    public func separateDebugFile(debugDirectories: [String] = ["/usr/lib/debug"]) -> String? {
        var candidates: [String] = []
        if buildID.count > 2 {
            let head = String(buildID.prefix(2)), rest = String(buildID.dropFirst(2))
            for d in debugDirectories { candidates.append("\(d)/.build-id/\(head)/\(rest).debug") }
        }
        if let link = debugLink {
            let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            candidates.append("\(dir)/\(link)")
            candidates.append("\(dir)/.debug/\(link)")
            for d in debugDirectories { candidates.append("\(d)\(dir.hasPrefix("/") ? "" : "/")\(dir)/\(link)") }
        }
        return candidates.first { $0 != path && access($0, R_OK) == 0 }
    }
}

extension SymbolTable.Builder {
    /// Puts their version on the names that several of the collected symbols share (a function defined in
    /// several versions), as perf shows them: `name@@VER` (the default version), `name@VER`. The k-th symbol
    /// collected is entry `symbolIndex[k]` of `.dynsym`. Names are grouped by a hash of their bytes, and
    /// names of equal hash compared byte by byte; only the renamed ones are copied.
    /// - Complexity: O(n log n) for n symbols.
    mutating func addVersions(symbolIndex: [Int32], versions: ElfImage.SymbolVersions) {
        let n = raws.count
        guard n == symbolIndex.count, n > 1 else { return }
        // (hash of the name, k) packed in one word (the hash's low 43 bits: a collision only costs a compare).
        guard n < 1 << 21 else { return }
        var keyed = [UInt64](repeating: 0, count: n)
        bytes.withUnsafeBufferPointer { all in
            for k in 0..<n {
                let r = raws[k]
                var h = FNV1a()
                h.add(UnsafeBufferPointer(rebasing: all[Int(r.nameStart)..<Int(r.nameStart + r.nameLength)]))
                keyed[k] = h.value << 21 | UInt64(k)
            }
        }
        keyed.sort()
        let hashOf = { (w: UInt64) in w >> 21 }, symbolOf = { (w: UInt64) in Int(w & (1 << 21 - 1)) }
        var shared = [Bool](repeating: false, count: n)
        bytes.withUnsafeBufferPointer { all in
            func name(_ k: Int) -> Slice<UnsafeBufferPointer<UInt8>> {
                let r = raws[k]
                return all[Int(r.nameStart)..<Int(r.nameStart + r.nameLength)]
            }
            var i = 0
            while i < n {
                var j = i + 1
                while j < n && hashOf(keyed[j]) == hashOf(keyed[i]) { j += 1 }
                if j - i > 1 {
                    for a in i..<j where !shared[symbolOf(keyed[a])] {
                        for c in (a + 1)..<j where name(symbolOf(keyed[a])).elementsEqual(name(symbolOf(keyed[c]))) {
                            shared[symbolOf(keyed[a])] = true
                            shared[symbolOf(keyed[c])] = true
                        }
                    }
                }
                i = j
            }
        }
        for k in 0..<n where shared[k] {
            guard let suffix = versions.suffix(Int(symbolIndex[k])) else { continue }
            let r = raws[k]
            let full = Array(bytes[Int(r.nameStart)..<Int(r.nameStart + r.nameLength)]) + Array(suffix.utf8)
            raws[k].nameStart = UInt32(truncatingIfNeeded: bytes.count)
            raws[k].nameLength = UInt32(truncatingIfNeeded: full.count)
            bytes.append(contentsOf: full)
        }
    }
}
