#if canImport(Glibc)
import Glibc
#endif

/// What a symbol source file is, decided by its content.
public enum SymbolSourceFormat: String, Sendable {
    case elf, kallsyms, systemMap = "system-map"
}

/// The result of symbolizing one address.
public struct Symbolization: Sendable {
    public var address: UInt64
    /// The function from the symbol table, or nil with `miss` saying why.
    public var symbol: SymbolHit?
    public var miss: SymbolMiss?
    /// Other names at the function's address.
    public var aliases: [String]
    /// File and line (DWARF), when asked for and known.
    public var location: SourceLocation?
    /// The inline chain, innermost first (DWARF), when asked for.
    public var frames: [InlineFrame]
}

/// Symbolizes addresses of one image by task: an ELF file (symbols through libelf, lines and inlines
/// through libdw, from a separate debug file when the image has none), a System.map or a kallsyms dump.
///
/// Lookups are binary searches over tables built once; batch calls reuse everything.
public final class Symbolizer {
    public let path: String
    public let format: SymbolSourceFormat
    public let table: SymbolTable
    /// Where symbols and DWARF actually came from (the image or its separate debug file).
    public private(set) var debugFile: String?
    private let image: ElfImage?
    private var dwarf: DwarfLines?
    private var dwarfTried = false
    private let debugDirectories: [String]
    /// DWARF compilation units read so far for lines and inline chains (none when the symbol cache had the
    /// answers).
    public var dwarfUnitsRead: Int { dwarf?.unitsRead ?? 0 }
    /// Problems worth telling the user (missing debug file, bad text lines).
    public private(set) var warnings: [String] = []

