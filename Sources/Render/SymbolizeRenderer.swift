import Profile
import SymbolMap

/// Renders `xprof symbolize` results as addr2line-like TSV or JSON.
public enum SymbolizeRenderer {
    /// `tsv`: a line per address (address, function, offset in it, file, line; with inlines one line per frame,
    /// marked `inlined`/`function`, `??` where unknown); `json`: an array with an object per address.
    public enum Format: String, CaseIterable { case tsv, json }

    /// Parses `0x1234`, `1234` or `ffffffff81000000` (hex).
    public static func parseAddress(_ s: Substring) -> UInt64? {
        let t = s.hasPrefix("0x") || s.hasPrefix("0X") ? s.dropFirst(2) : s
        guard !t.isEmpty, t.count <= 16 else { return nil }
        return UInt64(t, radix: 16)
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// With `demangle`, C++ names as `addr2line -C` (without parameter lists, as perf shows them).
    public static func render(_ results: [Symbolization], format: Format, lines: Bool, inlines: Bool, table: SymbolTable,
                              demangle: Bool = false) -> String {
        var cache: [String: String] = [:]
        let name: (String) -> String = { raw in
            guard demangle, Demangler.isMangled(raw) else { return raw }
            if let d = cache[raw] { return d }
            let d = Demangler.demangle(raw) ?? raw
            cache[raw] = d
            return d
        }
        return format == .json ? json(results, lines: lines, inlines: inlines, table: table, name: name)
            : tsv(results, inlines: inlines, name: name)
    }

    static func tsv(_ results: [Symbolization], inlines: Bool, name: (String) -> String) -> String {
        var out = ""
        out.reserveCapacity(results.count * 64)
        for r in results {
            let addr = r.address == UInt64.max ? "??" : hex(r.address)
            if inlines && r.frames.count > 1 {
                for f in r.frames.dropLast() {
                    out += addr + "\t" + name(f.function) + "\t??\t" + (f.location?.file ?? "??") + "\t" + String(f.location?.line ?? 0) + "\tinlined\n"
                }
                let outer = r.frames[r.frames.count - 1]
                out += addr + "\t" + name(r.symbol?.name ?? outer.function) + "\t" + (r.symbol.map { hex($0.offset) } ?? "??") + "\t"
                out += (outer.location?.file ?? "??") + "\t" + String(outer.location?.line ?? 0) + "\tfunction\n"
                continue
            }
            // In inlined code (--lines without --inlines): the line's own function, as addr2line -f names it.
            if r.frames.count > 1, let inner = r.frames.first {
                out += addr + "\t" + name(inner.function) + "\t??\t" + (r.location?.file ?? "??") + "\t" + String(r.location?.line ?? 0) + "\n"
                continue
            }
            // Without a symbol, the function DWARF names (as with inlined frames above).
            let function = r.symbol.map { name($0.name) } ?? (inlines ? r.frames.last.map { name($0.function) } : nil) ?? "??"
            out += addr + "\t" + function + "\t" + (r.symbol.map { hex($0.offset) } ?? "??") + "\t"
            out += (r.location?.file ?? "??") + "\t" + String(r.location?.line ?? 0)
            out += inlines ? "\tfunction\n" : "\n"
        }
        return out
    }

    static func json(_ results: [Symbolization], lines: Bool, inlines: Bool, table: SymbolTable, name: (String) -> String) -> String {
        let arr: [JSONValue] = results.map { r in
            var o: [String: JSONValue] = ["address": .of(r.address == UInt64.max ? "??" : hex(r.address))]
            if let s = r.symbol {
                o["symbol"] = .of(name(s.name))
                o["offset"] = .of(hex(s.offset))
                o["start"] = .of(hex(s.start))
                o["size"] = .of(s.size)
                if let m = s.module { o["module"] = .of(m) }
                let al = table.aliases(at: s.start)
                if al.count > 1 { o["aliases"] = .of(al.map(name)) }
            } else {
                o["symbol"] = .null
                o["miss"] = .of("\(r.miss.map { "\($0)" } ?? "outsideImage")")
            }
            if lines {
                // The function the line belongs to (addr2line -f's name): the innermost inlined one in
                // inlined code, else the symbol's.
                if r.frames.count > 1, let inner = r.frames.first {
                    o["function"] = .of(name(inner.function))
                } else {
                    o["function"] = r.symbol.map { .of(name($0.name)) } ?? r.frames.last.map { .of(name($0.function)) } ?? .null
                }
                o["file"] = r.location.map { .of($0.file) } ?? .null
                o["line"] = .of(r.location?.line ?? 0)
                o["column"] = .of(r.location?.column ?? 0)
            }
            if inlines {
                o["frames"] = .array(r.frames.map { f in
                    .object(["function": .of(name(f.function)), "file": f.location.map { .of($0.file) } ?? .null,
                             "line": .of(f.location?.line ?? 0), "column": .of(f.location?.column ?? 0), "inlined": .bool(f.inlined)])
                })
            }
            return .object(o)
        }
        return JSONValue.array(arr).rendered()
    }
}
