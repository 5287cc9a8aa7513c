import SampleIO

/// The end of a report: rows rendered to strings, ordered, cut by `--percent-limit` and `--top`, with their
/// call graphs, totals (all samples or the kept ones, ``FilterPercentage``) and domains.
extension ReportBuilder {
    /// Each row's rank in every key column (`ranks[row * keyCount + column]`, rows by their key's index): the
    /// order of the column's distinct values as strings (`text(row, column)`), equal strings equal ranks. Rows
    /// that tie on their counts (a whole system's million rows are mostly of a sample or two) are ordered by
    /// their values; ranks sort each column's distinct values once instead of comparing strings in every
    /// comparison. A column of interned strings finds its values' slots by id in an array (`stringCount` ids).
    /// - Complexity: O(n log n) string comparisons for n distinct values per column.
    static func valueRanks(_ rows: [Int32], keyCount nk: Int, rowKeys: [RowKey], keys: [SortKey], stringCount: Int,
                           text: (Int, Int) -> String) -> [Int32] {
        var ranks = [Int32](repeating: 0, count: rowKeys.count * nk)
        for k in 0..<nk {
            // Each distinct key value of the column, with a row that shows it.
            let byID = k < keys.count && [.comm, .image, .symbol, .line].contains(keys[k])
            var slotOfID = [Int32](repeating: -1, count: byID ? stringCount : 0)
            var slot: [Int32: Int32] = [:]
            var distinct: [(text: String, slot: Int32)] = []
            for r in rows {
                let v = rowKeys[Int(r)][k]
                if byID {
                    if slotOfID[Int(v)] < 0 {
                        slotOfID[Int(v)] = Int32(distinct.count)
                        distinct.append((text(Int(r), k), Int32(distinct.count)))
                    }
                } else if slot[v] == nil {
                    slot[v] = Int32(distinct.count)
                    distinct.append((text(Int(r), k), Int32(distinct.count)))
                }
            }
            if let order = byteOrder(distinct.map(\.text)) {
                distinct = order.map { distinct[Int($0)] }
            } else {
                distinct.sort { $0.text < $1.text }
            }
            var rank: Int32 = 0
            var rankOfSlot = [Int32](repeating: 0, count: distinct.count)
            for n in distinct.indices {
                if n > 0, distinct[n - 1].text != distinct[n].text { rank += 1 }
                rankOfSlot[Int(distinct[n].slot)] = rank
            }
            for r in rows {
                let v = rowKeys[Int(r)][k]
                ranks[Int(r) * nk + k] = rankOfSlot[Int(byID ? slotOfID[Int(v)] : slot[v]!)]
            }
        }
        return ranks
    }

    /// The order of `texts` as `String`'s `<` sorts them, when every one is ASCII (where that order is the
    /// bytes'): a permutation of their indexes, sorted by the first 24 bytes as three big-endian words and by
    /// the rest only where those tie. nil when a text is not ASCII (its order is Unicode's; the caller sorts
    /// the strings). A whole system's million names (`[unknown] 0x…` mostly) sort several times faster so.
    static func byteOrder(_ texts: [String]) -> [Int32]? {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        starts.reserveCapacity(texts.count + 1)
        for t in texts {
            bytes.append(contentsOf: t.utf8)
            starts.append(bytes.count)
        }
        for b in bytes where b >= 0x80 { return nil }
        struct Entry { var w0: UInt64, w1: UInt64, w2: UInt64, index: Int32 }
        var entries: [Entry] = []
        entries.reserveCapacity(texts.count)
        bytes.withUnsafeBufferPointer { b in
            func word(_ from: Int, _ end: Int) -> UInt64 {
                var w: UInt64 = 0
                for k in 0..<8 { w = w << 8 | UInt64(from + k < end ? b[from + k] : 0) }
                return w
            }
            for i in 0..<texts.count {
                let s = starts[i], e = starts[i + 1]
                entries.append(Entry(w0: word(s, e), w1: word(s + 8, e), w2: word(s + 16, e), index: Int32(i)))
            }
            entries.sort { x, y in
                if x.w0 != y.w0 { return x.w0 < y.w0 }
                if x.w1 != y.w1 { return x.w1 < y.w1 }
                if x.w2 != y.w2 { return x.w2 < y.w2 }
                // The first 24 bytes tie (zero bytes stand for the end of a shorter text): all of them, then length.
                let (xs, xe, ys, ye) = (starts[Int(x.index)], starts[Int(x.index) + 1], starts[Int(y.index)], starts[Int(y.index) + 1])
                var k = 0
                while xs + k < xe && ys + k < ye {
                    if b[xs + k] != b[ys + k] { return b[xs + k] < b[ys + k] }
                    k += 1
                }
                return xe - xs < ye - ys
            }
        }
        return entries.map(\.index)
    }

