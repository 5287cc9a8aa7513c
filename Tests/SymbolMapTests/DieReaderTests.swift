import Foundation
import Testing
@testable import SymbolMap
internal import CElfUtils

/// The DIE reader of `.debug_info`/`.debug_abbrev` (DieReader.swift, DwarfUnitReader+Direct.swift) against
/// the same unit read through libdw (`XPROF_DWARF_DIES=libdw`'s path): for every unit of gcc- and g++-built
/// objects (DWARF 4 and 5, plain, zlib- and zstd-compressed sections) and of Debian's full-DWARF kernel when
/// it is at hand, the same top-level functions, scopes (names, call sites, parents), inline intervals, names
/// and files, for every address of the unit's ranges; and a unit whose abbreviations are damaged is read
/// through libdw instead, with libdw's answers (docs/ARCHITECTURE.md, "Line and inline index").
@Suite struct DieReaderTests {
    static let cSource = """
    #include <stdlib.h>
    extern volatile int sink;
    volatile int sink;
    static inline int leaf(int x) { return x * 3 + (x >> 2); }
    static inline int mid(int x) {
      int r = 0;
      for (int k = 0; k < x; k++) {
        int t = leaf(k);
        { int u = leaf(r ^ t); r += u; }
      }
      return r;
    }
    static inline __attribute__((always_inline)) int top(int x) { if (x > 100) x = mid(x - 100); return mid(x) + leaf(x); }
    __attribute__((noinline)) int work(int x) {
      if (__builtin_expect(x == 12345, 0)) { sink = top(x); abort(); }
      int r = top(x);
      for (int k = 0; k < (x & 7); k++) r += leaf(r + k);
      return r;
    }
    __attribute__((noinline)) static int helper(int x) { return top(x ^ 5) + 1; }
    int main(int argc, char **argv) { (void)argv; return work(argc) + helper(argc); }
    """

    static let cppSource = """
    #include <vector>
    #include <cstdlib>
    namespace outer { namespace inner {
    struct Acc {
      int total = 0;
      __attribute__((always_inline)) inline void add(int v) { total += v * 3 + (v >> 1); }
    };
    template <typename T> inline T twice(T v) { return v + v; }
    __attribute__((noinline)) int sum(const std::vector<int> &v) {
      Acc a;
      for (int x : v) a.add(twice(x));
      if (__builtin_expect(a.total == 777, 0)) std::abort();
      return a.total;
    }
    } }
    int main(int argc, char **) {
      std::vector<int> v(argc + 10, argc);
      return outer::inner::sum(v);
    }
    """

    static let variants: [(compiler: String, flags: [String])] = [
        ("gcc", ["-gdwarf-5"]), ("gcc", ["-gdwarf-4"]), ("gcc", ["-gdwarf-5", "-gz=zlib"]),
        ("gcc", ["-gdwarf-4", "-gz=zlib"]), ("gcc", ["-gdwarf-5", "-gz=zstd"]),
        ("g++", ["-gdwarf-5"]), ("g++", ["-gdwarf-4"]),
    ]

    /// Builds the C or C++ program with `flags`; nil when the compiler (or its zstd support) is missing.
    static func build(_ compiler: String, _ flags: [String], in dir: URL) throws -> String? {
        let path = "/usr/bin/\(compiler)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("\(compiler) is not installed under CI=true") }
            return nil
        }
        let source = compiler == "gcc" ? "w.c" : "w.cc"
        try (compiler == "gcc" ? cSource : cppSource).write(to: dir.appendingPathComponent(source), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-O2", "-g", "-o", "w", source] + flags
        p.currentDirectoryURL = dir
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 && flags.contains("-gz=zstd") { return nil }
        try #require(p.terminationStatus == 0, "\(compiler) \(flags) failed")
        return dir.appendingPathComponent("w").path
    }

    /// Each unit's ranges, by unit index.
    static func unitRanges(_ h: DwarfHandle) -> [Int: [(UInt64, UInt64)]] {
        var out: [Int: [(UInt64, UInt64)]] = [:]
        for (lo, hi, u) in h.unitRanges() { out[u, default: []].append((lo, hi)) }
        return out.mapValues { $0.sorted { $0.0 < $1.0 } }
    }

