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
    /// with no per-address allocation or reference counting: the fast path of `xprof symbolize` without
    /// `--inlines`.
    public func tsv(_ addresses: [UInt64], lines: Bool) -> [UInt8] {
        var state = TSVState(count: table.count)
        defer { state.release() }
        var sink = ByteSink(capacity: addresses.count * 56 + 64)
        defer { sink.release() }
        writeTSV(addresses, lines: lines, state: &state, into: &sink)
        return sink.bytes()
    }

    /// Source file names' bytes, copied into one flat buffer on first use (kept across chunks); symbol names
    /// come straight from the table's own bytes.
    struct TSVState {
        var names = ByteSink(capacity: 4096)
        var fileAt: [Int32: (Int, Int)] = [:]
        init(count: Int) {}
        mutating func release() { names.release() }
    }

    func writeTSV(_ addresses: [UInt64], lines: Bool, state st: inout TSVState, into sink: inout ByteSink) {
        let dw = lines ? loadDwarf() : nil
        let ix = table.lookupIndex
        for a in addresses {
            if a == UInt64.max { sink.append(63); sink.append(63) } else { sink.appendHex(a) }
            sink.append(9)
            if let i = table.index(containing: a) {
                table.withName(at: i) { sink.append($0) }
                sink.append(9)
                sink.appendHex(a &- ix.starts[i])
            } else {
                sink.append(63); sink.append(63); sink.append(9); sink.append(63); sink.append(63)
            }
            sink.append(9)
            if let dw, let (f, l, _) = dw.rawLocation(for: a) {
                let (at, len): (Int, Int)
                if let known = st.fileAt[f] { (at, len) = known } else {
                    at = st.names.count
                    var n = dw.fileName(f)
                    n.withUTF8 { st.names.append($0) }
                    len = st.names.count - at
                    st.fileAt[f] = (at, len)
                }
                sink.append(st.names.base + at, count: len)
                sink.append(9)
                sink.appendDecimal(Int(l))
            } else {
                sink.append(63); sink.append(63); sink.append(9); sink.append(48)
            }
            sink.append(10)
        }
    }

    /// Streams the TSV: reads addresses from `input` (one per line), writes their rows to `output` as it
    /// goes, in bounded memory. Returns notes about lines that were not addresses.
    public func streamTSV(from input: Int32, to output: Int32, lines: Bool) -> [String] {
        var state = TSVState(count: table.count)
        defer { state.release() }
        var sink = ByteSink(capacity: 1 << 20)
        defer { sink.release() }
        let capacity = 1 << 18
        let buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buf.deallocate() }
        var held = 0  // bytes of an unfinished line at the front of `buf`
        var addrs: [UInt64] = []
        addrs.reserveCapacity(capacity / 8)
        var bad: [String] = []
        var lineBase = 0
        func flush() {
            var done = 0
            while done < sink.count {
                let n = write(output, sink.base + done, sink.count - done)
                if n <= 0 { break }
                done += n
            }
            sink.reset()
        }
        while true {
            let n = read(input, buf + held, capacity - held)
            if n < 0 && errno == EINTR { continue }
            let total = held + max(n, 0)
            // Hand over whole lines only; at the end of input (or a line longer than the buffer), all of it.
            var end = total
            if n > 0 {
                while end > 0, buf[end - 1] != 10 { end -= 1 }
                if end == 0 {
                    if total < capacity { held = total; continue }  // no whole line yet
                    end = total  // a line longer than the buffer is no address: parse it as it stands
                }
            }
            addrs.removeAll(keepingCapacity: true)
            lineBase += Self.parseAddressLines(UnsafeBufferPointer(start: buf, count: end), firstLine: lineBase,
                                               into: &addrs, bad: &bad)
            writeTSV(addrs, lines: lines, state: &state, into: &sink)
            if sink.count >= 1 << 19 { flush() }
            held = total - end
            if held > 0 { memmove(buf, buf + end, held) }
            if n <= 0 { break }
        }
        flush()
        return bad
    }

    /// Parses one hex address per line of `bytes` (`0x` optional, blank lines skipped); a line that is not
    /// an address yields `UInt64.max` in its place and a note "line N: …".
    public static func parseAddresses(_ bytes: [UInt8]) -> (addresses: [UInt64], bad: [String]) {
        var out: [UInt64] = [], bad: [String] = []
        out.reserveCapacity(bytes.count / 12)
        bytes.withUnsafeBufferPointer { _ = parseAddressLines($0, firstLine: 0, into: &out, bad: &bad) }
        return (out, bad)
    }

    /// Hex digit values by byte; 255 for anything else.
    private static let hexValues: [UInt8] = (0..<256).map { c -> UInt8 in
        switch c {
        case 48...57: UInt8(c - 48)
        case 97...102: UInt8(c - 87)
        case 65...70: UInt8(c - 55)
        default: 255
        }
    }

    /// `parseAddresses` over plain memory, appending to `out`, with line numbers counted from `firstLine`
    /// (at most 10 notes kept in `bad`); returns how many lines it saw. One pass, no bounds checks.
    static func parseAddressLines(_ bytes: UnsafeBufferPointer<UInt8>, firstLine: Int, into out: inout [UInt64],
                                  bad: inout [String]) -> Int {
        guard let b = bytes.baseAddress else { return 0 }
        let n = bytes.count
        return hexValues.withUnsafeBufferPointer { hv -> Int in
            @inline(__always) func blank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 }
            var i = 0, lineNo = firstLine
            while i < n {
                lineNo += 1
                var s = i
                while s < n, blank(b[s]) { s += 1 }
                if s == n || b[s] == 10 { i = s + 1; continue }  // a blank line
                if s + 1 < n, b[s] == 48, b[s + 1] | 0x20 == 120 { s += 2 }
                var v: UInt64 = 0, k = s
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
                        let text = String(decoding: UnsafeBufferPointer(start: b + s, count: min(t, s + 40) - s), as: UTF8.self)
                        bad.append("line \(lineNo): '\(text)' is not a hexadecimal address")
                    }
                }
                i = e + 1
            }
            return lineNo - firstLine
        }
    }
}

