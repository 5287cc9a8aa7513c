extension SymbolTable {
    /// Parses `/proc/kallsyms` text (`ADDR TYPE NAME [MODULE]`), keeping function symbols (t, T, w, W).
    /// - Returns: the table and one warning per malformed line ("line N: …").
    public static func kallsyms(text: String) -> (SymbolTable, [String]) {
        parseNM(text: text, allowModules: true)
    }

    /// Parses a System.map (`ADDR TYPE NAME`, as `nm -n` prints), keeping function symbols.
    public static func systemMap(text: String) -> (SymbolTable, [String]) {
        parseNM(text: text, allowModules: false)
    }

    private static func parseNM(text: String, allowModules: Bool) -> (SymbolTable, [String]) {
        var entries: [Entry] = []
        var bad: [String] = []
        var lineNo = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if line.isEmpty { continue }
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 3, f[1].count == 1, let addr = UInt64(f[0], radix: 16) else {
                if bad.count < 1000 { bad.append("line \(lineNo): expected 'ADDRESS TYPE NAME', found '\(line.prefix(60))'") }
                continue
            }
            let type = f[1].first!
            guard "tTwW".contains(type) else { continue }
            var module = ""
            if f.count >= 4 {
                let m = f[3]
                if allowModules, m.hasPrefix("["), m.hasSuffix("]") {
                    module = String(m.dropFirst().dropLast())
                } else if !allowModules || !m.hasPrefix("[") {
                    if bad.count < 1000 { bad.append("line \(lineNo): unexpected fourth field '\(m.prefix(40))'") }
                    continue
                }
            }
            entries.append(Entry(address: addr, size: 0, name: String(f[2]), isGlobal: type.isUppercase, module: module))
        }
        return (SymbolTable(entries: entries), bad)
    }
}
