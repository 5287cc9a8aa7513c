import Foundation
import Testing

/// A recording remembers the build-ids of the binaries it sampled; a different binary at the same path
/// is refused loudly unless --force-symbols says to use it.
@Suite struct BuildIDTests {
    @Test func mismatchedBinaryIsRefusedUnlessForced() throws {
        let dir = try XprofRunner.temporaryDirectory()
        // A private copy of the workload, so it can be swapped for another binary after recording.
        let exeDir = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: exeDir, withIntermediateDirectories: true)
        let exe = exeDir.appendingPathComponent("spinner").path
        try FileManager.default.copyItem(atPath: XprofRunner.workload, toPath: exe)
        let out = dir.appendingPathComponent("run.xprof").path
        let rec = try XprofRunner.xprof(["record", "-F", "1999", "-o", out, "--", exe, "spin", "0.5"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let good = try XprofRunner.xprof(["report", out, "--mode", "user", "--sort", "symbol", "--format", "csv", "--top", "1"])
        #expect(good.stdout.contains("workload_spin_hot"))
        // Put a different ELF (another build-id) at that path: a C program with the same function name.
        let src = dir.appendingPathComponent("other.c").path
        try "int workload_spin_hot(void) { return 42; }\nint main(void) { return workload_spin_hot(); }\n".write(toFile: src, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: exe)
        let cc = try XprofRunner.run("/usr/bin/gcc", ["-O1", "-Wl,--build-id", "-o", exe, src])
        #expect(cc.status == 0, "\(cc.stderr)")
        let refused = try XprofRunner.xprof(["report", out, "--mode", "user", "--sort", "symbol", "--format", "csv"])
        #expect(refused.stderr.contains("build-id"), "a loud warning: \(refused.stderr)")
        #expect(refused.stderr.contains("--force-symbols"))
        #expect(!refused.stdout.contains("workload_spin_hot"), "the mismatched image must not be used")
        let forced = try XprofRunner.xprof(["report", out, "--mode", "user", "--sort", "symbol", "--format", "csv", "--force-symbols"])
        #expect(forced.status == 0)
        #expect(forced.stderr.contains("used anyway because of --force-symbols"), "\(forced.stderr)")
    }
}