    /// One report of the rows, total and domains of `tally`.
    /// What to pass when a domain's kernel or hypervisor samples found no symbol table at all (a Xen capture
    /// reported without `--xen`/`--system-map`, a perf.data file cut before its build-ids): the options that
    /// name them, for modes holding at least 1 % of the samples.
    static func symbolHints(_ domains: Dictionary<DomainID, DomainSummary>.Values, attributor: Attributor, total: UInt64) -> [String] {
        var hints: [String] = []
        let floor = max(1, total / 100)
        let hyper = domains.reduce(0) { $0 + ($1.byMode[.hypervisor] ?? 0) }
        if hyper >= floor, attributor.sources.xen() == nil {
            hints.append("\(hyper) hypervisor samples have no symbols: give Xen's with --xen xen-syms (the xen-syms of the Xen that ran, e.g. from Debian's xen-hypervisor-*-dbg)")
        }
        for d in domains.sorted(by: { $0.domain < $1.domain }) where d.domain != .hypervisor {
            let kernel = d.byMode[.kernel] ?? 0
            guard kernel >= floor, attributor.sources.kernel(d.domain) == nil else { continue }
            let n = d.domain.rawValue
            hints.append("\(kernel) kernel samples of domain \(n) have no symbols: give them with --vmlinux \(n)=VMLINUX, --system-map \(n)=System.map or --kallsyms \(n)=FILE"
                         + (d.domain == .host && attributor.perfNames ? " (--kallsyms 0=/proc/kallsyms if it was recorded under the running kernel)" : ""))
        }
        return hints
    }

