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
                #expect(line.contains(": refused: ") || line.contains(" samples, "), "\(line)")
            }
        }
        // The seed is a well-formed stream: it decodes to samples.
        let seed = try XprofRunner.run(fuzz, ["oprofile", Self.fuzzFixtures.appendingPathComponent("oprofile.seed").path])
        #expect(seed.stdout.contains(": 6 samples, 3 frames, 0 warnings"), "\(seed.stdout)")
    }
}
