import Foundation
import Testing

/// `xprof export --format flamegraph`: the SVG drawn from the same stacks as `--format folded`, checked
/// against the folded export of the same input frame by frame.
@Suite(.serialized) struct FlameGraphTests {
    /// One drawn frame, read back from the SVG.
    struct DrawnFrame {
        var name: String
        var count: UInt64
        var kind: String
        var x: Double
        var width: Double
        var y: Double
        var path: [String] = []
    }

    /// The frames of a flame graph (`<g class="f KIND">` with a title `NAME (COUNT UNIT, …)` and a rect).
    static func frames(_ svg: SVGElement, unit: String) throws -> [DrawnFrame] {
        try svg.all(class: "f").map { g in
            let tip = try #require(g.title)
            let open = try #require(tip.range(of: " (", options: .backwards), "title \(tip)")
            let rest = tip[open.upperBound...]
            let count = try #require(UInt64(rest.prefix { $0.isNumber }), "title \(tip)")
            #expect(rest.dropFirst(String(count).count).hasPrefix(" \(unit)"), "title \(tip) counts \(unit)")
            let r = try #require(g.first("rect"))
            return DrawnFrame(name: String(tip[..<open.lowerBound]), count: count, kind: g.classes.last ?? "",
                              x: try #require(r.number("x")), width: try #require(r.number("width")), y: try #require(r.number("y")))
        }
    }

    /// How folded lines write a name (`;` → `:`, space → `_`).
    static func foldedName(_ s: String) -> String {
        String(s.map { $0 == ";" ? ":" : ($0 == " " ? "_" : $0) })
    }

    /// Checks a flame graph against the folded stacks of the same input: the root is the total and spans the
    /// width; every drawn frame is a prefix of folded stacks (found by its place: one row up from the frame
    /// whose span holds it) with the sum of their counts in its title and a width in proportion; every prefix
    /// of at least 0.1 % of the total is drawn; siblings stand in alphabetical order. Returns the frames.
    @discardableResult
    static func expectAgrees(svgText: String, folded: String, unit: String = "samples",
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> [DrawnFrame] {
        let svg = try SVGElement.parse(svgText)
        var prefixes: [[String]: UInt64] = [:]
        var total: UInt64 = 0
        for line in folded.split(separator: "\n") {
            let space = try #require(line.lastIndex(of: " "))
            let n = try #require(UInt64(line[line.index(after: space)...]))
            let names = line[..<space].split(separator: ";").map(String.init)
            for k in 1...names.count { prefixes[Array(names.prefix(k)), default: 0] += n }
            total += n
        }
        #expect(total > 0, "the folded export has stacks", sourceLocation: sourceLocation)

        var frames = try frames(svg, unit: unit)
        let root = try #require(frames.first { $0.name == "all" })
        #expect(root.count == total, "the root is the total", sourceLocation: sourceLocation)
        let plotWidth = root.width
        #expect(abs(root.x - 10) < 0.01 && abs(plotWidth - 1180) < 0.01, "the root spans the picture", sourceLocation: sourceLocation)
        // Rows from the bottom: 16 pixels each.
        for i in frames.indices {
            let depth = (root.y - frames[i].y) / 16
            #expect(abs(depth - depth.rounded()) < 0.001 && depth >= 0, "frame \(frames[i].name) on a row", sourceLocation: sourceLocation)
        }
        let order = frames.indices.sorted { frames[$0].y > frames[$1].y }
        for i in order where frames[i].name != "all" {
            let f = frames[i]
            let parent = try #require(order.first { p in
                abs(frames[p].y - (f.y + 16)) < 0.01 && frames[p].x <= f.x + 0.02 && f.x + f.width <= frames[p].x + frames[p].width + 0.02
            }, "frame \(f.name) stands on a frame below it", sourceLocation: sourceLocation)
            frames[i].path = frames[parent].path + [foldedName(f.name)]
        }
        var drawn = Set<[String]>()
        for f in frames where f.name != "all" {
            drawn.insert(f.path)
            let sum = prefixes[f.path]
            #expect(sum == f.count, "\(f.path.joined(separator: ";")): \(f.count) \(unit) drawn, folded lines sum to \(sum ?? 0)",
                    sourceLocation: sourceLocation)
            let want = Double(f.count) / Double(total) * plotWidth
            #expect(abs(f.width - want) < 0.011, "\(f.path.last ?? ""): width \(f.width), \(want) expected", sourceLocation: sourceLocation)
        }
        let wanted = prefixes.filter { Double($0.value) >= Double(total) * 0.001 }
        for p in wanted.keys where !drawn.contains(p) {
            Issue.record("prefix \(p.joined(separator: ";")) (\(wanted[p] ?? 0) \(unit)) is not drawn", sourceLocation: sourceLocation)
        }
        #expect(drawn.count == wanted.count, "frames under 0.1% are left out", sourceLocation: sourceLocation)
        // ... and counted: the heading says how many.
        let note = svg.all("text").map(\.text).first { $0.contains("not drawn") }
        let leftOut = note?.components(separatedBy: "; ").first { $0.contains("not drawn") }?.split(separator: " ").first.flatMap { Int($0) } ?? 0
        #expect(leftOut == prefixes.count - wanted.count, "\(note ?? "no note"): \(prefixes.count - wanted.count) left out",
                sourceLocation: sourceLocation)
        // Siblings: alphabetical from left to right.
        var byParent: [[String]: [DrawnFrame]] = [:]
        for f in frames where f.name != "all" { byParent[Array(f.path.dropLast()), default: []].append(f) }
        for (parent, kids) in byParent {
            let names = kids.sorted { $0.x < $1.x }.map(\.name)
            #expect(names == names.sorted(), "children of \(parent.last ?? "all") in alphabetical order: \(names)", sourceLocation: sourceLocation)
        }
        return frames
    }

    @Test func recordedStacksAgreeWithTheFoldedExport() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["mixed", "1", "2"]), "a perf recording (perf)")
        let dir = URL(fileURLWithPath: file).deletingLastPathComponent()
        let out = dir.appendingPathComponent("flame.svg").path
        let folded = try XprofRunner.xprof(["export", file])
        #expect(folded.status == 0, "\(folded.stderr)")
        let r = try XprofRunner.xprof(["export", file, "--format", "flamegraph", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty, "-o writes the file, not stdout")
        let frames = try Self.expectAgrees(svgText: try String(contentsOfFile: out, encoding: .utf8), folded: folded.stdout)
        // The workload's user functions and the kernel's system-call path, each in its own colour class.
        #expect(frames.contains { $0.name == "workload_spin_hot" && $0.kind == "user" })
        #expect(frames.contains { $0.name.hasPrefix("entry_SYSCALL") && $0.kind == "kernel" })
        #expect(frames.filter { $0.kind == "comm" }.allSatisfy { $0.name == "all" || $0.path.count == 1 }, "command names sit on the root")

        // --period: the widths are the event period (cpu-clock periods vary from sample to sample).
        let foldedPeriod = try XprofRunner.xprof(["export", file, "--period"])
        let byPeriod = try XprofRunner.xprof(["export", file, "--format", "flamegraph", "--period"])
        #expect(byPeriod.status == 0, "\(byPeriod.stderr)")
        let periodFrames = try Self.expectAgrees(svgText: byPeriod.stdout, folded: foldedPeriod.stdout, unit: "events")
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let totalPeriod = try #require(obj["total_period"] as? Int)
        #expect(periodFrames.first { $0.name == "all" }?.count == UInt64(totalPeriod))
        // Stdout (no -o) is the same document as the file.
        let toStdout = try XprofRunner.xprof(["export", file, "--format", "flamegraph"])
        #expect(toStdout.stdout == (try String(contentsOfFile: out, encoding: .utf8)))
    }

    /// A Xenoprof capture (SYNTHETIC, no Xen symbols needed) of a guest kernel whose map has C++ names.
    static func cppCapture(in dir: URL) throws -> (capture: String, map: String) {
        let map = dir.appendingPathComponent("guest.map").path
        try """
        ffffffff81000000 T _stext
        ffffffff81001000 T flush_tlb_mm_range
        ffffffff81002000 T std::vector<int>::push_back(int&&)
        ffffffff81003000 T native_flush_tlb_multi
        ffffffff81004000 T do_syscall_64
        ffffffff81005000 T entry_SYSCALL_64
        ffffffff81006000 T operator<<(std::ostream&,"quoted",'name')
        ffffffff81007000 T _etext

        """.write(toFile: map, atomically: true, encoding: .utf8)
        let desc = dir.appendingPathComponent("cpp.json")
        try """
        {"synthetic": "flame graph test", "pcpus": 2, "seed": 7, "events": [{"name": "CPU_CLK_UNHALTED", "count": 100000}],
         "domains": [{"id": 2, "name": "guest", "role": "passive", "vcpus": 1, "max_samples": 8192, "snapshots": 2,
           "hot": [{"symbols": "guest", "function": "native_flush_tlb_multi", "mode": "kernel", "samples": 320,
                    "callers": ["flush_tlb_mm_range", "do_syscall_64", "entry_SYSCALL_64"]},
                   {"symbols": "guest", "function": "std::vector<int>::push_back(int&&)", "mode": "kernel", "samples": 300,
                    "callers": ["do_syscall_64", "entry_SYSCALL_64"]},
                   {"symbols": "guest", "function": "operator<<(std::ostream&,\\"quoted\\",'name')", "mode": "kernel", "samples": 80,
                    "callers": ["entry_SYSCALL_64"]},
                   {"symbols": "guest", "function": "do_syscall_64", "mode": "kernel", "samples": 100, "callers": ["entry_SYSCALL_64"]}]}]}
        """.write(to: desc, atomically: true, encoding: .utf8)
        let cap = dir.appendingPathComponent("cap").path
        let g = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path, [desc.path, "-o", cap, "--map", "guest=" + map])
        #expect(g.status == 0, "\(g.stderr)")
        return (cap, map)
    }

    @Test func cppNamesAreEscapedAndGuestFramesColoured() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cap, map) = try Self.cppCapture(in: dir)
        let common = ["--domain", "2", "--system-map", "2=" + map]
        for extra in [[], ["--annotate"]] {
            let folded = try XprofRunner.xprof(["export", cap] + common + extra)
            #expect(folded.status == 0, "\(folded.stderr)")
            #expect(folded.stdout.contains("std::vector<int>::push_back(int&&)"), "\(folded.stdout)")
            let r = try XprofRunner.xprof(["export", cap, "--format", "flamegraph"] + common + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let frames = try Self.expectAgrees(svgText: r.stdout, folded: folded.stdout)
            let tag = extra.isEmpty ? "" : "_[k]"
            // Escaped in the text, the name itself once parsed; counts as the scenario made them.
            #expect(r.stdout.contains("std::vector&lt;int&gt;::push_back(int&amp;&amp;)\(tag) (300 samples, 37.50%)"))
            #expect(r.stdout.contains("operator&lt;&lt;(std::ostream&amp;,&quot;quoted&quot;,&#39;name&#39;)\(tag) (80 samples, 10.00%)"))
            #expect(!r.stdout.contains("<int>"))
            let vector = try #require(frames.first { $0.name == "std::vector<int>::push_back(int&&)" + tag })
            #expect(vector.count == 300 && vector.path.count == 4, "domain2;entry;do_syscall_64;vector: \(vector.path)")
            #expect(frames.first { $0.name == "all" }?.count == 800)
            // A passive guest's kernel is guest code; the stack starts with the domain's name.
            #expect(frames.filter { $0.name != "all" && $0.name != "domain2" }.allSatisfy { $0.kind == "guest" })
            #expect(frames.first { $0.name == "domain2" }?.kind == "comm")
        }
        // The capture's period is the same for every sample: widths by period equal widths by samples, the
        // titles count events.
        let folded = try XprofRunner.xprof(["export", cap, "--period"] + common)
        let r = try XprofRunner.xprof(["export", cap, "--format", "flamegraph", "--period"] + common)
        let frames = try Self.expectAgrees(svgText: r.stdout, folded: folded.stdout, unit: "events")
        #expect(frames.first { $0.name == "all" }?.count == 800 * 100000)
    }

    @Test func unwritableOutputNamesTheFile() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (cap, map) = try Self.cppCapture(in: dir)
        let out = dir.appendingPathComponent("no-such-folder/flame.svg").path
        let r = try XprofRunner.xprof(["export", cap, "--format", "flamegraph", "--system-map", "2=" + map, "-o", out])
        #expect(r.status == 66, "\(r.stderr)")
        #expect(r.stderr.contains(out) && r.stderr.contains("cannot write the -o file"), "\(r.stderr)")
        #expect(r.stderr.contains("hint: choose a writable path for -o"), "\(r.stderr)")
        let bad = try XprofRunner.xprof(["export", cap, "--format", "flame"])
        #expect(bad.status == 64)
        // ArgumentParser refuses a value outside the enum, naming those there are.
        #expect(bad.stderr.contains("The value 'flame' is invalid for '--format <format>'"), "\(bad.stderr)")
        for v in ["folded", "flamegraph", "html", "pprof", "csv", "json"] { #expect(bad.stderr.contains("- " + v), "\(bad.stderr)") }
    }
}
