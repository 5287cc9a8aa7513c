#if canImport(Glibc)
import Glibc
#endif

extension SymbolTable {
    /// Parses `/proc/kallsyms` text (`ADDR TYPE NAME [MODULE]`), keeping function symbols (t, T, w, W).
    /// - Returns: the table and one warning per malformed line ("line N: …").
    public static func kallsyms(text: String) -> (SymbolTable, [String]) {
        parseNM(bytes: Array(text.utf8), allowModules: true)
    }

    /// `kallsyms(text:)` on the file's bytes, as read (no string of the whole file is made). The table keeps
    /// the bytes: names are used where they stand.
    public static func kallsyms(bytes: [UInt8]) -> (SymbolTable, [String]) {
        parseNM(bytes: bytes, allowModules: true)
    }

    /// `kallsyms(text:)` on a regular file (such as perf's build-id cache copy), read in one piece; nil when
    /// it cannot be opened or read.
    public static func kallsyms(mapping path: String) -> (SymbolTable, [String])? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return nil }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        // The table keeps the mapping: its names are read where they stand.
        return parse(NameStorage(mapping: p, count: size), allowModules: true)
    }

    /// Parses a System.map (`ADDR TYPE NAME`, as `nm -n` prints), keeping function symbols.
    public static func systemMap(text: String) -> (SymbolTable, [String]) {
        parseNM(bytes: Array(text.utf8), allowModules: false)
    }

    /// Parses `nm`-style lines (this runs on 100,000+ line kallsyms dumps per report). The table adopts
    /// `bytes` as its name storage: no name is copied.
    private static func parseNM(bytes all: [UInt8], allowModules: Bool) -> (SymbolTable, [String]) {
        parse(NameStorage(array: all), allowModules: allowModules)
    }

    private static func parse(_ names: NameStorage, allowModules: Bool) -> (SymbolTable, [String]) {
        var builder = Builder(capacity: names.count / 40, names: names)
        let bad = names.withBytes { parseNM(bytes: $0, allowModules: allowModules, into: &builder) }
        return (SymbolTable(builder: builder), bad)
    }

    private static func parseNM(bytes b: UnsafeBufferPointer<UInt8>, allowModules: Bool, into builder: inout Builder) -> [String] {
        var bad: [String] = []
        var lineNo = 0
        var i = 0
        let n = b.count
        // kallsyms lists each module's symbols together: the last module's bytes and id are reused.
        var lastModule: (start: Int, end: Int, id: Int32) = (0, 0, 0)
        guard let base = b.baseAddress else { return bad }
        hexDigitValues.withUnsafeBufferPointer { hexDigit in
        while i < n {
            lineNo += 1
            let lineStart = i
            // The plain line of a kallsyms dump or System.map ("ffffffff81000000 T _stext\n", no module) in one
            // pass: the address 8 digits at a time, the name up to the newline.
            if n - i > 19, b[i + 16] == 32, b[i + 18] == 32, b[i + 19] > 32 {
                let (hi, k1) = Symbolizer.hex8(base + i), (lo, k2) = Symbolizer.hex8(base + i + 8)
                if k1 == 8 && k2 == 8 {
                    // The name runs to the first byte ≤ ' ' (newline, tab before a module, …): 8 bytes at a
                    // time (a byte below 0x21 sets its high bit in `below`; the lowest set one is exact).
                    var e = i + 19
                    while e + 8 <= n {
                        let x = UInt64(littleEndian: UnsafeRawPointer(base + e).loadUnaligned(as: UInt64.self))
                        let below = (x &- 0x2121_2121_2121_2121) & ~x & 0x8080_8080_8080_8080
                        if below != 0 { e += below.trailingZeroBitCount >> 3; break }
                        e += 8
                    }
                    while e < n, b[e] > 32 { e += 1 }
                    if e == n || b[e] == 10 {
                        let type = b[i + 17]
                        if type == 116 || type == 84 || type == 119 || type == 87 {
                            builder.add(address: hi << 32 | lo, size: 0, nameAt: i + 19, length: e - i - 19,
                                        isGlobal: type == 84, isWeak: type == 87 || type == 119)
                        }
                        i = e + 1
                        continue
                    }
                }
            }
            let lineEnd = memchr(base + i, 10, n - i).map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base } ?? n
            i = lineEnd + 1
            if lineEnd == lineStart { continue }
            // The usual line, as the kernel writes it: 16 hex digits, a space, the type, a space, the name, and
            // for modules a tab and `[module]`. Anything else takes the general path below.
            if lineEnd - lineStart > 19, b[lineStart + 16] == 32, b[lineStart + 18] == 32, b[lineStart + 19] > 32 {
                var addr: UInt64 = 0
                var hex = true
                for k in lineStart..<(lineStart + 16) {
                    let d = hexDigit[Int(b[k])]
                    if d > 15 { hex = false; break }
                    addr = addr << 4 | UInt64(d)
                }
                let type = b[lineStart + 17]
                let isText = type == 116 || type == 84 || type == 119 || type == 87
                var e = lineStart + 19
                while e < lineEnd, b[e] > 32 { e += 1 }
                if hex && !isText && (e == lineEnd || b[e] == 9) { continue }  // data, absolute, debugging
                if hex && e == lineEnd {
                    builder.add(address: addr, size: 0, nameAt: lineStart + 19, length: e - lineStart - 19,
                                isGlobal: type == 84, isWeak: type == 87 || type == 119)
                    continue
                }
                if hex && allowModules, b[e] == 9, lineEnd - e >= 4, b[e + 1] == 91, b[lineEnd - 1] == 93,
                   !UnsafeBufferPointer(rebasing: b[(e + 1)..<lineEnd]).contains(where: { $0 <= 32 }) {
                    let name = UnsafeBufferPointer(rebasing: b[(e + 2)..<(lineEnd - 1)])
                    let module: Int32
                    if lastModule.id != 0, name.elementsEqual(UnsafeBufferPointer(rebasing: b[lastModule.start..<lastModule.end])) {
                        module = lastModule.id
                    } else {
                        module = builder.module(String(decoding: name, as: UTF8.self))
                        lastModule = (e + 2, lineEnd - 1, module)
                    }
                    builder.add(address: addr, size: 0, nameAt: lineStart + 19, length: e - lineStart - 19,
                                isGlobal: type == 84, isWeak: type == 87 || type == 119, module: module)
                    continue
                }
            }
            // Split into up to 4 space/tab-separated fields (fixed slots: no allocation per line).
            var fields = FieldSlots()
            var p = lineStart
            while p < lineEnd, fields.count < 4 {
                while p < lineEnd, b[p] == 32 || b[p] == 9 || b[p] == 13 { p += 1 }
                if p >= lineEnd { break }
                let fs = p
                while p < lineEnd, b[p] != 32, b[p] != 9, b[p] != 13 { p += 1 }
                fields.append((fs, p))
            }
            func badLine(_ why: String) {
                if bad.count < 1000 {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: b[lineStart..<min(lineEnd, lineStart + 60)]), as: UTF8.self)
                    bad.append("line \(lineNo): \(why), found '\(text)'")
                }
            }
            guard fields.count >= 3, fields[1].1 - fields[1].0 == 1, fields[0].1 - fields[0].0 <= 16 else {
                badLine("expected 'ADDRESS TYPE NAME'")
                continue
            }
            var addr: UInt64 = 0
            var ok = true
            for k in fields[0].0..<fields[0].1 {
                let c = b[k]
                let v: UInt8
                switch c {
                case 48...57: v = c &- 48
                case 97...102: v = c &- 87
                case 65...70: v = c &- 55
                default: ok = false; v = 0
                }
                addr = addr << 4 | UInt64(v)
            }
            guard ok else { badLine("address is not hexadecimal"); continue }
            let type = b[fields[1].0]
            // t T w W: text symbols (functions); everything else is data, absolute or debugging.
            guard type == 116 || type == 84 || type == 119 || type == 87 else { continue }
            var module: Int32 = 0
            if fields.count == 4 {
                let (ms, me) = fields[3]
                guard allowModules, b[ms] == 91, b[me - 1] == 93, me - ms >= 2 else {
                    badLine("unexpected fourth field")
                    continue
                }
                let name = UnsafeBufferPointer(rebasing: b[(ms + 1)..<(me - 1)])
                if lastModule.id != 0, name.elementsEqual(UnsafeBufferPointer(rebasing: b[lastModule.start..<lastModule.end])) {
                    module = lastModule.id
                } else {
                    module = builder.module(String(decoding: name, as: UTF8.self))
                    lastModule = (ms + 1, me - 1, module)
                }
            }
            builder.add(address: addr, size: 0, nameAt: fields[2].0, length: fields[2].1 - fields[2].0,
                        isGlobal: type == 84, isWeak: type == 87 || type == 119, module: module)
        }
        }
        return bad
    }
}

/// Hex digit values by byte (either case); 255 for anything else. For the address parsers of text symbol
/// files and of `xprof symbolize` input.
let hexDigitValues: [UInt8] = (0..<256).map { c -> UInt8 in
    switch c {
    case 48...57: UInt8(c - 48)
    case 97...102: UInt8(c - 87)
    case 65...70: UInt8(c - 55)
    default: 255
    }
}

/// Up to four (start, end) byte ranges of one `nm`-style line.
private struct FieldSlots {
    private var slots: ((Int, Int), (Int, Int), (Int, Int), (Int, Int)) = ((0, 0), (0, 0), (0, 0), (0, 0))
    private(set) var count = 0

    mutating func append(_ f: (Int, Int)) {
        switch count {
        case 0: slots.0 = f
        case 1: slots.1 = f
        case 2: slots.2 = f
        default: slots.3 = f
        }
        count += 1
    }

    subscript(i: Int) -> (Int, Int) {
        switch i {
        case 0: slots.0
        case 1: slots.1
        case 2: slots.2
        default: slots.3
        }
    }
}
