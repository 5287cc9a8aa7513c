import Foundation
import Testing

/// `xprof symbolize --lines --inlines` against llvm-symbolizer on a dense sample of the text addresses (every third) of a gcc -O2 -g binary with
/// deep inlining (inline functions from two headers inlined into each other four levels deep, hot/cold split
/// functions with `DW_AT_ranges`), built by the test as DWARF 5, DWARF 4 and DWARF 5 with zlib-compressed
/// sections, DWARF 4 with the linker's zlib and DWARF 5 with the linker's zstd (when it makes them; libelf
/// 0.188 does not read them, xprof inflates them itself): the chain of (function, file, line) frames must agree on
/// at least 99.9 % of the addresses, and a second run with the same symbol cache must give the same
/// output without reading any DWARF (docs/ARCHITECTURE.md, "Line and inline index").
@Suite(.serialized) struct InlineChainAgreementTests {
    /// The fixture's sources: `inl.h` and `deep.h` with static inline helpers calling each other, and four
    /// units whose functions call them (and a cold path each, which gcc moves to `.text.unlikely`).
    static func writeSources(_ dir: URL) throws -> [String] {
        var inl = "#pragma once\nextern volatile int sink;\n"
        for i in 0..<40 {
            inl += "static inline __attribute__((always_inline)) int leaf_\(i)(int x) {\n  return x * \(i + 3) + (x >> \(i % 5 + 1));\n}\n"
        }
        var deep = "#pragma once\n#include \"inl.h\"\n"
        for i in 0..<40 { deep += "static inline int mid_\(i)(int x);\n" }
        for i in 0..<40 {
            deep += "static inline int mid_\(i)(int x) {\n  int r = 0;\n  for (int k = 0; k < x; k++)\n    r += leaf_\(i)(k) ^ leaf_\((i + 1) % 40)(r);\n  return r;\n}\n"
            deep += "static inline __attribute__((always_inline)) int top_\(i)(int x) {\n  if (x > 1000)\n    x = mid_\(i)(x - 1000);\n  return mid_\((i + 7) % 40)(x) + leaf_\(i)(x);\n}\n"
        }
        try inl.write(to: dir.appendingPathComponent("inl.h"), atomically: true, encoding: .utf8)
        try deep.write(to: dir.appendingPathComponent("deep.h"), atomically: true, encoding: .utf8)
        var units: [String] = []
        for u in 0..<4 {
            var src = "#include <stdlib.h>\n#include \"deep.h\"\n"
            if u == 0 { src += "volatile int sink;\n" }
            for f in 0..<60 {
                let i = (u * 60 + f) % 40
                src += "__attribute__((noinline)) int work_\(u)_\(f)(int x) {\n"
                src += "  if (__builtin_expect(x == \(12345 + f), 0)) {\n    sink = top_\((i + 3) % 40)(x);\n    abort();\n  }\n"
                src += "  int r = top_\(i)(x);\n  for (int k = 0; k < (x & 7); k++)\n    r += top_\((i + 1) % 40)(r + k);\n  sink = r;\n  return r;\n}\n"
            }
            let name = "unit\(u).c"
            try src.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            units.append(name)
        }
        return units
    }

    /// Builds the fixture with `flags` (added to `gcc -O2 -g -shared -fPIC`) in `dir`; its path.
    static func build(_ dir: URL, _ units: [String], flags: [String], name: String) throws -> String {
        let out = dir.appendingPathComponent(name).path
        let r = try XprofRunner.run("/usr/bin/gcc", ["-O2", "-g", "-shared", "-fPIC", "-o", out] + flags + units.map { dir.appendingPathComponent($0).path })
        try #require(r.status == 0, "gcc \(flags): \(r.stderr)")
        return out
    }

    /// Every third address inside the binary's sized text symbols (`nm -S`): a dense sample (every
    /// instruction of the fixture is a few bytes long), a third of the run time of every address.
    static func denseTextAddresses(_ path: String) throws -> [UInt64] {
        try SymbolizeOracleTests.nmFunctions(path).flatMap { f in stride(from: f.start, to: f.start + f.size, by: 3) }
    }

