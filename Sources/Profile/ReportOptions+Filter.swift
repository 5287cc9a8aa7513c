/// perf report's sample filters (`--comms`, `--pid`, `--tid`, `--dsos`, `--symbols`): a sample is kept when
/// it passes every list given, each by its own attribution (the command, process, thread, image and function
/// its row would show), as `perf report` filters entries.
public struct SampleFilter: Sendable, Equatable {
    /// Command names (`comm`), as rows show them.
    public var comms: [String] = []
    /// Process ids.
    public var pids: [Int32] = []
    /// Thread ids.
    public var tids: [Int32] = []
    /// Image names as rows show them (`[kernel.kallsyms]`, `libc.so.6`); a path matches by its image name too.
    public var images: [String] = []
    /// Function names as rows show them.
    public var symbols: [String] = []

    /// No lists: every sample passes.
    public init() {}

    /// Whether no list is given (every sample passes).
    public var isEmpty: Bool {
        comms.isEmpty && pids.isEmpty && tids.isEmpty && images.isEmpty && symbols.isEmpty
    }

    /// What the filter keeps, for a report's header: `comm dd, dso libc.so.6,[kernel.kallsyms]`.
    public var description: String {
        var parts: [String] = []
        if !comms.isEmpty { parts.append("comm " + comms.joined(separator: ",")) }
        if !pids.isEmpty { parts.append("pid " + pids.map(String.init).joined(separator: ",")) }
        if !tids.isEmpty { parts.append("tid " + tids.map(String.init).joined(separator: ",")) }
        if !images.isEmpty { parts.append("dso " + images.joined(separator: ",")) }
        if !symbols.isEmpty { parts.append("symbol " + symbols.joined(separator: ",")) }
        return parts.joined(separator: "; ")
    }
}

/// What percentages are of when a ``SampleFilter`` is set (perf report's `--percentage`).
public enum FilterPercentage: String, Sendable, CaseIterable {
    /// Of all samples, as before the filter: the shown rows add up to less than 100 % (perf 6.1's default).
    case absolute
    /// Of the samples the filter kept: the shown rows add up to 100 %.
    case relative
}

/// A ``SampleFilter`` with its names as ids of an ``Attributor``'s string table: checked once per distinct
/// (address, process, thread) a report meets, never per sample.
struct CompiledSampleFilter {
    var comms: Set<Int32>?
    var pids: Set<Int32>?
    var tids: Set<Int32>?
    var images: Set<Int32>?
    var symbols: Set<Int32>?

    init(_ f: SampleFilter, strings: inout StringTable) {
        func ids(_ names: [String]) -> Set<Int32>? {
            names.isEmpty ? nil : Set(names.map { strings.intern($0) })
        }
        comms = ids(f.comms)
        pids = f.pids.isEmpty ? nil : Set(f.pids)
        tids = f.tids.isEmpty ? nil : Set(f.tids)
        images = ids(f.images + f.images.filter { $0.contains("/") }.map(Attributor.displayName))
        symbols = ids(f.symbols)
    }

    /// Whether a sample of process `pid`, thread `tid` attributed to `a` passes.
    func keeps(pid: Int32, tid: Int32, _ a: Attribution) -> Bool {
        if let comms, !comms.contains(a.comm) { return false }
        if let pids, !pids.contains(pid) { return false }
        if let tids, !tids.contains(tid) { return false }
        if let images, !images.contains(a.image) { return false }
        if let symbols, !symbols.contains(a.symbol) { return false }
        return true
    }
}
