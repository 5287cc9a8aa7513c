import Foundation
import Testing

/// `xprof overhead` runs the command plain and profiled, interleaved, and reports the slowdown.
@Suite struct OverheadTests {
    @Test func measuresAndChecksTheLimit() throws {
        let r = try XprofRunner.xprof(["overhead", "--runs", "3", "-F", "499", "--format", "json", "--", XprofRunner.workload, "work", "300"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["schema"] as? String == "xprof.overhead/1")
        let base = try #require(o["baseline"] as? [String: Any])
        #expect((base["seconds"] as? [Double])?.count == 3)
        let profs = try #require(o["profilers"] as? [[String: Any]])
        #expect(profs.count == 1 && profs[0]["profiler"] as? String == "xprof")
        let runs = try #require(profs[0]["runs"] as? [String: Any])
        let mean = try #require(runs["mean"] as? Double)
        let bmean = try #require(base["mean"] as? Double)
        let pct = try #require(profs[0]["overhead_percent"] as? Double)
        #expect(abs(pct - (mean - bmean) / bmean * 100) < 1e-6)
        let low = try #require(profs[0]["ci95_low"] as? Double), high = try #require(profs[0]["ci95_high"] as? Double)
        #expect(low <= pct && pct <= high)
        // Start-up and steady state: the fixed cost measured around /bin/true, and the rest of the overhead.
        let startup = try #require(profs[0]["startup_seconds"] as? Double)
        let steady = try #require(profs[0]["steady_state_percent"] as? Double)
        #expect(startup > 0, "a profiler takes time to start and finish: \(startup) s")
        #expect(abs(steady - (mean - startup - bmean) / bmean * 100) < 1e-6)
        // A limit below any possible interval fails with exit 1 and says why; a huge one passes (two runs of a
        // short command under load give intervals thousands of points wide: the limits are far outside).
        let strict = try XprofRunner.xprof(["overhead", "--runs", "2", "--max-overhead=-1000000", "--", XprofRunner.workload, "work", "50"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("slowed the command by"))
        let loose = try XprofRunner.xprof(["overhead", "--runs", "2", "--max-overhead", "1000000", "--", XprofRunner.workload, "work", "50"])
        #expect(loose.status == 0, "\(loose.stderr)")
        #expect(loose.stdout.contains("95% CI"))
        #expect(loose.stdout.contains("  plain ") && loose.stdout.contains("# xprof: start-up "), "\(loose.stdout)")
        // -g and -e reach the profiler; the baseline has one name in every format.
        let csv = try XprofRunner.xprof(["overhead", "--runs", "2", "-g", "-e", "cpu-clock", "--format", "csv", "--", XprofRunner.workload, "work", "50"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("plain,2,") == true, "\(csv.stdout)")
        let badEvent = try XprofRunner.xprof(["overhead", "--runs", "2", "-e", "no-such-event", "--", XprofRunner.workload, "work", "50"])
        #expect(badEvent.status != 0 && badEvent.stderr.contains("no-such-event"), "\(badEvent.stderr)")
    }

    @Test func failingCommandIsReported() throws {
        let r = try XprofRunner.xprof(["overhead", "--runs", "2", "--", "/nonexistent/program"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("/nonexistent/program"))
    }

    @Test func chartDrawsEveryRunAndTheMeans() throws {
        // Both profilers when perf is here: three configurations.
        let perf = FileManager.default.isExecutableFile(atPath: "/usr/bin/perf")
        if !perf && XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let chart = dir.appendingPathComponent("overhead.svg").path
        let r = try XprofRunner.xprof(["overhead", "--runs", "3", "-F", "499", "--profiler", perf ? "both" : "xprof", "--format", "json",
                                       "--svg", chart, "--", XprofRunner.workload, "work", "100"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let profs = try #require(o["profilers"] as? [[String: Any]])
        var configs: [(String, [String: Any])] = [("plain", try #require(o["baseline"] as? [String: Any]))]
        for p in profs { configs.append((try #require(p["profiler"] as? String), try #require(p["runs"] as? [String: Any]))) }
        #expect(configs.count == (perf ? 3 : 2))

        let svg = try SVGElement.parse(try String(contentsOfFile: chart, encoding: .utf8))
        #expect(svg.all(class: "run").count == 3 * configs.count, "one point per run and configuration")
        let axis = try SVGAxis(svg, tickClass: "ytick", coordinate: "y1")
        let tolerance = axis.perPixel * 0.02
        let groups = svg.all(class: "config")
        #expect(groups.count == configs.count)
        for ((name, stats), g) in zip(configs, groups) {
            let seconds = try #require(stats["seconds"] as? [Double])
            let mean = try #require(stats["mean"] as? Double), sd = try #require(stats["stddev"] as? Double)
            let low = try #require(stats["mean_ci95_low"] as? Double), high = try #require(stats["mean_ci95_high"] as? Double)
            // The interval is the mean's: t(0.975, 2 df) = 4.303 for three runs.
            #expect(abs(high - mean - 4.303 * sd / 3.0.squareRoot()) < 1e-9 && abs(mean - low - (high - mean)) < 1e-9)
            #expect(g.title?.hasPrefix(name + ": 3 runs") == true, "\(g.title ?? "")")
            let points = g.all(class: "run")
            #expect(points.count == 3)
            for (t, c) in zip(seconds, points) {
                #expect(abs(axis.value(at: try #require(c.number("cy"))) - t) < tolerance, "\(name): point at \(t) s")
            }
            let bar = try #require(g.all(class: "mean").first)
            #expect(abs(axis.value(at: try #require(bar.number("y1"))) - mean) < tolerance, "\(name): mean bar at \(mean) s")
            let whisker = try #require(g.all(class: "ci").first?.first("line"))
            let ends = [try #require(whisker.number("y1")), try #require(whisker.number("y2"))].map(axis.value(at:)).sorted()
            #expect(abs(ends[0] - low) < tolerance && abs(ends[1] - high) < tolerance, "\(name): interval \(ends) vs \(low)...\(high)")
        }
        // A chart that cannot be written fails before anything is measured.
        let bad = dir.appendingPathComponent("missing/overhead.svg").path
        let started = Date()
        let e = try XprofRunner.xprof(["overhead", "--runs", "2", "--svg", bad, "--", XprofRunner.workload, "work", "2000"])
        #expect(e.status == 66 && e.stderr.contains(bad) && e.stderr.contains("--svg"), "\(e.stderr)")
        #expect(Date().timeIntervalSince(started) < 2, "fails at once")
    }
}
