import Profile
/// An SVG flame graph, after Brendan Gregg's `flamegraph.pl`, of the stacks ``FoldedStacks`` collects.
///
/// One rectangle per frame of each distinct stack prefix, the root ("all") at the bottom, each as wide as the
/// samples (or event period) of the stacks through it; a frame's children sit on top of it in alphabetical
/// order. Frames narrower than ``Options/minimumShare`` of the total are not drawn, but their samples stay in
/// their parents' widths and the document says how many were left out. Every frame carries a `<title>`
/// tooltip (name, count, share) and a colour by kind: user, kernel, hypervisor, guest, or the command name.
/// A small script adds click-to-zoom and a regular-expression search; without it the picture is complete.
public struct FlameGraph: Sendable {
    /// How the picture is drawn.
    public struct Options: Sendable {
        /// Widths by event period instead of samples.
        public var byPeriod = false
        /// The heading, escaped when written.
        public var title = "Flame Graph"
        /// Frames under this share of the total (0.001 = 0.1 %) are counted but not drawn.
        public var minimumShare = 0.001
        /// Width of the picture in pixels.
        public var width = 1200.0
        /// Widths by samples, `Flame Graph` as the title, 0.1 % minimum share, 1200 pixels wide.
        public init() {}
    }

    struct Node: Sendable {
        var name: String
        var kind: FoldedStacks.FrameKind
        var samples: UInt64 = 0
        var period: UInt64 = 0
        var children: [Int] = []
    }

    /// The merged stacks as a tree in one flat array; node 0 is the root.
    var nodes: [Node]

    /// Merges `stacks` into a tree: frames with the same name under the same parent become one node.
    /// - Complexity: O(total frames), one hash lookup per frame.
    public init(stacks: [FoldedStacks.Stack]) {
        struct ChildKey: Hashable {
            var parent: Int
            var name: String
        }
        nodes = [Node(name: "all", kind: .comm)]
        var index: [ChildKey: Int] = [:]
        for st in stacks {
            var at = 0
            nodes[0].samples += st.samples
            nodes[0].period += st.period
            for f in st.frames {
                let key = ChildKey(parent: at, name: f.name)
                let child: Int
                if let c = index[key] {
                    child = c
                } else {
                    child = nodes.count
                    nodes.append(Node(name: f.name, kind: f.kind))
                    nodes[at].children.append(child)
                    index[key] = child
                }
                nodes[child].samples += st.samples
                nodes[child].period += st.period
                at = child
            }
        }
    }

    // Geometry (pixels), as flamegraph.pl's defaults.
    static let frameHeight = 16.0
    static let fontSize = 12.0
    static let charWidth = 0.59 * 12.0
    static let pad = 10.0
    static let top = 64.0
    static let bottom = 30.0