    /// Unit `u` read for `addresses` through libdw and directly; the number of addresses compared.
    @discardableResult
    static func compare(_ h: DwarfHandle, unit u: Int, ranges: [(UInt64, UInt64)], addresses: [UInt64],
                        dense: Bool, expectDirect: Bool = true) throws -> Int {
        let s = try #require(h.debugSections)
        let libdw = DwarfUnitReader.read(unit: h.unitDIEs[u], dbg: h.dbg, unitRanges: ranges, addresses: addresses,
                                         lines: true, inlines: true, sections: h.lineSections, dies: nil)
        let direct = DwarfUnitReader.read(unit: h.unitDIEs[u], dbg: h.dbg, unitRanges: ranges, addresses: addresses,
                                          lines: true, inlines: true, sections: h.lineSections, dies: s)
        #expect(!libdw.diesReadDirectly)
        if expectDirect { #expect(direct.diesReadDirectly, "unit \(u) was read through libdw") }
        let where_ = "\(h.path) unit \(u)"
        #expect(direct.functions?.map { "\($0.lo)-\($0.hi)@\($0.offset)" } == libdw.functions?.map { "\($0.lo)-\($0.hi)@\($0.offset)" }, "\(where_): top-level functions")
        #expect(direct.lines == libdw.lines, "\(where_): line intervals")
        #expect(direct.damaged == libdw.damaged)
        if dense {
            // Every address of the unit asked: no subtree is skipped, the tables are the same.
            #expect(direct.names == libdw.names, "\(where_): names")
            #expect(direct.files == libdw.files, "\(where_): files")
            #expect(direct.scopes == libdw.scopes, "\(where_): scopes")
            #expect(direct.inlines == libdw.inlines, "\(where_): inline intervals")
        }
        // Each address asked: the same interval around it and the same chain of scopes.
        var differences = 0
        let ours = direct.inlines.sorted { $0.lo < $1.lo }, theirs = libdw.inlines.sorted { $0.lo < $1.lo }
        for a in addresses {
            let x = chain(direct, ours, a), y = chain(libdw, theirs, a)
            guard x != y else { continue }
            differences += 1
            if differences <= 3 { Issue.record("\(where_) 0x\(String(a, radix: 16)): \(x) vs libdw \(y)") }
        }
        #expect(differences == 0, "\(where_): \(differences) of \(addresses.count) addresses differ")
        return addresses.count
    }

    /// The inline interval holding `a` and its chain (name, call file, line and column of each scope, innermost
    /// first), as text; "none" when no interval holds it.
    static func chain(_ r: UnitAnswers, _ sorted: [InlineInterval], _ a: UInt64) -> String {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if sorted[mid].lo <= a { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, a < sorted[lo - 1].hi else { return "none" }
        let i = sorted[lo - 1]
        var out = "\(i.lo)-\(i.hi):"
        var k = i.leaf
        var guardCount = 0
        while k >= 0, guardCount < 1000 {
            let sc = r.scopes[Int(k)]
            out += " \(r.names[Int(sc.name)]) \(sc.callFile >= 0 ? r.files[Int(sc.callFile)] : "-"):\(sc.callLine):\(sc.callColumn)"
            k = sc.parent
            guardCount += 1
        }
        return out
    }

    @Test(arguments: variants)
    func directReadingEqualsLibdw(_ variant: (compiler: String, flags: [String])) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-diereader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let path = try Self.build(variant.compiler, variant.flags, in: dir) else { return }
        let h = try DwarfHandle(path: path)
        var units = 0, scopes = 0, compared = 0
        for (u, ranges) in Self.unitRanges(h) {
            let addresses = ranges.flatMap { r in Array(r.0..<r.1) }
            guard !addresses.isEmpty else { continue }
            compared += try Self.compare(h, unit: u, ranges: ranges, addresses: addresses, dense: true)
            let s = try #require(h.debugSections)
            scopes += DwarfUnitReader.read(unit: h.unitDIEs[u], dbg: h.dbg, unitRanges: ranges, addresses: addresses,
                                           lines: false, inlines: true, dies: s).scopes.count
            units += 1
        }
        #expect(units >= 1 && compared > 200, "\(variant): \(units) units, \(compared) addresses")
        #expect(scopes >= 5, "\(variant): the fixture has inlined code (\(scopes) scopes)")
    }

    /// Debian's full-DWARF kernel (bench/vmlinux.sh's; scripts/fetch-vmlinux.sh fetches it): 48 units spread
    /// over the file, 400 addresses spread over each one's ranges. Skipped when the kernel is not there.
    @Test func kernelUnitsAgree() throws {
        let env = ProcessInfo.processInfo.environment
        let root = (env["XPROF_BENCH_CACHE"] ?? NSHomeDirectory() + "/.cache/xprof-bench") + "/vmlinux/usr/lib/debug/boot"
        let found = env["XPROF_BENCH_VMLINUX"] ?? (try? FileManager.default.contentsOfDirectory(atPath: root))?
            .filter { $0.hasPrefix("vmlinux-") }.sorted().last.map { root + "/" + $0 }
        guard let path = found, FileManager.default.fileExists(atPath: path) else { return }
        let h = try DwarfHandle(path: path)
        let all = Self.unitRanges(h).sorted { $0.key < $1.key }
        try #require(all.count > 1000, "the kernel has thousands of units with code")
        var compared = 0
        for k in stride(from: 0, to: all.count, by: all.count / 48) {
            let (u, ranges) = all[k]
            let total = ranges.reduce(UInt64(0)) { $0 + ($1.1 - $1.0) }
            guard total > 0 else { continue }
            let step = max(1, total / 400)
            var addresses: [UInt64] = []
            for r in ranges { addresses += Array(stride(from: r.0, to: r.1, by: Int(step))) }
            compared += try Self.compare(h, unit: u, ranges: ranges, addresses: addresses, dense: false)
        }
        #expect(compared > 10_000)
    }

    /// The file offset of section `name` of the ELF file at `path`.
    static func sectionOffset(_ name: String, of path: String) throws -> (offset: Int, size: Int)? {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        _ = elf_version(UInt32(EV_CURRENT))
        let elf = try #require(elf_begin(fd, ELF_C_READ, nil))
        defer { elf_end(elf) }
        var shstrndx = 0
        _ = elf_getshdrstrndx(elf, &shstrndx)
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var shdr = GElf_Shdr()
            guard gelf_getshdr(s, &shdr) != nil, let n = elf_strptr(elf, shstrndx, Int(shdr.sh_name)) else { continue }
            if String(cString: n) == name { return (Int(shdr.sh_offset), Int(shdr.sh_size)) }
        }
        return nil
    }