    /// Per address, xprof's chain from its TSV (rows up to and including the `function` row).
    static func xprofChains(_ tsv: String) -> [[String]] {
        var out: [[String]] = [], current: [String] = []
        for line in tsv.split(separator: "\n") {
            let c = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard c.count >= 6 else { continue }
            current.append("\(c[1]) \(c[3]):\(c[4])")
            if c[5] == "function" {
                out.append(current)
                current = []
            }
        }
        return out
    }

    /// Per address, llvm-symbolizer's chain (`function` then `file:line:column` per frame).
    static func llvmChains(_ text: String) -> [[String]] {
        SymbolizeOracleTests.llvmFrames(text).map { frames in frames.map { "\($0.0) \($0.1):\($0.2)" } }
    }

    /// Whether the linker compressed the debug sections with zstd (`readelf -t` says ZSTD): binutils built
    /// without libzstd accepts the option and writes them uncompressed.
    static func zstdCompressed(_ path: String) throws -> Bool {
        try XprofRunner.run("/usr/bin/readelf", ["-t", path]).stdout.contains("ZSTD")
    }

    @Test(arguments: [
        (name: "dwarf5", flags: ["-gdwarf-5"]),
        (name: "dwarf4", flags: ["-gdwarf-4"]),
        (name: "dwarf5-zlib", flags: ["-gdwarf-5", "-gz=zlib"]),
        (name: "dwarf4-zlib", flags: ["-gdwarf-4", "-Wl,--compress-debug-sections=zlib"]),
        (name: "dwarf5-zstd", flags: ["-gdwarf-5", "-Wl,--compress-debug-sections=zstd"]),
    ])
    func chainsAgreeWithLlvmSymbolizer(_ variant: (name: String, flags: [String])) throws {
        for tool in ["/usr/bin/gcc", "/usr/bin/llvm-symbolizer", "/usr/bin/readelf"] where !FileManager.default.isExecutableFile(atPath: tool) {
            if XprofRunner.underCI { Issue.record("\(tool) missing under CI=true (make deps installs it)") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let units = try Self.writeSources(dir)
        let so = try Self.build(dir, units, flags: variant.flags, name: "lib\(variant.name).so")
        let zstd = try Self.zstdCompressed(so)
        if variant.name.hasSuffix("zstd") && !zstd { return }  // the toolchain cannot
        if variant.name.hasSuffix("zlib") {
            #expect(try XprofRunner.run("/usr/bin/readelf", ["-t", so]).stdout.contains("ZLIB"), "the debug sections must be compressed")
        }
        let addresses = try Self.denseTextAddresses(so)
        #expect(addresses.count > 30_000, "the fixture has \(addresses.count) text addresses")
        let input = addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let cache = dir.appendingPathComponent("cache").path
        let env = ["XPROF_CACHE_DIR": cache, "XPROF_TIMINGS": "1"]
        let cold = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--inlines"], stdin: input, environment: env)
        #expect(cold.status == 0, "\(cold.stderr.suffix(2000))")
        // llvm-symbolizer 14 reads no zstd sections: for those, it reads the same link without compression
        // (the same code at the same addresses: nm must say so).
        var oracle = so
        if zstd {
            oracle = try Self.build(dir, units, flags: variant.flags.filter { !$0.contains("compress") }, name: "lib\(variant.name)-plain.so")
            let nm = try XprofRunner.run("/usr/bin/nm", ["-n", so]).stdout, plainNm = try XprofRunner.run("/usr/bin/nm", ["-n", oracle]).stdout
            try #require(nm == plainNm, "the uncompressed twin has other symbols")
        }
        let llvm = try XprofRunner.run("/usr/bin/llvm-symbolizer", ["--obj=\(oracle)", "--inlining"], stdin: input)
        let ours = Self.xprofChains(cold.stdout), theirs = Self.llvmChains(llvm.stdout)
        try #require(ours.count == addresses.count && theirs.count == addresses.count, "xprof \(ours.count), llvm \(theirs.count) of \(addresses.count)")
        var differ: [String] = []
        var inlined = 0, deep = 0
        for (k, (a, b)) in zip(ours, theirs).enumerated() {
            if a.count > 1 { inlined += 1 }
            if a.count > 3 { deep += 1 }
            if a != b { differ.append("0x\(String(addresses[k], radix: 16)): xprof \(a) llvm \(b)") }
        }
        let agreement = Double(addresses.count - differ.count) / Double(addresses.count)
        #expect(agreement >= 0.999, "\(differ.count) of \(addresses.count) chains differ: \(differ.prefix(5))")
        #expect(inlined > addresses.count / 2 && deep > 1000, "the fixture must inline deeply: \(inlined) inlined, \(deep) 4+ deep")
        // The second run: the same rows from the cache, no DWARF unit read.
        let warm = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--inlines"], stdin: input, environment: env)
        #expect(warm.status == 0 && warm.stdout == cold.stdout)
        #expect(cold.stderr.contains(" DWARF units read") && !cold.stderr.contains(", 0 DWARF units read"), "\(cold.stderr.suffix(500))")
        #expect(warm.stderr.contains(", 0 DWARF units read"), "\(warm.stderr.suffix(500))")
        // A cache that knows some of the addresses (those of every other 4 KB page), asked for all of them:
        // the rest is read, and the rows are those of a run without the cache.
        let partial = ["XPROF_CACHE_DIR": dir.appendingPathComponent("partial").path]
        let some = addresses.filter { ($0 >> 12) % 2 == 0 }.map { "0x" + String($0, radix: 16) }.joined(separator: "\n")
        let first = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--inlines"], stdin: some, environment: partial)
        #expect(first.status == 0)
        let all = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--inlines"], stdin: input, environment: partial)
        #expect(all.status == 0 && all.stdout == cold.stdout, "a cache of half the addresses, then all of them: other rows")
    }
}

/// `symbolize --lines` names each address as `addr2line -f` does: in inlined code by the inlined function
/// the line belongs to (llvm-symbolizer without inlining would name the outer function), else by the function
/// the symbol table gives (addr2line gives DWARF's name there: the same but for gcc's clone suffixes such as
/// `.cold`); and the same names through stdin, arguments, `-C` and JSON.
@Suite struct LinesNamingTests {
    @Test func linesNameTheInlinedFunctionAsAddr2line() throws {
        for tool in ["/usr/bin/gcc", "/usr/bin/addr2line"] where !FileManager.default.isExecutableFile(atPath: tool) {
            if XprofRunner.underCI { Issue.record("\(tool) missing under CI=true (make deps installs it)") }
            try Test.cancel("skipped: \(tool) not available here")
        }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let units = try InlineChainAgreementTests.writeSources(dir)
        let so = try InlineChainAgreementTests.build(dir, units, flags: ["-gdwarf-5"], name: "liblines.so")
        let addresses = try InlineChainAgreementTests.denseTextAddresses(so).enumerated().filter { $0.offset % 4 == 0 }.map(\.element)
        #expect(addresses.count > 5_000, "the fixture has \(addresses.count) addresses")
        let input = addresses.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let env = ["XPROF_CACHE_DIR": dir.appendingPathComponent("cache").path]
        let x = try XprofRunner.xprof(["symbolize", "--image", so, "--lines"], stdin: input, environment: env)
        #expect(x.status == 0, "\(x.stderr)")
        let a2l = try XprofRunner.run("/usr/bin/addr2line", ["-f", "-e", so], stdin: input)
        #expect(a2l.status == 0, "\(a2l.stderr)")
        // addr2line: a function line, then FILE:LINE (maybe " (discriminator N)").
        let al = a2l.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let rows = x.stdout.split(separator: "\n")
        try #require(rows.count == addresses.count && al.count >= 2 * addresses.count, "xprof \(rows.count) rows, addr2line \(al.count) lines")
        var differ: [String] = [], inlined = 0
        for (k, row) in rows.enumerated() {
            let c = row.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let place = al[2 * k + 1].split(separator: " ").first.map(String.init) ?? ""
            // Outside inlined code xprof names the symbol table's function, addr2line DWARF's: they differ only
            // by gcc's clone suffixes (`work.cold` is DWARF's `work`), compared without them.
            let name = c[2] == "??" ? c[1] : String(c[1].split(separator: ".").first ?? "")
            let theirs = "\(al[2 * k]) \(place)", ours = "\(name) \(c[3]):\(c[4])"
            if c[2] == "??" { inlined += 1 }
            if ours != theirs { differ.append("0x\(String(addresses[k], radix: 16)): xprof \(ours) addr2line \(theirs)") }
        }
        #expect(Double(differ.count) <= 0.001 * Double(addresses.count), "\(differ.count) of \(addresses.count) differ: \(differ.prefix(5))")
        #expect(inlined > addresses.count / 4, "addresses in inlined code named by their inlined function: \(inlined)")
        // The same rows from arguments and with -C (a C library: nothing to demangle); JSON's "function".
        let some = Array(addresses.prefix(300)).map { "0x" + String($0, radix: 16) }
        let args = try XprofRunner.xprof(["symbolize", "--image", so, "--lines"] + some, environment: env)
        #expect(args.stdout == rows.prefix(300).joined(separator: "\n") + "\n")
        let demangled = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "-C"] + some, environment: env)
        #expect(demangled.stdout == args.stdout)
        let json = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--format", "json"] + some, environment: env)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["function"] as? String ?? "" } == rows.prefix(300).map { String($0.split(separator: "\t")[1]) })
    }
}

