/// The role a domain plays in a profile (docs/ARCHITECTURE.md, "Attribution and naming").
public enum DomainRole: String, Sendable, Codable, CaseIterable {
    /// Domain 0 / the host: runs the profiler and resolves its own user space.
    case coordinator
    /// Runs its own profiler agent: user samples carry pids and resolve to binaries.
    case active
    /// Profiled from outside: only kernel and hypervisor addresses resolve.
    case passive
    /// The hypervisor itself.
    case hypervisor
}

/// One row of the run's domain table.
public struct DomainInfo: Sendable, Equatable, Codable {
    /// The domain this row describes; samples name it in ``Sample/domain``.
    public var id: DomainID
    /// Display name: Xen's or the capture's name (`Domain-0`), the host name for a perf.data file or an xprof
    /// recording (`host` when that is unknown), `d7`/`idle` for xentrace, `guest-PID` for a perf guest machine.
    public var name: String
    /// How the domain's samples are attributed and named (docs/ARCHITECTURE.md, "Attribution and naming").
    public var role: DomainRole
    /// Virtual CPUs of the domain as the input gives them (a capture's `vcpus`, CPUs online on a perf host,
    /// highest vCPU seen + 1 in xentrace); 0 when the input does not say.
    public var vcpus: Int
    /// A domain table row; `vcpus` 0 means unknown.
    public init(id: DomainID, name: String, role: DomainRole, vcpus: Int = 0) {
        self.id = id
        self.name = name
        self.role = role
        self.vcpus = vcpus
    }
}

extension DomainID: Codable {
    /// Decodes the raw domain number (a JSON number in `.xprof` metadata).
    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(UInt32.self))
    }
    /// Encodes the raw domain number, as ``init(from:)`` reads it.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A sampling event of the run.
public struct EventInfo: Sendable, Equatable, Codable {
    /// Name as the user knows it (`cpu-clock`, `cycles`, `CPU_CLK_UNHALTED`).
    public var name: String
    /// Samples per second when the event was frequency-driven, else nil.
    public var frequency: UInt64?
    /// Fixed sample period (event count per sample) when period-driven, else nil.
    public var period: UInt64?
    /// An event; give `frequency` or `period` (or neither, when the input does not say how it was sampled).
    public init(name: String, frequency: UInt64? = nil, period: UInt64? = nil) {
        self.name = name
        self.frequency = frequency
        self.period = period
    }
}

/// What kind of symbol source a hint names.
public enum SymbolSourceKind: String, Sendable, Codable {
    case hypervisor, kernel, module, user
}

/// Where symbols for part of a domain can be found again: a path, and the build-id it must have.
public struct SymbolHint: Sendable, Equatable, Codable {
    /// The domain whose addresses these symbols resolve (``DomainID/host`` for everything perf and
    /// `xprof record` write).
    public var domain: DomainID
    /// Which part of the domain: decides which lookups (`SymbolSources` in Profile) consult the hint.
    public var kind: SymbolSourceKind
    /// The file as the recording machine named it: an absolute path, or perf's pseudo name
    /// `[kernel.kallsyms]` for the running kernel.
    public var path: String
    /// Lower-case hex GNU build-id, or empty when unknown.
    public var buildID: String
    /// A hint; `buildID` empty when the recorder did not know it (the path is then taken as is).
    public init(domain: DomainID, kind: SymbolSourceKind, path: String, buildID: String = "") {
        self.domain = domain
        self.kind = kind
        self.path = path
        self.buildID = buildID
    }
}

/// A kernel symbol table captured at record time (the text of `/proc/kallsyms`, function
/// symbols only), so a report can resolve kernel addresses on another machine or after a reboot.
public struct KernelSymbolSnapshot: Sendable, Equatable {
    /// The domain whose kernel this table describes (``DomainID/host`` for `xprof record`).
    public var domain: DomainID
    /// kallsyms-format text: `ADDRESS TYPE NAME [MODULE]` per line.
    public var text: String
    /// A snapshot of `text` (kallsyms format) for `domain`.
    public init(domain: DomainID, text: String) {
        self.domain = domain
        self.text = text
    }
}

