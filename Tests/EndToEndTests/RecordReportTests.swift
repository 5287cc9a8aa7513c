import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// End to end on this machine: `xprof record` real samples with perf_event_open, then `report` and `info`.
@Suite(.serialized) struct RecordReportTests {
    /// Records `xprof-workload ARGS` into a fresh directory and returns the file path.
    static func record(_ workload: [String], extra: [String] = []) throws -> (String, XprofRunner.Result) {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("run.xprof").path
        let r = try XprofRunner.xprof(["record", "-F", "1999", "-o", out] + extra + ["--", XprofRunner.workload] + workload)
        return (out, r)
    }

    static func csvRows(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func cpuBoundWorkloadHotFunctionIsTopUserSymbol() throws {
        let (file, rec) = try Self.record(["spin", "1.5"])
        #expect(rec.status == 0, "record failed: \(rec.stderr)")
        #expect(rec.stderr.contains("recorded"))
        let r = try XprofRunner.xprof(["report", file, "--mode", "user", "--sort", "image,symbol", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.csvRows(r.stdout)
        let top = try #require(rows.first)
        #expect(top[2] == "xprof-workload")
        #expect(top[3] == "workload_spin_hot")
        #expect(Double(top[0]) ?? 0 > 80, "the spin loop should dominate user time: \(top)")
    }

    @Test func percentagesSumTo100AndTotalsMatchInfo() throws {
        let (file, rec) = try Self.record(["mixed", "1"])
        #expect(rec.status == 0, "record failed: \(rec.stderr)")
        let csv = try XprofRunner.xprof(["report", file, "--sort", "comm,mode,image,symbol", "--format", "csv"])
        #expect(csv.status == 0)
        let rows = Self.csvRows(csv.stdout)
        let sum = rows.reduce(0.0) { $0 + (Double($1[0]) ?? .nan) }
        #expect(abs(sum - 100) < 0.01 * Double(rows.count) + 0.001, "percentages sum to \(sum)")
        let samples = rows.reduce(0) { $0 + (Int($1[1]) ?? 0) }
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        #expect(info.status == 0)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(obj["total_samples"] as? Int == samples)
        // Up to ~4,000 on an idle machine; a loaded one gives the workload less CPU time (459 in one run).
        #expect(samples > 100, "1 s at 1999 Hz on 2 threads should give many samples, got \(samples)")
        // The table header states the same total.
        let table = try XprofRunner.xprof(["report", file])
        #expect(table.stdout.contains("samples: \(samples),"))
        #expect(table.stdout.contains("lost samples: "))
        #expect(table.stdout.contains("resolved: "))
        // JSON rows carry the same numbers.
        let json = try XprofRunner.xprof(["report", file, "--format", "json", "--sort", "symbol"])
        let jo = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(jo["schema"] as? String == "xprof.report/1")
        #expect(jo["total_samples"] as? Int == samples)
        let jrows = try #require(jo["rows"] as? [[String: Any]])
        #expect(jrows.reduce(0) { $0 + ($1["samples"] as? Int ?? 0) } == samples)
    }

    @Test func tlbStormShowsKernelFlushPath() throws {
        // With callchains and --children, a sample counts for every kernel function on its stack: how many
        // samples land in the flush routines themselves varies with the machine's load.
        let (file, rec) = try Self.record(["tlb", "1.5", "2"], extra: ["-g"])
        #expect(rec.status == 0, "record failed: \(rec.stderr)")
        let r = try XprofRunner.xprof(["report", file, "--mode", "kernel", "--sort", "symbol", "--children", "--format", "csv"])
        let names = Self.csvRows(r.stdout).map { $0[3] }
        // mprotect/munmap with other threads' TLBs populated goes through the TLB-flush IPI path.
        let flushPath = names.filter { $0.contains("flush_tlb") || $0.contains("smp_call_function") || $0.contains("tlb") }
        #expect(!flushPath.isEmpty, "no TLB-flush functions among kernel symbols: \(names.prefix(20))")
    }

    @Test func systemWideRecordingWithDuration() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("all.xprof").path
        let r = try XprofRunner.xprof(["record", "-a", "--duration", "0.5", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try XprofRunner.xprof(["info", out])
        #expect(info.status == 0)
        #expect(info.stdout.contains("cpus used"))
    }

    @Test func softwareFallbackIsAnnounced() throws {
        let (_, rec) = try Self.record(["spin", "0.2"])
        // On machines without hardware counters the recorder says so in its summary line (not a note on every
        // run); with them it samples cycles. An explicit hardware event that cannot be opened is an error.
        #expect(rec.stderr.contains("samples of cpu-clock (no hardware cycles here)") || rec.stderr.contains("samples of cycles"), "\(rec.stderr)")
        #expect(!rec.stderr.contains("note: hardware event"), "\(rec.stderr)")
    }

    @Test func permissionRefusalExits77() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let paranoid = (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "2"
        guard (Int(paranoid) ?? 2) >= 1 else { return }  // unprivileged -a is allowed here; nothing to refuse
        let dir = try XprofRunner.temporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: dir.path)
        let r = try XprofRunner.run("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                         XprofRunner.xprof, "record", "-a", "--duration", "0.2",
                                                         "-o", dir.appendingPathComponent("x.xprof").path])
        #expect(r.status == 77, "stderr: \(r.stderr)")
        #expect(r.stderr.contains("perf_event_paranoid"))
        // A command of one's own is still sampled in user space, as perf falls back to :u, with a note.
        guard (Int(paranoid) ?? 2) >= 2 else { return }
        let own = dir.appendingPathComponent("u.xprof").path
        let u = try XprofRunner.run("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups",
                                                         XprofRunner.xprof, "record", "-o", own, "--", XprofRunner.workload, "spin", "0.3"])
        #expect(u.status == 0, "stderr: \(u.stderr)")
        #expect(u.stderr.contains("sampling user space only") && u.stderr.contains(":u"), "\(u.stderr)")
        let modes = try XprofRunner.xprof(["report", own, "--sort", "mode", "--format", "csv"])
        #expect(modes.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").last ?? "" } == ["user"], "\(modes.stdout)")
        #expect(r.stderr.contains("hint:"))
    }

    @Test func badInputsGiveDocumentedExitCodes() throws {
        let missing = try XprofRunner.xprof(["report", "/nonexistent/file.xprof"])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("/nonexistent/file.xprof"))
        let dir = try XprofRunner.temporaryDirectory()
        let junk = dir.appendingPathComponent("junk").path
        try Data("definitely not a profile".utf8).write(to: URL(fileURLWithPath: junk))
        let bad = try XprofRunner.xprof(["report", junk])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("not a format xprof reads"))
        let usage = try XprofRunner.xprof(["report", junk, "--sort", "nonsense"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--sort"))
    }

    @Test func interruptedRecordingKeepsWhatItWrote() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("int.xprof").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: XprofRunner.xprof)
        p.arguments = ["record", "-F", "1999", "-o", out, "--", XprofRunner.workload, "spin", "60"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Half a second of the command's CPU time (what cpu-clock samples), however long start-up takes on a
        // loaded machine.
        _ = RecordReliabilityTests.waitForCommandCPU(of: p.processIdentifier, seconds: 0.5)
        p.interrupt()  // SIGINT: the recorder finishes the file cleanly (and ends the command)
        p.waitUntilExit()
        let info = try XprofRunner.xprof(["info", out, "--format", "json"])
        #expect(info.status == 0, "\(info.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect((obj["total_samples"] as? Int ?? 0) > 100)
        #expect((obj["warnings"] as? [String] ?? []).allSatisfy { !$0.contains("no END chunk") }, "SIGINT must still write END")
    }
}

