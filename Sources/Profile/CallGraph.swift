/// Which way a report row's call graph runs, as `perf report -g caller|callee` names it.
public enum CallGraphOrder: String, Sendable, CaseIterable {
    /// From the row outwards to its callers (perf's default with `--no-children`): the first level under a
    /// row is who called it.
    case callee
    /// From the outermost frame (the thread's root) down to the row.
    case caller
}

/// What call graph to draw under each row of a report.
public struct CallGraphOptions: Sendable, Equatable {
    /// Callers of the row first (`callee`, the default) or the thread's root first (`caller`).
    public var order: CallGraphOrder = .callee
    /// Branches whose share of the report's total period is below this percentage are folded away (and
    /// counted), like perf's `-g graph,0.5`.
    public var limit: Double = 0.5

    /// Options; `limit` is a percentage (0–100) of the report's total period.
    public init(order: CallGraphOrder = .callee, limit: Double = 0.5) {
        self.order = order
        self.limit = limit
    }
}

/// The call graph of one report row: the callchains of the row's samples as a tree of frames, each frame
/// named as report rows name functions (symbol and image).
///
/// Stored flat, as the model is everywhere: ``nodes`` in depth-first order, children by index, so that a
/// tree hundreds of frames deep is walked, copied and freed without recursion.
public struct CallGraph: Sendable, Equatable {
    /// One frame of the tree: the samples whose path (in the graph's order) passes through it.
    public struct Node: Sendable, Equatable {
        /// The function, as a report row names it (empty for the root, which is the row itself).
        public var name: String
        /// Its image, as a report row names it (empty for the root).
        public var image: String
        /// Samples whose path passes through this frame (merged samples counted by ``SampleIO/Sample/count``).
        public var samples: UInt64
        /// Their summed event period (the event's unit: nanoseconds for `cpu-clock`).
        public var period: UInt64
        /// `period` as a share of the report's total period (perf's "percent of total", `-g graph`).
        public var percent: Double
        /// The branches shown (at or above the limit), largest first: indexes into ``CallGraph/nodes``.
        public var children: [Int]
        /// How many branches the node has in all, shown or folded.
        public var branches: Int
        /// Branches below the limit, left out, and what they hold together.
        public var foldedBranches: Int = 0
        /// Samples of the folded branches together.
        public var foldedSamples: UInt64 = 0
        /// Period of the folded branches together.
        public var foldedPeriod: UInt64 = 0
        /// `foldedPeriod` as a percentage (0–100) of the report's total period.
        public var foldedPercent: Double = 0

        /// A node with no folded branches; `percent` is 0–100 of the report's total period.
        public init(name: String, image: String, samples: UInt64, period: UInt64, percent: Double,
                    children: [Int] = [], branches: Int = 0) {
            self.name = name
            self.image = image
            self.samples = samples
            self.period = period
            self.percent = percent
            self.children = children
            self.branches = branches
        }
    }

    /// The order ``nodes`` run in (callers of the row first, or the root first).
    public var order: CallGraphOrder
    /// The limit (percent of the total) below which branches were folded.
    public var limit: Double
    /// `nodes[0]` is the row itself; the rest follow depth first, each node's branches largest first.
    public var nodes: [Node]

    /// A graph whose `nodes` are already in depth-first order with `nodes[0]` the row.
    public init(order: CallGraphOrder, limit: Double, nodes: [Node]) {
        self.order = order
        self.limit = limit
        self.nodes = nodes
    }

    /// Whether `node` and its only branch are one unbroken path: it has a single branch in all and no sample
    /// ends at it (perf draws such frames as one node, one name a line, with a single percentage).
    public func continues(_ node: Int) -> Bool {
        let n = nodes[node]
        return n.branches == 1 && n.children.count == 1 && nodes[n.children[0]].period == n.period
    }
}

/// The call-graph trees of every row of a report as its samples arrive: a trie per (event slot, row) of the
/// sample paths, frames identified by their interned (image, symbol) pair.
///
/// All trees share flat arrays and one hash map from (parent node, frame) to the child node, so adding a path
/// costs one lookup per frame and no allocation once the trie has grown. A sample is credited to the node
/// its path ends at only; ``accumulate()`` adds each node's figures to its parent's once, at the end (a child
/// is always made after its parent, so one backwards sweep does it).
/// - Complexity: O(frames) per sample; memory grows with the distinct paths (prefixes), never with samples.
struct CallGraphTrie {
    /// Per node: the frame (image id << 32 | symbol id), parent (-1 for a root), samples and period (of the
    /// paths ending there until ``accumulate()``, of the paths through it after).
    private(set) var frame: [UInt64] = []
    private(set) var parent: [Int32] = []
    private(set) var samples: [UInt64] = []
    private(set) var period: [UInt64] = []
    private var index: NodeTable
    /// (parent node and epoch, frame address, where it ran) → child node: one probe per frame for the
    /// addresses seen before, without attributing them again. Valid while the attribution does not change:
    /// ``forgetAddresses()`` starts a new epoch whenever a side-band event is applied (older entries are
    /// never found again; clearing the table each time would cost its size), and it is emptied when large.
    private var byAddress: NodeTable
    private var epoch: UInt64 = 0
    private static let rootMarker = UInt64.max

