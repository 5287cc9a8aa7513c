import Foundation
import Testing

/// `xprof record -e A,B,…`: several of perf's generic events into one recording, told apart by their ids.
@Suite(.serialized) struct RecordEventsTests {
    /// perf stat's counts (`-x,` CSV: value,unit,event,…) of `events` over one run of `argv`.
    static func perfStat(_ events: String, _ argv: [String]) throws -> [String: Int] {
        let r = try XprofRunner.run("/usr/bin/perf", ["stat", "-x,", "-e", events, "--"] + argv)
        #expect(r.status == 0, "perf stat: \(r.stderr)")
        var out: [String: Int] = [:]
        for line in r.stderr.split(separator: "\n") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            if f.count >= 3, let v = Int(f[0]) { out[String(f[2])] = v }
        }
        return out
    }

    /// With a period of 1 every fault is a sample: each event's sample count is its count, which equals
    /// what `perf stat` counts for the same command (its page faults hardly vary from run to run).
    @Test func periodOneSamplesEveryFaultAsPerfStatCountsThem() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return
        }
        let argv = [XprofRunner.workload, "spin", "0.2"]
        let stat = try Self.perfStat("page-faults,minor-faults,major-faults", argv)
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("f.xprof").path
        let rec = try XprofRunner.xprof(["record", "-e", "page-faults,minor-faults,major-faults", "-c", "1", "-o", out, "--"] + argv)
        #expect(rec.status == 0, "\(rec.stderr)")
        #expect(rec.stderr.contains("samples of page-faults,minor-faults,major-faults"), "\(rec.stderr)")
        let info = try XprofRunner.xprof(["info", out, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let events = try #require(obj["events"] as? [[String: Any]], "\(info.stdout.prefix(800))")
        #expect(events.map { $0["name"] as? String } == ["page-faults", "minor-faults", "major-faults"])
        var got: [String: Int] = [:]
        for e in events {
            let name = try #require(e["name"] as? String)
            let samples = try #require(e["samples"] as? Int), period = try #require(e["period"] as? Int)
            #expect(samples == period, "\(name): period 1, so samples = event count")
            #expect(e["sample_period"] as? Int == 1, "\(e)")
            got[name] = samples
        }
        let pf = try #require(stat["page-faults"]), minor = try #require(stat["minor-faults"])
        #expect(pf > 50, "perf stat: \(stat)")
        for (name, want) in [("page-faults", pf), ("minor-faults", minor), ("major-faults", stat["major-faults"] ?? 0)] {
            let g = got[name] ?? -1
            #expect(abs(g - want) <= max(4, want / 20), "\(name): xprof \(g) samples, perf stat \(want)")
        }
        #expect(got["page-faults"] == (got["minor-faults"] ?? 0) + (got["major-faults"] ?? 0), "\(got)")

        // The report shows one section per event, and --event picks one.
        let r = try XprofRunner.xprof(["report", out, "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let one = try XprofRunner.xprof(["report", out, "--event", "minor-faults", "--format", "csv", "--sort", "mode"])
        #expect(one.status == 0, "\(one.stderr)")
        let samples = one.stdout.split(separator: "\n").dropFirst().reduce(0) { $0 + (Int($1.split(separator: ",")[1]) ?? 0) }
        #expect(samples == got["minor-faults"], "\(one.stdout)")
    }

    /// Time-based and count-based events side by side, as perf samples them: cpu-clock:u has user samples
    /// only, the context switches sit in the kernel's scheduler.
    @Test func clockAndSwitchesOfOneRunAreReportedApart() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("s.xprof").path
        // The TLB storm's threads wait on a lock: hundreds of context switches in half a second.
        let rec = try XprofRunner.xprof(["record", "-e", "cpu-clock:u,context-switches", "-F", "1999", "-o", out, "--",
                                         XprofRunner.workload, "tlb", "0.5", "2"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let clock = try XprofRunner.xprof(["report", out, "--event", "cpu-clock:u", "--sort", "mode", "--format", "csv"])
        #expect(clock.status == 0, "\(clock.stderr)")
        let modes = clock.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(modes.count == 1 && modes.first?[2] == "user", ":u keeps the kernel out: \(clock.stdout)")
        let cs = try XprofRunner.xprof(["report", out, "--event", "context-switches", "--mode", "kernel", "--sort", "symbol",
                                        "--format", "csv"])
        #expect(cs.status == 0, "\(cs.stderr)")
        let top = cs.stdout.split(separator: "\n").dropFirst().first.map { $0.split(separator: ",").map(String.init) }
        #expect(top?[2].contains("schedule") == true, "a context switch is sampled in the scheduler: \(cs.stdout.prefix(400))")
    }

    @Test(arguments: [
        (["-e", "cpu-clock,bogus"], "unknown event 'bogus'"),
        (["-e", "page-faults:x"], "unknown modifier 'x'"),
        (["-e", "cs,context-switches"], "listed twice"),
        (["-F", "99", "-c", "10"], "not both"),
    ]) func refusals(_ args: [String], _ message: String) throws {
        let r = try XprofRunner.xprof(["record"] + args + ["-o", "/dev/null", "--", "/bin/true"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}
