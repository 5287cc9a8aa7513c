import Foundation
import Testing
@testable import Profile
@testable import Render
@testable import SampleIO

/// `report --call-graph` on synthetic kernel samples whose trees are worked out by hand: merged samples
/// (count > 1), a sample without a callchain, recursion, folding under the limit, filters, other sort keys,
/// trees with --children in both orders and a stack thousands of frames deep.
@Suite struct CallGraphTests {
    /// Samples handed over in one batch.
    final class MemorySource: SampleSource {
        let metadata: RunMetadata
        var stats = DecodeStats()
        private var batch: SampleBatch?
        init(metadata: RunMetadata, batch: SampleBatch) {
            self.metadata = metadata
            self.batch = batch
        }
        func nextBatch() throws(SampleIOError) -> SampleBatch? {
            defer { batch = nil }
            return batch
        }
    }

    /// Kernel functions at 0x1000 apart (kallsyms of the recording), each sampled at +0x10.
    static let functions = ["start", "main_loop", "parse", "lex", "hash", "recurse", "end_of_text"]
    static func address(_ name: String) -> UInt64 {
        0xffff_ffff_8100_0010 + UInt64(functions.firstIndex(of: name)!) * 0x1000
    }

    static var metadata: RunMetadata {
        var m = RunMetadata()
        m.domains = [DomainInfo(id: .host, name: "host", role: .coordinator)]
        m.kernelSymbols = [KernelSymbolSnapshot(domain: .host, text: functions.enumerated().map { i, f in
            String(0xffff_ffff_8100_0000 + UInt64(i) * 0x1000, radix: 16) + " T " + f
        }.joined(separator: "\n") + "\n")]
        return m
    }

    /// A kernel sample in `chain[0]` with that callchain (leaf first; empty: no callchain at all).
    static func append(_ b: inout SampleBatch, leaf: String, chain: [String], count: UInt64, weight: UInt64, mode: SampleMode = .kernel) {
        let s = Sample(ip: address(leaf), weight: weight, pid: 7, tid: 7, mode: mode, count: count)
        b.append(s, callchain: chain.map { CallFrame(ip: address($0), mode: mode) })
    }

    /// Total period 850 in ten samples; `lex` has 800 of it in nine.
    static var samples: SampleBatch {
        var b = SampleBatch()
        append(&b, leaf: "lex", chain: ["lex", "parse", "main_loop", "start"], count: 3, weight: 300)  // merged
        append(&b, leaf: "lex", chain: ["lex", "parse", "main_loop", "start"], count: 1, weight: 100)
        append(&b, leaf: "lex", chain: ["lex", "hash", "main_loop", "start"], count: 1, weight: 200)
        append(&b, leaf: "lex", chain: [], count: 2, weight: 150)  // no callchain
        append(&b, leaf: "hash", chain: ["hash", "parse", "main_loop", "start"], count: 1, weight: 50)
        append(&b, leaf: "lex", chain: ["lex", "recurse", "recurse", "main_loop", "start"], count: 1, weight: 40)
        append(&b, leaf: "lex", chain: ["lex", "start"], count: 1, weight: 10)
        return b
    }

    /// Sorted by symbol first, as `perf report --sort sym,dso`: a callee tree then starts at the row's callers
    /// (``rowsOwnFunctionUnlessSortedBySymbolFirst()`` for the other order).
    static func report(_ order: CallGraphOrder, limit: Double = 0.5, sort: [SortKey] = [.symbol, .image],
                       batch: SampleBatch = samples, adjust: (inout ReportOptions) -> Void = { _ in }) throws -> Report {
        var o = ReportOptions()
        o.sortKeys = sort
        o.callGraph = CallGraphOptions(order: order, limit: limit)
        adjust(&o)
        return try ReportBuilder.build(source: MemorySource(metadata: metadata, batch: batch), path: "memory", options: o)
    }

    /// The tree as nested (name, samples, period) lines, two spaces a level: easy to compare whole.
    static func outline(_ g: CallGraph) -> [String] {
        var lines: [String] = []
        var work: [(Int, Int)] = [(0, 0)]
        while let (i, depth) = work.popLast() {
            let n = g.nodes[i]
            var line = String(repeating: "  ", count: depth) + (i == 0 ? "(row)" : n.name) + " \(n.samples) \(n.period)"
            if n.foldedBranches > 0 { line += " folded \(n.foldedBranches) \(n.foldedSamples) \(n.foldedPeriod)" }
            lines.append(line)
            for c in n.children.reversed() { work.append((c, depth + 1)) }
        }
        return lines
    }

