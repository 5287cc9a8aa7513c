import Foundation
import Testing
@testable import SymbolMap
internal import CElfUtils

/// ``LineProgram`` (xprof's own `.debug_line` reader) against libdw's `dwarf_getsrclines` on gcc-built
/// objects, DWARF 3, 4 and 5, plain and zlib-compressed: for every unit, the same rows (address, file name,
/// line, column, end of sequence) in libdw's order; and for every address of the text, the row
/// ``LineProgram/answers(_:)`` takes is the last one at or before it in its sequence (docs/ARCHITECTURE.md,
/// "Line and inline index").
@Suite struct LineProgramTests {
    static let source = """
    #include <stdlib.h>
    extern volatile int sink;
    volatile int sink;
    static inline int leaf(int x) { return x * 3 + (x >> 2); }
    static inline int mid(int x) {
      int r = 0;
      for (int k = 0; k < x; k++)
        r += leaf(k) ^ leaf(r);
      return r;
    }
    __attribute__((noinline)) int work(int x) {
      if (__builtin_expect(x == 12345, 0)) { sink = mid(x); abort(); }
      int r = mid(x);
      for (int k = 0; k < (x & 7); k++) r += leaf(r + k);
      return r;
    }
    int main(int argc, char **argv) { (void)argv; return work(argc); }
    """

