import Foundation
import Testing

/// `xprof diff` and `xprof scale` end to end.
@Suite(.serialized) struct DiffScaleTests {
    static func csv(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func diffShowsTheShiftAndFailsAboveTheLimit() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let a = dir.appendingPathComponent("spin.xprof").path, b = dir.appendingPathComponent("sys.xprof").path
        #expect(try XprofRunner.xprof(["record", "-F", "1999", "-o", a, "--", XprofRunner.workload, "spin", "0.6"]).status == 0)
        #expect(try XprofRunner.xprof(["record", "-F", "1999", "-o", b, "--", XprofRunner.workload, "syscall", "0.6"]).status == 0)
        let r = try XprofRunner.xprof(["diff", a, b, "--sort", "symbol", "--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.csv(r.stdout)
        let spin = try #require(rows.first { $0[5] == "workload_spin_hot" })
        #expect((Double(spin[2]) ?? 0) < -50, "the spin loop's share falls: \(spin)")
        let base: Double = Double(spin[0]) ?? 0
        let new: Double = Double(spin[1]) ?? 0
        let delta: Double = Double(spin[2]) ?? 0
        #expect(abs(new - base - delta) < 0.001)
        // The syscall workload's kernel work grows; a tight limit fails, a loose one passes.
        let strict = try XprofRunner.xprof(["diff", a, b, "--sort", "mode", "--fail-above", "5"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("regression: kernel"))
        let loose = try XprofRunner.xprof(["diff", a, b, "--sort", "mode", "--fail-above", "100"])
        #expect(loose.status == 0)
    }

    @Test func scaleRanksTheFunctionThatGrowsWithCPUs() throws {
        guard let xen = XprofRunner.xenSyms() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        var caps: [String] = []
        // Synthetic runs at 1, 2, 4 and 8 CPUs: the TLB flush grows, the rest stays flat.
        for (cpus, flush) in [(1, 40), (2, 90), (4, 200), (8, 420)] {
            let desc = """
            {"synthetic": "scale test, \(cpus) CPUs", "pcpus": \(cpus), "seed": \(cpus), "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000}],
             "domains": [{"id": 2, "name": "guest", "role": "passive", "vcpus": 1, "max_samples": 4096, "snapshots": 2,
               "hot": [{"symbols": "xen", "function": "flush_area_mask", "mode": "hypervisor", "samples": \(flush)},
                       {"symbols": "xen", "function": "do_iret", "mode": "hypervisor", "samples": 400},
                       {"symbols": "xen", "function": "_spin_lock", "mode": "hypervisor", "samples": 200}]}]}
            """
            let d = dir.appendingPathComponent("s\(cpus).json")
            try desc.write(to: d, atomically: true, encoding: .utf8)
            let cap = dir.appendingPathComponent("cap\(cpus)").path
            let g = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path, [d.path, "-o", cap, "--xen", xen])
            #expect(g.status == 0, "\(g.stderr)")
            caps.append(cap)
        }
        // Given out of order on purpose: scale sorts runs by CPU count.
        let r = try XprofRunner.xprof(["scale", caps[2], caps[0], caps[3], caps[1], "--domain", "2", "--sort", "symbol",
                                       "--xen", xen, "--format", "csv", "--throughput", "400,100,700,190"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "cpus_1,cpus_2,cpus_4,cpus_8,growth,monotonic,symbol")
        let rows = Self.csv(r.stdout)
        let top = try #require(rows.first)
        #expect(top[6] == "flush_area_mask")
        #expect(top[5] == "yes")
        let p1: Double = Double(top[0]) ?? 0
        let p8: Double = Double(top[3]) ?? 0
        let want1: Double = 100.0 * 40.0 / 640.0
        let want8: Double = 100.0 * 420.0 / 1020.0
        #expect(abs(p1 - want1) < 0.01, "\(top)")
        #expect(abs(p8 - want8) < 0.01, "\(top)")
        let growth: Double = Double(top[4]) ?? 0
        #expect(abs(growth - p8 / p1) < 0.01)
        let iret = try #require(rows.first { $0[6] == "do_iret" })
        #expect(iret[5] == "no", "do_iret's share falls as flushing grows")
        let table = try XprofRunner.xprof(["scale", caps[0], caps[1], caps[2], caps[3], "--domain", "2", "--sort", "symbol",
                                           "--xen", xen, "--throughput", "100,190,400,700"])
        #expect(table.stdout.contains("8 CPUs"))
        #expect(table.stdout.contains("speedup 7.00x (87.5% of linear)"))
    }
}
