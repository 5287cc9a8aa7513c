import ArgumentParser
import Profile
import SampleIO

/// The options that choose samples, the same for every command that reads them (report, script, annotate,
/// diff, scale, export, vmstat, info, xprof-pprof): parsed and checked here once, and turned into one
/// ``SampleSelection`` that the builders apply (docs/ARCHITECTURE.md, "Selection").
public struct SampleSelectionOptions: ParsableArguments {
    @Option(help: "Only samples of this domain (0 = host/dom0).")
    public var domain: UInt32?

    @Option(help: "Only samples of this mode: user, kernel or hypervisor.")
    public var mode: SampleMode?

    @Option(help: ArgumentHelp("Only samples of this event: its name in the recording (perf's modifiers optional) or its number from 0. Without it, report, script and info take every event; diff, scale, annotate, export and vmstat the first of several (export --format pprof: all, labelled).", valueName: "NAME"))
    public var event: String?

    @Option(help: ArgumentHelp("Only samples taken in this window: START,END in seconds of the recording's clock (as xprof script and perf script print times), either may be empty; or shares of the recording from its first sample to its last: 10%/2 (the second tenth), 0%-25% (the first quarter), several apart by commas (10%/1,10%/3). Like perf report --time.", valueName: "START,END|N%/K|A%-B%"))
    public var time: String?

    /// perf report's sample filters (`--comms`, `--pids`, `--tids`, `--dsos`, `--symbols`).
    @OptionGroup public var filters: SampleFilterOptions

    @Option(help: ArgumentHelp("With --comms, --pids, --tids, --dsos or --symbols: percentages of all samples (absolute, perf's default) or of the kept ones (relative).", valueName: "absolute|relative"))
    public var percentage: FilterPercentage = .absolute

    /// Options as ArgumentParser fills them (none given: every sample).
    public init() {}

    /// Refuses a `--time` it cannot read, naming the forms it takes (`--mode` and `--percentage` are checked
    /// by ArgumentParser, ``SampleMode``'s and ``FilterPercentage``'s values; `--event`
    /// is checked against the input, in ``selection(for:path:input:firstWhenSeveral:)``).
    public func validate() throws {
        if let time, TimeSpec(parsing: time) == nil {
            throw ValidationError("--time expects START,END in seconds with START <= END, either may be empty (e.g. 39100.5,39101), or shares of the recording such as 10%/2, 0%-25% or 10%/1,10%/3, not '\(time)'")
        }
    }

    /// What `--time` says, before the input is read.
    public var timeSpec: TimeSpec? { time.flatMap(TimeSpec.init(parsing:)) }

    /// The selection, but for `--event` and for a `--time` given as shares of the recording, which need the
    /// input (``selection(for:path:input:firstWhenSeveral:)``; without it such a window is left out here).
    public var selection: SampleSelection {
        var s = SampleSelection()
        s.domain = domain.map { DomainID($0) }
        s.mode = mode
        if case .window(let w) = timeSpec { s.timeWindow = w }
        s.filter = filters.filter
        s.percentage = percentage
        return s
    }

    /// The selection for the input `path` described by `metadata`: `--event` resolved to the index of its
    /// event (an error naming the events it has when it has no such one); without it, the first event of
    /// several when `firstWhenSeveral` (with a note), else every event (see ``EventChoice``). A `--time` of
    /// shares becomes the window of `path`'s own span, read once beforehand with `input`'s options
    /// (``SampleTimeSpan``): each input of `diff` or `scale` its own.
    public func selection(for metadata: RunMetadata, path: String, input: InputOptions, firstWhenSeveral: Bool = false) throws -> SampleSelection {
        var s = selection
        s.event = try EventChoice.resolve(event, in: metadata, path: path, firstWhenSeveral: firstWhenSeveral)
        s.timeWindow = try timeWindow(for: path, input: input)
        return s
    }

    /// `--time`'s window for the input `path` (nil without `--time`).
    public func timeWindow(for path: String, input: InputOptions) throws -> TimeWindow? {
        guard let spec = timeSpec else { return nil }
        guard spec.needsSpan else { return spec.window(first: 0, last: 0) }
        guard let span = try SampleTimeSpan.of(path, input: input) else {
            // No samples: an empty window, which keeps none.
            return TimeWindow(start: 1, end: 0)
        }
        return spec.window(first: span.first, last: span.last)
    }

    /// The options as command-line arguments again (for a helper executable that takes the same group).
    public var arguments: [String] {
        var a: [String] = []
        if let domain { a += ["--domain", String(domain)] }
        if let mode { a += ["--mode", mode.description] }
        if let event { a += ["--event", event] }
        if let time { a += ["--time", time] }
        a += filters.arguments
        if percentage != .absolute { a += ["--percentage", percentage.rawValue] }
        return a
    }
}