    @Test(arguments: [["-gdwarf-5"], ["-gdwarf-4"], ["-gdwarf-3"], ["-gdwarf-5", "-gz=zlib"]])
    func rowsAgreeWithLibdw(_ flags: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("gcc is not installed under CI=true") }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-lineprogram-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.source.write(to: dir.appendingPathComponent("w.c"), atomically: true, encoding: .utf8)
        let gcc = Process()
        gcc.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        gcc.arguments = ["-O2", "-g", "-o", "w", "w.c"] + flags
        gcc.currentDirectoryURL = dir
        try gcc.run()
        gcc.waitUntilExit()
        try #require(gcc.terminationStatus == 0)
        let h = try DwarfHandle(path: dir.appendingPathComponent("w").path)
        let sections = try #require(h.lineSections, "the sections are found (and inflated)")
        var units = 0, rowsCompared = 0, answersCompared = 0
        for var cu in h.unitDIEs {
            var a = Dwarf_Attribute()
            var offset: Dwarf_Word = 0
            guard dwarf_attr(&cu, UInt32(DW_AT_stmt_list), &a) != nil, dwarf_formudata(&a, &offset) == 0 else { continue }
            var lines: OpaquePointer? = nil
            var n = 0
            try #require(dwarf_getsrclines(&cu, &lines, &n) == 0)
            let compDir = DwarfHandle.compilationDirectory(of: &cu)
            let program = try LineProgram(sections: sections, offset: Int(offset), compDir: compDir.isEmpty ? nil : compDir)
            #expect(program.firstDirectory == DwarfHandle.firstLineDirectory(of: &cu))
            // The same rows at each address (libdw sorts them by address). Rows at the address where their
            // sequence ends hold no address: libdw marks some of them as ending it and not others, ours are all
            // marked (llvm-symbolizer's reading: the sequence does not hold its end address); those are compared
            // without the flag.
            let ours = try program.rows()
            try #require(ours.count == n, "unit at 0x\(String(offset, radix: 16)): \(ours.count) rows, libdw \(n)")
            var ends = Set<UInt64>()
            var mine: [UInt64: [String]] = [:], theirs: [UInt64: [String]] = [:]
            for r in ours {
                if r.endSequence { ends.insert(r.address) }
            }
            for r in ours {
                let name = r.endSequence && !ends.contains(r.address) ? "" : (program.libdwName(Int(r.file)) ?? "nil")
                mine[r.address, default: []].append("\(r.line):\(r.column) \(name)" + (ends.contains(r.address) ? "" : " end \(r.endSequence)"))
            }
            for i in 0..<n {
                let l = dwarf_onesrcline(lines, i)
                var addr: Dwarf_Addr = 0, line: Int32 = 0, col: Int32 = 0
                var end = false
                dwarf_lineaddr(l, &addr); dwarf_lineno(l, &line); dwarf_linecol(l, &col); dwarf_lineendsequence(l, &end)
                let file = dwarf_linesrc(l, nil, nil).map { String(cString: $0) } ?? "nil"
                theirs[addr, default: []].append("\(line):\(col) \(file)" + (ends.contains(addr) ? "" : " end \(end)"))
                rowsCompared += 1
            }
            #expect(Set(mine.keys) == Set(theirs.keys))
            for (addr, rows) in mine {
                #expect(rows.sorted() == (theirs[addr] ?? []).sorted(), "0x\(String(addr, radix: 16)): ours \(rows.sorted()), libdw \((theirs[addr] ?? []).sorted())")
            }
            // Answers: each address from the first row to the last, against the last row at or before it in
            // its sequence (the rows of one sequence, as written, are in address order here).
            var sequences: [[LineProgram.Row]] = [], current: [LineProgram.Row] = []
            // A sequence ends at the last of the rows marked as ending it (rows at its end address are marked too).
            let all = try program.rows()
            for (i, r) in all.enumerated() {
                current.append(r)
                if r.endSequence && (i + 1 == all.count || !all[i + 1].endSequence || all[i + 1].address != r.address) {
                    sequences.append(current)
                    current = []
                }
            }
            guard let lo = sequences.flatMap({ $0 }).map(\.address).min(), let hi = sequences.flatMap({ $0 }).map(\.address).max(), hi > lo else { continue }
            let addresses = Array(lo..<hi)
            let answers = try addresses.withUnsafeBufferPointer { try program.answers($0) }
            for (k, x) in addresses.enumerated() {
                var want: LineProgram.Row? = nil
                for s in sequences where s.count > 1 && s[0].address <= x && x < s[s.count - 1].address {
                    want = s.dropLast().last { $0.address <= x }
                    break
                }
                let got = answers.intervals.first { $0.lo <= x && x < $0.hi }
                #expect(answers.answered[k] == (want != nil))
                if let want {
                    #expect(got.map { ($0.file, $0.line, $0.column) == (want.file, want.line, want.column) } == true,
                            "0x\(String(x, radix: 16)): \(String(describing: got)), want \(want)")
                }
                answersCompared += 1
            }
            units += 1
        }
        #expect(units >= 1 && rowsCompared > 20 && answersCompared > 100, "\(units) units, \(rowsCompared) rows, \(answersCompared) addresses")
    }

    @Test func damagedProgramIsAnErrorNamingTheOffset() throws {
        var bytes: [UInt8] = [0x40, 0, 0, 0, 5, 0]  // unit length 64, version 5, then the section ends
        try bytes.withUnsafeMutableBytes { raw in
            let s = LineSections(line: UnsafeRawBufferPointer(raw), lineStr: UnsafeRawBufferPointer(start: nil, count: 0),
                                 str: UnsafeRawBufferPointer(start: nil, count: 0), bigEndian: false)
            #expect(throws: LineProgramError.self) { _ = try LineProgram(sections: s, offset: 0, compDir: nil) }
            do {
                _ = try LineProgram(sections: s, offset: 0, compDir: nil)
            } catch {
                #expect("\(error)".contains(".debug_line offset 0x0"), "\(error)")
            }
        }
        bytes = [4, 0, 0, 0, 9, 0, 0, 0]  // version 9
        try bytes.withUnsafeMutableBytes { raw in
            let s = LineSections(line: UnsafeRawBufferPointer(raw), lineStr: UnsafeRawBufferPointer(start: nil, count: 0),
                                 str: UnsafeRawBufferPointer(start: nil, count: 0), bigEndian: false)
            do {
                _ = try LineProgram(sections: s, offset: 0, compDir: nil)
                Issue.record("version 9 was accepted")
            } catch {
                #expect("\(error)".contains("version from 2 to 5 (found 9)"), "\(error)")
            }
        }
    }
}
