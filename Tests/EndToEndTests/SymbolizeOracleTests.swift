import Foundation
import Testing

/// `xprof symbolize` against tools nobody here wrote: binutils addr2line on Debian's real xen-syms,
/// llvm-symbolizer on a gcc -O2 -g fixture with thousands of functions, statics and inlined helpers.
@Suite(.serialized) struct SymbolizeOracleTests {
    /// Deterministic pseudo-random numbers (xorshift).
    struct Rng {
        var s: UInt64
        mutating func next(_ n: UInt64) -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s % max(n, 1) }
    }

    /// Text functions with sizes, from `nm -S -n --defined-only`.
    static func nmFunctions(_ path: String) throws -> [(start: UInt64, size: UInt64, name: String)] {
        let r = try XprofRunner.run("/usr/bin/nm", ["-S", "-n", "--defined-only", path])
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 4, "tT".contains(f[2]), let a = UInt64(f[0], radix: 16), let s = UInt64(f[1], radix: 16), s > 0 else { return nil }
            return (a, s, String(f[3]))
        }
    }

    static func tsvRows(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func xenSymsNamesAgreeWithAddr2line() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        let funcs = try Self.nmFunctions(xen)
        #expect(funcs.count > 3000)
        var rng = Rng(s: 0x1234_5678)
        var addrs: [UInt64] = []
        for _ in 0..<4000 {
            let f = funcs[Int(rng.next(UInt64(funcs.count)))]
            addrs.append(f.start + rng.next(f.size))
        }
        let input = addrs.map { String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let ours = try XprofRunner.xprof(["symbolize", "--image", xen], stdin: input)
        #expect(ours.status == 0, "\(ours.stderr)")
        let rows = Self.tsvRows(ours.stdout)
        #expect(rows.count == addrs.count)
        let theirs = try XprofRunner.run("/usr/bin/addr2line", ["-f", "-e", xen], stdin: input)
        let lines = theirs.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        // Every name's address (zero-size symbols included), for telling aliases apart from real differences.
        var addressOf: [String: UInt64] = [:]
        for line in try XprofRunner.run("/usr/bin/nm", ["-n", xen]).stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, let a = UInt64(f[0], radix: 16) { addressOf[String(f[2])] = a }
        }
        var differences: [String] = []
        for (i, a) in addrs.enumerated() where i < rows.count && 2 * i < lines.count {
            let name = String(lines[2 * i])
            if rows[i][1] != name {
                // addr2line reports the first symbol it meets among aliases at one address, xprof its
                // documented preference (perf's rule); both must then be names for the same address.
                let mine = addressOf[rows[i][1]], theirs = addressOf[name]
                if mine == nil || mine != theirs { differences.append("\(String(a, radix: 16)): xprof \(rows[i][1]) addr2line \(name)") }
            }
        }
        #expect(differences.isEmpty, "\(differences.count) of \(addrs.count) differ: \(differences.prefix(5))")
    }

    /// Inside every sized text symbol of xen-syms (nm -S), xprof names what addr2line names, or a sized function
    /// starting there — never one of the size-0 labels sharing a function's address (`_sinittext`,
    /// `__init_begin` at `setup_core_parking_option`), as addr2line and perf's choose_best_symbol prefer.
    @Test func xenSymsSizedFunctionsBeatLabelsAtTheirAddress() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        let funcs = try Self.nmFunctions(xen)
        var sizedAt: [UInt64: Set<String>] = [:]
        for f in funcs { sizedAt[f.start, default: []].insert(f.name) }
        let addrs = funcs.map { $0.start + $0.size / 2 } + [0xffff_82d0_403b_703f]
        let input = addrs.map { String($0, radix: 16) }.joined(separator: "\n") + "\n"
        let ours = try XprofRunner.xprof(["symbolize", "--image", xen], stdin: input)
        let rows = Self.tsvRows(ours.stdout)
        #expect(rows.count == addrs.count)
        let theirs = try XprofRunner.run("/usr/bin/addr2line", ["-f", "-e", xen], stdin: input)
        let lines = theirs.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        // Zero-size labels' addresses: where neither tool has a sized symbol (xen-syms' `_start`, `_stext`, `start`
        // before the multiboot headers, which are data), any label of that address is as good as another.
        var labelAt: [String: UInt64] = [:]
        for line in try XprofRunner.run("/usr/bin/nm", ["-n", xen]).stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, let a = UInt64(f[0], radix: 16) { labelAt[String(f[2])] = a }
        }
        var wrong: [String] = []
        for (i, f) in funcs.enumerated() where i < rows.count && 2 * i < lines.count {
            let mine = rows[i][1], a2l = String(lines[2 * i])
            let sameLabel = labelAt[mine] != nil && labelAt[mine] == labelAt[a2l] && sizedAt[labelAt[mine] ?? 0] == nil
            if mine != a2l && !sameLabel && !(sizedAt[f.start]?.contains(mine) ?? false) {
                wrong.append("\(String(addrs[i], radix: 16)): xprof \(mine), addr2line \(a2l)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(funcs.count): \(wrong.prefix(5))")
        #expect(rows.last?[1] == "setup_core_parking_option", "\(rows.last ?? [])")
    }

    /// Writes and compiles the DWARF fixture: 3 units × 600 × (global function + static noinline helper
    /// + always-inline helper), gcc -O2 -g, as a shared object.
    static func buildDwarfFixture(_ dir: URL) throws -> String {
        var objs: [String] = []
        for part in 0..<3 {
            var src = "#include <stdint.h>\n"
            for i in (part * 600)..<((part + 1) * 600) {
                src += "static inline __attribute__((always_inline)) int mix_\(i)(int x) { return x * \(i + 3) + (x >> 3); }\n"
                src += "static __attribute__((noinline)) int helper_\(i)(int x) {\n  int r = 0;\n  for (int i = 0; i < x; i++)\n    r += mix_\(i)(i) ^ r;\n  return r;\n}\n"
                src += "int func_\(i)(int x) {\n  return helper_\(i)(x + \(i)) + mix_\(i)(x);\n}\n"
            }
            let c = dir.appendingPathComponent("unit\(part).c")
            try src.write(to: c, atomically: true, encoding: .utf8)
            let o = dir.appendingPathComponent("unit\(part).o").path
            let r = try XprofRunner.run("/usr/bin/gcc", ["-O2", "-g", "-fPIC", "-c", c.path, "-o", o])
            #expect(r.status == 0, "\(r.stderr)")
            objs.append(o)
        }
        let so = dir.appendingPathComponent("libfixture.so").path
        let r = try XprofRunner.run("/usr/bin/gcc", ["-O2", "-g", "-shared", "-o", so] + objs)
        #expect(r.status == 0, "\(r.stderr)")
        return so
    }

    /// llvm-symbolizer output: per address, a list of (function, file, line, column) frames.
    static func llvmFrames(_ text: String) -> [[(String, String, Int, Int)]] {
        var out: [[(String, String, Int, Int)]] = []
        for block in text.components(separatedBy: "\n\n") where !block.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let ls = block.split(separator: "\n").map(String.init)
            var frames: [(String, String, Int, Int)] = []
            var k = 0
            while k + 1 < ls.count {
                let parts = ls[k + 1].split(separator: ":")
                let col = parts.count >= 3 ? Int(parts[parts.count - 1]) ?? 0 : 0
                let line = parts.count >= 2 ? Int(parts[parts.count - 2]) ?? 0 : 0
                let file = parts.count >= 3 ? parts[0..<(parts.count - 2)].joined(separator: ":") : String(parts.first ?? "??")
                frames.append((ls[k], file, line, col))
                k += 2
            }
            out.append(frames)
        }
        return out
    }

    @Test func dwarfFixtureAgreesWithLlvmSymbolizer() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/llvm-symbolizer") else {
            if XprofRunner.underCI { Issue.record("llvm-symbolizer missing under CI=true") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        let so = try Self.buildDwarfFixture(dir)
        let funcs = try Self.nmFunctions(so)
        #expect(funcs.count >= 3000, "the fixture must have thousands of functions, has \(funcs.count)")
        var rng = Rng(s: 42)
        var addrs: [UInt64] = []
        for _ in 0..<3000 {
            let f = funcs[Int(rng.next(UInt64(funcs.count)))]
            addrs.append(f.start + rng.next(f.size))
        }
        let input0x = addrs.map { "0x" + String($0, radix: 16) }.joined(separator: "\n") + "\n"
        // Names and lines (no inlining): function = the out-of-line function, line = the line-table row.
        let ours = try XprofRunner.xprof(["symbolize", "--image", so, "--lines", "--format", "json"], stdin: input0x)
        #expect(ours.status == 0, "\(ours.stderr)")
        let objs = try #require(try JSONSerialization.jsonObject(with: Data(ours.stdout.utf8)) as? [[String: Any]])
        let llvm = Self.llvmFrames(try XprofRunner.run("/usr/bin/llvm-symbolizer", ["--obj=\(so)", "--no-inlines"], stdin: input0x).stdout)
        #expect(objs.count == addrs.count && llvm.count == addrs.count)
        var bad: [String] = []
        for i in 0..<min(objs.count, llvm.count) {
            guard let f = llvm[i].first else { continue }
            let o = objs[i]
            if o["symbol"] as? String != f.0 || o["file"] as? String != f.1 || o["line"] as? Int != f.2 || o["column"] as? Int != f.3 {
                bad.append("\(o["address"] ?? ""): xprof \(o["symbol"] ?? "") \(o["file"] ?? ""):\(o["line"] ?? 0):\(o["column"] ?? 0) llvm \(f)")
            }
        }
        #expect(bad.isEmpty, "\(bad.count) of \(addrs.count) differ: \(bad.prefix(5))")
        // The TSV: the same file and line as the JSON rows, in input order, each named by the function its
        // line belongs to (JSON's "function": addr2line -f's name), which in inlined code is the inlined
        // function, without an offset.
        let tsv = try XprofRunner.xprof(["symbolize", "--image=\(so)", "--lines"], stdin: input0x)
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let rows = Self.tsvRows(tsv.stdout)
        #expect(rows.count == objs.count)
        var tsvBad: [String] = []
        for (r, o) in zip(rows, objs) {
            let function = o["function"] as? String ?? "??", inInlinedCode = function != o["symbol"] as? String
            let want = [o["address"] as? String ?? "??", function, inInlinedCode ? "??" : o["offset"] as? String ?? "??",
                        o["file"] as? String ?? "??", String(o["line"] as? Int ?? 0)]
            if r != want { tsvBad.append("tsv \(r) json \(want)") }
        }
        #expect(tsvBad.isEmpty, "\(tsvBad.count) of \(rows.count) differ: \(tsvBad.prefix(3))")
        // Inline chains.
        let inl = try XprofRunner.xprof(["symbolize", "--image", so, "--inlines", "--format", "json"], stdin: input0x)
        let iobjs = try #require(try JSONSerialization.jsonObject(with: Data(inl.stdout.utf8)) as? [[String: Any]])
        let llvmInl = Self.llvmFrames(try XprofRunner.run("/usr/bin/llvm-symbolizer", ["--obj=\(so)", "--inlining"], stdin: input0x).stdout)
        var badChains: [String] = []
        var inlinedSeen = 0
        for i in 0..<min(iobjs.count, llvmInl.count) {
            let frames = (iobjs[i]["frames"] as? [[String: Any]]) ?? []
            let mine = frames.map { ($0["function"] as? String ?? "", $0["file"] as? String ?? "??", $0["line"] as? Int ?? 0, $0["column"] as? Int ?? 0) }
            if mine.count > 1 { inlinedSeen += 1 }
            if mine.map(\.0) != llvmInl[i].map(\.0) || mine.map(\.2) != llvmInl[i].map(\.2) || mine.map(\.1) != llvmInl[i].map(\.1) {
                badChains.append("\(iobjs[i]["address"] ?? ""): xprof \(mine) llvm \(llvmInl[i])")
            }
        }
        #expect(inlinedSeen > 100, "the fixture should put many addresses inside inlined helpers (\(inlinedSeen))")
        #expect(badChains.isEmpty, "\(badChains.count) inline chains differ: \(badChains.prefix(3))")
    }

    /// PLT stubs have no symbols; xprof names them `name@plt` as objdump and perf do (before, a stub took
    /// the name of the symbol before the PLT, `_init`). A gcc-built program calling libc through its PLT,
    /// linked both the classic way and with IBT's separate `.plt.sec` (`-fcf-protection -z ibtplt`).
    @Test(arguments: [[String](), ["-fcf-protection=full", "-Wl,-z,ibtplt"]])
    func pltStubsAreNamedAsObjdumpNamesThem(_ flags: [String]) throws {
        let dir = try XprofRunner.temporaryDirectory()
        let src = dir.appendingPathComponent("p.c")
        try """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char buf[64];
            snprintf(buf, sizeof buf, "%d", argc);
            printf("%s %zu %d\\n", buf, strlen(argv[0]), atoi(buf) + (int)getpid() % 2);
            puts(getenv("HOME") ? "home" : "none");
            return memcmp(buf, "1", 1) != 0;
        }
        """.write(to: src, atomically: true, encoding: .utf8)
        let bin = dir.appendingPathComponent("p").path
        let cc = try XprofRunner.run("/usr/bin/gcc", ["-O1", "-fno-builtin", "-o", bin, src.path] + flags)
        try #require(cc.status == 0, "gcc: \(cc.stderr)")
        let od = try XprofRunner.run("/usr/bin/objdump", ["-d", "-j", ".plt", "-j", ".plt.sec", bin])
        var stubs: [(UInt64, String)] = []
        for line in od.stdout.split(separator: "\n") {
            // "0000000000001030 <puts@plt>:"
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[1].hasSuffix("@plt>:"), let a = UInt64(parts[0], radix: 16) else { continue }
            stubs.append((a, String(parts[1].dropFirst().dropLast(2))))
        }
        #expect(stubs.count >= 6, "objdump found \(stubs.count) PLT stubs: \(od.stdout.prefix(600))")
        let addresses = stubs.flatMap { ["0x" + String($0.0, radix: 16), "0x" + String($0.0 + 4, radix: 16)] }
        let r = try XprofRunner.xprof(["symbolize", "--image", bin] + addresses)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.tsvRows(r.stdout)
        #expect(rows.count == addresses.count)
        for (k, row) in rows.enumerated() where row.count >= 3 {
            let (_, name) = stubs[k / 2]
            #expect(row[1] == name && row[2] == (k % 2 == 0 ? "0x0" : "0x4"), "\(row) vs objdump's \(name)")
        }
    }

    /// Debian's libc.so.6 lists its IRELATIVE relocations among the others in `.rela.plt`, so the stubs are
    /// not in relocation order: each is named by the GOT slot it jumps through (`__tls_get_addr@plt` is the
    /// 24th stub, its relocation the 6th), as objdump names them and perf does (a CI run caught xprof naming
    /// the 6th stub). Stubs of IRELATIVE slots (objdump's `*ABS*+0x…@plt`) have no name to compare.
    @Test func libcPltStubsFollowTheirGotSlots() throws {
        let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
        let od = try XprofRunner.run("/usr/bin/objdump", ["-d", "-j", ".plt", libc])
        var stubs: [(UInt64, String)] = []
        for line in od.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[1].hasSuffix("@plt>:"), !parts[1].contains("*ABS*"),
                  let a = UInt64(parts[0], radix: 16) else { continue }
            stubs.append((a, String(parts[1].dropFirst().dropLast(2))))
        }
        #expect(stubs.count >= 10, "objdump found \(stubs.count) named PLT stubs in libc")
        #expect(stubs.contains { $0.1 == "__tls_get_addr@plt" }, "\(stubs.prefix(5))")
        let addresses = stubs.map { "0x" + String($0.0 + 6, radix: 16) }
        let r = try XprofRunner.xprof(["symbolize", "--image", libc] + addresses)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.tsvRows(r.stdout)
        #expect(rows.count == addresses.count)
        let wrong = zip(rows, stubs).filter { row, stub in row.count < 3 || row[1] != stub.1 || row[2] != "0x6" }
        #expect(wrong.isEmpty, "\(wrong.count) of \(stubs.count) stubs named otherwise: \(wrong.prefix(3).map { "\($0.0) vs objdump's \($0.1.1)" })")
    }

    /// Swift's mangled names start with `$` (`$s7Profile12ScriptWriterO…`), as ARM's mapping symbols do; only
    /// the mapping symbols may be left out. xprof's own binary, against nm: every sized `$s` function, at its
    /// start and its middle.
    @Test func swiftMangledFunctionsAreNamedAsNmNamesThem() throws {
        let functions = try Self.nmFunctions(XprofRunner.xprof).filter { $0.name.hasPrefix("$s") }
        #expect(functions.count > 1000, "nm found \(functions.count) Swift functions in xprof")
        var byStart: [UInt64: [String]] = [:]
        for f in functions { byStart[f.start, default: []].append(f.name) }
        var rng = Rng(s: 7)
        var picked: [(start: UInt64, size: UInt64, name: String)] = []
        for _ in 0..<500 { picked.append(functions[Int(rng.next(UInt64(functions.count)))]) }
        var addresses: [String] = []
        for f in picked {
            addresses.append("0x" + String(f.start, radix: 16))
            addresses.append("0x" + String(f.start + f.size / 2, radix: 16))
        }
        let r = try XprofRunner.xprof(["symbolize", "--image", XprofRunner.xprof] + addresses)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.tsvRows(r.stdout)
        #expect(rows.count == addresses.count)
        var wrong = 0
        for (k, row) in rows.enumerated() where row.count >= 2 {
            let f = picked[k / 2]
            // Aliases at one address: any of nm's names for it.
            if !(byStart[f.start] ?? []).contains(row[1]) {
                wrong += 1
                if wrong <= 5 { Issue.record("\(addresses[k]): xprof \(row[1]), nm \(f.name)") }
            }
        }
        #expect(wrong == 0, "\(wrong) of \(rows.count) addresses named otherwise than nm")
    }

    @Test func kallsymsOfTheRunningKernelAgreesWithItselfSortedLikeNm() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let copy = dir.appendingPathComponent("kallsyms").path
        #expect(try XprofRunner.run("/bin/cp", ["/proc/kallsyms", copy]).status == 0)
        let text = try String(contentsOfFile: copy, encoding: .utf8)
        // Text symbols of the core kernel, sorted like `nm -n` (by address, stable).
        var entries: [(UInt64, String)] = []
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count == 3, "tTwW".contains(f[1]), let a = UInt64(f[0], radix: 16), a != 0 else { continue }
            entries.append((a, String(f[2])))
        }
        guard entries.count > 1000 else { return }  // addresses hidden (kptr_restrict): nothing to compare
        entries.sort { $0.0 < $1.0 }
        var distinct: [(UInt64, [String])] = []
        for e in entries {
            if let last = distinct.last, last.0 == e.0 { distinct[distinct.count - 1].1.append(e.1) } else { distinct.append((e.0, [e.1])) }
        }
        var rng = Rng(s: 7)
        var addrs: [UInt64] = []
        var expected: [[String]] = []
        for _ in 0..<3000 {
            let k = Int(rng.next(UInt64(distinct.count - 1)))
            let (a, names) = distinct[k]
            let next = distinct[k + 1].0
            addrs.append(a + rng.next(next - a))
            expected.append(names)
        }
        let r = try XprofRunner.xprof(["symbolize", "--image", copy], stdin: addrs.map { String($0, radix: 16) }.joined(separator: "\n"))
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.tsvRows(r.stdout)
        var bad = 0
        for (i, names) in expected.enumerated() where i < rows.count {
            // A zero-size kallsyms symbol runs to the next address; any of the aliases there may be named.
            if !names.contains(rows[i][1]) { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of \(expected.count) addresses got a function nm -n order does not give")
    }

    /// `xprof symbolize` command lines (parsed by that command alone, without the whole command tree): the
    /// spellings ArgumentParser accepts give the same output, and errors get its checks and messages.
    @Test func symbolizeCommandLinesReadLikeArgumentParser() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("System.map").path
        try "ffffffff81000000 T _stext\nffffffff81000100 T do_work\nffffffff81000200 T _etext\n".write(toFile: map, atomically: true, encoding: .utf8)
        let input = "ffffffff81000105\n0xffffffff81000001\nnope\n"
        let plain = try XprofRunner.xprof(["symbolize", "--image", map], stdin: input)
        #expect(plain.status == 0)
        #expect(plain.stdout == "0xffffffff81000105\tdo_work\t0x5\t??\t0\n0xffffffff81000001\t_stext\t0x1\t??\t0\n??\t??\t??\t??\t0\n")
        #expect(plain.stderr.contains("line 3: 'nope'"))
        for args in [["--image=\(map)"], ["--format", "tsv", "--image", map], ["--debug-dir", dir.path, "--image", map, "--format=tsv"]] {
            let r = try XprofRunner.xprof(["symbolize"] + args, stdin: input)
            #expect(r.status == 0 && r.stdout == plain.stdout, "\(args): \(r.stderr)")
        }
        let positional = try XprofRunner.xprof(["symbolize", "ffffffff81000105", "--image", map, "0xffffffff81000001"])
        #expect(positional.status == 0)
        #expect(positional.stdout == "0xffffffff81000105\tdo_work\t0x5\t??\t0\n0xffffffff81000001\t_stext\t0x1\t??\t0\n")
        let json = try XprofRunner.xprof(["symbolize", "--image", map, "--format", "json", "ffffffff81000105"])
        #expect(json.status == 0 && json.stdout.contains("\"do_work\""))
        // Left to ArgumentParser: its messages and its usage-error status.
        let badFormat = try XprofRunner.xprof(["symbolize", "--image", map, "--format", "xml"], stdin: input)
        #expect(badFormat.status == 64 && badFormat.stderr.contains("Please provide one of 'tsv' and 'json'"), "\(badFormat.stderr)")
        let unknown = try XprofRunner.xprof(["symbolize", "--image", map, "--colour"], stdin: input)
        #expect(unknown.status == 64 && unknown.stderr.contains("--colour"), "\(unknown.stderr)")
        let noImage = try XprofRunner.xprof(["symbolize"], stdin: input)
        #expect(noImage.status == 64 && noImage.stderr.contains("--image"), "\(noImage.stderr)")
        let badAddress = try XprofRunner.xprof(["symbolize", "--image", map, "0xzz"])
        #expect(badAddress.status == 64 && badAddress.stderr.contains("'0xzz' is not a hexadecimal address"), "\(badAddress.stderr)")
    }

    @Test func badSymbolSourcesGiveClearMessages() throws {
        let dir = try XprofRunner.temporaryDirectory()
        // Truncated ELF.
        let elf = dir.appendingPathComponent("cut.so").path
        let full = try Data(contentsOf: URL(fileURLWithPath: XprofRunner.workload))
        try full.prefix(200).write(to: URL(fileURLWithPath: elf))
        let t = try XprofRunner.xprof(["symbolize", "--image", elf, "0x1000"])
        #expect(t.status == 65)
        #expect(t.stderr.contains(elf))
        // A System.map with garbage lines: the good lines still work, the bad ones are reported.
        let map = dir.appendingPathComponent("System.map").path
        try "ffffffff81000000 T _stext\nthis is garbage\nffffffff81000100 T do_work\nzzzz T nothex\nffffffff81000200 T _etext\n".write(toFile: map, atomically: true, encoding: .utf8)
        let m = try XprofRunner.xprof(["symbolize", "--image", map, "ffffffff81000105"])
        #expect(m.status == 0)
        #expect(m.stdout.contains("do_work\t0x5"))
        #expect(m.stderr.contains("line 2"))
        // A missing file.
        let missing = try XprofRunner.xprof(["symbolize", "--image", "/nonexistent/vmlinux", "0x1"])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("/nonexistent/vmlinux"))
        // Lines asked of a binary without DWARF: ?? and a warning naming the file, names still there.
        let nodw = try XprofRunner.xprof(["symbolize", "--image", XprofRunner.workload, "--lines", "0x0"])
        #expect(nodw.status == 0)
    }
}
