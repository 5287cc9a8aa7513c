/// Call graphs under report rows, drawn as `perf report --stdio -g graph` draws them and written as nested
/// JSON objects.
extension ReportRenderer {
    /// The heading line (without `# `) that says how the call graphs read.
    static func callGraphHeading(_ o: CallGraphOptions) -> String {
        let way = o.order == .callee ? "callee order (from each row out to its callers)"
                                     : "caller order (from the outermost caller down to each row)"
        return "call graph: \(way), percent of the total; branches below \(pct(o.limit))% folded and counted as [...]"
    }

    /// The tree of `g` as perf's `--stdio` graph: a branch per line as `|--12.34%--name`, a path that does not
    /// divide drawn one name a line under its first frame, a single path holding all of the row's samples drawn
    /// as `---name` without a percentage; each node's folded branches as a last `--0.12%--[...] (N below L%)`.
    /// Ends with an empty line, as perf's does, unless there is nothing to draw.
    /// - Complexity: O(lines × depth); no recursion, whatever the depth of the stacks.
    public static func callGraphText(_ g: CallGraph) -> String {
        let nodes = g.nodes
        guard let root = nodes.first else { return "" }
        var out = ""
        var margin = String(repeating: " ", count: 12)
        var top = 0
        if root.children.count == 1, nodes[root.children[0]].period == root.period {
            // perf's "---" path: the row's samples all go this way, so no percentage.
            var n = root.children[0]
            out += margin + "|\n" + margin + "---" + nodes[n].name + "\n"
            while g.continues(n) {
                n = nodes[n].children[0]
                out += margin + "   " + nodes[n].name + "\n"
            }
            margin += "   "
            top = n
        }
        func trimmed(_ s: String) -> String {
            var s = s
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        /// The connector columns of `mask` (a `|` where a level still has branches to come).
        func columns(_ mask: [Bool], label: String?) -> String {
            var s = margin
            for (i, bar) in mask.enumerated() {
                s += bar ? "|" : " "
                if i == mask.count - 1, let label { s += "--" + label + "--" } else { s += "          " }
            }
            return s
        }
        enum Item {
            /// A shown branch at `mask.count` levels deep: `mask` as its parent left it, `last` among siblings.
            case branch(Int, mask: [Bool], last: Bool)
            /// The folded branches of a node.
            case folded(Int, mask: [Bool])
        }
        func push(childrenOf p: Int, mask: [Bool], into work: inout [Item]) {
            let n = nodes[p]
            if n.foldedBranches > 0 { work.append(.folded(p, mask: mask)) }
            for (k, c) in n.children.enumerated().reversed() {
                work.append(.branch(c, mask: mask, last: k == n.children.count - 1 && n.foldedBranches == 0))
            }
        }
        var work: [Item] = []
        push(childrenOf: top, mask: [true], into: &work)
        while let item = work.popLast() {
            switch item {
            case .branch(let c, let mask, let last):
                var own = mask
                if last { own[own.count - 1] = false }
                out += trimmed(columns(mask, label: nil)) + "\n"
                var n = c
                out += columns(own, label: pct(nodes[n].percent) + "%") + nodes[n].name + "\n"
                while g.continues(n) {
                    n = nodes[n].children[0]
                    out += columns(own, label: nil) + nodes[n].name + "\n"
                }
                push(childrenOf: n, mask: own + [true], into: &work)
            case .folded(let p, let mask):
                var own = mask
                own[own.count - 1] = false
                let n = nodes[p]
                out += trimmed(columns(mask, label: nil)) + "\n"
                out += columns(own, label: pct(n.foldedPercent) + "%")
                    + "[...] (\(n.foldedBranches) \(n.foldedBranches == 1 ? "branch" : "branches") below \(pct(g.limit))%)\n"
            }
        }
        return out.isEmpty ? "" : out + "\n"
    }

    /// The tree as nested JSON objects: `{"name", "image", "samples", "period", "percent", "children": […]}`
    /// (the root, the row itself, without name and image), with `"folded": {"branches", "samples", "period",
    /// "percent"}` on nodes that had branches below the limit.
    /// - Complexity: O(nodes), built bottom-up without recursion.
    static func callGraphObject(_ g: CallGraph) -> JSONValue {
        var values = [JSONValue](repeating: .null, count: g.nodes.count)
        // Depth-first order puts every child after its parent: build from the end.
        for i in g.nodes.indices.reversed() {
            let n = g.nodes[i]
            var o: [String: JSONValue] = [
                "samples": .of(n.samples), "period": .of(n.period), "percent": .of(n.percent),
                "children": .array(n.children.map { values[$0] }),
            ]
            if i > 0 {
                o["name"] = .of(n.name)
                o["image"] = .of(n.image)
            }
            if n.foldedBranches > 0 {
                o["folded"] = .object(["branches": .of(n.foldedBranches), "samples": .of(n.foldedSamples),
                                       "period": .of(n.foldedPeriod), "percent": .of(n.foldedPercent)])
            }
            values[i] = .object(o)
            for c in n.children { values[c] = .null }  // each subtree held once, by its parent
        }
        return values.first ?? .null
    }
}