/// A growable byte buffer in plain memory for the hot output loops (no bounds checks or reference
/// counting per byte); `release()` frees it.
struct ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    mutating func release() { base.deallocate() }

    /// Empties the buffer, keeping its memory.
    mutating func reset() { count = 0 }

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if count + n <= capacity { return }
        var c = capacity * 2
        while c < count + n { c *= 2 }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = c
    }

    @inline(__always)
    mutating func append(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    mutating func append(_ p: UnsafePointer<UInt8>, count n: Int) {
        reserve(n)
        (base + count).update(from: p, count: n)
        count += n
    }

    mutating func append(_ buf: UnsafeBufferPointer<UInt8>) {
        guard let p = buf.baseAddress else { return }
        append(p, count: buf.count)
    }

    /// `0x` and lower-case hex digits, 16 digits at a time without a loop per digit.
    @inline(__always)
    mutating func appendHex(_ v: UInt64) {
        reserve(18)
        let p = base + count
        p[0] = 48; p[1] = 120
        let digits = v == 0 ? 1 : (67 - v.leadingZeroBitCount) >> 2
        let d = UnsafeMutableRawPointer(p + 2)
        d.storeBytes(of: Self.hexBytes(UInt32(truncatingIfNeeded: v >> 32)), as: UInt64.self)
        (d + 8).storeBytes(of: Self.hexBytes(UInt32(truncatingIfNeeded: v)), as: UInt64.self)
        if digits < 16 { memmove(d, d + (16 - digits), digits) }
        count += digits + 2
    }

    /// The 8 hex digits of `x` as ASCII bytes, most significant first in memory: each nibble is spread into
    /// its own byte, then `'0'` is added, and `'a' - '0' - 10` more where the nibble is 10 or above.
    @inline(__always)
    static func hexBytes(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F  // byte k holds nibble k (least significant first)
        let letters = ((v &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        v = v &+ 0x3030_3030_3030_3030 &+ letters &* 39
        return v.bigEndian  // stored, nibble 7 comes first in memory
    }

    mutating func appendDecimal(_ v: Int) {
        reserve(21)
        if v < 0 { base[count] = 45; count += 1; appendDecimal(-v); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { d[n] = UInt8(48 + x % 10); x /= 10; n += 1 } while x > 0
            for k in 0..<n { base[count + k] = d[n - 1 - k] }
        }
        count += n
    }

    func bytes() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
