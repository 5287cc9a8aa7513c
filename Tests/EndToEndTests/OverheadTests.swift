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
        // A limit below any possible overhead fails with exit 1 and says why; a huge one passes.
        let strict = try XprofRunner.xprof(["overhead", "--runs", "2", "--max-overhead=-1000", "--", XprofRunner.workload, "work", "50"])
        #expect(strict.status == 1)
        #expect(strict.stderr.contains("slowed the command by"))
        let loose = try XprofRunner.xprof(["overhead", "--runs", "2", "--max-overhead", "1000000", "--", XprofRunner.workload, "work", "50"])
        #expect(loose.status == 0, "\(loose.stderr)")
        #expect(loose.stdout.contains("95% CI"))
    }

    @Test func failingCommandIsReported() throws {
        let r = try XprofRunner.xprof(["overhead", "--runs", "2", "--", "/nonexistent/program"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("/nonexistent/program"))
    }
}