/// perf report's sample filters (`--comms`, `--pids`, `--tids`, `--dsos`, `--symbols`), part of
/// ``SampleSelectionOptions``.
public struct SampleFilterOptions: ParsableArguments {
    @Option(name: [.customLong("comms"), .short], help: ArgumentHelp("Only samples of these commands (comma-separated), like perf report --comms.", valueName: "NAME[,NAME…]"))
    public var comms: [String] = []

    @Option(name: [.customLong("pids"), .customLong("pid")], help: ArgumentHelp("Only samples of these process ids (comma-separated), like perf report --pid.", valueName: "PID[,PID…]"))
    public var pids: [String] = []

    @Option(name: [.customLong("tids"), .customLong("tid")], help: ArgumentHelp("Only samples of these thread ids (comma-separated), like perf report --tid.", valueName: "TID[,TID…]"))
    public var tids: [String] = []

    @Option(name: [.customLong("dsos"), .short], help: ArgumentHelp("Only samples in these images, named as rows show them ([kernel.kallsyms], libc.so.6), like perf report --dsos.", valueName: "IMAGE[,IMAGE…]"))
    public var dsos: [String] = []

    @Option(name: [.customLong("symbols"), .customShort("S")], help: ArgumentHelp("Only samples in these functions, named as rows show them, like perf report --symbols.", valueName: "NAME[,NAME…]"))
    public var symbolNames: [String] = []

    /// Options as ArgumentParser fills them (no filter).
    public init() {}

    /// Refuses a pid or tid that is not a number (empty items of a list, `--comms a,,b`, are dropped).
    public func validate() throws {
        for (name, ids) in [("--pids", pids), ("--tids", tids)] {
            for id in Self.list(ids) where Int32(id) == nil {
                throw ValidationError("\(name) expects comma-separated numeric ids, not '\(id)'")
            }
        }
    }

    /// The filters as the builders apply them: each list split at commas and trimmed (empty where the
    /// option was not given).
    public var filter: SampleFilter {
        var f = SampleFilter()
        f.comms = Self.list(comms)
        f.pids = Self.list(pids).compactMap { Int32($0) }
        f.tids = Self.list(tids).compactMap { Int32($0) }
        f.images = Self.list(dsos)
        f.symbols = Self.list(symbolNames)
        return f
    }

    /// The options as command-line arguments again.
    public var arguments: [String] {
        comms.flatMap { ["--comms", $0] } + pids.flatMap { ["--pids", $0] } + tids.flatMap { ["--tids", $0] }
            + dsos.flatMap { ["--dsos", $0] } + symbolNames.flatMap { ["--symbols", $0] }
    }

    /// The names of a repeatable, comma-separated option (`--dsos a,b --dsos c`), blanks dropped.
    public static func list(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }
            .map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
            .filter { !$0.isEmpty }
    }
}

/// The times of a recording's first and last samples, as perf keeps them in its header (HEADER_SAMPLE_TIME) for
/// `--time` shares: read here from the samples themselves, so every input format has them.
public enum SampleTimeSpan {
    /// The first and last sample times of `path` (nanoseconds, the recording's clock), read with `input`'s
    /// options in a pass over its samples; nil when it has none.
    public static func of(_ path: String, input: InputOptions) throws(SampleIOError) -> (first: UInt64, last: UInt64)? {
        let source = try input.open(path)
        source.setCallchainsWanted(false)
        var first = UInt64.max, last: UInt64 = 0
        while let batch = try source.nextBatch() {
            for s in batch.samples {
                first = min(first, s.time)
                last = max(last, s.time)
            }
        }
        return first <= last ? (first, last) : nil
    }
}

/// `--mode`'s values: `user`, `kernel`, `hypervisor` (also `xen`, `hv`, and the one-letter forms), and
/// `unknown` for samples whose source did not say.
extension SampleMode: ExpressibleByArgument {
    /// The mode `argument` names (``SampleMode/init(name:)``).
    public init?(argument: String) { self.init(name: argument) }
    /// The names help and completions offer.
    public static var allValueStrings: [String] { ["user", "kernel", "hypervisor"] }
    /// What each name selects, for `--help`.
    public static var allValueDescriptions: [String: String] {
        ["user": "user space of the sampled domain", "kernel": "its kernel",
         "hypervisor": "the hypervisor (also xen, hv): Xen, or the KVM host for a guest"]
    }
    /// Completions offer the names.
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    /// The name a default is shown with.
    public var defaultValueDescription: String { description }
}

/// `--percentage`'s values: `absolute`, `relative`.
extension FilterPercentage: ExpressibleByArgument {}