    /// Opens `path`, detecting its format by content.
    public init(path: String, debugDirectories: [String] = ["/usr/lib/debug"]) throws(SymbolMapError) {
        self.path = path
        self.debugDirectories = debugDirectories
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SymbolMapError(errno == ENOENT ? .missingFile : .other, path: path, "cannot open: \(String(cString: strerror(errno)))",
                                 hint: "check the path")
        }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = read(fd, &magic, 4)
        close(fd)
        if n == 4 && magic == [0x7f, 0x45, 0x4c, 0x46] {
            format = .elf
            // Tables from the symbol cache when it has them (a warm run parses no ELF file).
            let img: ElfImage
            if let cache = SymbolCache.standard { img = try cache.elfImage(at: path) } else { img = try ElfImage(path: path) }
            image = img
            var t = img.symbols
            if img.symbolSection != ".symtab", let dbg = img.separateDebugFile(debugDirectories: debugDirectories) {
                // With the image's PLT stubs, which the debug file's table lacks (perf adds them too).
                if let d = try? ElfImage(path: dbg, extraSymbols: ElfImage.pltSymbols(path: path)), d.symbols.count > 0,
                   d.buildID == img.buildID || img.buildID.isEmpty {
                    t = d.symbols
                    debugFile = dbg
                }
            }
            table = t
        } else {
            image = nil
            let bytes: [UInt8]
            do {
                bytes = try Self.readAll(path)
            }
            guard !bytes.contains(0) else {
                throw SymbolMapError(.notELF, path: path, "neither an ELF file nor a text symbol map (it holds binary data)",
                                     hint: "give an ELF image, a System.map or a kallsyms dump")
            }
            // Both are `ADDRESS TYPE NAME` lines; only kallsyms has a `[module]` column.
            let (t, bad) = SymbolTable.kallsyms(bytes: bytes)
            format = t.hasModules ? .kallsyms : .systemMap
            if !bad.isEmpty {
                warnings.append("\(path): \(bad.count) line\(bad.count == 1 ? "" : "s") skipped; first: \(bad[0])")
            }
            guard t.count > 0 else {
                throw SymbolMapError(.noSymbols, path: path, "no function symbols found (expected 'ADDRESS TYPE NAME' lines)",
                                     hint: "give an ELF image, a System.map or a kallsyms dump")
            }
            table = t
        }
    }

    private static func readAll(_ path: String) throws(SymbolMapError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SymbolMapError(.missingFile, path: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// Loads DWARF on first need: from the image, else from its separate debug file.
    fileprivate func loadDwarf() -> DwarfLines? {
        if dwarfTried { return dwarf }
        dwarfTried = true
        guard let image else { return nil }
        var candidates: [String] = []
        if image.hasDebugLines { candidates.append(image.path) }
        if let d = image.separateDebugFile(debugDirectories: debugDirectories) { candidates.append(d) }
        for c in candidates {
            do {
                dwarf = try DwarfLines(path: c, cache: SymbolCache.standard)
                if c != image.path { debugFile = c }
                return dwarf
            } catch {
                warnings.append("\(error)")
            }
        }
        if candidates.isEmpty {
            warnings.append("\(path): no DWARF line information and no separate debug file found (looked in \(debugDirectories.joined(separator: ", "))); file and line show as ??")
        }
        return nil
    }

    /// The DWARF (nil without any), its index made to answer the lines, and the inline chains when asked,
    /// of all of `addresses` (the units that hold them read on two threads), then kept in the symbol cache.
    func preparedDwarf(_ addresses: [UInt64], inlines: Bool) -> DwarfLines? {
        guard let dw = loadDwarf() else { return nil }
        HelperThread.with { helper in dw.prepare(addresses, lines: true, inlines: inlines, helper: helper) }
        dw.saveIndex()
        if let p = dw.problem { warnings.append(p) }
        return dw
    }

    /// Symbolizes `addresses` in order.
    /// - Parameters:
    ///   - lines: also find file and line (ELF with DWARF only).
    ///   - inlines: also find the inline chain.
    ///
    /// With lines or inlines, the DWARF index is first made to answer all of `addresses` at once
    /// (``DwarfLines/prepare(_:lines:inlines:helper:)``: the units that hold them read on two threads) and
    /// then kept in the symbol cache.
    public func symbolize(_ addresses: [UInt64], lines: Bool = false, inlines: Bool = false) -> [Symbolization] {
        let dw = (lines || inlines) ? preparedDwarf(addresses, inlines: inlines) : nil
        var out: [Symbolization] = []
        out.reserveCapacity(addresses.count)
        let range = table.addressRange
        for a in addresses {
            var s = Symbolization(address: a, symbol: nil, miss: nil, aliases: [], location: nil, frames: [])
            if let hit = table.lookup(a) {
                s.symbol = hit
            } else {
                s.miss = table.count == 0 ? .noSymbols : .outsideImage
            }
            _ = range
            if let dw {
                if lines { s.location = dw.location(for: a) }
                if inlines { s.frames = dw.frames(for: a) }
            }
            out.append(s)
        }
        return out
    }
}

extension Symbolizer {
    /// The addr2line-style TSV of `addresses` (`address, symbol, offset, file, line` per line), built as bytes
    /// with no per-address allocation or reference counting: the rows `xprof symbolize` without `--inlines`
    /// writes (``streamTSV(from:to:lines:)`` streams the same rows).
    public func tsv(_ addresses: [UInt64], lines: Bool) -> [UInt8] {
        let dw = lines ? loadDwarf() : nil
        var sink = ByteSink(capacity: addresses.count * 56 + 64)
        defer { sink.release() }
        dw?.ensureUnits([addresses], helper: nil)
        addresses.withUnsafeBufferPointer { a in
            withFormatter(lines: dw) { f in f.rows(a, into: &sink) }
        }
        return sink.bytes()
    }

    /// The DWARF of the image for `--lines` (loaded on first call; nil without any).
    func linesSource() -> DwarfLines? { loadDwarf() }

    /// Calls `body` with a ``RowFormatter`` over this image's tables (and `dw`'s loaded units): plain
    /// pointers, valid inside `body` only, usable from several threads at once.
    func withFormatter<R>(lines dw: DwarfLines?, _ body: (RowFormatter) throws -> R) rethrows -> R {
        try table.withNames { names in
            let symbols = table.lookupIndex.view
            if let dw {
                return try dw.withView { lv in try body(RowFormatter(symbols: symbols, names: names, lines: lv)) }
            }
            return try body(RowFormatter(symbols: symbols, names: names, lines: nil))
        }
    }

    /// A note about an input line that is not an address.
    struct BadLine {
        var line: Int
        var text: String
        var note: String { "line \(line): '\(text)' is not a hexadecimal address" }
    }

    /// Parses one hex address per line of `bytes` (`0x` optional, blank lines skipped); a line that is not
    /// an address yields `UInt64.max` in its place and a note "line N: …".
    public static func parseAddresses(_ bytes: [UInt8]) -> (addresses: [UInt64], bad: [String]) {
        var out: [UInt64] = [], bad: [BadLine] = []
        out.reserveCapacity(bytes.count / 12)
        bytes.withUnsafeBufferPointer { _ = parseAddressLines($0, firstLine: 0, into: &out, bad: &bad) }
        return (out, bad.map(\.note))
    }

    /// The hex digits at the start of the 8 bytes at `p` (0 to 8 of them, either case) and their value, all
    /// 8 bytes at once: a byte is a digit when it is '0'...'9' or, lower-cased, 'a'...'f' (range tests on
    /// the low 7 bits of each byte, whose additions cannot carry into the next byte).
    @inline(__always)
    static func hex8(_ p: UnsafePointer<UInt8>) -> (UInt64, Int) {
        let x = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
        let x7 = x & ~high, l7 = (x | 0x2020_2020_2020_2020) & ~high
        let digit = (x7 &+ ones &* (0x80 - 0x30)) & ~(x7 &+ ones &* (0x7f - 0x39))
        let letter = (l7 &+ ones &* (0x80 - 0x61)) & ~(l7 &+ ones &* (0x7f - 0x66))
        let valid = (digit | letter) & ~x & high
        let invalid = ~valid & high
        let k = invalid == 0 ? 8 : invalid.trailingZeroBitCount >> 3
        if k == 0 { return (0, 0) }
        // Nibble values (letters: low 4 bits + 9), the k digits moved to the end so that missing ones
        // read as leading zeros, then pairs, quads and octets of digits joined (the first byte is the most
        // significant digit).
        var v = ((x & (ones &* 0x0f)) &+ ((x >> 6) & ones) &* 9) << UInt64(8 * (8 - k))
        v = ((v & 0x00ff_00ff_00ff_00ff) << 4) | ((v >> 8) & 0x00ff_00ff_00ff_00ff)
        v = ((v & 0x0000_ffff_0000_ffff) << 8) | ((v >> 16) & 0x0000_ffff_0000_ffff)
        v = ((v & 0x0000_0000_ffff_ffff) << 16) | ((v >> 32) & 0xffff)
        return (v & 0xffff_ffff, k)
    }

    /// `parseAddresses` over plain memory, appending to `out`, with line numbers counted from `firstLine`
    /// (at most 10 notes kept in `bad`); returns how many lines it saw. One pass, no bounds checks.
    static func parseAddressLines(_ bytes: UnsafeBufferPointer<UInt8>, firstLine: Int, into result: inout [UInt64],
                                  bad: inout [BadLine]) -> Int {
        guard let b = bytes.baseAddress else { return 0 }
        let n = bytes.count
        // Appends to a local array, moved in and out (no copy): `result` may be a field shared with another
        // thread's data in one cache line.
        var out: [UInt64] = []
        swap(&out, &result)
        defer { swap(&out, &result) }
        return hexDigitValues.withUnsafeBufferPointer { hv -> Int in
            @inline(__always) func blank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 }
            var i = 0, lineNo = firstLine
            while i < n {
                lineNo += 1
                var s = i
                while s < n, blank(b[s]) { s += 1 }
                if s == n || b[s] == 10 { i = s + 1; continue }  // a blank line
                if s + 1 < n, b[s] == 48, b[s + 1] | 0x20 == 120 { s += 2 }
                var v: UInt64 = 0, k = s
                // Eight digits at a time while 16 bytes are there; one at a time otherwise, and for more
                // than 16 digits (not an address: the loop below takes them all, then the line is refused).
                if s + 16 <= n {
                    let (v1, k1) = hex8(b + s)
                    if k1 < 8 {
                        v = v1
                        k = s + k1
                    } else {
                        let (v2, k2) = hex8(b + s + 8)
                        v = k2 == 0 ? v1 : v1 << UInt64(4 * k2) | v2
                        k = s + 8 + k2
                    }
                }
                while k < n {
                    let d = hv[Int(b[k])]
                    if d > 15 { break }
                    v = v << 4 | UInt64(d)
                    k += 1
                }
                var e = k
                while e < n, blank(b[e]) { e += 1 }
                if k > s, k - s <= 16, e == n || b[e] == 10 {
                    out.append(v)
                } else {
                    while e < n, b[e] != 10 { e += 1 }
                    var t = e
                    while t > s, blank(b[t - 1]) { t -= 1 }
                    out.append(UInt64.max)
                    if bad.count < 10 {
                        bad.append(BadLine(line: lineNo, text: String(decoding: UnsafeBufferPointer(start: b + s, count: min(t, s + 40) - s), as: UTF8.self)))
                    }
                }
                i = e + 1
            }
            return lineNo - firstLine
        }
    }
}
