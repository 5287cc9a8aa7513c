import Foundation
import Testing
import SymbolMap

/// Full source paths: a file given to gcc by a relative path gets a relative directory entry in its DWARF 5
/// line table, which libdw hands back relative ("sub/x.c"); ``DwarfLines/fullPath(_:for:)`` joins the unit's
/// compilation directory, as addr2line does.
@Suite struct DwarfFullPathTests {
    @Test func relativeFileNamesJoinTheCompilationDirectory() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("gcc is not installed under CI=true") }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-fullpath-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "int twice(int x)\n{\n    return x * 2;\n}\n".write(to: dir.appendingPathComponent("sub/x.c"), atomically: true, encoding: .utf8)
        let gcc = Process()
        gcc.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        gcc.arguments = ["-O1", "-g", "-shared", "-fPIC", "-o", "x.so", "sub/x.c"]
        gcc.currentDirectoryURL = dir
        try gcc.run()
        gcc.waitUntilExit()
        try #require(gcc.terminationStatus == 0)
        let so = dir.appendingPathComponent("x.so").path
        let twice = try #require(try ElfImage(path: so).symbols.symbol(named: "twice"))
        let dw = try DwarfLines(path: so)
        let loc = try #require(dw.location(for: twice.start))
        #expect(loc.line >= 1 && loc.line <= 3)
        // The compilation directory as gcc recorded it (the real path of the folder it ran in).
        let compDir = try #require(dw.compilationDirectory(for: twice.start))
        #expect(compDir.hasSuffix(dir.lastPathComponent))
        #expect(dw.fullPath(loc.file, for: twice.start) == compDir + "/sub/x.c", "\(loc.file) in \(compDir)")
        // The line table itself names the full path, as addr2line does: symbolize's file column agrees with it
        // (the TSV and JSON of `xprof symbolize --lines`, and annotate, read these names).
        #expect(loc.file == compDir + "/sub/x.c")
        let sym = try Symbolizer(path: so)
        let row = try #require(sym.symbolize([twice.start], lines: true, inlines: true).first)
        let a2l = Process()
        a2l.executableURL = URL(fileURLWithPath: "/usr/bin/addr2line")
        a2l.arguments = ["-e", so, "0x" + String(twice.start, radix: 16)]
        let pipe = Pipe()
        a2l.standardOutput = pipe
        try a2l.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        a2l.waitUntilExit()
        // addr2line: `file:line`, perhaps followed by ` (discriminator N)`.
        let want = out.split(separator: "\n").first.map { String($0.prefix { $0 != " " }) } ?? ""
        #expect(want == "\(row.location?.file ?? "??"):\(row.location?.line ?? 0)", "addr2line says \(want)")
        #expect(row.frames.allSatisfy { $0.location.map { $0.file.hasPrefix("/") } ?? true }, "inline frames' files are full paths too")
        #expect(dw.fullPath("/abs/y.c", for: twice.start) == "/abs/y.c")
        #expect(dw.fullPath("sub/x.c", for: 1 << 60) == "sub/x.c", "no unit there: left as it is")
    }
}
