import Foundation
import Testing

/// What `xprof record` samples and for how long, as perf record does: `-a -- CMD` (every CPU for as long as
/// the command runs), `-p PID` (until the process exits), and the CPU affinity a `taskset` gave the command,
/// which `scale` counts. Each run is under `timeout 60`, so a recorder that does not stop fails (124)
/// instead of hanging the suite.
@Suite(.serialized) struct RecordTargetTests {
    static func xprofWithin60s(_ arguments: [String]) throws -> XprofRunner.Result {
        try XprofRunner.run("/usr/bin/timeout", ["60", XprofRunner.xprof] + arguments)
    }

    @Test func systemWideForTheLengthOfACommand() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a.xprof").path
        let r = try Self.xprofWithin60s(["record", "-a", "-e", "cpu-clock", "-o", out, "--", "/bin/sleep", "0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try XprofRunner.xprof(["info", out])
        #expect(info.stdout.contains("-a -- /bin/sleep 0.3"), "\(info.stdout)")
        // Every CPU was sampled (idle time included): samples on the order of 997 × CPUs × 0.3 s, not 0.
        let samples = try RecordReliabilityTests.reported(out).samples
        #expect(samples >= 50, "\(samples) samples in 0.3 s of every CPU")
        // The command's failure is the recording's, as with a sampled command.
        let failed = try Self.xprofWithin60s(["record", "-a", "-e", "cpu-clock", "-o", out, "--", "/bin/false"])
        #expect(failed.status == 1, "\(failed.stderr)")
        // -p and a command together stay refused.
        let both = try XprofRunner.xprof(["record", "-p", "1", "-o", out, "--", "/bin/true"])
        #expect(both.status == 64, "\(both.stderr)")
    }

    @Test func maxRateIsTheKernelsLimit() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("max.xprof").path
        let limit = try String(contentsOfFile: "/proc/sys/kernel/perf_event_max_sample_rate", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try Self.xprofWithin60s(["record", "-F", "max", "-e", "cpu-clock", "-o", out, "--", XprofRunner.workload, "spin", "0.1"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try XprofRunner.xprof(["info", out])
        #expect(info.stdout.contains("cpu-clock at \(limit) Hz"), "\(info.stdout)")
        let help = try XprofRunner.xprof(["record", "--help"])
        #expect(help.stdout.contains("-F <hz|max>") && help.stdout.contains("-p <pid>") && help.stdout.contains("-o <file>"), "\(help.stdout.prefix(400))")
    }

    @Test func recordingOfAProcessEndsWhenItExits() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("p.xprof").path
        let target = Process()
        target.executableURL = URL(fileURLWithPath: XprofRunner.workload)
        target.arguments = ["spin", "4"]  // longer than the recorder takes to start (debug builds: ~1.5 s)
        try target.run()
        defer { if target.isRunning { target.terminate() }; target.waitUntilExit() }
        // No --duration: the recording must end by itself when the process does (perf's -p).
        let r = try Self.xprofWithin60s(["record", "-e", "cpu-clock", "-p", String(target.processIdentifier), "-o", out])
        #expect(r.status == 0, "status \(r.status) (124: still recording after the process ended): \(r.stderr)")
        #expect(r.stderr.contains("process \(target.processIdentifier) exited"), "\(r.stderr)")
        let samples = try RecordReliabilityTests.reported(out).samples
        #expect(samples > 0, "no samples of the spinning process")
    }

    @Test func scaleCountsTheCommandsCPUAffinity() throws {
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "taskset (util-linux) is needed")
        let online = try #require(Int(try XprofRunner.run("/usr/bin/nproc", []).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        guard online >= 2 else { return }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("one.xprof").path, two = dir.appendingPathComponent("two.xprof").path
        // The recorder itself confined, as `taskset -c 0 xprof record -- cmd` is used: the command inherits it.
        for (cpus, out) in [("0", one), ("0,1", two)] {
            let r = try XprofRunner.run(taskset, ["-c", cpus, XprofRunner.xprof, "record", "-e", "cpu-clock", "-o", out,
                                                  "--", XprofRunner.workload, "spin", "0.2"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let info = try XprofRunner.xprof(["info", one])
        #expect(info.stdout.split(separator: "\n").contains { $0.hasPrefix("cpu affinity") && $0.hasSuffix(" 0") }, "\(info.stdout)")
        let s = try XprofRunner.xprof(["scale", one, two])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.contains("#   1 CPU: \(one)") && s.stdout.contains("#   2 CPUs: \(two)"), "\(s.stdout.prefix(400))")
        #expect(!s.stdout.contains("# warning:"), "the same program at 1 and 2 CPUs: nothing to doubt: \(s.stdout.prefix(600))")
        // Another program, and a second run at 2 CPUs: both doubts are said, in the table's header and on
        // stderr for CSV.
        let other = dir.appendingPathComponent("other.xprof").path
        let o = try XprofRunner.run(taskset, ["-c", "0,1", XprofRunner.xprof, "record", "-e", "cpu-clock", "-o", other, "--", "/bin/sleep", "0.1"])
        #expect(o.status == 0, "\(o.stderr)")
        let doubtful = try XprofRunner.xprof(["scale", one, two, other])
        #expect(doubtful.stdout.contains("# warning: the runs profile different programs"), "\(doubtful.stdout.prefix(900))")
        #expect(doubtful.stdout.contains("# warning: \(two) and \(other) all ran on 2 CPUs"), "\(doubtful.stdout.prefix(900))")
        let csv = try XprofRunner.xprof(["scale", one, other, "--format", "csv"])
        #expect(csv.stderr.contains("warning: the runs profile different programs (\(one): xprof-workload, \(other): sleep)"), "\(csv.stderr)")
    }
}
