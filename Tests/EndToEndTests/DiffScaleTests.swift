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
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
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

    @Test func scaleDrawsTheTopRowsAsLines() throws {
        // SYNTHETIC guest-kernel captures at 1, 2, 4 and 8 CPUs (a System.map of our own, no Xen symbols):
        // the flush grows at every step, the system-call entry stays flat (25 %: never falls, yet does not grow,
        // so it is not marked), the rest shrinks.
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = dir.appendingPathComponent("guest.map").path
        try """
        ffffffff81000000 T _stext
        ffffffff81001000 T native_flush_tlb_multi
        ffffffff81002000 T std::vector<int>::push_back(int&&)
        ffffffff81003000 T do_syscall_64
        ffffffff81004000 T tiny_grower_whose_name_is_longer_than_the_forty_characters_the_legend_kept
        ffffffff81005000 T _etext

        """.write(toFile: map, atomically: true, encoding: .utf8)
        var caps: [String] = []
        // tiny_grower…: 1, 2, 3, 4 samples (and a name the legend shows whole); every run 800 samples — its share grows at every step, on too few samples to mean it.
        for (cpus, flush, vector, tiny) in [(1, 40, 559, 1), (2, 90, 508, 2), (4, 200, 397, 3), (8, 420, 176, 4)] {
            let desc = dir.appendingPathComponent("s\(cpus).json")
            try """
            {"synthetic": "scale chart test, \(cpus) CPUs", "pcpus": \(cpus), "seed": \(cpus), "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000}],
             "domains": [{"id": 2, "name": "guest", "role": "passive", "vcpus": 1, "max_samples": 8192, "snapshots": 2,
               "hot": [{"symbols": "guest", "function": "native_flush_tlb_multi", "mode": "kernel", "samples": \(flush)},
                       {"symbols": "guest", "function": "std::vector<int>::push_back(int&&)", "mode": "kernel", "samples": \(vector)},
                       {"symbols": "guest", "function": "do_syscall_64", "mode": "kernel", "samples": 200},
                       {"symbols": "guest", "function": "tiny_grower_whose_name_is_longer_than_the_forty_characters_the_legend_kept", "mode": "kernel", "samples": \(tiny)}]}]}
            """.write(to: desc, atomically: true, encoding: .utf8)
            let cap = dir.appendingPathComponent("cap\(cpus)").path
            let g = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path, [desc.path, "-o", cap, "--map", "guest=" + map])
            #expect(g.status == 0, "\(g.stderr)")
            caps.append(cap)
        }
        let chart = dir.appendingPathComponent("scale.svg").path
        // Out of order on purpose: the chart, like the table, orders runs by CPU count.
        let args = [caps[2], caps[0], caps[3], caps[1], "--domain", "2", "--sort", "symbol", "--system-map", "2=" + map]
        let r = try XprofRunner.xprof(["scale"] + args + ["--format", "json", "--svg", chart])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try #require(json["rows"] as? [[String: Any]])
        let runs = try #require(json["runs"] as? [[String: Any]])
        let cpus = runs.compactMap { $0["cpus"] as? Int }
        #expect(cpus == [1, 2, 4, 8])
        // Only the flush is marked as growing: tiny_grower… grows at every step too, on 4 samples at most.
        let tiny = try #require(rows.first { $0["symbol"] as? String == "tiny_grower_whose_name_is_longer_than_the_forty_characters_the_legend_kept" })
        #expect(tiny["monotonic"] as? Bool == true && tiny["grows"] as? Bool == false && tiny["samples"] as? [Int] == [1, 2, 3, 4], "\(tiny)")
        #expect(rows.filter { $0["grows"] as? Bool == true }.compactMap { $0["symbol"] as? String } == ["native_flush_tlb_multi"])

        let svg = try SVGElement.parse(try String(contentsOfFile: chart, encoding: .utf8))
        let xAxis = try SVGAxis(svg, tickClass: "xtick", coordinate: "x1")
        let yAxis = try SVGAxis(svg, tickClass: "ytick", coordinate: "y1")
        // 1, 2, 4, 8 CPUs: a log2 axis, ticks evenly spaced.
        let gaps = zip(xAxis.ticks.dropFirst(), xAxis.ticks).map { $0.pixel - $1.pixel }
        #expect(xAxis.ticks.map(\.value) == [1, 2, 4, 8] && gaps.allSatisfy { abs($0 - gaps[0]) < 0.1 && $0 > 0 }, "\(xAxis.ticks)")
        #expect(svg.all(class: "log2").count == 1, "the axis says it is logarithmic")
        let lines = svg.all(class: "row")
        #expect(lines.count == rows.count, "one line per row (4 rows, under the default of 8)")
        for (row, g) in zip(rows, lines) {
            let name = try #require(row["symbol"] as? String)
            let percents = try #require(row["percents"] as? [Double])
            #expect(g.title?.hasPrefix(name + ": ") == true, "line \(g.title ?? "") is row \(name)")
            let points = try #require(g.first("polyline")?.attributes["points"]).split(separator: " ").map { p in
                p.split(separator: ",").compactMap { Double($0) }
            }
            #expect(points.count == percents.count)
            for (k, (p, want)) in zip(points, percents).enumerated() {
                // Each point stands on its CPU count's tick.
                let tick = xAxis.ticks.first { abs($0.pixel - p[0]) < 0.01 }
                #expect(tick?.value == Double(cpus[k]), "\(name): point \(k) at \(cpus[k]) CPUs, drawn at the tick of \(tick?.value ?? -1)")
                #expect(abs(yAxis.value(at: p[1]) - want) < 0.01, "\(name) at \(cpus[k]) CPUs: drawn \(yAxis.value(at: p[1]))%, json \(want)%")
            }
            // Rows that grow at every step are marked, on the line and in the legend; the others are not.
            let growing = row["grows"] as? Bool ?? false
            #expect(g.classes.contains("growing") == growing, "\(name) growing: \(growing)")
            let legend = svg.all(class: "legend").compactMap { $0.first("text")?.text }
            #expect(legend.contains((growing ? "↑ " : "") + name), "legend \(legend)")
        }
        #expect(lines.first?.title?.hasPrefix("native_flush_tlb_multi: ") == true && lines.first?.classes.contains("growing") == true)
        #expect(svg.all(class: "growing").count == 1)
        let flat = try #require(rows.first { $0["symbol"] as? String == "do_syscall_64" })
        #expect(flat["monotonic"] as? Bool == true && flat["growth"] as? Double == 1, "\(flat)")
        // --top limits the chart with the table.
        let top = try XprofRunner.xprof(["scale"] + args + ["--top", "2", "--svg", chart])
        #expect(top.status == 0, "\(top.stderr)")
        #expect(top.stdout.contains("native_flush_tlb_multi"), "the table is still printed")
        #expect(try SVGElement.parse(try String(contentsOfFile: chart, encoding: .utf8)).all(class: "row").count == 2)
        let bad = try XprofRunner.xprof(["scale"] + args + ["--svg", dir.appendingPathComponent("missing/scale.svg").path])
        #expect(bad.status == 66 && bad.stderr.contains("missing/scale.svg") && bad.stderr.contains("hint:"), "\(bad.stderr)")
        // A run that fails after the --svg check leaves no empty chart behind.
        let unmade = dir.appendingPathComponent("unmade.svg").path
        let failed = try XprofRunner.xprof(["scale", caps[0], dir.appendingPathComponent("no-such-run").path, "--svg", unmade])
        #expect(failed.status == 66 && !FileManager.default.fileExists(atPath: unmade), "\(failed.stderr)")
    }
}
