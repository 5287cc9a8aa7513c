import SampleIO

/// Which samples a view takes: the same for every command that reads samples (report, script, annotate,
/// diff, scale, export in every format, vmstat, info), parsed once by the CLI's `SampleSelectionOptions` and
/// applied in one place, ``Attributor/forEachSample(of:selection:afterSideband:skipped:_:)``
/// (docs/ARCHITECTURE.md, "Selection"). The streaming report applies the same checks in its own loop, as
/// it must count what the sample filter leaves out (``FilterPercentage``).
public struct SampleSelection: Sendable, Equatable {
    /// Only samples of this domain (`--domain`).
    public var domain: DomainID? = nil
    /// Only samples of this mode (`--mode`).
    public var mode: SampleMode? = nil
    /// Only samples of this event, an index into the recording's events (`--event`, resolved by name).
    public var event: UInt16? = nil
    /// Only samples taken in this window (`--time`; nanoseconds, the recording's clock).
    public var timeWindow: TimeWindow? = nil
    /// perf report's filters by attribution (`--comms`, `--pids`, `--tids`, `--dsos`, `--symbols`).
    public var filter = SampleFilter()
    /// With a filter: whether percentages are of all samples or of the kept ones (`--percentage`).
    public var percentage: FilterPercentage = .absolute

    /// Every sample: no domain, mode, event, time window or filter; percentages absolute.
    public init() {}

    /// Whether identical samples may come merged: not with a time window, where each sample's time counts.
    public var allowsMerging: Bool { timeWindow == nil }

    /// Whether `s` is of the domain, mode and event in view.
    @inline(__always)
    public func inView(_ s: Sample) -> Bool {
        if let domain, s.domain != domain { return false }
        if let mode, s.mode != mode { return false }
        if let event, s.event != event { return false }
        return true
    }

    /// Whether `s` passes the checks that need no attribution: domain, mode, event and time.
    @inline(__always)
    public func admits(_ s: Sample) -> Bool {
        guard inView(s) else { return false }
        if let timeWindow, !timeWindow.contains(s.time) { return false }
        return true
    }

    /// What the selection keeps, for a view's header (`domain 2, mode kernel, time 1.5,2, comm dd`); the event,
    /// named by the caller, is left out.
    public var description: String {
        var parts: [String] = []
        if let domain { parts.append("domain \(domain)") }
        if let mode { parts.append("mode \(mode)") }
        if let timeWindow { parts.append(timeWindow.description) }
        if !filter.isEmpty { parts.append(filter.description) }
        return parts.joined(separator: ", ")
    }
}

extension Attributor {
    /// Reads all of `source` like ``forEachSample(of:domain:mode:event:afterSideband:_:)`` and calls `body`
    /// with each sample `selection` keeps: of the domain, mode and event in view, within the time window,
    /// then passing the filter by attribution (command, process, thread, image, function), checked only when
    /// one is given. `skipped` gets each sample of the view that the time window or the filter left out.
    func forEachSample(of source: any SampleSource, selection: SampleSelection, afterSideband: () -> Void = {},
                       skipped: (Sample) -> Void = { _ in },
                       _ body: (Sample, SampleBatch, Int) -> Void) throws(SampleIOError) {
        let filter = selection.filter.isEmpty ? nil : CompiledSampleFilter(selection.filter, strings: &strings)
        try forEachSample(of: source, domain: selection.domain, mode: selection.mode, event: selection.event,
                          afterSideband: afterSideband) { s, batch, i in
            if let w = selection.timeWindow, !w.contains(s.time) { skipped(s); return }
            if let filter, !filter.keeps(pid: s.pid, tid: s.tid, attribute(s)) { skipped(s); return }
            body(s, batch, i)
        }
    }
}