    /// The SVG document.
    public func svg(options: Options) -> String {
        let value: (Node) -> UInt64 = { options.byPeriod ? $0.period : $0.samples }
        let total = value(nodes[0])
        let unit = options.byPeriod ? "events" : "samples"
        let plotWidth = options.width - 2 * Self.pad
        let perUnit = total > 0 ? plotWidth / Double(total) : 0
        let smallest = Double(total) * options.minimumShare

        // Which nodes are drawn, where: depth-first, children alphabetically; a left-out node's subtree is
        // left out with it (and counted).
        var placed: [(node: Int, x: Double, depth: Int)] = []
        var leftOut = 0
        var maxDepth = 0
        var todo: [(node: Int, x: Double, depth: Int)] = total > 0 ? [(0, Self.pad, 0)] : []
        while let (n, x, depth) = todo.popLast() {
            if Double(value(nodes[n])) < smallest || value(nodes[n]) == 0 {
                leftOut += subtreeSize(n)
                continue
            }
            placed.append((n, x, depth))
            maxDepth = max(maxDepth, depth)
            var cx = x
            var next: [(node: Int, x: Double, depth: Int)] = []
            for c in nodes[n].children.sorted(by: { nodes[$0].name < nodes[$1].name }) {
                next.append((c, cx, depth + 1))
                cx += Double(value(nodes[c])) * perUnit
            }
            todo.append(contentsOf: next.reversed())
        }

        let height = Self.top + Double(maxDepth + 1) * Self.frameHeight + Self.bottom
        var svg = SVGWriter(width: options.width, height: height)
        svg.element("text", ["x": .number(options.width / 2), "y": "22", "font-size": "17", "text-anchor": "middle"], text: options.title)
        var sub = "\(total) \(unit)"
        if options.byPeriod { sub += " in \(nodes[0].samples) samples" }
        sub += "; width: \(options.byPeriod ? "event period" : "samples"); children in alphabetical order"
        if leftOut > 0 {
            sub += "; \(leftOut) frame\(leftOut == 1 ? "" : "s") under \(ReportRenderer.pct(options.minimumShare * 100, decimals: 1))% not drawn (counted in their callers)"
        }
        svg.element("text", ["x": .number(options.width / 2), "y": "40", "font-size": "12", "fill": "#555", "text-anchor": "middle"], text: sub)
        legend(&svg, kinds: Set(placed.map { nodes[$0.node].kind }), width: options.width)
        svg.element("text", ["id": "unzoom", "x": .number(Self.pad), "y": "56", "font-size": "12", "cursor": "pointer",
                             "style": "display:none"], text: "Reset Zoom")
        svg.element("text", ["id": "search", "x": .number(options.width - Self.pad), "y": "56", "font-size": "12",
                             "text-anchor": "end", "cursor": "pointer"], text: "Search")
        if total == 0 {
            svg.element("text", ["x": .number(options.width / 2), "y": .number(Self.top + 12), "text-anchor": "middle"], text: "no samples")
        }

        svg.open("g", ["id": "frames", "font-size": .number(Self.fontSize)])
        let baseY = height - Self.bottom - Self.frameHeight
        for (n, x, depth) in placed {
            let node = nodes[n]
            let v = value(node)
            let w = Double(v) * perUnit
            let y = baseY - Double(depth) * Self.frameHeight
            var tip = "\(node.name) (\(v) \(unit)"
            if options.byPeriod { tip += ", \(node.samples) samples" }
            tip += ", \(ReportRenderer.pct(Double(v) / Double(total) * 100))%)"
            svg.open("g", ["class": .text("f " + node.kind.rawValue)])
            svg.title(tip)
            svg.element("rect", ["x": .number(x), "y": .number(y), "width": .number(w), "height": .number(Self.frameHeight - 1),
                                 "rx": "2", "fill": .text(Self.colour(node.kind, name: node.name))])
            svg.element("text", ["x": .number(x + 3), "y": .number(y + Self.frameHeight - 4.5)], text: Self.label(node.name, width: w))
            svg.close()
        }
        svg.close()
        svg.element("text", ["id": "details", "x": .number(Self.pad), "y": .number(height - 10), "font-size": "12"], text: " ")
        svg.element("text", ["id": "matched", "x": .number(options.width - Self.pad), "y": .number(height - 10), "font-size": "12",
                             "text-anchor": "end"], text: " ")
        svg.script(Self.script(plotWidth: plotWidth))
        return svg.finish()
    }

    private func subtreeSize(_ n: Int) -> Int {
        var count = 0
        var todo = [n]
        while let m = todo.popLast() {
            count += 1
            todo.append(contentsOf: nodes[m].children)
        }
        return count
    }

    private func legend(_ svg: inout SVGWriter, kinds: Set<FoldedStacks.FrameKind>, width: Double) {
        var x = width / 2 - 190
        for kind in FoldedStacks.FrameKind.allCases where kinds.contains(kind) {
            let name = kind == .comm ? "command" : kind.rawValue
            svg.element("rect", ["x": .number(x), "y": "46", "width": "12", "height": "12", "rx": "2",
                                 "fill": .text(Self.colour(kind, name: ""))])
            svg.element("text", ["x": .number(x + 16), "y": "56", "font-size": "12"], text: name)
            x += 36 + Double(name.count) * Self.charWidth
        }
    }

    /// The name cut to what fits in `width` pixels (`..` marks a cut), or nothing when under 3 characters fit.
    static func label(_ name: String, width: Double) -> String {
        let fit = Int((width - 6) / charWidth)
        if fit < 3 { return "" }
        return name.count <= fit ? name : String(name.prefix(fit - 2)) + ".."
    }

