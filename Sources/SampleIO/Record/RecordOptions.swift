/// What `xprof record` samples and how.
public struct RecordOptions: Sendable {
    /// Which tasks to sample.
    public enum Target: Sendable, Equatable {
        /// Every CPU, every task (`-a`): one event per CPU.
        case systemWide
        /// An existing process and its threads (`-p PID`).
        case process(Int32)
        /// A command started by the recorder, followed into its children (`-- CMD ARGS`).
        case command([String])
    }

    /// Which event to prefer.
    public enum EventChoice: String, Sendable {
        /// Hardware cycles if the CPU/hypervisor offers them, else the software `cpu-clock` (with a note).
        case auto
        /// Hardware cycles only (fail if unavailable).
        case cycles
        /// The software `cpu-clock` timer.
        case cpuClock = "cpu-clock"
    }

    public var target: Target
    /// Samples per second per CPU.
    public var frequency: UInt64 = 997
    /// CPUs to sample (nil: all online).
    public var cpus: [Int]? = nil
    /// Record callchains (`-g`).
    public var callchains: Bool = false
    /// Stop after this many seconds (nil: when the command ends or on SIGINT/SIGTERM).
    public var duration: Double? = nil
    public var event: EventChoice = .auto
    /// Output file.
    public var output: String = "xprof.data.xprof"
    /// Ring buffer size per CPU in pages (a power of two).
    public var ringPages: Int = 128

    public init(target: Target) {
        self.target = target
    }
}

/// What a recording produced.
public struct RecordSummary: Sendable {
    public var output: String
    public var samples: UInt64
    public var lost: UInt64
    public var duration: Double
    public var event: String
    public var notes: [String]
    /// Exit status of the recorded command (nil for -a / -p).
    public var commandStatus: Int32?
}

/// Kernel-style CPU lists (`0-3,6`).
public enum CPUList {
    /// The CPUs of `text`, or nil if it is not a CPU list.
    public static func parse(_ text: String) -> [Int]? {
        ProcScanner.parseCPUList(text)
    }
}
