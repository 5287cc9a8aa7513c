import Foundation
import Testing

/// What perf users type: `-i FILE`, `--stdio`, `--no-children`, `-s KEYS`, no file at all (the default
/// recording), and a per-thread sort (perf 6.1's `--sort pid` is per thread: `TID:COMM`; xprof's `tid`).
@Suite struct PerfHabitsTests {
    static let fixture = "perf/quipper__perf.data.callgraph-3.8"

    @Test func perfsSpellingsGiveTheSameReport() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture(Self.fixture), "the shared fixture")
        let plain = try XprofRunner.xprof(["report", file, "--sort", "comm,dso"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let perfish = try XprofRunner.xprof(["report", "-i", file, "--stdio", "--no-children", "-s", "comm,dso"])
        #expect(perfish.status == 0, "\(perfish.stderr)")
        #expect(perfish.stdout == plain.stdout)
        let both = try XprofRunner.xprof(["report", file, "-i", file])
        #expect(both.status == 64 && both.stderr.contains("give the profile once"), "\(both.stderr)")
    }

    /// A bare -g draws what perf 6.1's bare -g draws, with and without --children: caller order.
    @Test func bareCallGraphIsPerfsDefaultOrder() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture(Self.fixture), "the shared fixture")
        for children in [[], ["--children"]] {
            let perfBare = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--sort", "dso,sym", "-g"] + (children.isEmpty ? ["--no-children"] : children))
            let perfCaller = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--sort", "dso,sym", "-g", "caller"] + (children.isEmpty ? ["--no-children"] : children))
            // (perf ends its output with a tip picked at random: left out.)
            func body(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("# (Tip:") } }
            #expect(perfBare.status == 0 && body(perfBare.stdout) == body(perfCaller.stdout), "perf's own default is caller order \(children)")
            let bare = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "-g", "--format", "json"] + children)
            let caller = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "-g", "caller", "--format", "json"] + children)
            let callee = try XprofRunner.xprof(["report", file, "--sort", "dso,sym", "-g", "callee", "--format", "json"] + children)
            #expect(bare.status == 0 && bare.stdout == caller.stdout, "\(children)")
            #expect(bare.stdout != callee.stdout)
        }
    }

    @Test func withoutAFileTheDefaultRecordingIsRead() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture(Self.fixture), "the shared fixture")
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = try XprofRunner.xprof(["report", file, "--format", "csv"]).stdout
        try FileManager.default.copyItem(atPath: file, toPath: dir.appendingPathComponent("xprof.data.xprof").path)
        for command in [["report", "--format", "csv"], ["script", "-F", "tid,ip"], ["annotate", "--top", "1"]] {
            let r = try XprofRunner.run(XprofRunner.xprof, command, cwd: dir)
            #expect(r.status == 0, "\(command): \(r.stderr)")
            if command[0] == "report" { #expect(r.stdout == expected) }
        }
        let empty = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = try XprofRunner.run(XprofRunner.xprof, ["report"], cwd: empty)
        #expect(missing.status == 66 && missing.stderr.contains("xprof.data.xprof"), "\(missing.stderr)")
    }

    /// An empty --time window says where the recording's samples are (the numbers perf script prints).
    @Test func anEmptyTimeWindowSaysWhereTheSamplesAre() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture(Self.fixture), "the shared fixture")
        let r = try XprofRunner.xprof(["report", file, "--time", "0,1"])
        #expect(r.status == 0, "\(r.stderr)")
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "time"])
        let times = script.stdout.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).dropLast()) }
        let first = try #require(times.min()), last = try #require(times.max())
        #expect(r.stderr.contains("--time 0,1 keeps no samples: its samples run from \(String(format: "%.6f", first)) to \(String(format: "%.6f", last)) s"), "\(r.stderr)")
    }

    @Test func perThreadRowsEqualPerfs() throws {
        let file = try XprofRunner.orSkip(XprofRunner.sharedFixture(Self.fixture), "the shared fixture")
        let perf = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-children", "--sort", "pid", "-g", "none"])
        #expect(perf.status == 0, "\(perf.stderr)")
        var want: [String: Double] = [:]
        for line in perf.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            // "    55.23%    13642:chrome"
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2, f[0].hasSuffix("%"), let p = Double(f[0].dropLast()), let tid = f[1].split(separator: ":").first else { continue }
            want[String(tid), default: 0] += p
        }
        #expect(want.count >= 5, "\(perf.stdout.prefix(500))")
        let x = try XprofRunner.xprof(["report", file, "--sort", "tid", "--format", "csv", "--percent-limit", "0"])
        #expect(x.stdout.hasPrefix("overhead,samples,tid\n"), "\(x.stdout.prefix(100))")
        var got: [String: Double] = [:]
        for row in x.stdout.split(separator: "\n").dropFirst() {
            let f = XprofRunner.csvFields(row)
            got[f[2]] = Double(f[0])
        }
        for (tid, p) in want {
            #expect(abs((got[tid] ?? -1) - p) < 0.006, "tid \(tid): xprof \(got[tid] ?? -1)% vs perf \(p)%")
        }
    }
}
