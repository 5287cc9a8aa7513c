import Foundation
import Testing

/// Every input `make fuzz` found crashing (kept under Fixtures/fuzz/crashes/TARGET/), and the fuzz seeds, decoded
/// again by `xprof-fuzz TARGET FILE...` — the fuzz targets' own code, built without the sanitizer: each is read
/// or refused, never a trap.
@Suite struct FuzzRegressionTests {
    static let fuzzFixtures = XprofRunner.packageRoot.appendingPathComponent("Fixtures/fuzz")

    /// (target, inputs) for every folder of kept inputs, plus the OProfile seed.
    static func inputs() throws -> [(String, [String])] {
        let crashes = fuzzFixtures.appendingPathComponent("crashes")
        var out: [(String, [String])] = [("oprofile", [fuzzFixtures.appendingPathComponent("oprofile.seed").path])]
        for target in try FileManager.default.contentsOfDirectory(atPath: crashes.path).sorted() {
            let dir = crashes.appendingPathComponent(target)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.appendingPathComponent($0).path }
            if !files.isEmpty { out.append((target, files)) }
        }
        return out
    }

    @Test func keptFuzzInputsAreReadOrRefused() throws {
        let fuzz = XprofRunner.binDir.appendingPathComponent("xprof-fuzz").path
        let all = try Self.inputs()
        #expect(all.contains { $0.0 == "oprofile" && $0.1.contains { $0.hasSuffix("/crashes/oprofile/crash-f8d65ad917462623bea17e84f8a31434f3706611") } })
        for (target, files) in all {
            let r = try XprofRunner.run(fuzz, [target] + files, environment: ["SWIFT_BACKTRACE": "enable=no"])
            #expect(r.status == 0, "\(target): \(r.stderr.suffix(800))")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.count == files.count, "\(target): \(r.stdout)")
            for line in lines {
                #expect(line.contains(": refused: ") || line.contains(" samples, ") || line.contains(" addresses, ")
                        || line.contains(" symbols, "), "\(line)")
            }
        }
        // `make fuzz` (issue 14): a .gnu.version_d chain whose vd_next sum passed Int32.max trapped ElfImage.
        #expect(all.contains { $0.0 == "elf" && $0.1.contains { $0.hasSuffix("/crashes/elf/crash-c88b31422cc98e53fe952c15ffd0cbfb265eea0e") } })
        // The seed is a well-formed stream: it decodes to samples.
        let seed = try XprofRunner.run(fuzz, ["oprofile", Self.fuzzFixtures.appendingPathComponent("oprofile.seed").path])
        #expect(seed.stdout.contains(": 6 samples, 3 frames, 0 warnings"), "\(seed.stdout)")
    }

    /// The `dwarf` target's seeds, built here as scripts/fuzz.sh builds them: DWARF 4 and 5, zlib- and
    /// zstd-compressed sections all give the same answers (lines found, inline frames), and every debugging
    /// section damaged (bytes flipped at its start, middle and end, or zeroed whole) gives answers or an
    /// error, never a trap (docs/ARCHITECTURE.md, "Damaged DWARF").
    @Test func dwarfSeedsAnswerAndDamagedDwarfIsReadOrRefused() throws {
        for tool in ["/usr/bin/gcc", "/usr/bin/objcopy", "/usr/bin/readelf"] where !FileManager.default.isExecutableFile(atPath: tool) {
            Issue.record("\(tool) is missing (make deps installs it)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-dwarf-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = dir.appendingPathComponent("d.c").path
        try """
            static inline int sq(int x) { return x * x; }
            static inline int add(int a, int b) { return sq(a) + b; }
            struct S { int v; };
            int g(int y) { struct S s = { y }; for (int i = 0; i < y; i++) { int t = add(i, s.v); s.v ^= t; } return s.v; }
            """.write(toFile: c, atomically: true, encoding: .utf8)
        let tiny = ["-O2", "-g", "-nostdlib", "-static", "-Wl,--build-id=none", "-Wl,-N", "-Wl,--no-warn-rwx-segments", "-e", "g"]
        var seeds: [String] = []
        for (name, flags) in [("dwarf4", ["-gdwarf-4"]), ("dwarf5", ["-gdwarf-5"]), ("dwarf4-zlib", ["-gdwarf-4", "-gz=zlib"]),
                              ("dwarf5-zlib", ["-gdwarf-5", "-gz=zlib"])] {
            let out = dir.appendingPathComponent(name).path
            let r = try XprofRunner.run("/usr/bin/gcc", tiny + flags + ["-o", out, c])
            try #require(r.status == 0, "gcc \(flags): \(r.stderr)")
            seeds.append(out)
        }
        let zstd = dir.appendingPathComponent("dwarf5-zstd").path
        let oc = try XprofRunner.run("/usr/bin/objcopy", ["--compress-debug-sections=zstd", seeds[1], zstd])
        try #require(oc.status == 0, "objcopy: \(oc.stderr)")
        seeds.append(zstd)
        let sections = try XprofRunner.run("/usr/bin/readelf", ["-SW", zstd]).stdout
        #expect(sections.contains(".debug_info") && sections.range(of: #"\.debug_info\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+C"#, options: .regularExpression) != nil,
                "objcopy compressed the sections: \(sections)")

        let fuzz = XprofRunner.binDir.appendingPathComponent("xprof-fuzz").path
        let env = ["SWIFT_BACKTRACE": "enable=no", "XPROF_SYMBOL_CACHE": "off"]
        let clean = try XprofRunner.run(fuzz, ["dwarf"] + seeds, environment: env)
        #expect(clean.status == 0, "\(clean.stderr)")
        let answers = clean.stdout.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(answers.count == seeds.count, "\(clean.stdout)")
        #expect(Set(answers).count == 1, "every variant gives the same answers: \(clean.stdout)")
        let figures = answers.first.map { s in s.split(separator: ",").compactMap { Int($0.split(separator: " ").first ?? "") } } ?? []
        // addresses, located, frames: lines found, and more frames than addresses with a function (inlined calls).
        #expect(figures.count >= 3 && figures[1] > 0 && figures[2] > figures[1], "\(clean.stdout)")

        // Damage each debugging section of the DWARF 5 and zlib builds.
        var damaged: [String] = []
        for seed in [seeds[1], seeds[3]] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: seed)))
            let table = try XprofRunner.run("/usr/bin/readelf", ["-SW", seed]).stdout
            for line in table.split(separator: "\n") where line.contains(" .debug_") {
                let f = line.replacingOccurrences(of: "[ ", with: "[").split(separator: " ", omittingEmptySubsequences: true)
                guard f.count >= 6, let off = Int(f[4], radix: 16), let size = Int(f[5], radix: 16), size > 0,
                      off + size <= bytes.count else { continue }
                let name = String(f[1])
                var variants: [(String, [UInt8])] = []
                for at in Set([0, 4, 6, 8, 12, 16, size / 2, size - 1]) where at < size {
                    var b = bytes
                    b[off + at] ^= 0xFF
                    variants.append(("\(name)@\(at)", b))
                }
                var zeroed = bytes
                for k in off..<(off + size) { zeroed[k] = 0 }
                variants.append(("\(name)-zeroed", zeroed))
                for (tag, b) in variants {
                    let path = dir.appendingPathComponent("\(URL(fileURLWithPath: seed).lastPathComponent)\(tag)").path
                    try Data(b).write(to: URL(fileURLWithPath: path))
                    damaged.append(path)
                }
            }
        }
        #expect(damaged.count > 40, "damaged variants of .debug_info, .debug_line, .debug_abbrev …: \(damaged.count)")
        let r = try XprofRunner.run(fuzz, ["dwarf"] + damaged, environment: env)
        #expect(r.status == 0, "\(r.stderr.suffix(800))")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == damaged.count, "\(r.stdout.suffix(800))")
        for line in lines {
            #expect(line.contains(": refused: ") || line.contains(" addresses, "), "\(line)")
        }
    }
}
