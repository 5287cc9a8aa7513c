import SampleIO

/// One row of a report: the values of its sort keys and what fell into it.
public struct ReportRow: Sendable, Equatable {
    /// One value per sort key, in the report's key order.
    public var values: [String]
    /// Samples that fell into the row (a merged sample counts as the ``SampleIO/Sample/count`` it stands for).
    public var samples: UInt64
    /// Sum of the samples' weights (periods).
    public var period: UInt64
    /// Share of the report's total period, in percent (perf's "Self" with `--children`).
    public var percent: Double
    /// With `--children`: period of the samples whose callchain passes through this row, and its share.
    public var childrenPeriod: UInt64 = 0
    /// `childrenPeriod` as a share of the report's total period, 0–100 (perf's "Children").
    public var childrenPercent: Double = 0
    /// With `--call-graph`: the callchains of this row's samples as a tree.
    public var callGraph: CallGraph? = nil
    /// With `--group`: per event of ``Report/groupEvents``, this row's share of that event's total, its
    /// samples and period (`percent`, `samples` and `period` are the first event's).
    public var groupPercents: [Double] = []
    /// Per group event: the row's samples (0 where the event had none).
    public var groupSamples: [UInt64] = []
    /// Per group event: the row's summed period.
    public var groupPeriods: [UInt64] = []
}

/// Per-domain counts shown in headers and by `xprof info`.
public struct DomainSummary: Sendable, Equatable {
    /// The domain counted.
    public var domain: DomainID
    /// Name from the recording's domain table (or `--guest-name`); else `xen`, `host` or `domainN`.
    public var name: String
    /// How the domain's addresses are named (docs/ARCHITECTURE.md, "Attribution and naming").
    public var role: DomainRole
    /// Samples of the domain the report kept (after `--time`, `--mode`, `--event` and the sample filter).
    public var samples: UInt64 = 0
    /// Their summed event period (the event's unit: nanoseconds for `cpu-clock`).
    public var period: UInt64 = 0
    /// Samples per mode (user, kernel, hypervisor, unknown).
    public var byMode: [SampleMode: UInt64] = [:]
    /// Samples whose function resolved.
    public var resolved: UInt64 = 0
    /// Samples the input says were lost in this domain (perf LOST records, Xen's `lost_samples`).
    public var lost: UInt64 = 0

    /// Resolved share in percent (100 when there are no samples).
    public var resolvedPercent: Double { samples == 0 ? 100 : Double(resolved) * 100 / Double(samples) }
}

/// Samples and event count (summed periods) of one event of the recording, as `perf report` heads its
/// section of that event ("Samples: N of event 'X'", "Event count (approx.): P").
public struct EventTotal: Sendable, Equatable {
    /// The event's name as the recording gives it (``SampleIO/EventInfo/name``).
    public var name: String
    /// Samples of the event that the `--domain` and `--mode` filters kept.
    public var samples: UInt64
    /// Their summed period, perf's "Event count (approx.)".
    public var period: UInt64
    /// An event's totals.
    public init(name: String, samples: UInt64, period: UInt64) {
        (self.name, self.samples, self.period) = (name, samples, period)
    }
}

/// An aggregated, attributed profile ready to render.
public struct Report: Sendable {
    /// The input's path as given on the command line.
    public var source: String
    /// The input's metadata, with `--guest-name` names in its domain table.
    public var metadata: RunMetadata
    /// What the decoder lost, dropped or skipped (shown in the header and by `info`).
    public var stats: DecodeStats
    /// The sort keys, in column order (`--sort`); each row has one value per key.
    public var keys: [SortKey]
    /// The rows, largest period first, after `--top` and `--percent-limit`.
    public var rows: [ReportRow]
    /// Samples and period of everything the filters kept (the 100 % of `percent`); with a sample filter and
    /// `--percentage absolute`, of everything before that filter, as perf reports.
    public var totalSamples: UInt64
    /// The summed event period of ``totalSamples``' samples: the 100 % of ``ReportRow/percent``.
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
    /// Period of the rows cut by `--top` / `--percent-limit`.
    public var omittedPeriod: UInt64
    /// Per-domain counts in domain id order (every domain with samples or lost samples).
    public var domains: [DomainSummary]
    /// Problems with symbol sources (missing files, build-id mismatches …).
    public var symbolWarnings: [String]
    /// The `--domain`, `--mode`, `--event` and `--time` selection in words (`domain 1, mode kernel`); empty
    /// when none is given. The sample filter is in ``sampleFilter``.
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
    /// `absolute`: the report's percentages are of ``allPeriod``; `relative`: of ``keptPeriod``.
    public var percentage: FilterPercentage
    /// Samples and period the filter kept (what the rows add up to).
    public var keptSamples: UInt64
    /// Summed period of ``keptSamples``.
    public var keptPeriod: UInt64
    /// Samples and period before it (after `--domain`, `--mode` and `--event`).
    public var allSamples: UInt64
    /// Summed period of ``allSamples``.
    public var allPeriod: UInt64
}
