import Foundation
import Testing

/// Runs Tests/Browser/pagedriver.py: a page of xprof's loaded from disk in Debian's chromium (through
/// Playwright from PyPI, in the venv `make deps` makes), the steps done with the mouse and keyboard, and what
/// the page then shows read from its DOM.
enum BrowserDriver {
    /// The venv's python with Playwright: `XPROF_BROWSER_PYTHON`, else `~/.cache/xprof-test-venv/bin/python`.
    static var python: String? {
        let env = ProcessInfo.processInfo.environment
        let path = env["XPROF_BROWSER_PYTHON"] ?? (env["HOME"] ?? "/root") + "/.cache/xprof-test-venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
    static var chromium: String { ProcessInfo.processInfo.environment["XPROF_CHROMIUM"] ?? "/usr/bin/chromium" }
    static var available: Bool { python != nil && FileManager.default.isExecutableFile(atPath: chromium) }
    /// Skipped where the browser or Playwright is missing, except under CI, where the tests run and fail.
    static var enabled: Bool { available || XprofRunner.underCI }

    struct Table {
        var heads: [String]
        var rows: [[String]]
        func column(_ title: String) -> Int? { heads.firstIndex(of: title) }
    }

    struct Run {
        var steps: [[String: Any]]
        var consoleErrors: [String]
        var requests: [String]
    }

    /// Loads `page` and does `steps` (pagedriver.py's steps), returning what each one left on the page.
    static func run(_ page: String, _ steps: [[String: Any]]) throws -> Run {
        guard available, let python else {
            Issue.record("chromium (\(chromium)) or the Playwright venv (~/.cache/xprof-test-venv) is missing under CI=true; `make deps` installs both")
            throw CancellationError()
        }
        let stepsFile = page + ".steps.json"
        try JSONSerialization.data(withJSONObject: steps).write(to: URL(fileURLWithPath: stepsFile))
        let driver = XprofRunner.packageRoot.appendingPathComponent("Tests/Browser/pagedriver.py").path
        let r = try XprofRunner.run(python, [driver, page, stepsFile])
        try #require(r.status == 0, "pagedriver.py failed (\(r.status)): \(r.stderr.suffix(2000))")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return Run(steps: json["steps"] as? [[String: Any]] ?? [], consoleErrors: json["console_errors"] as? [String] ?? [],
                   requests: json["requests"] as? [String] ?? [])
    }

    static func table(_ step: [String: Any], _ key: String) throws -> Table {
        let t = try #require(step[key] as? [String: Any], "the page shows the \(key) table")
        return Table(heads: t["heads"] as? [String] ?? [], rows: t["rows"] as? [[String]] ?? [])
    }
}