    /// A fill by kind, varied by a hash of the name so that neighbours differ (flamegraph.pl's idea):
    /// user warm (red to yellow), kernel aqua, hypervisor purple, guest green, command names grey.
    static func colour(_ kind: FoldedStacks.FrameKind, name: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let v1 = Double(h & 0xff) / 255, v2 = Double((h >> 8) & 0xff) / 255, v3 = Double((h >> 16) & 0xff) / 255
        let (r, g, b): (Double, Double, Double)
        switch kind {
        case .user: (r, g, b) = (205 + 50 * v3, 230 * v1, 55 * v2)
        case .kernel: (r, g, b) = (50 + 60 * v1, 165 + 55 * v1, 165 + 55 * v2)
        case .hypervisor: (r, g, b) = (150 + 40 * v1, 90 + 40 * v2, 200 + 40 * v3)
        case .guest: (r, g, b) = (50 + 60 * v1, 180 + 50 * v2, 50 + 50 * v3)
        case .comm: (r, g, b) = (195 + 20 * v1, 195 + 20 * v1, 195 + 20 * v1)
        }
        return "rgb(\(Int(r)),\(Int(g)),\(Int(b)))"
    }

    /// Click a frame to zoom to it (its callers span the width), "Reset Zoom" to undo; "Search" highlights
    /// frames whose name matches a regular expression and shows the share of the total they cover.
    static func script(plotWidth: Double) -> String {
        """
        (function () {
          var W = \(SVGWriter.number(plotWidth)), X0 = \(SVGWriter.number(pad)), CW = \(SVGWriter.number(charWidth)), doc = document;
          var frames = Array.prototype.slice.call(doc.getElementsByClassName('f'));
          var details = doc.getElementById('details'), unzoom = doc.getElementById('unzoom'), matched = doc.getElementById('matched');
          function part(g, tag) { return g.getElementsByTagName(tag)[0]; }
          frames.forEach(function (g) {
            var r = part(g, 'rect'), tip = part(g, 'title').textContent;
            g.fx = +r.getAttribute('x'); g.fw = +r.getAttribute('width'); g.fy = +r.getAttribute('y');
            g.fill = r.getAttribute('fill'); g.name = tip.slice(0, tip.lastIndexOf(' ('));
            g.onmouseover = function () { details.textContent = tip; };
            g.onmouseout = function () { details.textContent = ' '; };
            g.onclick = function () { zoom(g); };
          });
          function place(g, x, w) {
            var n = Math.floor((w - 6) / CW), t = part(g, 'text');
            part(g, 'rect').setAttribute('x', x); part(g, 'rect').setAttribute('width', w); t.setAttribute('x', x + 3);
            t.textContent = n < 3 ? '' : g.name.length <= n ? g.name : g.name.slice(0, n - 2) + '..';
          }
          function zoom(z) {
            var a = z.fx, b = z.fx + z.fw, k = W / z.fw, e = 1e-6;
            frames.forEach(function (g) {
              var inside = g.fy <= z.fy && g.fx >= a - e && g.fx + g.fw <= b + e;
              var below = g.fy > z.fy && g.fx <= a + e && g.fx + g.fw >= b - e;
              g.style.display = inside || below ? '' : 'none';
              if (inside) place(g, X0 + (g.fx - a) * k, g.fw * k); else if (below) place(g, X0, W);
            });
            unzoom.style.display = '';
          }
          unzoom.onclick = function () {
            frames.forEach(function (g) { g.style.display = ''; place(g, g.fx, g.fw); });
            unzoom.style.display = 'none';
          };
          doc.getElementById('search').onclick = function () {
            var q = prompt('Search frames (regular expression; empty clears)'), re, spans = [], sum = 0, end = -1;
            if (q === null) return;
            try { re = new RegExp(q); } catch (err) { matched.textContent = 'bad expression'; return; }
            frames.forEach(function (g) {
              var hit = q !== '' && re.test(g.name);
              part(g, 'rect').setAttribute('fill', hit ? 'rgb(230,0,230)' : g.fill);
              if (hit) spans.push([g.fx, g.fx + g.fw]);
            });
            spans.sort(function (s, t) { return s[0] - t[0]; });
            spans.forEach(function (s) { if (s[1] > end) { sum += s[1] - Math.max(s[0], end); end = s[1]; } });
            matched.textContent = q === '' ? ' ' : 'Matched: ' + (100 * sum / W).toFixed(1) + '%';
          };
        })();
        """
    }
}
