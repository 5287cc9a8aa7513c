import Foundation
import Testing

/// Output that cannot be written is an error, never a silent success: commands writing to a full device
/// (`> /dev/full`) say so and exit 74 (EX_IOERR); `overhead` keeps its recordings in a fresh private folder.
@Suite struct OutputErrorTests {
    /// Runs `xprof ARGUMENTS > /dev/full`.
    static func toFullDevice(_ arguments: [String], stdin: String? = nil) throws -> XprofRunner.Result {
        try XprofRunner.run("/bin/bash", ["-c", "exec \"$@\" > /dev/full", "bash", XprofRunner.xprof] + arguments, stdin: stdin)
    }

    /// A small recording of the spinning workload (when the shared fixture is not there).
    static func recorded() throws -> String {
        let out = try XprofRunner.temporaryDirectory().appendingPathComponent("small.xprof").path
        let r = try XprofRunner.xprof(["record", "-e", "cpu-clock", "-o", out, "--", XprofRunner.workload, "spin", "0.3"])
        try #require(r.status == 0, "\(r.stderr)")
        return out
    }

    @Test func symbolizeToAFullDeviceFails() throws {
        let r = try Self.toFullDevice(["symbolize", "--image", XprofRunner.workload, "0x1000", "0x2000"])
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("xprof: error: cannot write to standard output: No space left on device"), "\(r.stderr)")
        let fromStdin = try Self.toFullDevice(["symbolize", "--image", XprofRunner.workload], stdin: "0x1000\n0x2000\n")
        #expect(fromStdin.status == 74, "\(fromStdin.stderr)")
    }

    @Test(arguments: [["report"], ["script"], ["info"], ["export", "--format", "folded"]])
    func readingCommandsToAFullDeviceFail(command: [String]) throws {
        let file = try Self.recorded()
        let r = try Self.toFullDevice([command[0], file] + command.dropFirst())
        #expect(r.status == 74, "\(command): \(r.stderr)")
        #expect(r.stderr.contains("cannot write to standard output: No space left on device"), "\(r.stderr)")
    }

    @Test func overheadRecordsIntoAFreshPrivateFolder() throws {
        let tmp = try XprofRunner.temporaryDirectory().appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let log = tmp.deletingLastPathComponent().appendingPathComponent("cmdlines").path
        // The measured command logs its parent's command line: under xprof record, the recorder's `-o`.
        let command = "tr '\\0' ' ' < /proc/$PPID/cmdline >> \(log); echo >> \(log)"
        let r = try XprofRunner.xprof(["overhead", "--runs", "2", "--profiler", "xprof", "--", "sh", "-c", command],
                                      environment: ["TMPDIR": tmp.path])
        #expect(r.status == 0, "\(r.stderr)")
        let outputs = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.contains("record"), let o = words.firstIndex(of: "-o") else { return nil }
            return String(words[o + 1])
        }
        #expect(outputs.count == 2, "\(outputs)")
        for o in outputs {
            let folder = URL(fileURLWithPath: o).deletingLastPathComponent()
            #expect(folder.deletingLastPathComponent().path == tmp.path, "recorded under $TMPDIR: \(o)")
            #expect(folder.lastPathComponent.hasPrefix("xprof-overhead-") && folder.lastPathComponent.count == "xprof-overhead-".count + 6,
                    "a mkdtemp folder, not a name derived from the pid: \(o)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "the folder is removed afterwards")
    }
}
