import Profile
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Call graphs under report rows, drawn as `perf report --stdio -g graph` draws them and written as nested
/// JSON objects.
extension ReportRenderer {
    /// The heading line (without `# `) that says how the call graphs read; with `children`, the trees hold the
    /// samples passing through each row too (perf's `--children` graphs).
    static func callGraphHeading(_ o: CallGraphOptions, children: Bool = false) -> String {
        let way = switch (o.order, children) {
        case (.callee, false): "callee order (from each row out to its callers)"
        case (.caller, false): "caller order (from the outermost caller down to each row)"
        case (.callee, true): "callee order (from each row out to its callers), samples passing through the row included"
        case (.caller, true): "caller order (from each row down to its callees; its own samples from the outermost caller)"
        }
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
    /// "percent"}` on nodes that had branches below the limit. Written as `JSONEncoder` writes the rest of a
    /// report (pretty, keys sorted), `indent` spaces in, but by a loop: an encoder's recursion (and a nested
    /// value's) would run out of stack on a tree thousands of frames deep.
    /// - Complexity: O(nodes × depth) characters (the indentation), no recursion.
    static func callGraphJSON(_ g: CallGraph, indent: Int) -> String {
        guard !g.nodes.isEmpty else { return "null" }
        func sp(_ n: Int) -> String { String(repeating: " ", count: n) }
        func field(_ key: String, _ value: String, _ at: Int) -> String { ",\n" + sp(at) + "\"" + key + "\" : " + value }
        func tail(_ i: Int, _ b: Int) -> String {
            let n = g.nodes[i]
            var s = ""
            if n.foldedBranches > 0 {
                s += ",\n" + sp(b + 2) + "\"folded\" : {\n" + sp(b + 4) + "\"branches\" : \(n.foldedBranches)"
                s += field("percent", number(n.foldedPercent), b + 4) + field("period", String(n.foldedPeriod), b + 4)
                s += field("samples", String(n.foldedSamples), b + 4) + "\n" + sp(b + 2) + "}"
            }
            if i > 0 { s += field("image", jsonString(n.image), b + 2) + field("name", jsonString(n.name), b + 2) }
            s += field("percent", number(n.percent), b + 2) + field("period", String(n.period), b + 2)
            s += field("samples", String(n.samples), b + 2)
            return s + "\n" + sp(b) + "}"
        }
        enum Item {
            case open(Int, Int, first: Bool)
            case close(Int, Int)
        }
        var out = ""
        var work: [Item] = [.open(0, indent, first: true)]
        while let item = work.popLast() {
            switch item {
            case .open(let i, let b, let first):
                if i > 0 { out += (first ? "" : ",\n") + sp(b) }
                out += "{\n" + sp(b + 2) + "\"children\" : ["
                let kids = g.nodes[i].children
                if kids.isEmpty {
                    out += "\n\n" + sp(b + 2) + "]" + tail(i, b)
                } else {
                    out += "\n"
                    work.append(.close(i, b))
                    for (k, c) in kids.enumerated().reversed() { work.append(.open(c, b + 4, first: k == 0)) }
                }
            case .close(let i, let b):
                out += "\n" + sp(b + 2) + "]" + tail(i, b)
            }
        }
        return out
    }

    /// A JSON number as the encoder writes it (finite; shortest digits that read back the same).
    private static func number(_ d: Double) -> String {
        guard d.isFinite else { return "0" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    /// A JSON string: quotes, backslashes and control characters escaped (slashes and other text as is).
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// The stand-in a row's call graph has in the encoded report, replaced by ``fillCallGraphs(_:_:)``: a string
    /// no symbol name can hold (it starts with a NUL, which the encoder writes as `\u0000`).
    static func callGraphToken(section: Int, row: Int) -> String { "\u{0}call-graph \(section) \(row)" }

    /// `text` (the encoded `reports`) with each row's stand-in replaced by its call graph, indented in place.
    static func fillCallGraphs(_ text: String, _ reports: [Report]) -> String {
        guard reports.contains(where: { $0.callGraph != nil }) else { return text }
        let marker = "\"\\u0000call-graph "
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !out.isEmpty { out += "\n" }
            guard let at = line.firstRange(of: marker) else { out += line; continue }
            let rest = line[at.upperBound...]
            let numbers = rest.prefix { $0 != "\"" }.split(separator: " ").compactMap { Int($0) }
            guard numbers.count == 2, numbers[0] < reports.count, numbers[1] < reports[numbers[0]].rows.count,
                  let g = reports[numbers[0]].rows[numbers[1]].callGraph else { out += line; continue }
            let indent = line.prefix { $0 == " " }.count
            let after = rest.drop { $0 != "\"" }.dropFirst()  // past the closing quote: "," or nothing
            out += line[..<at.lowerBound] + callGraphJSON(g, indent: indent) + after
        }
        return out
    }
}