/// `xprof record -p PID` attaches to a running process and its threads.
@Suite struct RecordPidTests {
    @Test func recordsAnExistingProcess() throws {
        let w = Process()
        w.executableURL = URL(fileURLWithPath: XprofRunner.workload)
        w.arguments = ["spin", "30"]  // ended by the test; long enough for a slow start on a loaded machine
        w.standardError = FileHandle.nullDevice
        try w.run()
        // SIGKILL: the test process runs with signals blocked, which its children inherit (SIGTERM would wait).
        defer { if w.isRunning { kill(w.processIdentifier, SIGKILL) }; w.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.3)
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("pid.xprof").path
        let r = try XprofRunner.xprof(["record", "-p", String(w.processIdentifier), "--duration", "1", "-F", "1999", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let rep = try XprofRunner.xprof(["report", out, "--sort", "pid,image,symbol", "--format", "csv", "--top", "1"])
        let row = try #require(rep.stdout.split(separator: "\n").dropFirst().first?.split(separator: ","))
        #expect(row[2] == "\(w.processIdentifier)")
        #expect(row[4] == "workload_spin_hot", "mappings of an already running process come from /proc: \(row)")
    }

    @Test func missingPidIsMissingInput() throws {
        let r = try XprofRunner.xprof(["record", "-p", "999999999", "--duration", "0.1", "-o", "/tmp/never.xprof"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("999999999"))
    }
}

/// `xprof record -- CMD` follows the command's children (a shell running the workload).
@Suite struct RecordChildrenTests {
    @Test func samplesOfChildProcessesAreRecorded() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("kids.xprof").path
        let r = try XprofRunner.xprof(["record", "-F", "1999", "-o", out, "--", "/bin/sh", "-c", "\(XprofRunner.workload) spin 0.6; true"])
        #expect(r.status == 0, "\(r.stderr)")
        let rep = try XprofRunner.xprof(["report", out, "--sort", "comm,symbol", "--format", "csv", "--top", "1"])
        let row = try #require(rep.stdout.split(separator: "\n").dropFirst().first?.split(separator: ","))
        #expect(row[2] == "xprof-workload" && row[3] == "workload_spin_hot", "the child's hot function: \(row)")
    }
}
