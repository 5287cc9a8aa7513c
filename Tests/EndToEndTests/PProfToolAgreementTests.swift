import Foundation
import Testing

/// xprof's pprof output read by pprof itself: `go tool pprof -top` (Debian's golang-go; the tool is part of the
/// Go distribution, so it runs offline — the tests forbid module downloads with GOPROXY=off) against
/// `xprof report --children` of the same recording: flat and cumulative shares of the top 20 functions within
/// 0.1 percentage points, with and without `-tagfocus domain=…`.
@Suite(.serialized) struct PProfToolAgreementTests {
    static let go = "/usr/bin/go"
    static var enabled: Bool { FileManager.default.isExecutableFile(atPath: go) || XprofRunner.underCI }

    struct Row {
        var flat: Double
        var cum: Double
    }

    /// `go tool pprof -top -nodecount=20 ARGS FILE`: function name → flat% and cum%.
    static func pprofTop(_ file: String, _ args: [String]) throws -> [String: Row] {
        guard FileManager.default.isExecutableFile(atPath: go) else {
            Issue.record("go (Debian's golang-go) is not installed under CI=true; `make deps` installs it")
            throw CancellationError()
        }
        let r = try XprofRunner.run(go, ["tool", "pprof", "-top", "-nodecount=20"] + args + [file],
                                    environment: ["GOPROXY": "off", "GOFLAGS": "", "HOME": FileManager.default.temporaryDirectory.path])
        try #require(r.status == 0, "go tool pprof failed: \(r.stderr)")
        var rows: [String: Row] = [:]
        var table = false
        for line in r.stdout.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.first == "flat" && f.dropFirst().first == "flat%" { table = true; continue }
            guard table, f.count >= 6, let flat = Double(f[1].dropLast()), let cum = Double(f[4].dropLast()) else { continue }
            let name = f[5...].joined(separator: " ")
            #expect(rows[name] == nil, "pprof shows \(name) once")
            rows[name] = Row(flat: flat, cum: cum)
        }
        #expect(!rows.isEmpty, "pprof printed a table: \(r.stdout.prefix(800))")
        return rows
    }

    /// Every function pprof shows has the report's self (flat) and children (cum) shares within 0.1 points.
    static func expectAgree(_ pprof: [String: Row], _ report: [[String: String]], key: (([String: String]) -> Bool) = { _ in true },
                            _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, row) in pprof {
            guard let want = report.first(where: { $0["symbol"] == name && key($0) }) else {
                Issue.record("\(what): pprof's \(name) is not a report row", sourceLocation: sourceLocation)
                continue
            }
            let (flat, cum) = (Double(want["overhead"] ?? "") ?? -1, Double(want["children"] ?? "") ?? -1)
            #expect(abs(row.flat - flat) <= 0.1 && abs(row.cum - cum) <= 0.1,
                    "\(what): \(name): pprof flat \(row.flat)% cum \(row.cum)%, xprof self \(flat)% children \(cum)%", sourceLocation: sourceLocation)
        }
    }

    @Test(.enabled(if: enabled)) func pprofTopAgreesWithTheReportOnARecordingWithCallchains() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("mixed.xprof").path, pb = dir.appendingPathComponent("mixed.pb.gz").path
        try #require(try XprofRunner.xprof(["record", "-g", "-F", "1999", "-o", rec, "--", XprofRunner.workload, "mixed", "1"]).status == 0)
        let export = try XprofRunner.xprof(["export", rec, "--format", "pprof", "-o", pb])
        try #require(export.status == 0, "\(export.stderr)")
        let report = try HtmlPageTests.report([rec, "--children", "--sort", "symbol"])
        let top = try Self.pprofTop(pb, [])
        #expect(top.count == 20 || top.count == report.count, "pprof's top 20: \(top.keys.sorted())")
        #expect(top["workload_spin_hot"] != nil && top["do_syscall_64"] != nil, "\(top.keys.sorted())")
        Self.expectAgree(top, report, "whole recording")
        // One mode through its label, as pprof users pick one: the kernel's samples, in percent of all.
        let kernel = try Self.pprofTop(pb, ["-tagfocus", "mode=^kernel$", "-relative_percentages"])
        Self.expectAgree(kernel, try HtmlPageTests.report([rec, "--children", "--sort", "symbol", "--mode", "kernel"]), "-tagfocus mode=kernel")
    }

    @Test(.enabled(if: enabled)) func pprofTagfocusOnADomainAgreesWithTheDomainsReport() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cap, map) = try HtmlPageTests.twoDomainCapture(dir)
        let maps = ["--system-map", "1=" + map, "--system-map", "2=" + map]
        let pb = dir.appendingPathComponent("two.pb.gz").path
        let export = try XprofRunner.xprof(["export", cap, "--format", "pprof", "-o", pb] + maps)
        try #require(export.status == 0, "\(export.stderr)")
        Self.expectAgree(try Self.pprofTop(pb, []), try HtmlPageTests.report([cap, "--children", "--sort", "symbol"] + maps), "both domains")
        for d in ["1", "2"] {
            // Relative to the domain: `xprof report --domain D`.
            let relative = try Self.pprofTop(pb, ["-tagfocus", "domain=^\(d)$", "-relative_percentages"])
            Self.expectAgree(relative, try HtmlPageTests.report([cap, "--children", "--sort", "symbol", "--domain", d] + maps), "-tagfocus domain=\(d) (relative)")
            // pprof's default, of all samples: the report's domain rows, keyed by domain and symbol.
            let absolute = try Self.pprofTop(pb, ["-tagfocus", "domain=^\(d)$"])
            Self.expectAgree(absolute, try HtmlPageTests.report([cap, "--children", "--sort", "domain,symbol"] + maps), key: { $0["domain"] == d },
                             "-tagfocus domain=\(d)")
            #expect(!absolute.isEmpty && absolute.values.map(\.cum).max() ?? 100 < 99, "domain \(d) is part of the whole: \(absolute)")
        }
    }
}