    /// Damaged abbreviations (a run of bytes in the middle of `.debug_abbrev` overwritten): never a crash;
    /// a unit the direct reader refuses is read through libdw, with libdw's answers.
    @Test(arguments: [UInt8(0xff), UInt8(0x00), UInt8(0x7f)])
    func damagedAbbreviationsFallBackToLibdw(_ fill: UInt8) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-diereader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let path = try Self.build("gcc", ["-gdwarf-5"], in: dir) else { return }
        let section = try #require(try Self.sectionOffset(".debug_abbrev", of: path))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let from = section.offset + section.size / 3
        for k in from..<min(from + 24, section.offset + section.size) { bytes[k] = fill }
        try bytes.write(to: URL(fileURLWithPath: path))
        guard let h = try? DwarfHandle(path: path) else { return }  // libdw refuses the file: a clear error
        var fallbacks = 0
        for (u, ranges) in Self.unitRanges(h) {
            let addresses = ranges.flatMap { r in Array(r.0..<r.1) }
            guard !addresses.isEmpty, let s = h.debugSections else { continue }
            let direct = DwarfUnitReader.read(unit: h.unitDIEs[u], dbg: h.dbg, unitRanges: ranges, addresses: addresses,
                                              lines: true, inlines: true, sections: h.lineSections, dies: s)
            if !direct.diesReadDirectly {
                fallbacks += 1
                try Self.compare(h, unit: u, ranges: ranges, addresses: addresses, dense: true, expectDirect: false)
            }
        }
        #expect(fallbacks >= 1, "the damaged unit is read through libdw")
    }
}