/// Everything known about a run apart from its samples.
public struct RunMetadata: Sendable, Equatable {
    /// The input format the samples came from (`xprof`, `perf.data`, `xenoprof-capture`, `oprofile-stream`).
    public var sourceFormat: String = ""
    /// Host name of the recording machine (perf's HOSTNAME feature, `uname -n` for `xprof record`); empty if
    /// unknown. Together with ``kernelRelease`` it decides whether the running kernel's symbols may be used.
    public var hostname: String = ""
    /// `uname -r` of the recording machine (perf's OSRELEASE feature); empty if unknown.
    public var kernelRelease: String = ""
    /// Machine architecture (`x86_64`; perf's ARCH feature, `uname -m`, or a capture's word size); empty if unknown.
    public var architecture: String = ""
    /// CPUs online on the machine.
    public var cpusOnline: Int = 0
    /// CPUs the run sampled (empty: unknown / all).
    public var cpusUsed: [Int] = []
    /// CPUs the profiled command or process was allowed to run on (its affinity: `taskset`, `record -C`
    /// with a command); empty when unknown or for a system-wide recording. `scale` counts these.
    public var cpuAffinity: [Int] = []
    /// The run's events, in the order of ``Sample/event`` indexes (index 0 first).
    public var events: [EventInfo] = []
    /// The command that was profiled (or the recorder's command line).
    public var command: [String] = []
    /// Start of the run, nanoseconds since the Unix epoch (0 if unknown).
    public var startTime: UInt64 = 0
    /// Wall-clock length of the run in nanoseconds (0 if unknown).
    public var duration: UInt64 = 0
    /// The domains the input names, one row each (perf.data and `xprof record`: the host alone; Xen
    /// inputs: every domain of the capture or trace). A sample may name a domain missing here.
    public var domains: [DomainInfo] = []
    /// Where symbol files for the run's images were (build-ids from perf's BUILD_ID feature, the kernel's for
    /// `xprof record`); looked up by path when attributing.
    public var symbolHints: [SymbolHint] = []
    /// kallsyms text captured when recording, per domain (empty for perf.data or when addresses were hidden).
    public var kernelSymbols: [KernelSymbolSnapshot] = []
    /// Names of ``Sample/label`` values, index 0 being "no label" (`[""]` or empty when the source labels
    /// nothing): a xentrace file's exit reasons (`EXTERNAL_INTERRUPT`, `VMEXIT_NPF` …).
    public var labels: [String] = []
    /// Free-form facts a source carries that have no field here (e.g. Xen version, perf version).
    public var extra: [String: String] = [:]

    /// Empty metadata: every field unknown.
    public init() {}

    /// The domain table entry for `id`, if any.
    public func domain(_ id: DomainID) -> DomainInfo? { domains.first { $0.id == id } }
}

/// What a decoder could not deliver: never silently dropped, always shown.
public struct DecodeStats: Sendable, Equatable {
    /// Samples the source says were lost (Xen's `lost_samples`, perf LOST/LOST_SAMPLES), per domain.
    public var lostSamples: [DomainID: UInt64] = [:]
    /// Records that were corrupt or inconsistent and were dropped, per kind ("sample", "mmap", …).
    public var droppedRecords: [String: Int] = [:]
    /// Records or features of types the decoder does not know, skipped, per type name/number.
    public var unknownRecords: [String: Int] = [:]
    /// Whole buffers or chunks skipped (with why, one line each).
    public var skipped: [String] = []
    /// Other warnings (truncated tail, build-id mismatch …), one line each.
    public var warnings: [String] = []

    /// No losses, drops or warnings.
    public init() {}

    /// Total lost samples over all domains.
    public var totalLost: UInt64 { lostSamples.values.reduce(0) { $0.addingSaturating($1) } }
    /// Total dropped records over all kinds.
    public var totalDropped: Int { droppedRecords.values.reduce(0, +) }

    /// Counts `n` samples lost in `domain` (saturating at `UInt64.max`).
    public mutating func addLost(_ n: UInt64, domain: DomainID = .host) {
        lostSamples[domain, default: 0].addSaturating(n)
    }
    /// Counts `count` records of `kind` ("sample", "mmap" …) dropped as corrupt or inconsistent.
    public mutating func drop(_ kind: String, count: Int = 1) {
        droppedRecords[kind, default: 0] += count
    }
    /// Counts `count` records of an unknown type `kind` (a type name or number) skipped.
    public mutating func unknown(_ kind: String, count: Int = 1) {
        unknownRecords[kind, default: 0] += count
    }
    /// Adds everything in `other` to this.
    public mutating func merge(_ other: DecodeStats) {
        for (k, v) in other.lostSamples { lostSamples[k, default: 0] += v }
        for (k, v) in other.droppedRecords { droppedRecords[k, default: 0] += v }
        for (k, v) in other.unknownRecords { unknownRecords[k, default: 0] += v }
        skipped += other.skipped
        warnings += other.warnings
    }
}

extension UInt64 {
    /// `self + n`, or `UInt64.max` where that overflows: counts read from damaged files must not trap.
    public func addingSaturating(_ n: UInt64) -> UInt64 {
        let (r, o) = addingReportingOverflow(n)
        return o ? .max : r
    }

    /// Adds `n` in place, saturating at `UInt64.max`.
    public mutating func addSaturating(_ n: UInt64) { self = addingSaturating(n) }
}