/// The HTML pages (`export --format html`, `diff --format html`, `scale --format html`) in a real browser: the
/// numbers they show against `xprof report`/`diff`/`scale --format csv` for the same selection; zoom, search and
/// filters done with the mouse and keyboard; no console errors and no request beyond the file.
@Suite(.serialized) struct HtmlPageTests {
    /// A report's CSV rows as dictionaries by column name.
    static func csvRows(_ text: String) -> [[String: String]] {
        let lines = text.split(separator: "\n")
        guard let head = lines.first else { return [] }
        let names = XprofRunner.csvFields(head)
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(names, XprofRunner.csvFields($0))) }
    }

    static func report(_ args: [String]) throws -> [[String: String]] {
        let r = try XprofRunner.xprof(["report"] + args + ["--format", "csv"])
        #expect(r.status == 0, "\(r.stderr)")
        return csvRows(r.stdout)
    }

    /// The page's top table agrees with `xprof report --children` of the same selection: every row the page shows
    /// (self share and samples, children share) and every report row of 0.5 % or more shown by the page.
    static func expectTopTable(_ step: [String: Any], equals report: [[String: String]], _ what: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let top = try BrowserDriver.table(step, "top")
        let (selfPct, selfN, children, image, symbol) = (try #require(top.column("Self %")), try #require(top.column("Self samples")),
                                                           try #require(top.column("Children %")), try #require(top.column("Image")),
                                                           try #require(top.column("Symbol")))
        var byKey: [String: [String: String]] = [:]
        for row in report { byKey[(row["image"] ?? "") + "\u{1}" + (row["symbol"] ?? "")] = row }
        #expect(!top.rows.isEmpty, "\(what): the top table has rows", sourceLocation: sourceLocation)
        for row in top.rows.prefix(40) {
            let want = try #require(byKey[row[image] + "\u{1}" + row[symbol]], "\(what): \(row) is a report row", sourceLocation: sourceLocation)
            #expect(abs((Double(row[selfPct]) ?? -1) - (Double(want["overhead"] ?? "") ?? 0)) < 0.006,
                    "\(what): self share of \(row[symbol]): page \(row[selfPct]), report \(want["overhead"] ?? "")", sourceLocation: sourceLocation)
            #expect(row[selfN] == want["samples"], "\(what): self samples of \(row[symbol])", sourceLocation: sourceLocation)
            #expect(abs((Double(row[children]) ?? -1) - (Double(want["children"] ?? "") ?? 0)) < 0.006,
                    "\(what): children share of \(row[symbol]): page \(row[children]), report \(want["children"] ?? "")", sourceLocation: sourceLocation)
        }
        let shown = Set(top.rows.map { $0[image] + "\u{1}" + $0[symbol] })
        for row in report where (Double(row["overhead"] ?? "") ?? 0) >= 0.5 {
            #expect(shown.contains((row["image"] ?? "") + "\u{1}" + (row["symbol"] ?? "")), "\(what): report row \(row) is on the page",
                    sourceLocation: sourceLocation)
        }
    }

    static func frames(_ step: [String: Any]) -> [[String: Any]] { step["frames"] as? [[String: Any]] ?? [] }

    /// `xprof export --format folded` (with `--period`: event period) as stack → count.
    static func folded(_ path: String, period: Bool) throws -> [String: Int] {
        var out: [String: Int] = [:]
        let r = try XprofRunner.xprof(["export", path, "--format", "folded"] + (period ? ["--period"] : []))
        #expect(r.status == 0, "\(r.stderr)")
        for line in r.stdout.split(separator: "\n") {
            let sp = try #require(line.lastIndex(of: " "))
            out[String(line[..<sp]), default: 0] += Int(line[line.index(after: sp)...]) ?? 0
        }
        return out
    }

    /// A frame's tooltip, `NAME [IMAGE, KIND]: N samples, P% (self S); base B%, change ±C points`, read back.
    static func tooltip(_ frame: [String: Any]) -> (samples: Int, share: Double, base: Double?)? {
        guard let title = frame["title"] as? String, let colon = title.range(of: ": ", options: .backwards) else { return nil }
        let parts = title[colon.upperBound...].split(separator: " ")
        guard parts.count >= 3, let n = Int(parts[0]), let p = Double(parts[2].prefix { $0 != "%" }) else { return nil }
        var base: Double? = nil
        if let b = title.range(of: "; base ") { base = Double(title[b.upperBound...].prefix { $0 != "%" }) }
        return (n, p, base)
    }

    /// Each drawn frame with its path of names (as folded lines write them) below the root (rows 18 pixels apart; a frame's parent is the
    /// one on the row above whose span holds it).
    static func paths(_ frames: [[String: Any]]) throws -> [([String], [String: Any])] {
        let sorted = frames.sorted { ($0["top"] as? Double ?? 0) < ($1["top"] as? Double ?? 0) }
        var path: [[String]] = []
        for (i, f) in sorted.enumerated() {
            let top = f["top"] as? Double ?? 0, left = f["left"] as? Double ?? 0, width = f["width"] as? Double ?? 0
            if top == 0 { path.append([]); continue }
            // The frame of the row above that holds this one: the one holding its centre (a frame a pixel or
            // two wide at the start of its parent also touches the parent's left neighbour's edge).
            let centre = left + width / 2
            let p = try #require(sorted.indices.filter { k in
                k < i && (sorted[k]["top"] as? Double ?? 0) == top - 18 && (sorted[k]["left"] as? Double ?? 0) <= left + 0.5
                    && (sorted[k]["left"] as? Double ?? 0) + (sorted[k]["width"] as? Double ?? 0) >= left + width - 1.5
            }.min { a, b in
                func miss(_ k: Int) -> Double {
                    let l = sorted[k]["left"] as? Double ?? 0, r = l + (sorted[k]["width"] as? Double ?? 0)
                    return centre < l ? l - centre : centre > r ? centre - r : 0
                }
                return miss(a) < miss(b)
            }, "a parent for \(f)")
            path.append(path[p] + [FlameGraphTests.foldedName(f["name"] as? String ?? "")])
        }
        return Array(zip(path, sorted))
    }

    @Test(.enabled(if: BrowserDriver.enabled)) func profilePageAgreesWithTheReportAndZoomsSearchesFilters() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("mixed.xprof").path, page = dir.appendingPathComponent("report.html").path
        let record = try XprofRunner.xprof(["record", "-g", "-F", "1999", "-o", rec, "--", XprofRunner.workload, "mixed", "1"])
        try #require(record.status == 0, "\(record.stderr)")
        let export = try XprofRunner.xprof(["export", rec, "--format", "html", "-o", page])
        try #require(export.status == 0, "\(export.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(!html.contains("<script src") && !html.contains("<link") && !html.contains("@import") && !html.contains("url("),
                "one self-contained file")

        let all = try Self.report([rec, "--children"])
        let kernel = try Self.report([rec, "--children", "--mode", "kernel"])
        let comm = try Self.report([rec, "--children", "--comms", "xprof-workload", "--mode", "user"])
        let lines = try Self.report([rec, "--sort", "image,symbol,line"])
        let spin = try #require(all.first { $0["symbol"] == "workload_spin_hot" }, "the spin loop is in the report")
        let syscallEntry = try #require(all.first { $0["symbol"] == "do_syscall_64" }, "the system-call entry is in the report")
        let total = all.reduce(0) { $0 + (Int($1["samples"] ?? "") ?? 0) }

        let run = try BrowserDriver.run(page, [
            ["op": "observe"],
            ["op": "search", "text": "^workload_spin_hot$"],
            ["op": "search", "text": ""],
            ["op": "click_frame", "name": "do_syscall_64"],
            ["op": "click_crumb", "index": 0],
            ["op": "click_row", "text": "workload_spin_hot"],
            ["op": "select", "id": "f-mode", "value": "kernel"],
            ["op": "select", "id": "f-mode", "value": "user"],
            ["op": "options", "id": "f-comm"],
            ["op": "select", "id": "f-mode", "value": "all"],
            ["op": "sort", "title": "Children %"],
        ])
        #expect(run.consoleErrors.isEmpty, "console errors: \(run.consoleErrors)")
        #expect(run.requests.isEmpty, "the page asked for nothing beyond its file: \(run.requests)")
        let s = run.steps
        try #require(s.count == 11)

        // Header: the samples shown are the recording's.
        let header = try BrowserDriver.table(s[0], "header")
        #expect(header.rows.first?[try #require(header.column("Samples"))] == String(total), "header samples \(header.rows) vs \(total)")
        try Self.expectTopTable(s[0], equals: all, "whole profile")

        // Search: the highlighted share is the function's children share (every stack through it, once).
        let matched = try #require(s[1]["matchedShare"] as? Double)
        #expect(abs(matched - (Double(spin["children"] ?? "") ?? 0)) < 0.006, "matched \(matched)% vs report children \(spin["children"] ?? "")")
        #expect(Self.frames(s[1]).contains { $0["match"] as? Bool == true && $0["name"] as? String == "workload_spin_hot" })
        #expect(!Self.frames(s[1]).contains { $0["match"] as? Bool == true && $0["name"] as? String != "workload_spin_hot" })

        // The search filters the table too.
        #expect(try BrowserDriver.table(s[1], "top").rows.map { $0[5] } == ["workload_spin_hot"])

        // Sorted by children share (a heading clicked): descending, the report's (children-ordered) first row first.
        let byChildren = try BrowserDriver.table(s[10], "top")
        let childShares = byChildren.rows.map { Double($0[2]) ?? -1 }
        #expect(zip(childShares, childShares.dropFirst()).allSatisfy { $0 >= $1 }, "\(childShares.prefix(10))")
        #expect(abs((childShares.first ?? -1) - (Double(all.first?["children"] ?? "") ?? 0)) < 0.006, "\(byChildren.rows.first ?? []) vs \(all.first ?? [:])")

        // Click: the frame spans the width, its callers are the breadcrumbs, only its subtree is drawn below it.
        let zoomedFrames = Self.frames(s[3])
        let zoomed = try #require(zoomedFrames.first { $0["zoomed"] as? Bool == true })
        let width = try #require(s[3]["flameWidth"] as? Double)
        #expect(zoomed["name"] as? String == "do_syscall_64")
        #expect(abs((zoomed["width"] as? Double ?? 0) - width) <= 2, "the zoomed frame spans the graph: \(zoomed) of \(width)")
        #expect((s[3]["crumbs"] as? [String])?.last == "do_syscall_64" && (s[3]["crumbs"] as? [String])?.first == "all")
        #expect(!zoomedFrames.contains { $0["name"] as? String == "workload_spin_hot" }, "the spin loop is not under the system-call entry")
        let zoomTop = zoomed["top"] as? Double ?? 0
        for f in zoomedFrames where (f["top"] as? Double ?? 0) > zoomTop {
            let left = f["left"] as? Double ?? -1, w = f["width"] as? Double ?? 0
            #expect(left >= 0 && left + w <= width + 1, "frame \(f["name"] ?? "") lies under the zoomed one")
        }
        // Its tooltip: "NAME [IMAGE, KIND]: N samples, P%": N is what the folded stacks along the breadcrumbs add up to.
        let crumbs = (s[3]["crumbs"] as? [String] ?? []).dropFirst().map(FlameGraphTests.foldedName)
        let folded = try Self.folded(rec, period: false)
        let want = folded.filter { $0.key.split(separator: ";").prefix(crumbs.count).elementsEqual(crumbs.map { Substring($0) }) }.values.reduce(0, +)
        #expect(Self.tooltip(zoomed)?.samples == want, "zoomed frame \(zoomed["title"] ?? "") vs \(want) samples in the folded stacks under \(crumbs)")
        let details = try #require(s[3]["details"] as? [String: Any], "clicking a frame shows its function")
        #expect((details["name"] as? String)?.hasPrefix("do_syscall_64") == true)
        #expect(Self.frames(s[4]).count > zoomedFrames.count, "the root crumb zooms out")

        // The function's source lines (DWARF of xprof-workload): the report's rows for it, sample for sample.
        let picked = try #require(s[5]["details"] as? [String: Any])
        let lineTable = try #require(picked["lines"] as? [String: Any])
        let shownLines = (lineTable["rows"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
        let wantLines = lines.filter { $0["symbol"] == "workload_spin_hot" && $0["line"] != "??:0" }.map { ($0["line"] ?? "", $0["samples"] ?? "") }
        #expect(!wantLines.isEmpty, "the report has the spin loop's lines")
        #expect(Set(shownLines.map { $0.0 + " " + $0.1 }) == Set(wantLines.map { $0.0 + " " + $0.1 }), "lines \(shownLines) vs \(wantLines)")

        // Filters: mode kernel, then user with one command.
        try Self.expectTopTable(s[6], equals: kernel, "--mode kernel")
        // The spin loop's user samples are gone; it may stay as a caller of kernel samples (a timer interrupt).
        let kernelTop = try BrowserDriver.table(s[6], "top")
        #expect(kernelTop.rows.allSatisfy { $0[5] != "workload_spin_hot" || $0[1] == "0" }, "\(kernelTop.rows.prefix(5))")
        let options = try #require(s[8]["options"] as? [[String]])
        let workloadComm = try #require(options.first { $0[1].hasPrefix("xprof-workload") }?[0], "a command choice: \(options)")
        let commRun = try BrowserDriver.run(page, [["op": "select", "id": "f-mode", "value": "user"], ["op": "select", "id": "f-comm", "value": workloadComm]])
        try Self.expectTopTable(commRun.steps[1], equals: comm, "--mode user --comms xprof-workload")
        #expect(commRun.consoleErrors.isEmpty, "console errors: \(commRun.consoleErrors)")
    }

    /// A System.map of our own for SYNTHETIC guest kernels (xprof-scenario's `--map guest=`).
    static func guestMap(_ dir: URL) throws -> String {
        let map = dir.appendingPathComponent("guest.map").path
        try """
        ffffffff81000000 T _stext
        ffffffff81001000 T native_flush_tlb_multi
        ffffffff81002000 T copy_page
        ffffffff81003000 T do_syscall_64
        ffffffff81004000 T handle_mm_fault
        ffffffff81005000 T _etext

        """.write(toFile: map, atomically: true, encoding: .utf8)
        return map
    }

    /// A SYNTHETIC Xenoprof capture of two guest domains with callchains (xprof-scenario, ``guestMap(_:)``).
    static func twoDomainCapture(_ dir: URL) throws -> (capture: String, map: String) {
        let map = try guestMap(dir)
        let desc = dir.appendingPathComponent("two.json")
        try """
        {"synthetic": "html test, two guests", "pcpus": 2, "seed": 7, "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000}],
         "domains": [
          {"id": 1, "name": "web", "role": "passive", "vcpus": 1, "max_samples": 8192, "snapshots": 2,
           "hot": [{"symbols": "guest", "function": "native_flush_tlb_multi", "mode": "kernel", "samples": 300, "callers": ["do_syscall_64"]},
                   {"symbols": "guest", "function": "copy_page", "mode": "kernel", "samples": 120, "callers": ["handle_mm_fault", "do_syscall_64"]},
                   {"symbols": "guest", "function": "do_syscall_64", "mode": "kernel", "samples": 80}]},
          {"id": 2, "name": "db", "role": "passive", "vcpus": 1, "max_samples": 8192, "snapshots": 2,
           "hot": [{"symbols": "guest", "function": "copy_page", "mode": "kernel", "samples": 400, "callers": ["handle_mm_fault"]},
                   {"symbols": "guest", "function": "native_flush_tlb_multi", "mode": "kernel", "samples": 60, "callers": ["do_syscall_64"]}]}]}
        """.write(to: desc, atomically: true, encoding: .utf8)
        let cap = dir.appendingPathComponent("cap").path
        let g = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path, [desc.path, "-o", cap, "--map", "guest=" + map])
        try #require(g.status == 0, "\(g.stderr)")
        return (cap, map)
    }

    @Test func formatErrorsSayWhichCommandWritesWhat() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cap, _) = try Self.twoDomainCapture(dir)
        for (args, message) in [
            (["report", cap, "--format", "html"], "Error: --format must be table, csv or json, not 'html' (an interactive page: xprof export --format html)"),
            (["diff", cap, cap, "--format", "xml"], "Error: The value 'xml' is invalid for '--format <format>'. Please provide one of 'table', 'csv', 'json', 'html' or 'folded-diff'."),
            (["scale", cap, cap, "--format", "folded-diff"], "Error: --format folded-diff compares two profiles: use xprof diff"),
            (["export", cap, "--format", "xml"], "Error: The value 'xml' is invalid for '--format <format>'. Please provide one of the following:"),
        ] {
            let r = try XprofRunner.xprof(args)
            #expect(r.status == 64 && r.stdout.isEmpty, "\(args): \(r.status)")
            #expect(r.stderr.split(separator: "\n").first.map(String.init) == message, "\(args): \(r.stderr)")
        }
    }

    @Test(.enabled(if: BrowserDriver.enabled)) func domainFilterShowsEachGuestsRows() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cap, map) = try Self.twoDomainCapture(dir)
        let maps = ["--system-map", "1=" + map, "--system-map", "2=" + map]
        let page = dir.appendingPathComponent("two.html").path
        let export = try XprofRunner.xprof(["export", cap, "--format", "html", "-o", page] + maps)
        try #require(export.status == 0, "\(export.stderr)")
        let run = try BrowserDriver.run(page, [["op": "observe"], ["op": "select", "id": "f-domain", "value": "1"],
                                               ["op": "select", "id": "f-domain", "value": "2"]])
        #expect(run.consoleErrors.isEmpty, "console errors: \(run.consoleErrors)")
        try Self.expectTopTable(run.steps[0], equals: try Self.report([cap, "--children"] + maps), "both guests")
        try Self.expectTopTable(run.steps[1], equals: try Self.report([cap, "--children", "--domain", "1"] + maps), "--domain 1")
        try Self.expectTopTable(run.steps[2], equals: try Self.report([cap, "--children", "--domain", "2"] + maps), "--domain 2")
        // Per-domain header figures, and guest kernel frames coloured as such.
        let domains = try BrowserDriver.table(run.steps[0], "domains")
        #expect(domains.rows.count == 2 && domains.rows.map { $0[0] } == ["1 (web)", "2 (db)"], "\(domains.rows)")
        #expect(Self.frames(run.steps[0]).contains { ($0["title"] as? String)?.contains("guest kernel") == true })
    }

    @Test(.enabled(if: BrowserDriver.enabled)) func wholeSystemPerfRecordingAgreesPerCommand() throws {
        // A real `perf record -a -g` (perf 3.8, quipper's fixture): many commands, kernel and user stacks.
        let data = try XprofRunner.orSkip(XprofRunner.sharedFixture("perf/quipper__perf.data.callgraph-3.8"), "the shared fixture")
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("system.html").path
        let export = try XprofRunner.xprof(["export", data, "--format", "html", "-o", page])
        try #require(export.status == 0, "\(export.stderr)")
        let first = try BrowserDriver.run(page, [["op": "options", "id": "f-comm"]])
        // The command with the most samples (the choices are ordered by samples, after "all").
        let choice = try #require((first.steps.first?["options"] as? [[String]])?.dropFirst().first, "command choices")
        let name = String(choice[1][..<(try #require(choice[1].range(of: " (", options: .backwards))).lowerBound])
        let run = try BrowserDriver.run(page, [["op": "observe"], ["op": "select", "id": "f-comm", "value": choice[0]]])
        #expect(run.consoleErrors.isEmpty, "console errors: \(run.consoleErrors)")
        try Self.expectTopTable(run.steps[0], equals: try Self.report([data, "--children"]), "whole system")
        try Self.expectTopTable(run.steps[1], equals: try Self.report([data, "--children", "--comms", name]), "--comms \(name)")
    }

    @Test(.enabled(if: BrowserDriver.enabled)) func diffPageShowsTheLargestChangesAndColoursTheFrames() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("spin.xprof").path, b = dir.appendingPathComponent("mixed.xprof").path
        try #require(try XprofRunner.xprof(["record", "-g", "-F", "1999", "-o", a, "--", XprofRunner.workload, "spin", "0.5"]).status == 0)
        try #require(try XprofRunner.xprof(["record", "-g", "-F", "1999", "-o", b, "--", XprofRunner.workload, "mixed", "0.5"]).status == 0)
        let page = dir.appendingPathComponent("diff.html").path
        let r = try XprofRunner.xprof(["diff", a, b, "--format", "html"])
        try #require(r.status == 0, "\(r.stderr)")
        try r.stdout.write(toFile: page, atomically: true, encoding: .utf8)
        let csv = try XprofRunner.xprof(["diff", a, b, "--format", "csv"])
        let want = Self.csvRows(csv.stdout)
        let run = try BrowserDriver.run(page, [["op": "observe"]])
        #expect(run.consoleErrors.isEmpty, "console errors: \(run.consoleErrors)")
        let top = try BrowserDriver.table(run.steps[0], "top")
        let (bc, nc, dc, ic, sc) = (try #require(top.column("Base %")), try #require(top.column("New %")), try #require(top.column("Δ points")),
                                    try #require(top.column("Image")), try #require(top.column("Symbol")))
        #expect(top.rows.first?[sc] == want.first?["symbol"], "the largest change first: \(top.rows.first ?? []) vs \(want.first ?? [:])")
        for row in top.rows.prefix(15) {
            let w = try #require(want.first { $0["image"] == row[ic] && $0["symbol"] == row[sc] }, "\(row) is a diff row")
            for (col, key) in [(bc, "base"), (nc, "new"), (dc, "delta")] {
                #expect(abs((Double(row[col]) ?? -999) - (Double(w[key] ?? "") ?? 0)) < 0.006, "\(row[sc]) \(key): page \(row[col]), diff \(w[key] ?? "")")
            }
        }
        // Every drawn frame: its share in the new profile and the base one, as the folded stacks (event period) along
        // its path say; grown frames red, shrunk ones blue.
        let (pa, pb) = (try Self.folded(a, period: true), try Self.folded(b, period: true))
        let (ta, tb) = (Double(pa.values.reduce(0, +)), Double(pb.values.reduce(0, +)))
        var checked = 0
        for (path, f) in try Self.paths(Self.frames(run.steps[0])) where !path.isEmpty {
            let sum = { (m: [String: Int]) in Double(m.filter { $0.key.split(separator: ";").prefix(path.count).elementsEqual(path.map { Substring($0) }) }.values.reduce(0, +)) }
            let (base, new) = (100 * sum(pa) / ta, 100 * sum(pb) / tb)
            let tip = try #require(Self.tooltip(f), "\(f)")
            #expect(abs(tip.share - new) < 0.006 && abs((tip.base ?? -1) - base) < 0.006, "\(path): \(f["title"] ?? "") vs base \(base)%, new \(new)%")
            let colour = f["background"] as? String ?? ""
            if new - base > 0.5 { #expect(colour.hasPrefix("rgb(255,"), "\(path) grew: \(colour)") }
            if new - base < -0.5 { #expect(colour.hasSuffix(", 255)") || colour.hasSuffix(",255)"), "\(path) shrank: \(colour)") }
            checked += 1
        }
        #expect(checked > 5, "\(checked) frames checked")

        // folded-diff: each stack with the base's and the new profile's counts, as the two folded exports have them.
        let fd = try XprofRunner.xprof(["diff", a, b, "--format", "folded-diff"])
        #expect(fd.status == 0, "\(fd.stderr)")
        let (fa, fb) = (try Self.folded(a, period: false), try Self.folded(b, period: false))
        var seen = Set<String>()
        for line in fd.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            try #require(parts.count >= 3, "\(line)")
            let stack = parts.dropLast(2).joined(separator: " ")
            seen.insert(stack)
            #expect(Int(parts[parts.count - 2]) == fa[stack] ?? 0 && Int(parts[parts.count - 1]) == fb[stack] ?? 0, "\(line)")
        }
        #expect(seen == Set(fa.keys).union(fb.keys), "every stack of either profile, once")
    }

    @Test(.enabled(if: BrowserDriver.enabled)) func scalePageOpensEachRowsFlameGraphAtEveryCPUCount() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let map = try Self.guestMap(dir)
        var caps: [String] = []
        for (cpus, flush, copy) in [(1, 40, 560), (2, 90, 510), (4, 200, 400)] {
            let desc = dir.appendingPathComponent("s\(cpus).json")
            try """
            {"synthetic": "html scale test, \(cpus) CPUs", "pcpus": \(cpus), "seed": \(cpus), "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000}],
             "domains": [{"id": 2, "name": "guest", "role": "passive", "vcpus": 1, "max_samples": 8192, "snapshots": 2,
               "hot": [{"symbols": "guest", "function": "native_flush_tlb_multi", "mode": "kernel", "samples": \(flush), "callers": ["do_syscall_64"]},
                       {"symbols": "guest", "function": "copy_page", "mode": "kernel", "samples": \(copy)},
                       {"symbols": "guest", "function": "do_syscall_64", "mode": "kernel", "samples": 200}]}]}
            """.write(to: desc, atomically: true, encoding: .utf8)
            let cap = dir.appendingPathComponent("cap\(cpus)").path
            let g = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path, [desc.path, "-o", cap, "--map", "guest=" + map])
            try #require(g.status == 0, "\(g.stderr)")
            caps.append(cap)
        }
        let args = [caps[2], caps[0], caps[1], "--domain", "2", "--sort", "symbol", "--system-map", "2=" + map]
        let r = try XprofRunner.xprof(["scale"] + args + ["--format", "html", "--guest-name", "2=tenant"])
        try #require(r.status == 0, "\(r.stderr)")
        let page = dir.appendingPathComponent("scale.html").path
        try r.stdout.write(toFile: page, atomically: true, encoding: .utf8)
        let want = Self.csvRows(try XprofRunner.xprof(["scale"] + args + ["--format", "csv"]).stdout)
        let run = try BrowserDriver.run(page, [["op": "observe"], ["op": "click_chart_row", "index": 0]])
        #expect(run.consoleErrors.isEmpty, "console errors: \(run.consoleErrors)")
        let table = try BrowserDriver.table(run.steps[0], "scale")
        #expect(table.rows.count == want.count, "\(table.rows) vs \(want)")
        // "Grows at every step" is scale's ↑: monotonic on 10+ samples (the JSON's `grows`).
        let json = try JSONSerialization.jsonObject(with: Data(try XprofRunner.xprof(["scale"] + args + ["--format", "json"]).stdout.utf8)) as? [String: Any]
        var grows: [String: Bool] = [:]
        for row in json?["rows"] as? [[String: Any]] ?? [] { if let s = row["symbol"] as? String { grows[s] = row["grows"] as? Bool } }
        #expect(grows["native_flush_tlb_multi"] == true)
        for (row, w) in zip(table.rows, want) {
            #expect(row.last == w["symbol"])
            #expect(row.count == 6 && row[4] == ((grows[row.last ?? ""] ?? false) ? "yes" : "no"), "\(row)")
            for (k, key) in ["cpus_1", "cpus_2", "cpus_4"].enumerated() {
                #expect(abs((Double(row[k]) ?? -1) - (Double(w[key] ?? "") ?? 0)) < 0.006, "\(row) vs \(w)")
            }
        }
        #expect(run.steps[0]["chartRows"] as? Int == want.count, "one chart line per row")
        #expect(try BrowserDriver.table(run.steps[0], "domains").rows.map { $0[0] } == ["2 (tenant)"], "--guest-name names the domain")
        // The first row (the flush, growing) picked on the chart: its flame graph at 1, 2 and 4 CPUs, each as wide as
        // the function's share at that count (without callees here: its self share), its caller not in it.
        let first = try #require(want.first)
        #expect(first["symbol"] == "native_flush_tlb_multi")
        let focus = try #require(run.steps[1]["focus"] as? [[String: Any]])
        #expect(focus.count == 3, "one flame graph per CPU count")
        for (k, f) in focus.enumerated() {
            let share = f["share"] as? Double ?? -1
            #expect(abs(share - (Double(first["cpus_\([1, 2, 4][k])"] ?? "") ?? 0)) < 0.01, "\(f["heading"] ?? "") vs \(first)")
            let names = (f["frames"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names == ["native_flush_tlb_multi"], "\(names)")
        }
    }
}