    /// A trie whose tables have room for `capacity` nodes before they first grow (a report that draws no call
    /// graph keeps an empty trie: 2 × 2 MB of zeroed table for nothing cost it a thousand page faults).
    init(capacity: Int = 1 << 15) {
        index = NodeTable(capacity: capacity)
        byAddress = NodeTable(capacity: capacity)
    }

    /// The frame code of an attributed (image, symbol) pair.
    @inline(__always)
    static func code(image: Int32, symbol: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: image)) << 32 | UInt64(UInt32(bitPattern: symbol))
    }

    private mutating func node(_ a: UInt64, _ b: UInt64, _ c: UInt64, frame f: UInt64, parent p: Int32) -> Int32 {
        if let n = index.get(a, b, c) { return n }
        let n = Int32(frame.count)
        frame.append(f)
        parent.append(p)
        samples.append(0)
        period.append(0)
        index.set(a, b, c, n)
        return n
    }

    /// The root of row `row`'s tree in report `slot` (made if new).
    @inline(__always)
    mutating func root(slot: Int, row: Int) -> Int32 {
        node(Self.rootMarker, UInt64(row), UInt64(slot), frame: 0, parent: -1)
    }

    /// The child `frame` of `parent` (made if new).
    @inline(__always)
    mutating func child(_ parent: Int32, frame f: UInt64) -> Int32 {
        node(UInt64(UInt32(bitPattern: parent)), f, 0, frame: f, parent: parent)
    }

    /// The child of `parent` for the frame at `ip` (with `place`: domain, mode and pid as the attribution
    /// sees them) if this address was seen under it since the last side-band event.
    @inline(__always)
    func child(_ parent: Int32, address ip: UInt64, place: UInt64) -> Int32? {
        byAddress.get(epoch << 32 | UInt64(UInt32(bitPattern: parent)), ip, place)
    }

    /// Credits the node a sample's path ends at.
    @inline(__always)
    mutating func credit(_ n: Int32, count: UInt64, weight: UInt64) {
        samples[Int(n)] += count
        period[Int(n)] &+= weight
    }

    /// Turns the figures of the paths ending at each node into those of the paths through it. Once, after
    /// the last sample.
    mutating func accumulate() {
        var n = frame.count - 1
        while n >= 0 {
            if parent[n] >= 0 {
                samples[Int(parent[n])] += samples[n]
                period[Int(parent[n])] &+= period[n]
            }
            n -= 1
        }
    }

    /// Remembers `child` as the node of the frame at `ip` under `parent` (see ``child(_:address:place:)``).
    @inline(__always)
    mutating func remember(_ child: Int32, under parent: Int32, address ip: UInt64, place: UInt64) {
        // 64 Ki entries (a 4 MB table): on a deep 1 M-sample recording 2 Mi entries took 55 MB more and were
        // no faster (0.50–0.60 s either way), the frames' attribution being cached behind it anyway.
        if byAddress.count >= 1 << 16 { byAddress.removeAll() }
        byAddress.set(epoch << 32 | UInt64(UInt32(bitPattern: parent)), ip, place, child)
    }

    /// Forgets the address shortcuts: the attribution changed.
    mutating func forgetAddresses() { epoch &+= 1 }

    /// The root node of a row in a report slot, if any sample reached it.
    func rootNode(slot: Int, row: Int) -> Int32? {
        index.get(Self.rootMarker, UInt64(row), UInt64(slot))
    }

    /// Each node's children, as ranges into one array (computed once, after the pass).
    struct Children {
        var start: [Int32]
        var list: [Int32]
        func of(_ n: Int32) -> ArraySlice<Int32> { list[Int(start[Int(n)])..<Int(start[Int(n) + 1])] }
    }

    func children() -> Children {
        var start = [Int32](repeating: 0, count: frame.count + 1)
        for p in parent where p >= 0 { start[Int(p) + 1] += 1 }
        for i in 0..<frame.count { start[i + 1] += start[i] }
        var fill = start
        var list = [Int32](repeating: 0, count: Int(start[frame.count]))
        for (n, p) in parent.enumerated() where p >= 0 {
            list[Int(fill[Int(p)])] = Int32(n)
            fill[Int(p)] += 1
        }
        return Children(start: start, list: list)
    }

    /// The shown tree under `root`: branches whose period is at least `limit` percent of `total` kept
    /// (perf's rule: at least `total * limit / 100`, rounded down), the others folded and counted.
    /// Iterative, depth first; children largest first (then by more samples, then by name).
    func graph(root: Int32, children kids: Children, total: UInt64, options: CallGraphOptions,
               name: (UInt64) -> (symbol: String, image: String)) -> CallGraph {
        let minPeriod = UInt64(max(0, Double(total) * options.limit / 100))
        func pct(_ p: UInt64) -> Double { total == 0 ? 0 : Double(p) * 100 / Double(total) }
        var nodes: [CallGraph.Node] = []
        // (trie node, index of its parent in `nodes`), popped depth first.
        var work: [(Int32, Int)] = [(root, -1)]
        while let (t, parentIndex) = work.popLast() {
            let here = nodes.count
            var n: CallGraph.Node
            if t == root {
                n = CallGraph.Node(name: "", image: "", samples: samples[Int(t)], period: period[Int(t)], percent: pct(period[Int(t)]))
            } else {
                let (sym, img) = name(frame[Int(t)])
                n = CallGraph.Node(name: sym, image: img, samples: samples[Int(t)], period: period[Int(t)], percent: pct(period[Int(t)]))
            }
            let all = kids.of(t)
            n.branches = all.count
            var shown: [Int32] = []
            for c in all {
                if period[Int(c)] >= minPeriod {
                    shown.append(c)
                } else {
                    n.foldedBranches += 1
                    n.foldedSamples += samples[Int(c)]
                    n.foldedPeriod &+= period[Int(c)]
                }
            }
            n.foldedPercent = pct(n.foldedPeriod)
            shown.sort { a, b in
                if period[Int(a)] != period[Int(b)] { return period[Int(a)] > period[Int(b)] }
                if samples[Int(a)] != samples[Int(b)] { return samples[Int(a)] > samples[Int(b)] }
                let na = name(frame[Int(a)]), nb = name(frame[Int(b)])
                return (na.symbol, na.image) < (nb.symbol, nb.image)
            }
            nodes.append(n)
            if parentIndex >= 0 { nodes[parentIndex].children.append(here) }
            // Pushed last first, so the largest branch is drawn (and numbered) first.
            for c in shown.reversed() { work.append((c, here)) }
        }
        return CallGraph(order: options.order, limit: options.limit, nodes: nodes)
    }
}

