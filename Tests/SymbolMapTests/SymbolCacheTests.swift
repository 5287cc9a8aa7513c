import Foundation
import Testing
@testable import SymbolMap

/// The on-disk symbol cache: a table read back from an entry is the table parsed from the file — every
/// symbol's start, end, name and module, every alias, every lookup — for a gcc-built program (aliases, weak
/// and static functions), the system's libc (`.dynsym` names with versions) and a kallsyms dump (modules);
/// a changed file or a damaged entry is a miss, never a wrong table.
@Suite struct SymbolCacheTests {
    static func tempDir(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-\(name)-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A program with aliases, weak and static functions, and enough functions to span many buckets.
    static func program(in dir: URL) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else { return nil }
        var src = "#include <stdio.h>\n"
        for i in 0..<2000 { src += "static int local_\(i)(int x) { return x * \(i + 3) ^ (x >> 2); }\nint func_\(i)(int x) { return local_\(i)(x) + \(i); }\n" }
        src += "int target(int x) { return x + 1; }\n"
        src += "int alias_one(int) __attribute__((alias(\"target\")));\n"
        src += "int alias_two(int) __attribute__((weak, alias(\"target\")));\n"
        src += "__attribute__((weak)) int weak_fn(int x) { return x - 1; }\n"
        src += "int main(int argc, char **argv) { int r = 0; "
        for i in stride(from: 0, to: 2000, by: 97) { src += "r += func_\(i)(argc); " }
        src += "printf(\"%d\\n\", r + target(argc) + weak_fn(argc)); return 0; }\n"
        let c = dir.appendingPathComponent("p.c").path, exe = dir.appendingPathComponent("p").path
        try src.write(toFile: c, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        p.arguments = ["-O1", "-o", exe, c]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return exe
    }

    /// Whether two tables answer every question alike; the first difference otherwise.
    static func difference(_ a: SymbolTable, _ b: SymbolTable) -> String? {
        guard a.count == b.count else { return "count \(a.count) vs \(b.count)" }
        guard a.addressRange == b.addressRange else { return "range \(String(describing: a.addressRange)) vs \(String(describing: b.addressRange))" }
        guard a.hasModules == b.hasModules else { return "modules" }
        for i in 0..<a.count {
            let s = a.start(at: i)
            if s != b.start(at: i) || a.name(at: i) != b.name(at: i) || a.module(at: i) != b.module(at: i) {
                return "symbol \(i): \(a.name(at: i)) at \(s) vs \(b.name(at: i)) at \(b.start(at: i))"
            }
            for addr in [s, s &+ 1, s &+ 7] where a.lookup(addr) != b.lookup(addr) {
                return "lookup \(String(addr, radix: 16)): \(String(describing: a.lookup(addr))) vs \(String(describing: b.lookup(addr)))"
            }
            if a.aliases(at: s) != b.aliases(at: s) { return "aliases at \(String(s, radix: 16)): \(a.aliases(at: s)) vs \(b.aliases(at: s))" }
        }
        return nil
    }

    static func entries(_ cache: SymbolCache) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache.directory)) ?? []).filter { $0.hasSuffix(".xsym") }
    }

    @Test func cachedImagesEqualParsedOnes() throws {
        let dir = try Self.tempDir("symcache")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = SymbolCache(directory: dir.appendingPathComponent("cache/symbols").path)
        var files = ["/usr/lib/x86_64-linux-gnu/libc.so.6"].filter { FileManager.default.fileExists(atPath: $0) }
        if let exe = try Self.program(in: dir) { files.insert(exe, at: 0) }
        #expect(!files.isEmpty)
        for path in files {
            let parsed = try ElfImage(path: path)
            let first = try cache.elfImage(at: path)   // parsed, entry written
            let second = try cache.elfImage(at: path)  // from the entry
            for img in [first, second] {
                #expect(img.path == parsed.path && img.buildID == parsed.buildID && img.symbolSection == parsed.symbolSection)
                #expect(img.loadSegments == parsed.loadSegments && img.isPositionIndependent == parsed.isPositionIndependent)
                #expect(img.debugLink == parsed.debugLink && img.hasDebugLines == parsed.hasDebugLines)
                let diff = Self.difference(parsed.symbols, img.symbols)
                #expect(diff == nil, "\(path): \(diff ?? "")")
            }
            #expect(parsed.symbols.count > 100, "\(path)")
        }
        #expect(Self.entries(cache).count == files.count)
        if let exe = files.first, exe.hasPrefix(dir.path) {
            let img = try cache.elfImage(at: exe)
            #expect(img.symbols.aliases(at: img.symbols.symbol(named: "target")!.start).sorted() == ["alias_one", "alias_two", "target"])
        }
    }

    @Test func cachedKallsymsEqualParsedOnes() throws {
        let dir = try Self.tempDir("symcache-k")
        defer { try? FileManager.default.removeItem(at: dir) }
        // /proc files have no size: read to the end.
        let text = try #require(FileHandle(forReadingAtPath: "/proc/kallsyms")).readToEnd() ?? Data()
        let path = dir.appendingPathComponent("kallsyms").path
        try text.write(to: URL(fileURLWithPath: path))
        let cache = SymbolCache(directory: dir.appendingPathComponent("symbols").path)
        let parsed = try #require(SymbolTable.kallsyms(mapping: path)?.0)
        #expect(parsed.count > 1000, "kallsyms is readable (root) and has addresses")
        let first = try #require(cache.kallsyms(at: path)), second = try #require(cache.kallsyms(at: path))
        #expect(Self.difference(parsed, first) == nil)
        let diff = Self.difference(parsed, second)
        #expect(diff == nil, "\(diff ?? "")")
    }

    /// A file changed after its entry was written (rewritten in place with the same size and times put back,
    /// or replaced), and an entry damaged on disk, are misses: the table comes from the file as it is now.
    @Test func changedFilesAndDamagedEntriesMiss() throws {
        let dir = try Self.tempDir("symcache-miss")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let exe = try Self.program(in: dir) else { return }
        let cache = SymbolCache(directory: dir.appendingPathComponent("symbols").path)
        _ = try cache.elfImage(at: exe)
        let entry = try #require(Self.entries(cache).first)
        // Damage: one payload byte flipped (near the end: a name) — the checksum fails, the file is parsed again.
        let entryPath = cache.directory + "/" + entry
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entryPath))
        bytes[bytes.count - 100] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: entryPath))
        #expect(Self.difference(try ElfImage(path: exe).symbols, try cache.elfImage(at: exe).symbols) == nil)
        // Rewritten and renamed symbol, same size, modification time put back: the change time still differs.
        var attrs = try FileManager.default.attributesOfItem(atPath: exe)
        var image = try Data(contentsOf: URL(fileURLWithPath: exe))
        let needle = Data("weak_fn".utf8), range = try #require(image.range(of: needle))
        image.replaceSubrange(range, with: Data("weak_gn".utf8))
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: exe))
        try fh.write(contentsOf: image)
        try fh.close()
        attrs = [.modificationDate: attrs[.modificationDate]!]
        try FileManager.default.setAttributes(attrs, ofItemAtPath: exe)
        let now = try cache.elfImage(at: exe)
        #expect(now.symbols.symbol(named: "weak_gn") != nil && now.symbols.symbol(named: "weak_fn") == nil)
        #expect(Self.difference(try ElfImage(path: exe).symbols, now.symbols) == nil)
    }

    /// Past its limit the folder loses its least recently used entries.
    @Test func oldEntriesGoPastTheLimit() throws {
        let dir = try Self.tempDir("symcache-trim")
        defer { try? FileManager.default.removeItem(at: dir) }
        let libs = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libz.so.1"]
            .filter { FileManager.default.fileExists(atPath: $0) }
        guard libs.count == 3 else { return }
        let probe = SymbolCache(directory: dir.appendingPathComponent("probe").path)
        for l in libs { _ = try probe.elfImage(at: l) }
        let sizes = try Self.entries(probe).map { try FileManager.default.attributesOfItem(atPath: probe.directory + "/" + $0)[.size] as! Int }
        // Room for all but the smallest-but-one: adding the third must push out the oldest.
        let cache = SymbolCache(directory: dir.appendingPathComponent("symbols").path, limitBytes: sizes.reduce(0, +) - 1)
        for l in libs { _ = try cache.elfImage(at: l); usleep(20_000) }
        #expect(Self.entries(cache).count == 2)
    }
}
