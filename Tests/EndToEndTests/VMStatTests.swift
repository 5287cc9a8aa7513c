import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `xprof vmstat`: per physical CPU, busy share and who held it.
@Suite(.serialized) struct VMStatTests {
    @Test func aPinnedSpinnerKeepsItsCPUBusy() throws {
        try XprofRunner.withCPUsToItself { try pinnedSpinner() }
    }

    private func pinnedSpinner() throws {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        guard cpus >= 2, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else { return }
        let spinner = Process()
        spinner.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        // Spinning through the whole recording however slowly xprof starts (busy is a share of the interval's
        // time: a spinner that ended midway leaves its CPU idle); ended with SIGKILL (the test process's blocked
        // signals are inherited, so SIGTERM would wait).
        spinner.arguments = ["-c", "1", XprofRunner.workload, "spin", "60"]
        spinner.standardError = FileHandle.nullDevice
        try spinner.run()
        defer { kill(spinner.processIdentifier, SIGKILL); spinner.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.2)
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("vm.xprof").path
        #expect(try XprofRunner.xprof(["record", "-a", "--duration", "1", "-F", "999", "-o", out]).status == 0)
        let r = try XprofRunner.xprof(["vmstat", out, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let interval = try #require((o["intervals"] as? [[String: Any]])?.first)
        let cpuRows = try #require(interval["cpus"] as? [[String: Any]])
        let one = try #require(cpuRows.first { $0["pcpu"] as? Int == 1 })
        #expect((one["busy"] as? Double ?? 0) > 80, "CPU 1 runs the pinned spinner: \(one)")
        let holders = try #require(one["holders"] as? [[String: Any]])
        #expect(holders.first?["domain"] as? Int == 0)
        let text = try XprofRunner.xprof(["vmstat", out, "--interval", "0.5"])
        #expect(text.stdout.contains("1 ["))
        #expect(text.stdout.contains("d0-1["))
    }

    @Test func samplesWithoutPhysicalCPUsAreRefusedClearly() throws {
        let cap = XprofRunner.packageRoot.appendingPathComponent("Fixtures/xenoprof/tlb-scaling").path
        let r = try XprofRunner.xprof(["vmstat", cap])
        #expect(r.status == 65)
        #expect(r.stderr.contains("no physical CPU"))
    }
}
