import Foundation
import Testing

/// `xprof record` of a command that execs on one CPU and runs on another: the exec's mapping is in the
/// second CPU's ring, the samples in the first's, and the recorder drains the first ring before the second.
/// Without putting the rings' records in time order, the samples of the first round come before the
/// mapping and show as [unknown].
@Suite struct RecordOrderTests {
    @Test func samplesOnAnotherCPUThanTheExecResolve() throws {
        try XprofRunner.withCPUsToItself { try execOnAnotherCPU() }
    }

    private func execOnAnotherCPU() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { return }
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "taskset (util-linux) is needed")
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("o.xprof").path
        let rec = try XprofRunner.xprof(["record", "-F", "999", "-o", out, "--", taskset, "-c", "1", XprofRunner.workload, "spin", "0.4"],
                                        environment: ["XPROF_WORKLOAD_CPU": "0"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let r = try XprofRunner.xprof(["report", out, "--mode", "user", "--sort", "cpu,dso", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        var rows: [String: Double] = [:]
        for row in r.stdout.split(separator: "\n").dropFirst() {
            let f = row.split(separator: ",").map(String.init)
            guard f.count == 4 else { continue }
            rows[f[2] + " " + f[3], default: 0] += Double(f[0]) ?? 0
        }
        let workload = rows.filter { $0.key.hasPrefix("0 ") && $0.key.hasSuffix("xprof-workload") }.values.reduce(0, +)
        #expect(workload > 90, "the workload runs on CPU 0 in its own image: \(r.stdout)")
        let unknown = rows.filter { $0.key.contains("[unknown]") }
        #expect(unknown.isEmpty, "no user sample is left without its mapping: \(r.stdout)")
    }
}
