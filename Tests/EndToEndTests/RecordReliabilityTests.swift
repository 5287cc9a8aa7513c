import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `xprof record` under faults: killed outright, stopped by the file size limit, given a command that
/// cannot run or fails, and an existing output. No timed assertions: the SIGKILL test waits for the
/// command's own CPU time (which is what a `cpu-clock` recording samples), however loaded the machine is.
@Suite(.serialized) struct RecordReliabilityTests {
    /// The CPU time (user + system, seconds) process `pid` has used so far, nil once it is gone.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime and stime fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The first child of `pid` (the recorded command: the recorder's shell execs it in place).
    static func firstChild(of pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Int32($0) }
    }

    /// Waits (two minutes at most) until the command a recorder started (its first child) has used `seconds` of
    /// CPU time — what a `cpu-clock` recording samples, however busy the machine is. Returns the command's pid
    /// (nil if it never appeared) and the CPU time it reached.
    static func waitForCommandCPU(of recorder: Int32, seconds: Double) -> (command: Int32?, used: Double) {
        var command: Int32? = nil, used = 0.0
        for _ in 0..<1200 where used < seconds {
            Thread.sleep(forTimeInterval: 0.1)
            if command == nil { command = firstChild(of: recorder) }
            if let command { used = cpuSeconds(command) ?? 0 }
        }
        return (command, used)
    }

    /// `xprof report FILE --format json`: the samples and the event count it reports, and its stderr.
    static func reported(_ path: String) throws -> (status: Int32, samples: Int, period: Int, stderr: String) {
        let r = try XprofRunner.xprof(["report", path, "--format", "json"])
        guard r.status == 0 else { return (r.status, 0, 0, r.stderr) }
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let domains = obj["domains"] as? [[String: Any]] ?? []
        return (r.status, obj["total_samples"] as? Int ?? -1, domains.reduce(0) { $0 + ($1["period"] as? Int ?? 0) }, r.stderr)
    }

    @Test func sigkilledRecordingKeepsItsSamples() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("killed.xprof").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: XprofRunner.xprof)
        p.arguments = ["record", "-e", "cpu-clock", "-F", "997", "-o", out, "--", XprofRunner.workload, "spin", "120"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        var command: Int32? = nil
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            if let command { kill(command, SIGKILL) }
        }
        // Three seconds of the command's CPU time (sampled by cpu-clock), however busy the machine is.
        let used: Double
        (command, used) = Self.waitForCommandCPU(of: p.processIdentifier, seconds: 3)
        try #require(used >= 3, "the recorded command never ran for 3 s of CPU time")
        kill(p.processIdentifier, SIGKILL)
        // The orphaned command holds a descriptor Foundation watches for the recorder's end: end it too.
        if let command { kill(command, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)

        let r = try Self.reported(out)
        #expect(r.status == 0, "\(r.stderr)")
        // 997 Hz: at least 2 s of the 3 s the command ran are in the file (each sample stands for ~1 ms of CPU).
        #expect(r.samples >= 2 * 997, "only \(r.samples) samples survived the SIGKILL")
        #expect(r.period >= 2_000_000_000, "only \(r.period) ns of CPU time survived the SIGKILL")
        #expect(r.stderr.contains("no END chunk"), "a killed recording is reported as unfinished: \(r.stderr)")
    }

    @Test func fileSizeLimitEndsTheRecordingWithAReadableFile() throws {
        let dir = try XprofRunner.temporaryDirectory()
        // How big the file's header, metadata and kernel symbols are here (the kernel's table varies).
        let empty = dir.appendingPathComponent("empty.xprof").path
        let first = try XprofRunner.xprof(["record", "-e", "cpu-clock", "-o", empty, "--", "true"])
        try #require(first.status == 0, "\(first.stderr)")
        let base = try #require(try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int)
        let blocks = (base + 32 * 1024) / 1024  // bash's ulimit -f counts 1024-byte blocks
        let out = dir.appendingPathComponent("limited.xprof").path
        let script = "ulimit -f \(blocks); exec \"$@\""
        let r = try XprofRunner.run("/bin/bash", ["-c", script, "bash", XprofRunner.xprof, "record", "-e", "cpu-clock",
                                                  "-F", "997", "-g", "-o", out, "--", XprofRunner.workload, "spin", "120"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(out): write failed: File too large"), "\(r.stderr)")
        #expect(r.stderr.contains("ulimit -f"), "the message names the limit: \(r.stderr)")
        #expect(r.stderr.contains("lacks its END chunk"), "\(r.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
        #expect(size <= blocks * 1024)
        let rep = try Self.reported(out)
        #expect(rep.status == 0, "the partial file reads: \(rep.stderr)")
        #expect(rep.samples > 0, "the chunks written before the limit keep their samples")
        #expect(!rep.stderr.contains("ends inside chunk"), "the file was cut back to a chunk boundary: \(rep.stderr)")
    }

    /// Commands and the status `record` exits with: 127 when the command cannot be executed, else its own.
    static let commands: [(command: [String], status: Int32)] = [
        (["/nonexistent"], 127), (["/nonexistent/cmd", "arg"], 127), (["xprof-no-such-command"], 127),
        (["/etc"], 127), (["false"], 1), (["sh", "-c", "exit 3"], 3),
    ]

    @Test(arguments: commands.indices)
    func recordExitsWithTheCommandsStatus(index: Int) throws {
        let (command, status) = Self.commands[index]
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("cmd.xprof").path
        try Data("previous".utf8).write(to: URL(fileURLWithPath: out))
        let r = try XprofRunner.xprof(["record", "-e", "cpu-clock", "-o", out, "--"] + command)
        #expect(r.status == status, "\(r.stderr)")
        if status == 127 {
            #expect(r.stderr.contains("xprof: error: cannot run the command '\(command[0])': "), "\(r.stderr)")
            // Checked before the output is touched.
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "previous")
            #expect(!FileManager.default.fileExists(atPath: out + ".old"))
        } else {
            #expect(r.stderr.contains("the command exited with status \(status)"), "\(r.stderr)")
            // The recording is complete and the previous file is kept beside it, as perf keeps perf.data.old.
            #expect(try String(contentsOfFile: out + ".old", encoding: .utf8) == "previous")
            #expect(try Self.reported(out).status == 0)
        }
    }

    @Test func sighupEndsTheRecordingCleanly() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("hup.xprof").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: XprofRunner.xprof)
        p.arguments = ["record", "-e", "cpu-clock", "-o", out, "--", XprofRunner.workload, "spin", "120"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        var command: Int32? = nil
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            if let command { kill(command, SIGKILL) }
        }
        command = Self.waitForCommandCPU(of: p.processIdentifier, seconds: 0.5).command
        kill(p.processIdentifier, SIGHUP)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let r = try Self.reported(out)
        #expect(r.status == 0 && r.samples > 0, "\(r.stderr)")
        #expect(!r.stderr.contains("no END chunk"), "SIGHUP finishes the file: \(r.stderr)")
        // The recorder ended the command and reaped it.
        if let command { #expect(kill(command, 0) != 0, "the command \(command) still runs") }
    }
}
