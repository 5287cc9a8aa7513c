/// perf report's `--group`: the per-event reports of one recording as one table, a share per event in each
/// row (each of its own event's total), rows in the order of the first event's share, then the next's.
public enum ReportGroup {
    /// Combines `reports` (one per event, from ``ReportBuilder/buildPerEvent(source:path:options:)``, built
    /// without `top`/`percentLimit`), then keeps the first `top` rows and those with some event at or above
    /// `percentLimit`.
    public static func combine(_ reports: [Report], top: Int? = nil, percentLimit: Double? = nil) -> Report? {
        guard var out = reports.first else { return nil }
        let n = reports.count
        var index: [[String]: Int] = [:]
        var rows: [ReportRow] = []
        for (e, r) in reports.enumerated() {
            for row in r.rows {
                let k: Int
                if let i = index[row.values] {
                    k = i
                } else {
                    k = rows.count
                    index[row.values] = k
                    rows.append(ReportRow(values: row.values, samples: 0, period: 0, percent: 0,
                                          groupPercents: Array(repeating: 0, count: n),
                                          groupSamples: Array(repeating: 0, count: n),
                                          groupPeriods: Array(repeating: 0, count: n)))
                }
                rows[k].groupPercents[e] = row.percent
                rows[k].groupSamples[e] = row.samples
                rows[k].groupPeriods[e] = row.period
            }
        }
        for i in rows.indices {
            rows[i].percent = rows[i].groupPercents[0]
            rows[i].samples = rows[i].groupSamples[0]
            rows[i].period = rows[i].groupPeriods[0]
        }
        // The first event that tells two rows apart decides (within one event the period orders as the share).
        rows.sort { a, b in
            for e in 0..<n where a.groupPeriods[e] != b.groupPeriods[e] { return a.groupPeriods[e] > b.groupPeriods[e] }
            return a.values.lexicographicallyPrecedes(b.values)
        }
        var kept = rows
        if let percentLimit { kept = kept.filter { $0.groupPercents.contains { $0 >= percentLimit } } }
        if let top { kept = Array(kept.prefix(top)) }
        out.rowsOmitted = rows.count - kept.count
        let keptSet = Set(kept.map(\.values))
        out.omittedPeriod = rows.filter { !keptSet.contains($0.values) }.reduce(0) { $0 &+ $1.period }
        out.rows = kept
        out.groupEvents = reports.map { EventTotal(name: $0.event ?? "", samples: $0.totalSamples, period: $0.totalPeriod) }
        out.event = nil
        return out
    }
}
