import Foundation
import Testing

/// `xprof report --call-graph` against `perf report --stdio --no-children --sort sym -g callee|caller,0.5` on a
/// recording of the bundled `stacks` workload (deep, varied callchains) made here with `perf record -g`: for
/// perf's top 3 entries, the first level of the tree (the entry's callers, or the outermost frames) and the
/// second level under its largest branch carry the same names, with percentages within 0.2 points; the same
/// with `--children` against `perf report --stdio --children --sort sym -g callee|caller,0.5`.
@Suite(.serialized) struct CallGraphAgreementTests {
    /// One frame of a tree read back: its name, percent of the total and branches.
    final class Frame {
        let name: String
        let percent: Double
        var children: [Frame] = []
        init(name: String, percent: Double) {
            self.name = name
            self.percent = percent
        }
    }

    /// perf's entries (symbol, percent) with their call graphs, a frame per name: perf draws a path that does
    /// not divide as one node, a name a line under its percentage, and a path holding all of the entry's
    /// samples after `---` without one (the entry's own percentage, then).
    static func perfGraphs(_ text: String) -> [(symbol: String, percent: Double, root: Frame)] {
        var out: [(String, Double, Frame)] = []
        var root = Frame(name: "", percent: 0)
        var chainEnd: Frame = root  // the last frame of the "---" path (the root when there is none)
        var lastAt: [Int: Frame] = [:]  // depth → last frame drawn at that depth
        var margin = 12
        var inRootPath = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) where !raw.hasPrefix("#") {
            let line = String(raw)
            // An entry: "    48.62%  [.] workload_spin_hot"
            // With --children: "    99.86%     0.10%  [.] stacks_thread" (children, then self).
            var f = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            if f.count == 3, f[0].hasSuffix("%"), f[1].hasSuffix("%") {
                f = [f[0]] + line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).dropFirst(2)
            }
            if f.count == 3, f[0].hasSuffix("%"), let p = Double(f[0].dropLast()), f[1].hasPrefix("["), f[1].hasSuffix("]") {
                root = Frame(name: "", percent: p)
                chainEnd = root
                lastAt = [0: root]
                margin = 12
                inRootPath = false
                out.append((f[2].trimmingCharacters(in: .whitespaces), p, root))
                continue
            }
            guard line.count > margin, line.prefix(12).allSatisfy({ $0 == " " }) else { continue }
            var body = Array(line.dropFirst(margin))
            if body.starts(with: Array("---")) {
                let frame = Frame(name: String(body.dropFirst(3)), percent: root.percent)
                chainEnd.children.append(frame)
                chainEnd = frame
                lastAt[0] = frame
                margin += 3
                inRootPath = true
                continue
            }
            if inRootPath, let c = body.first, c != " " && c != "|" {
                let frame = Frame(name: String(body), percent: root.percent)
                chainEnd.children.append(frame)
                chainEnd = frame
                lastAt[0] = frame
                continue
            }
            inRootPath = false
            while body.last == " " { body.removeLast() }
            var pos = 0, depth = 0
            while pos < body.count {
                let c = body[pos]
                guard c == "|" || c == " " else {
                    // A name after `depth` levels: the next frame of the path drawn at that depth.
                    let parent = lastAt[depth]!
                    let frame = Frame(name: String(body[pos...]), percent: parent.percent)
                    parent.children.append(frame)
                    lastAt[depth] = frame
                    break
                }
                let rest = body[(pos + 1)...]
                if rest.starts(with: Array("--")), let end = rest.dropFirst(2).firstIndex(of: "%"),
                   let p = Double(String(rest[(rest.startIndex + 2)..<end])) {
                    // "|--12.34%--name": a branch at depth + 1.
                    let name = String(rest[(end + 3)...])
                    let frame = Frame(name: name, percent: p)
                    lastAt[depth]!.children.append(frame)
                    lastAt[depth + 1] = frame
                    break
                }
                guard rest.prefix(10).count == 10, rest.prefix(10).allSatisfy({ $0 == " " }) else { break }
                depth += 1
                pos += 11
            }
        }
        return out
    }

    /// xprof's JSON tree of the row `symbol` (names of unresolved frames as perf writes them: the address).
    static func xprofGraph(_ json: String, symbol: String) throws -> Frame? {
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let rows = try #require(o["rows"] as? [[String: Any]])
        guard let row = rows.first(where: { $0["symbol"] as? String == symbol }),
              let g = row["call_graph"] as? [String: Any] else { return nil }
        let root = Frame(name: "", percent: g["percent"] as? Double ?? -1)
        var work: [([String: Any], Frame)] = [(g, root)]
        while let (obj, frame) = work.popLast() {
            for c in obj["children"] as? [[String: Any]] ?? [] {
                var name = c["name"] as? String ?? "?"
                if name.hasPrefix("[unknown] ") { name = String(name.dropFirst("[unknown] ".count)) }
                let child = Frame(name: name, percent: c["percent"] as? Double ?? -1)
                frame.children.append(child)
                work.append((c, child))
            }
        }
        return root
    }

    /// The same branches with percentages within 0.2 points; a branch only one side shows must be within
    /// 0.2 points of the 0.5 % limit. Returns how many branches were compared.
    @discardableResult
    static func expectSameBranches(_ perf: Frame, _ xprof: Frame, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        var compared = 0
        for p in perf.children {
            if let x = xprof.children.first(where: { $0.name == p.name }) {
                #expect(abs(x.percent - p.percent) <= 0.2, "\(what) → \(p.name): xprof \(x.percent)% vs perf \(p.percent)%",
                        sourceLocation: sourceLocation)
                compared += 1
            } else {
                #expect(p.percent < 0.7, "\(what): perf's branch \(p.name) (\(p.percent)%) is missing from xprof's [\(xprof.children.map(\.name))]",
                        sourceLocation: sourceLocation)
            }
        }
        for x in xprof.children where !perf.children.contains(where: { $0.name == x.name }) {
            #expect(x.percent < 0.7, "\(what): xprof's branch \(x.name) (\(x.percent)%) is not in perf's [\(perf.children.map(\.name))]",
                    sourceLocation: sourceLocation)
        }
        return compared
    }

    /// With `children`, perf's entries are its `--children` ones (by children percentage) and each tree holds the
    /// samples passing through the entry; xprof's row's tree root then carries the row's children percentage.
    static func compare(order: String, file: String, children: Bool = false) throws {
        let mode = children ? "--children" : "--no-children"
        let perf = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", mode, "--sort", "sym",
                                                         "-g", order + ",0.5"])
        #expect(perf.status == 0, "\(perf.stderr)")
        let entries = perfGraphs(perf.stdout)
        #expect(entries.count >= 3, "perf report gave \(entries.count) entries")
        // perf's own spelling, `-g ORDER,0.5`, is taken as it is.
        let x = try XprofRunner.xprof(["report", file, "--sort", "sym", "-g", order + ",0.5", "--format", "json"]
                                      + (children ? ["--children"] : []))
        #expect(x.status == 0, "\(x.stderr)")
        var compared = 0
        for (symbol, percent, perfRoot) in entries.prefix(5) {
            let graph = try xprofGraph(x.stdout, symbol: symbol)
            var xprofRoot = try #require(graph, "no row \(symbol) in xprof's report")
            #expect(abs(xprofRoot.percent - percent) <= 0.1, "\(mode) \(symbol): xprof \(xprofRoot.percent)% vs perf \(percent)%")
            // perf leaves out the first name of the "---" path with --sort sym (meant for the entry itself in
            // callee order, it drops the outermost caller in caller order): start one level down there.
            if order == "caller", xprofRoot.children.count == 1, abs(xprofRoot.children[0].percent - xprofRoot.percent) < 1e-9 {
                xprofRoot = xprofRoot.children[0]
            }
            compared += expectSameBranches(perfRoot, xprofRoot, "\(mode) \(order) \(symbol)")
            // The second level under the largest branch.
            if let largest = perfRoot.children.max(by: { $0.percent < $1.percent }),
               let mine = xprofRoot.children.first(where: { $0.name == largest.name }) {
                compared += expectSameBranches(largest, mine, "\(mode) \(order) \(symbol) → \(largest.name)")
            }
        }
        #expect(compared >= 5, "too few branches to compare (\(compared)): the recording has no call graphs worth the name")
    }

    /// In callee order sorted by dso,sym, each entry's tree starts with the entry's own function (perf leaves
    /// it out only when the sort begins with sym): the first name of each entry's "---" path, as perf.
    @Test func calleeTreesStartAsPerfsWithDsoSym() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["stacks", "2"]), "a perf recording (perf)")
        /// Entry (its last word) → the first name of its "---" path, for entries of 1 % or more.
        func firstNames(_ text: String) -> [String: String] {
            var out: [String: String] = [:]
            var entry: String? = nil
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let words = line.split(separator: " ")
                if let first = words.first, first.hasSuffix("%"), let p = Double(first.dropLast()) {
                    entry = p >= 1 ? words.last.map(String.init) : nil
                } else if let e = entry, let r = line.range(of: "---") {
                    if out[e] == nil { out[e] = String(line[r.upperBound...]).trimmingCharacters(in: .whitespaces) }
                    entry = nil
                }
            }
            return out
        }
        for sort in ["dso,sym", "sym"] {
            let perf = try XprofRunner.run("/usr/bin/perf", ["report", "-i", file, "--stdio", "--no-children", "--sort", sort, "-g", "callee"])
            let x = try XprofRunner.xprof(["report", file, "--sort", sort, "-g", "callee"])
            #expect(perf.status == 0 && x.status == 0, "\(perf.stderr) \(x.stderr)")
            let (p, m) = (firstNames(perf.stdout), firstNames(x.stdout))
            #expect(p.count >= 3, "perf drew \(p.count) trees")
            #expect(p == m, "--sort \(sort): perf \(p.sorted { $0.key < $1.key }) vs xprof \(m.sorted { $0.key < $1.key })")
            if sort == "dso,sym" { #expect(p.filter { $0.key == $0.value }.count >= 3, "trees start with the entry's own function") }
        }
    }

    @Test func calleeGraphsAgreeWithPerfReport() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["stacks", "2"]), "a perf recording (perf)")
        try Self.compare(order: "callee", file: file)
    }

    @Test func callerGraphsAgreeWithPerfReport() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["stacks", "2"]), "a perf recording (perf)")
        try Self.compare(order: "caller", file: file)
        // perf's comma form says the same as xprof's options; `-g none` draws no graphs.
        let perfStyle = try XprofRunner.xprof(["report", file, "--sort", "sym", "-g", "graph,2,caller", "--format", "json"])
        let options = try XprofRunner.xprof(["report", file, "--sort", "sym", "--call-graph", "caller", "--call-graph-limit", "2",
                                             "--format", "json"])
        #expect(perfStyle.status == 0 && perfStyle.stdout == options.stdout, "\(perfStyle.stderr)")
        #expect(perfStyle.stdout.contains("\"call_graph\""))
        let none = try XprofRunner.xprof(["report", file, "--sort", "sym", "-g", "none", "--format", "json"])
        let plain = try XprofRunner.xprof(["report", file, "--sort", "sym", "--format", "json"])
        #expect(none.status == 0 && none.stdout == plain.stdout)
    }

    /// With `--children`, as perf's default `perf report --children -g`: for its top 3 entries (by children
    /// percentage) the tree of the samples passing through the entry, in callee order from the entry out to
    /// the callers (the entry left out), in caller order from the entry down to its callees beside the entry's
    /// own samples from their outermost frame.
    @Test(arguments: ["callee", "caller"])
    func childrenGraphsAgreeWithPerfReport(order: String) throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["stacks", "2"]), "a perf recording (perf)")
        try Self.compare(order: order, file: file, children: true)
    }

    /// A self entry with `--children -g caller` holds the entry itself as a first-level branch (the samples
    /// passing through it, from it down) beside its own samples' paths from the root, as perf draws it; the
    /// whole tree is the row's children percentage, and the text draws it.
    @Test func childrenCallerTreeStartsAtTheEntry() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["stacks", "2"]), "a perf recording (perf)")
        let x = try XprofRunner.xprof(["report", file, "--sort", "sym", "--children", "-g", "caller", "--format", "json"])
        #expect(x.status == 0, "\(x.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(x.stdout.utf8)) as? [String: Any])
        let rows = try #require(o["rows"] as? [[String: Any]])
        let top = try #require(rows.first)
        let name = try #require(top["symbol"] as? String)
        let g = try #require(top["call_graph"] as? [String: Any])
        #expect(abs((g["percent"] as? Double ?? -1) - (top["children"] as? Double ?? -2)) < 1e-9)
        let kids = g["children"] as? [[String: Any]] ?? []
        let entry = try #require(kids.first { $0["name"] as? String == name }, "\(name) is not a first-level branch of its own tree")
        let through = (top["children"] as? Double ?? 0) - (top["overhead"] as? Double ?? 0)
        #expect(abs((entry["percent"] as? Double ?? -1) - through) < 0.05, "\(entry) vs \(through)")
        let text = try XprofRunner.xprof(["report", file, "--sort", "sym", "--children", "-g", "caller"])
        #expect(text.status == 0 && text.stdout.contains("--" + name + "\n"), "\(text.stderr)")
    }

    /// The refusals: CSV cannot hold a tree; perf's other modes are not drawn.
    @Test(arguments: [
        (["--format", "csv"], "--call-graph draws trees, which CSV rows cannot hold; use --format table or --format json"),
        (["--children", "--format", "csv"], "--call-graph draws trees, which CSV rows cannot hold; use --format table or --format json"),
        (["fractal,0.5"], "--call-graph fractal,0.5: xprof draws perf's 'graph' mode by function, in percent of the total; 'fractal' is not supported"),
    ])
    func refusals(extra: [String], message: String) throws {
        let r = try XprofRunner.xprof(["report", "no-such-file", "--call-graph"] + extra)
        #expect(r.status == 64)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}