/// Damaged DWARF: bytes of the debug sections overwritten (with 0xff, with zeros) or a compressed section cut
/// short; `symbolize --lines --inlines` must end with rows (what could be read, the rest as `??`) or a clear
/// error (65 naming the file), never a crash.
@Suite struct DamagedDwarfTests {
    /// The file offset and size of `section` in `path` (`readelf -S -W`).
    static func section(_ name: String, of path: String) throws -> (offset: Int, size: Int)? {
        for line in try XprofRunner.run("/usr/bin/readelf", ["-S", "-W", path]).stdout.split(separator: "\n") {
            let f = line.replacingOccurrences(of: "[ ", with: "[").split(separator: " ")
            if let k = f.firstIndex(where: { $0 == name }), k + 4 < f.count, let off = Int(f[k + 3], radix: 16), let size = Int(f[k + 4], radix: 16) {
                return (off, size)
            }
        }
        return nil
    }

    @Test(arguments: [
        (flags: ["-gdwarf-5"], section: ".debug_info", fill: UInt8(0xff)),
        (flags: ["-gdwarf-5"], section: ".debug_info", fill: UInt8(0)),
        (flags: ["-gdwarf-5"], section: ".debug_abbrev", fill: UInt8(0xff)),
        (flags: ["-gdwarf-5"], section: ".debug_line", fill: UInt8(0xff)),
        (flags: ["-gdwarf-5"], section: ".debug_rnglists", fill: UInt8(0xff)),
        (flags: ["-gdwarf-4"], section: ".debug_ranges", fill: UInt8(0xff)),
        (flags: ["-gdwarf-5", "-gz=zlib"], section: ".debug_info", fill: UInt8(0x55)),
        (flags: ["-gdwarf-5", "-Wl,--compress-debug-sections=zstd"], section: ".debug_info", fill: UInt8(0x55)),
    ])
    func damagedSectionsGiveRowsOrAClearError(_ c: (flags: [String], section: String, fill: UInt8)) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") && FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf") else {
            if XprofRunner.underCI { Issue.record("gcc or readelf missing under CI=true") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let units = try InlineChainAgreementTests.writeSources(dir)
        let so = try InlineChainAgreementTests.build(dir, units, flags: c.flags, name: "lib.so")
        guard let (offset, size) = try Self.section(c.section, of: so), size > 64 else { return }  // (zstd: the toolchain cannot)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: so))
        // Three stretches: near the start, the middle and the end of the section.
        for at in [offset + 12, offset + size / 2, offset + size - 40] {
            for k in 0..<24 where at + k < offset + size { bytes[at + k] = c.fill }
        }
        try bytes.write(to: URL(fileURLWithPath: so))
        let addresses = try InlineChainAgreementTests.denseTextAddresses(so).enumerated().filter { $0.offset % 7 == 0 }.map { "0x" + String($0.element, radix: 16) }
        let r = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--inlines"], stdin: addresses.joined(separator: "\n"),
                                      environment: ["XPROF_CACHE_DIR": dir.appendingPathComponent("cache").path])
        #expect(r.status == 0 || r.status == 65, "status \(r.status): \(r.stderr.suffix(800))")
        if r.status == 0 {
            #expect(InlineChainAgreementTests.xprofChains(r.stdout).count == addresses.count, "one chain per address")
        } else {
            #expect(r.stderr.contains(so), "the error names the file: \(r.stderr)")
        }
    }
}
