import SampleIO

/// The end of a report: rows rendered to strings, ordered, cut by `--percent-limit` and `--top`, with their
/// call graphs, totals (all samples or the kept ones, ``FilterPercentage``) and domains.
extension ReportBuilder {
    /// Each row's rank in every key column (`ranks[row * keyCount + column]`, rows by their key's index): the
    /// order of the column's distinct values as strings, equal strings equal ranks. Rows that tie on their
    /// counts (a whole system's million rows are mostly of a sample or two) are ordered by their values; ranks
    /// sort each column's distinct values once instead of comparing strings in every comparison.
    /// - Complexity: O(n log n) string comparisons for n distinct values per column.
    static func valueRanks(_ indexed: [(Int, ReportRow)], keyCount nk: Int, rowKeys: [RowKey]) -> [Int32] {
        var ranks = [Int32](repeating: 0, count: rowKeys.count * nk)
        for k in 0..<nk {
            // Each distinct key value of the column, with a row (position in `indexed`) that shows it.
            var slot: [Int32: Int32] = [:]
            var distinct: [(text: String, slot: Int32)] = []
            for e in indexed {
                let v = rowKeys[e.0][k]
                if slot[v] == nil {
                    slot[v] = Int32(distinct.count)
                    distinct.append((e.1.values[k], Int32(distinct.count)))
                }
            }
            distinct.sort { $0.text < $1.text }
            var rank: Int32 = 0
            var rankOfSlot = [Int32](repeating: 0, count: distinct.count)
            for n in distinct.indices {
                if n > 0, distinct[n - 1].text != distinct[n].text { rank += 1 }
                rankOfSlot[Int(distinct[n].slot)] = rank
            }
            for e in indexed { ranks[e.0 * nk + k] = rankOfSlot[Int(slot[rowKeys[e.0][k]]!)] }
        }
        return ranks
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
        // Render row keys to strings and sort by period, then by values for a stable order.
        // Each row with the index of its key (its call graph's root).
        var indexed: [(Int, ReportRow)] = zip(rowKeys, tally.rows).enumerated().compactMap { i, kv in
            let (key, v) = kv
            if v.samples == 0 && v.children == 0 { return nil }
            var values: [String] = []
            for (k, sk) in keys.enumerated() {
                switch sk {
                case .domain:
                    let d = DomainID(UInt32(bitPattern: key[k]))
                    values.append(d == .hypervisor ? "xen" : String(d.rawValue))
                case .mode: values.append((SampleMode(rawValue: UInt8(key[k])) ?? .unknown).description)
                case .pid, .tid, .cpu, .vcpu: values.append(key[k] < 0 ? "-" : String(key[k]))
                case .reason:
                    let name = attributor.strings[key[k]]
                    values.append(name.isEmpty ? "-" : name)
                case .comm, .image, .symbol, .line: values.append(attributor.strings[key[k]])
                }
            }
            let pct = total.period == 0 ? 0 : Double(v.period) * 100 / Double(total.period)
            var row = ReportRow(values: values, samples: v.samples, period: v.period, percent: pct)
            if options.children {
                row.childrenPeriod = v.children
                row.childrenPercent = total.period == 0 ? 0 : Double(v.children) * 100 / Double(total.period)
            }
            return (i, row)
        }
        let ranks = valueRanks(indexed, keyCount: keys.count, rowKeys: rowKeys)
        let nk = keys.count
        indexed.sort { x, y in
            let (a, b) = (x.1, y.1)
            if options.children, a.childrenPeriod != b.childrenPeriod { return a.childrenPeriod > b.childrenPeriod }
            if a.period != b.period { return a.period > b.period }
            if a.samples != b.samples { return a.samples > b.samples }
            // The values in lexicographic order, by rank.
            for k in 0..<nk where ranks[x.0 * nk + k] != ranks[y.0 * nk + k] { return ranks[x.0 * nk + k] < ranks[y.0 * nk + k] }
            return false
        }
        var omitted = 0
        var omittedPeriod: UInt64 = 0
        if let limit = options.percentLimit {
            let shown = { (r: ReportRow) in (options.children ? r.childrenPercent : r.percent) >= limit }
            let keep = indexed.filter { shown($0.1) }
            omitted += indexed.count - keep.count
            omittedPeriod += indexed.filter { !shown($0.1) }.reduce(0) { $0 + $1.1.period }
            indexed = keep
        }
        if let top = options.top, indexed.count > top {
            omitted += indexed.count - top
            omittedPeriod += indexed[top...].reduce(0) { $0 + $1.1.period }
            indexed = Array(indexed.prefix(top))
        }
        if let graphs, let cg = options.callGraph {
            for j in indexed.indices {
                guard let root = graphs.trie.rootNode(slot: slot, row: indexed[j].0) else { continue }
                indexed[j].1.callGraph = graphs.trie.graph(root: root, children: graphs.children, total: total.period, options: cg) { code in
                    (attributor.strings[Int32(truncatingIfNeeded: code)], attributor.strings[Int32(truncatingIfNeeded: code >> 32)])
                }
            }
        }
        let out = indexed.map(\.1)
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