    static func finish(_ tally: Tally, slot: Int, keys: [SortKey], rowKeys: [RowKey], meta meta2: RunMetadata, stats: DecodeStats,
                               attributor: Attributor, options: ReportOptions, path: String, input: UInt64,
                               graphs: (trie: CallGraphTrie, children: CallGraphTrie.Children)?) -> Report {
        // With a sample filter, --percentage absolute keeps the 100 % of all samples (perf's default).
        let kept = tally.total
        var total = kept
        if !options.selection.filter.isEmpty, options.selection.percentage == .absolute {
            total.samples += tally.excluded.samples
            total.period &+= tally.excluded.period
        }
        var domains: [DomainID: DomainSummary] = [:]
        for t in tally.domains {
            var ds = DomainSummary(domain: t.domain, name: "", role: attributor.role(of: t.domain))
            ds.samples = t.samples
            ds.period = t.period
            ds.resolved = t.resolved
            for m in SampleMode.allCases where t.modes[Int(m.rawValue)] > 0 { ds.byMode[m] = t.modes[Int(m.rawValue)] }
            domains[t.domain] = ds
        }
        for (d, n) in stats.lostSamples {
            domains[d, default: DomainSummary(domain: d, name: "", role: attributor.role(of: d))].lost += n
        }
        for d in domains.keys {
            domains[d]!.name = meta2.domain(d)?.name ?? (d == .hypervisor ? "xen" : d == .host ? "host" : "domain\(d)")
        }
        // Sort the rows by period, then by their values' strings for a stable order; only then are the rows that
        // are shown made (a whole system's million rows were made, sorted and copied as structs of strings).
        func text(_ row: Int, _ k: Int) -> String {
            let key = rowKeys[row]
            switch keys[k] {
            case .domain:
                let d = DomainID(UInt32(bitPattern: key[k]))
                return d == .hypervisor ? "xen" : String(d.rawValue)
            case .mode: return (SampleMode(rawValue: UInt8(key[k])) ?? .unknown).description
            case .pid, .tid, .cpu, .vcpu: return key[k] < 0 ? "-" : String(key[k])
            case .reason:
                let name = attributor.strings[key[k]]
                return name.isEmpty ? "-" : name
            case .comm, .image, .symbol, .line: return attributor.strings[key[k]]
            }
        }
        let values = tally.rows
        func percent(_ p: UInt64) -> Double { total.period == 0 ? 0 : Double(p) * 100 / Double(total.period) }
        // The rows with samples or children, by the index of their key (also their call graph's root).
        var order: [Int32] = []
        for i in 0..<min(rowKeys.count, values.count) where values[i].samples != 0 || values[i].children != 0 {
            order.append(Int32(i))
        }
        let nk = keys.count
        let ranks = valueRanks(order, keyCount: nk, rowKeys: rowKeys, keys: keys, stringCount: attributor.strings.count, text: text)
        let children = options.children
        values.withUnsafeBufferPointer { v in
            order.sort { x, y in
                let (a, b) = (v[Int(x)], v[Int(y)])
                if children, a.children != b.children { return a.children > b.children }
                if a.period != b.period { return a.period > b.period }
                if a.samples != b.samples { return a.samples > b.samples }
                // The values in lexicographic order, by rank.
                for k in 0..<nk where ranks[Int(x) * nk + k] != ranks[Int(y) * nk + k] { return ranks[Int(x) * nk + k] < ranks[Int(y) * nk + k] }
                return false
            }
        }
        var omitted = 0
        var omittedPeriod: UInt64 = 0
        if let limit = options.percentLimit {
            let shown = { (r: Int32) in percent(children ? values[Int(r)].children : values[Int(r)].period) >= limit }
            let keep = order.filter { shown($0) }
            omitted += order.count - keep.count
            omittedPeriod += order.filter { !shown($0) }.reduce(0) { $0 + values[Int($1)].period }
            order = keep
        }
        if let top = options.top, order.count > top {
            omitted += order.count - top
            omittedPeriod += order[top...].reduce(0) { $0 + values[Int($1)].period }
            order = Array(order.prefix(top))
        }
        var out: [ReportRow] = []
        out.reserveCapacity(order.count)
        for r in order {
            let i = Int(r), v = values[i]
            var row = ReportRow(values: (0..<nk).map { text(i, $0) }, samples: v.samples, period: v.period, percent: percent(v.period))
            if children {
                row.childrenPeriod = v.children
                row.childrenPercent = percent(v.children)
            }
            if let graphs, let cg = options.callGraph, let root = graphs.trie.rootNode(slot: slot, row: i) {
                row.callGraph = graphs.trie.graph(root: root, children: graphs.children, total: total.period, options: cg) { code in
                    (attributor.strings[Int32(truncatingIfNeeded: code)], attributor.strings[Int32(truncatingIfNeeded: code >> 32)])
                }
            }
            out.append(row)
        }
        var filter: [String] = []
        if let d = options.selection.domain { filter.append("domain \(d)") }
        if let m = options.selection.mode { filter.append("mode \(m)") }
        if let e = options.selection.event { filter.append("event \(Int(e) < meta2.events.count ? meta2.events[Int(e)].name : String(e))") }
        if let w = options.selection.timeWindow { filter.append(w.description) }
        var report = Report(source: path, metadata: meta2, stats: stats, keys: keys, rows: out,
                      totalSamples: total.samples, totalPeriod: total.period, inputSamples: input,
                      rowsOmitted: omitted, omittedPeriod: omittedPeriod,
                      domains: domains.values.sorted { $0.domain < $1.domain },
                      symbolWarnings: attributor.sources.warnings + symbolHints(domains.values, attributor: attributor, total: total.samples),
                      filterDescription: filter.joined(separator: ", "),
                      imagesWithHits: attributor.imagesWithHits(), children: options.children, callGraph: options.callGraph)
        if !options.selection.filter.isEmpty {
            report.sampleFilter = SampleFilterSummary(description: options.selection.filter.description, percentage: options.selection.percentage,
                                                      keptSamples: kept.samples, keptPeriod: kept.period,
                                                      allSamples: kept.samples + tally.excluded.samples,
                                                      allPeriod: kept.period &+ tally.excluded.period)
        }
        return report
    }
}
