import Foundation
import Testing

/// `-g`/`--children` on a recording without callchains are not silently empty: `report` warns, and `info`
/// says whether callchains were recorded — on perf.data files made by other tools, whose sample_type perf
/// itself shows (`perf evlist -v`), and on xprof's own recordings with and without -g.
@Suite struct CallchainPresenceTests {
    static func perfSampleType(_ file: String) throws -> String {
        try XprofRunner.run("/usr/bin/perf", ["evlist", "-v", "-i", file]).stdout
    }

    @Test(arguments: ["quipper__perf.data.callgraph-3.8", "quipper__perf.data.singleprocess-3.8"])
    func infoAndReportSayWhetherThereAreCallchains(_ name: String) throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture("perf/" + name), "the shared fixture")
        let recorded = try Self.perfSampleType(file).contains("CALLCHAIN")
        let info = try XprofRunner.xprof(["info", file])
        #expect(info.status == 0, "\(info.stderr)")
        let line = try #require(info.stdout.split(separator: "\n").first { $0.hasPrefix("callchains") }, "\(info.stdout)")
        let samples = try #require(info.stdout.split(separator: "\n").first { $0.hasPrefix("samples ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) })
        if recorded {
            #expect(line.hasSuffix("\(samples) of \(samples) samples"), "\(line)")
        } else {
            #expect(line.contains("none"), "\(line)")
        }
        for flags in [["--children"], ["-g"], ["--children", "-g", "caller"]] {
            let r = try XprofRunner.xprof(["report", file] + flags)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("has no callchains") == !recorded, "\(flags): \(r.stderr)")
        }
        let json = try XprofRunner.xprof(["info", file, "--format", "json"])
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(o["samples_with_callchains"] as? Int == (recorded ? samples : 0))
    }
}