/// ``FastMap`` specialised to `Int32` values kept in the slot itself (value + 1 in the fourth word, 0 when
/// empty): the call-graph trie probes it once or twice per frame, and a generic map pays for its
/// genericity on every probe in debug builds.
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
private struct NodeTable {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n * 4)
        mask = n - 1
    }

    @inline(__always)
    private func find(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int { WordSlots.find(slots, mask, a, b, c) }

    @inline(__always)
    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int32? {
        let i = find(a, b, c)
        return i < 0 ? nil : Int32(truncatingIfNeeded: slots[i &* 4 &+ 3] &- 1)
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ v: Int32) {
        if (count + 1) * 2 > mask + 1 { grow() }
        let i = find(a, b, c)
        if i < 0 { count += 1 }
        let at = (i < 0 ? ~i : i) &* 4
        slots.withUnsafeMutableBufferPointer { s in
            s[at] = a
            s[at &+ 1] = b
            s[at &+ 2] = c
            s[at &+ 3] = UInt64(UInt32(bitPattern: v)) &+ 1
        }
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        slots.clearFourthWords()
        count = 0
    }

    /// Doubles the table, moving each entry straight to its new slot.
    private mutating func grow() {
        let n = (mask + 1) * 2, m = n - 1
        var fresh = [UInt64](repeating: 0, count: n * 4)
        fresh.withUnsafeMutableBufferPointer { s in
            slots.withUnsafeBufferPointer { o in
                var k = 0
                while k < o.count {
                    if o[k &+ 3] != 0 {
                        var i = WordSlots.slot(o[k], o[k &+ 1], o[k &+ 2], m)
                        while s[i &* 4 &+ 3] != 0 { i = (i &+ 1) & m }
                        for w in 0..<4 { s[i &* 4 &+ w] = o[k &+ w] }
                    }
                    k &+= 4
                }
            }
        }
        slots = fresh
        mask = m
    }
}
