import SampleIO

/// Finds and reads the source files DWARF names, once each: through the `--source-dir` rules first, then
/// under `--symfs`, then at the path itself.
struct SourceReader {
    let rules: [SourcePathRule]
    let symfs: String?
    /// Lines of each file by DWARF path (nil: not found), and where each was found.
    private var cache: [String: SourceText?] = [:]

    struct SourceText {
        var path: String
        var lines: [String]
    }

    init(rules: [SourcePathRule], symfs: String?) {
        self.rules = rules
        self.symfs = symfs
    }

    /// The paths to try for `path`, in order.
    func candidates(for path: String) -> [String] {
        var out: [String] = []
        func add(_ p: String) { if !out.contains(p) { out.append(p) } }
        let parts = path.split(separator: "/").map(String.init)
        for rule in rules {
            if let from = rule.from {
                let prefix = from.hasSuffix("/") ? String(from.dropLast()) : from
                if path == prefix || path.hasPrefix(prefix + "/") { add(rule.to + path.dropFirst(prefix.count)) }
            } else {
                let dir = rule.to.hasSuffix("/") ? String(rule.to.dropLast()) : rule.to
                // The whole path under DIR, then its trailing components, the base name last.
                add(dir + (path.hasPrefix("/") ? "" : "/") + path)
                for k in stride(from: parts.count - 1, through: 1, by: -1) {
                    add(dir + "/" + parts[(parts.count - k)...].joined(separator: "/"))
                }
            }
        }
        if let symfs, path.hasPrefix("/") { add(symfs + path) }
        add(path)
        return out
    }

    /// The lines of the file DWARF calls `path` (without their line ends), nil when no candidate is readable.
    mutating func lines(of path: String) -> SourceText? {
        if let c = cache[path] { return c }
        var found: SourceText? = nil
        for c in candidates(for: path) where !FileBytes.isDirectory(c) {
            guard let bytes = try? FileBytes.read(c) else { continue }
            found = SourceText(path: c, lines: Self.split(bytes))
            break
        }
        cache[path] = found
        return found
    }

    /// Lines split at `\n` (a `\r` before it dropped); no empty last line for a final newline.
    static func split(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            var end = i
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            out.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { out.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return out
    }

    /// What to say when `path` was not found: where xprof looked and how to point it at the file.
    func missingNote(for path: String) -> String {
        let tried = candidates(for: path)
        let shownTried = tried.prefix(4).joined(separator: ", ") + (tried.count > 4 ? ", …" : "")
        var dir = path
        if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) }
        if dir.isEmpty || dir == path { dir = "OLD" }
        return "source file \(path) not found (tried \(shownTried)); showing line numbers and counts only. "
            + "Point xprof at it with --source-dir DIR (a folder holding it, or its tree) or --source-dir \(dir)=NEWDIR"
    }
}
