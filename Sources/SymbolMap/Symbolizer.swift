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
            let img = try ElfImage(path: path)
            image = img
            var t = img.symbols
            if img.symbolSection != ".symtab", let dbg = img.separateDebugFile(debugDirectories: debugDirectories) {
                if let d = try? ElfImage(path: dbg), d.symbols.count > 0, d.buildID == img.buildID || img.buildID.isEmpty {
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
            let text = String(decoding: bytes, as: UTF8.self)
            // Both are `ADDRESS TYPE NAME` lines; only kallsyms has a `[module]` column.
            let (t, bad) = SymbolTable.kallsyms(text: text)
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
                dwarf = try DwarfLines(path: c)
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

    /// Symbolizes `addresses` in order.
    /// - Parameters:
    ///   - lines: also find file and line (ELF with DWARF only).
    ///   - inlines: also find the inline chain.
    public func symbolize(_ addresses: [UInt64], lines: Bool = false, inlines: Bool = false) -> [Symbolization] {
        let dw = (lines || inlines) ? loadDwarf() : nil
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
    /// Appends `0x` and the lower-case hex digits of `v`.
    @inline(__always)
    static func appendHex(_ v: UInt64, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "x"))
        if v == 0 { out.append(UInt8(ascii: "0")); return }
        var shift = (63 - v.leadingZeroBitCount) / 4 * 4
        while shift >= 0 {
            let d = UInt8((v >> UInt64(shift)) & 15)
            out.append(d < 10 ? 48 + d : 87 + d)
            shift -= 4
        }
    }

    @inline(__always)
    static func appendDecimal(_ v: Int, to out: inout [UInt8]) {
        if v < 0 { out.append(45); appendDecimal(-v, to: &out); return }
        if v >= 10 { appendDecimal(v / 10, to: &out) }
        out.append(UInt8(48 + v % 10))
    }

    /// The addr2line-style TSV of `addresses` (`address, symbol, offset, file, line` per line), built as bytes
    /// with no per-address allocation: the fast path of `xprof symbolize` without `--inlines`.
    public func tsv(_ addresses: [UInt64], lines: Bool) -> [UInt8] {
        let dw = lines ? loadDwarf() : nil
        var out: [UInt8] = []
        out.reserveCapacity(addresses.count * 48)
        var nameCache = [[UInt8]?](repeating: nil, count: table.count)
        var fileCache: [Int32: [UInt8]] = [:]
        for a in addresses {
            if a == UInt64.max { out += Array("??".utf8) } else { Self.appendHex(a, to: &out) }
            out.append(9)
            if let i = table.index(containing: a) {
                if let n = nameCache[i] { out.append(contentsOf: n) } else {
                    let n = Array(table.name(at: i).utf8)
                    nameCache[i] = n
                    out += n
                }
                out.append(9)
                Self.appendHex(a &- table.start(at: i), to: &out)
            } else {
                out += [63, 63, 9, 63, 63]  // ??\t??
            }
            out.append(9)
            if let dw, let (f, l, _) = dw.rawLocation(for: a) {
                if let n = fileCache[f] { out += n } else {
                    let n = Array(dw.fileName(f).utf8)
                    fileCache[f] = n
                    out += n
                }
                out.append(9)
                Self.appendDecimal(Int(l), to: &out)
            } else {
                out += [63, 63, 9, 48]  // ??\t0
            }
            out.append(10)
        }
        return out
    }

    /// Parses one hex address per line of `bytes` (`0x` optional, blank lines skipped); a line that is not
    /// an address yields `UInt64.max` in its place and a note "line N: …".
    public static func parseAddresses(_ bytes: [UInt8]) -> (addresses: [UInt64], bad: [String]) {
        var out: [UInt64] = []
        out.reserveCapacity(bytes.count / 12)
        var bad: [String] = []
        var i = 0, lineNo = 0
        let n = bytes.count
        while i < n {
            lineNo += 1
            var e = i
            while e < n, bytes[e] != 10 { e += 1 }
            var s = i, t = e
            while s < t, bytes[s] == 32 || bytes[s] == 9 || bytes[s] == 13 { s += 1 }
            while t > s, bytes[t - 1] == 32 || bytes[t - 1] == 9 || bytes[t - 1] == 13 { t -= 1 }
            i = e + 1
            if s == t { continue }
            if t - s >= 2, bytes[s] == 48, bytes[s + 1] | 0x20 == 120 { s += 2 }
            var v: UInt64 = 0
            var ok = s < t && t - s <= 16
            var k = s
            while ok && k < t {
                let c = bytes[k]
                let d: UInt8
                switch c {
                case 48...57: d = c - 48
                case 97...102: d = c - 87
                case 65...70: d = c - 55
                default: ok = false; d = 0
                }
                v = v << 4 | UInt64(d)
                k += 1
            }
            if ok { out.append(v) } else {
                out.append(UInt64.max)
                if bad.count < 10 { bad.append("line \(lineNo): '\(String(decoding: bytes[s..<min(t, s + 40)], as: UTF8.self))' is not a hexadecimal address") }
            }
        }
        return (out, bad)
    }
}
