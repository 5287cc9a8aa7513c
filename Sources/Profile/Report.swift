import SampleIO

/// One row of a report: the values of its sort keys and what fell into it.
public struct ReportRow: Sendable, Equatable {
    /// One value per sort key, in the report's key order.
    public var values: [String]
    public var samples: UInt64
    /// Sum of the samples' weights (periods).
    public var period: UInt64
    /// Share of the report's total period, in percent (perf's "Self" with `--children`).
    public var percent: Double
    /// With `--children`: period of the samples whose callchain passes through this row, and its share.
    public var childrenPeriod: UInt64 = 0
    public var childrenPercent: Double = 0
    /// With `--call-graph`: the callchains of this row's samples as a tree.
    public var callGraph: CallGraph? = nil
    /// With `--group`: per event of ``Report/groupEvents``, this row's share of that event's total, its
    /// samples and period (`percent`, `samples` and `period` are the first event's).
    public var groupPercents: [Double] = []
    public var groupSamples: [UInt64] = []
    public var groupPeriods: [UInt64] = []
}

/// Per-domain counts shown in headers and by `xprof info`.
public struct DomainSummary: Sendable, Equatable {
    public var domain: DomainID
    public var name: String
    public var role: DomainRole
    public var samples: UInt64 = 0
    public var period: UInt64 = 0
    /// Samples per mode (user, kernel, hypervisor, unknown).
    public var byMode: [SampleMode: UInt64] = [:]
    /// Samples whose function resolved.
    public var resolved: UInt64 = 0
    public var lost: UInt64 = 0

    /// Resolved share in percent (100 when there are no samples).
    public var resolvedPercent: Double { samples == 0 ? 100 : Double(resolved) * 100 / Double(samples) }
}

/// Samples and event count (summed periods) of one event of the recording, as `perf report` heads its
/// section of that event ("Samples: N of event 'X'", "Event count (approx.): P").
public struct EventTotal: Sendable, Equatable {
    public var name: String
    public var samples: UInt64
    public var period: UInt64
}

/// An aggregated, attributed profile ready to render.
public struct Report: Sendable {
    public var source: String
    public var metadata: RunMetadata
    public var stats: DecodeStats
    public var keys: [SortKey]
    public var rows: [ReportRow]
    /// Samples and period of everything the filters kept (the 100 % of `percent`); with a sample filter and
    /// `--percentage absolute`, of everything before that filter, as perf reports.
    public var totalSamples: UInt64
    public var totalPeriod: UInt64
    /// Samples in the input before `--domain`/`--mode` filters.
    public var inputSamples: UInt64
    /// Of `inputSamples`, those with a callchain; nil when callchains were not decoded (neither --children,
    /// --call-graph nor `ReportOptions.countCallchains`).
    public var samplesWithCallchains: UInt64? = nil
    /// The first and last sample time of the input (the recording's clock, before `--time`); nil without times.
    public var sampleTimes: ClosedRange<UInt64>? = nil
    /// Rows cut by `--top` / `--percent-limit`.
    public var rowsOmitted: Int
    public var omittedPeriod: UInt64
    public var domains: [DomainSummary]
    /// Problems with symbol sources (missing files, build-id mismatches …).
    public var symbolWarnings: [String]
    public var filterDescription: String
    /// Mapped files that received samples, with their build-ids ("" when unknown).
    public var imagesWithHits: [(path: String, buildID: String)] = []
    /// Whether rows carry children (callchain-inclusive) figures.
    public var children: Bool = false
    /// Whether rows carry call graphs, and which.
    public var callGraph: CallGraphOptions? = nil
    /// The event this report is about, when it is about one (a section of a per-event report, or `--event`);
    /// nil when it adds up all events.
    public var event: String? = nil
    /// Per event of the recording (indexed like `metadata.events`): the samples and period the `--domain`
    /// and `--mode` filters kept, whatever `event` is.
    public var eventTotals: [EventTotal] = []
    /// perf's sample filters (`--comms`, `--dsos` …) when given: what they kept and of what.
    public var sampleFilter: SampleFilterSummary? = nil
    /// With `--group`: the events side by side in every row, and each one's total samples and period.
    public var groupEvents: [EventTotal] = []
}

/// What a report's sample filter kept: `totalSamples`/`totalPeriod` are `all…` with `--percentage absolute`
/// (perf's default), `kept…` with `relative`.
public struct SampleFilterSummary: Sendable, Equatable {
    /// The filter as the header shows it (`comm dd; dso libc.so.6`).
    public var description: String
    public var percentage: FilterPercentage
    /// Samples and period the filter kept (what the rows add up to).
    public var keptSamples: UInt64
    public var keptPeriod: UInt64
    /// Samples and period before it (after `--domain`, `--mode` and `--event`).
    public var allSamples: UInt64
    public var allPeriod: UInt64
}