    @Test func calleeTreeByHand() throws {
        let r = try Self.report(.callee)
        #expect(r.totalPeriod == 850 && r.totalSamples == 10)
        let lex = try #require(r.rows.first)
        #expect(lex.values == ["lex", "[kernel.kallsyms]"] && lex.period == 800)
        let g = try #require(lex.callGraph)
        // The row is lex itself: its callers come first. The chainless samples (2, 150) end at the row.
        #expect(Self.outline(g) == [
            "(row) 9 800",
            "  parse 4 400",       // 3 merged samples + 1
            "    main_loop 4 400",
            "      start 4 400",
            "  hash 1 200",
            "    main_loop 1 200",
            "      start 1 200",
            "  recurse 1 40",      // recursion: the function twice, one frame each, as perf shows it
            "    recurse 1 40",
            "      main_loop 1 40",
            "        start 1 40",
            "  start 1 10",
        ])
        #expect(abs(g.nodes[1].percent - 400.0 * 100 / 850) < 1e-9, "percent of the total, not of the row")
        #expect(g.nodes[1].image == "[kernel.kallsyms]")
        let hash = try #require(r.rows.first { $0.values.first == "hash" }?.callGraph)
        #expect(Self.outline(hash) == ["(row) 1 50", "  parse 1 50", "    main_loop 1 50", "      start 1 50"])
    }

    @Test func callerTreeByHand() throws {
        let g = try #require(try Self.report(.caller).rows.first?.callGraph)
        #expect(Self.outline(g) == [
            "(row) 9 800",
            "  start 7 650",
            "    main_loop 6 640",
            "      parse 4 400",
            "        lex 4 400",
            "      hash 1 200",
            "        lex 1 200",
            "      recurse 1 40",
            "        recurse 1 40",
            "          lex 1 40",
            "    lex 1 10",
            "  lex 2 150",  // the samples without a callchain: their own frame alone
        ])
    }

    /// With --children a row's tree holds every sample whose callchain passes through it, once, as perf's
    /// cumulative entries do. The samples above plus `parse` recursing through `lex` (merged: 2 samples, 30):
    /// total 880 in twelve samples.
    static var childrenSamples: SampleBatch {
        var b = samples
        append(&b, leaf: "parse", chain: ["parse", "lex", "parse", "main_loop", "start"], count: 2, weight: 30)
        return b
    }

    static func childrenTrees(_ order: CallGraphOrder) throws -> [String: [String]] {
        let r = try report(order, batch: childrenSamples) { $0.children = true }
        #expect(r.totalPeriod == 880 && r.totalSamples == 12)
        #expect(r.rows.map { $0.values.first! } == ["lex", "start", "main_loop", "parse", "hash", "recurse"])
        var trees: [String: [String]] = [:]
        for row in r.rows {
            let g = try #require(row.callGraph)
            #expect(g.nodes[0].period == row.childrenPeriod, "\(row.values): the tree is the row's children period")
            trees[row.values.first!] = outline(g)
        }
        return trees
    }

    /// Callee order: from the row's innermost frame out to the root, the row left out as for its own samples.
    @Test func childrenCalleeTreesByHand() throws {
        let t = try Self.childrenTrees(.callee)
        #expect(t["lex"] == [
            "(row) 11 830",
            "  parse 6 430",       // 4 own + the 2 merged samples passing through lex (leaf parse)
            "    main_loop 6 430",
            "      start 6 430",
            "  hash 1 200",
            "    main_loop 1 200",
            "      start 1 200",
            "  recurse 1 40",
            "    recurse 1 40",
            "      main_loop 1 40",
            "        start 1 40",
            "  start 1 10",
        ])
        // parse: counted once for the merged sample where it recurs; its own path still shows the recursion.
        #expect(t["parse"] == [
            "(row) 7 480",
            "  main_loop 5 450",
            "    start 5 450",
            "  lex 2 30",
            "    parse 2 30",
            "      main_loop 2 30",
            "        start 2 30",
        ])
        // recurse: from its innermost frame, once.
        #expect(t["recurse"] == ["(row) 1 40", "  recurse 1 40", "    main_loop 1 40", "      start 1 40"])
        #expect(t["start"] == ["(row) 10 730"])
    }

    /// Caller order: from the row's outermost frame down to the leaf, the row itself first; its own samples
    /// from their root, as perf draws them.
    @Test func childrenCallerTreesByHand() throws {
        let t = try Self.childrenTrees(.caller)
        #expect(t["lex"] == [
            "(row) 11 830",
            "  start 7 650",
            "    main_loop 6 640",
            "      parse 4 400",
            "        lex 4 400",
            "      hash 1 200",
            "        lex 1 200",
            "      recurse 1 40",
            "        recurse 1 40",
            "          lex 1 40",
            "    lex 1 10",
            "  lex 4 180",         // its 2 chainless samples, and the 2 passing through it from here down
            "    parse 2 30",
        ])
        #expect(t["parse"] == [
            "(row) 7 480",
            "  parse 5 450",
            "    lex 4 400",
            "    hash 1 50",
            "  start 2 30",
            "    main_loop 2 30",
            "      parse 2 30",
            "        lex 2 30",
            "          parse 2 30",
        ])
        // recurse: from its outermost frame, once.
        #expect(t["recurse"] == ["(row) 1 40", "  recurse 1 40", "    recurse 1 40", "      lex 1 40"])
        #expect(t["main_loop"]?.prefix(3) == ["(row) 9 720", "  main_loop 9 720", "    parse 7 480"])
        // Drawn as any tree: the entry a first-level branch beside its own samples' roots.
        let r = try Self.report(.caller, batch: Self.childrenSamples) { $0.children = true }
        let parse = try #require(r.rows.first { $0.values.first == "parse" }?.callGraph)
        let m = String(repeating: " ", count: 12)
        #expect(ReportRenderer.callGraphText(parse).hasPrefix([m + "|", m + "|--51.14%--parse", m + "|          |",
                                                               m + "|          |--45.45%--lex"].joined(separator: "\n")))
    }

    /// 2 % of 850 is 17: `start` (10) under lex is folded and counted; deeper levels too.
    @Test func limitFoldsAndCounts() throws {
        let g = try #require(try Self.report(.callee, limit: 2).rows.first?.callGraph)
        #expect(Self.outline(g) == [
            "(row) 9 800 folded 1 1 10",
            "  parse 4 400",
            "    main_loop 4 400",
            "      start 4 400",
            "  hash 1 200",
            "    main_loop 1 200",
            "      start 1 200",
            "  recurse 1 40",
            "    recurse 1 40",
            "      main_loop 1 40",
            "        start 1 40",
        ])
        #expect(g.nodes[0].branches == 4 && abs(g.nodes[0].foldedPercent - 10.0 * 100 / 850) < 1e-9)
        // 5 % (42.5, perf rounds down to 42): recurse (40) goes too, two branches folded.
        let g5 = try #require(try Self.report(.callee, limit: 5).rows.first?.callGraph)
        #expect(g5.nodes[0].foldedBranches == 2 && g5.nodes[0].foldedPeriod == 50 && g5.nodes[0].foldedSamples == 2)
        #expect(g5.nodes[0].children.map { g5.nodes[$0].name } == ["parse", "hash"])
        // The limit is perf's: a branch at exactly the limit stays (40 of 800 total = 5 %).
        var b = SampleBatch()
        Self.append(&b, leaf: "lex", chain: ["lex", "parse"], count: 1, weight: 760)
        Self.append(&b, leaf: "lex", chain: ["lex", "hash"], count: 1, weight: 40)
        let edge = try #require(try Self.report(.callee, limit: 5, batch: b).rows.first?.callGraph)
        #expect(edge.nodes[0].foldedBranches == 0 && edge.nodes[0].children.count == 2)
    }

    /// The text is perf's --stdio graph; every line is checked.
    @Test func textAsPerfDrawsIt() throws {
        let r = try Self.report(.callee, limit: 2)
        let text = ReportRenderer.callGraphText(try #require(r.rows.first?.callGraph))
        let m = String(repeating: " ", count: 12)
        #expect(text == [
            m + "|",
            m + "|--47.06%--parse",
            m + "|          main_loop",
            m + "|          start",
            m + "|",
            m + "|--23.53%--hash",
            m + "|          main_loop",
            m + "|          start",
            m + "|",
            m + "|--4.71%--recurse",
            m + "|          recurse",
            m + "|          main_loop",
            m + "|          start",
            m + "|",
            m + " --1.18%--[...] (1 branch below 2.00%)",
            "", "",
        ].joined(separator: "\n"))
        // hash's row: a single path holding all its samples is drawn as perf does, with --- and no percentage.
        let hash = try #require(r.rows.first { $0.values.first == "hash" }?.callGraph)
        #expect(ReportRenderer.callGraphText(hash) == [m + "|", m + "---parse", m + "   main_loop", m + "   start", "", ""].joined(separator: "\n"))
        // Caller order: the shared root path, then the division, nested one level deeper.
        let caller = ReportRenderer.callGraphText(try #require(try Self.report(.caller, limit: 2).rows.first?.callGraph))
        #expect(caller.hasPrefix([m + "|", m + "|--76.47%--start", m + "|          |", m + "|          |--75.29%--main_loop",
                                  m + "|          |          |", m + "|          |          |--47.06%--parse",
                                  m + "|          |          |          lex"].joined(separator: "\n")), "\(caller)")
    }

    @Test func jsonNestsTheTree() throws {
        let json = ReportRenderer.json(try Self.report(.callee, limit: 2))
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let settings = try #require(o["call_graph_settings"] as? [String: Any])
        #expect(settings["order"] as? String == "callee" && settings["limit"] as? Double == 2)
        let row = try #require((o["rows"] as? [[String: Any]])?.first)
        let root = try #require(row["call_graph"] as? [String: Any])
        #expect(root["period"] as? Int == 800 && root["samples"] as? Int == 9)
        let folded = try #require(root["folded"] as? [String: Any])
        #expect(folded["branches"] as? Int == 1 && folded["period"] as? Int == 10)
        let first = try #require((root["children"] as? [[String: Any]])?.first)
        #expect(first["name"] as? String == "parse" && first["image"] as? String == "[kernel.kallsyms]")
        #expect(first["samples"] as? Int == 4 && first["period"] as? Int == 400)
        #expect(abs((first["percent"] as? Double ?? 0) - 47.0588235) < 1e-6)
        let next = try #require((first["children"] as? [[String: Any]])?.first)
        #expect(next["name"] as? String == "main_loop" && first["folded"] == nil)
    }

    /// Filters keep their samples out of the trees; other keys put the sampled functions at the top.
    @Test func filtersAndOtherKeys() throws {
        var b = Self.samples
        Self.append(&b, leaf: "lex", chain: ["lex", "parse"], count: 5, weight: 1000, mode: .user)
        let kernelOnly = try Self.report(.callee, batch: b) { $0.selection.mode = .kernel }
        #expect(kernelOnly.totalPeriod == 850)
        #expect(Self.outline(try #require(kernelOnly.rows.first?.callGraph)).first == "(row) 9 800")
        // By image: the row holds every kernel sample; the tree starts at the function each was in.
        let byImage = try #require(try Self.report(.callee, sort: [.image]).rows.first?.callGraph)
        #expect(byImage.nodes[0].children.map { byImage.nodes[$0].name } == ["lex", "hash"])
        #expect(Self.outline(byImage).prefix(3) == ["(row) 10 850", "  lex 9 800", "    parse 4 400"])
        // --top: only the shown rows have a tree, and the right one.
        let top = try Self.report(.callee) { $0.top = 1 }
        #expect(top.rows.count == 1 && top.rows[0].callGraph?.nodes[0].period == 800)
    }

    /// Sorted by image then symbol (xprof's default, perf's `--sort dso,sym`), a callee tree starts with the
    /// row's own function, as perf draws it: perf leaves the entry out only when the sort begins with `sym`.
    @Test func rowsOwnFunctionUnlessSortedBySymbolFirst() throws {
        let r = try Self.report(.callee, sort: [.image, .symbol])
        let lex = try #require(r.rows.first)
        #expect(lex.values == ["[kernel.kallsyms]", "lex"])
        let g = try #require(lex.callGraph)
        #expect(Self.outline(g).prefix(5) == ["(row) 9 800", "  lex 9 800", "    parse 4 400", "      main_loop 4 400", "        start 4 400"])
        let hash = try #require(r.rows.first { $0.values.last == "hash" }?.callGraph)
        #expect(Self.outline(hash) == ["(row) 1 50", "  hash 1 50", "    parse 1 50", "      main_loop 1 50", "        start 1 50"])
        // Caller order is the same either way.
        let callerBySymbol = try Self.report(.caller).rows.first?.callGraph
        let callerByImage = try Self.report(.caller, sort: [.image, .symbol]).rows.first?.callGraph
        #expect(callerBySymbol.map(Self.outline) == callerByImage.map(Self.outline))
    }

    /// A recursion 1,000 frames deep: built, drawn and written without running out of stack.
    @Test func deepStack() throws {
        var b = SampleBatch()
        let chain = ["lex"] + Array(repeating: "recurse", count: 1000) + ["start"]
        Self.append(&b, leaf: "lex", chain: chain, count: 2, weight: 20)
        Self.append(&b, leaf: "lex", chain: Array(chain.prefix(500)) + ["hash"], count: 1, weight: 10)
        let r = try Self.report(.caller, batch: b)
        let g = try #require(r.rows.first?.callGraph)
        #expect(g.nodes.count == 1 + 1002 + 501)
        let text = ReportRenderer.callGraphText(g)
        #expect(text.split(separator: "\n").count > 1500)
        #expect(text.contains("--33.33%--hash"))
        let json = ReportRenderer.json(r)
        #expect(json.contains("\"name\" : \"hash\""))
    }
}
