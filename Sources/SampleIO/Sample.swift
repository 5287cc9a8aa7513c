/// Where the CPU was when a sample was taken.
public enum SampleMode: UInt8, Sendable, CaseIterable, CustomStringConvertible, BitwiseCopyable {
    /// User space of the running domain.
    case user = 0
    /// The running domain's kernel.
    case kernel = 1
    /// The hypervisor (Xen itself, or the KVM host on behalf of a guest).
    case hypervisor = 2
    /// The source did not say.
    case unknown = 3

    /// The lower-case name `init(name:)` accepts and reports print.
    public var description: String {
        switch self {
        case .user: "user"
        case .kernel: "kernel"
        case .hypervisor: "hypervisor"
        case .unknown: "unknown"
        }
    }

    /// Parses `user`, `kernel`, `hypervisor` (also `xen`, `hv`) and `unknown`.
    public init?(name: String) {
        switch name.lowercased() {
        case "user", "u": self = .user
        case "kernel", "k": self = .kernel
        case "hypervisor", "xen", "hv", "h": self = .hypervisor
        case "unknown": self = .unknown
        default: return nil
        }
    }
}

/// Identifies one operating-system instance on the machine.
///
/// Xen domain ids are used as they are (0 is dom0, the coordinator); KVM guests get the id the
/// decoder assigns (documented per input). The hypervisor itself, when samples belong to it rather
/// than to the domain it ran for, is ``hypervisor`` (Xen's `DOMID_XEN`).
public struct DomainID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, BitwiseCopyable {
    /// The domain number: a Xen domid, a guest's VMM pid, or 0x7FF2 for the hypervisor.
    public var rawValue: UInt32
    /// Any 32-bit value is a domain id; no validation.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The domain with this number.
    public init(_ value: UInt32) { self.rawValue = value }

    /// Domain 0: the host, Xen's dom0, the coordinator.
    public static let host = DomainID(0)
    /// The hypervisor as a domain of its own (Xen's `DOMID_XEN`, 0x7FF2).
    public static let hypervisor = DomainID(0x7FF2)

    /// Orders by number (the host, 0, first; the hypervisor, 0x7FF2, after the usual Xen domids).
    public static func < (a: DomainID, b: DomainID) -> Bool { a.rawValue < b.rawValue }

    /// The number in decimal, or `xen` for ``hypervisor``.
    public var description: String { self == .hypervisor ? "xen" : String(rawValue) }
}

/// One instruction-pointer sample.
///
/// A small plain value: decoders produce these in contiguous ``SampleBatch`` arrays. Fields the input
/// did not carry hold the documented "unknown" value.
public struct Sample: Sendable, Equatable, BitwiseCopyable {
    /// The sampled instruction pointer, as the sampled domain saw it (runtime address).
    public var ip: UInt64
    /// The sample's weight: the event period it stands for (1 when the input has no period).
    public var weight: UInt64
    /// Timestamp in nanoseconds (clock of the source), 0 if unknown.
    public var time: UInt64
    /// Process id for active domains, -1 if unknown.
    public var pid: Int32
    /// Thread id, -1 if unknown.
    public var tid: Int32
    /// The domain that was running.
    public var domain: DomainID
    /// Physical CPU that took the sample, `UInt32.max` if unknown.
    public var pcpu: UInt32
    /// Virtual CPU of `domain` that was running, `UInt32.max` if unknown.
    public var vcpu: UInt32
    /// Index of the event (into the run's event table).
    public var event: UInt16
    /// Where the CPU was.
    public var mode: SampleMode
    /// A per-sample label of the source (0: none): an index into ``RunMetadata/labels`` — a HVM exit's reason
    /// for a xentrace `vmexit` sample. Fills what would be padding: the sample stays 64 bytes.
    public var label: UInt8
    /// First frame of this sample's callchain in its batch's `frames`.
    public var chainStart: UInt32
    /// Number of callchain frames (0: no callchain). Frames are leaf first; frame 0 is `ip`.
    public var chainCount: UInt32
    /// How many samples this one stands for: 1, unless the consumer let the source merge identical samples
    /// (``SampleSource/setMergingAllowed(_:)``); then `weight` is their summed weight and `time` the last one's.
    public var count: UInt64

    /// The value of ``pcpu`` and ``vcpu`` when the input does not say.
    public static let unknownCPU = UInt32.max

    /// A sample; the defaults are the "unknown" values (pid/tid -1, CPUs ``unknownCPU``), a weight and count
    /// of 1 and no callchain.
    public init(ip: UInt64, weight: UInt64 = 1, time: UInt64 = 0, pid: Int32 = -1, tid: Int32 = -1,
                domain: DomainID = .host, pcpu: UInt32 = Sample.unknownCPU, vcpu: UInt32 = Sample.unknownCPU,
                event: UInt16 = 0, mode: SampleMode, label: UInt8 = 0, chainStart: UInt32 = 0, chainCount: UInt32 = 0, count: UInt64 = 1) {
        self.ip = ip
        self.weight = weight
        self.time = time
        self.pid = pid
        self.tid = tid
        self.domain = domain
        self.pcpu = pcpu
        self.vcpu = vcpu
        self.event = event
        self.mode = mode
        self.label = label
        self.chainStart = chainStart
        self.chainCount = chainCount
        self.count = count
    }
}

/// One frame of a callchain: a return address (or the sampled pc for frame 0) and the mode it belongs to.
public struct CallFrame: Sendable, Equatable, BitwiseCopyable {
    /// Return address, or the sampled pc for frame 0 (a runtime address, as ``Sample/ip``).
    public var ip: UInt64
    /// The mode this address runs in: from the callchain's context markers (perf) or the frame's own mode.
    public var mode: SampleMode
    /// A frame at `ip` in `mode`.
    public init(ip: UInt64, mode: SampleMode) {
        self.ip = ip
        self.mode = mode
    }
}
