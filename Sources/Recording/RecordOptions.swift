import SampleIO
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

    /// One event to sample: perf's generic hardware and software events by their perf names, with the
    /// `:u` / `:k` / `:p` modifiers (user only, kernel only, precise IP levels).
    public struct Event: Sendable, Equatable {
        /// perf_event_attr.type: PERF_TYPE_HARDWARE (0) or PERF_TYPE_SOFTWARE (1).
        public var type: UInt32
        /// perf_event_attr.config: the `perf_hw_id` or `perf_sw_ids` number within `type`.
        public var config: UInt64
        /// The event's perf name (`cycles`, `page-faults`), without modifiers.
        public var baseName: String
        /// The `:k` modifier: user-space samples are excluded (perf_event_attr.exclude_user).
        public var excludeUser = false
        /// The `:u` modifier: kernel samples are excluded (perf_event_attr.exclude_kernel).
        public var excludeKernel = false
        /// perf_event_attr.precise_ip, 0…3: one per `p` modifier (hardware events only).
        public var precise: UInt8 = 0
        /// `auto`: cycles if the machine has hardware counters, else cpu-clock (with a note).
        public var isAuto = false

        /// The name with its modifiers, as perf writes it (`page-faults:u`).
        public var name: String {
            var m = ""
            if excludeKernel && !excludeUser { m += "u" }
            if excludeUser && !excludeKernel { m += "k" }
            m += String(repeating: "p", count: Int(precise))
            return m.isEmpty ? baseName : baseName + ":" + m
        }

        /// Whether it is a hardware event (PERF_TYPE_HARDWARE), which may be missing on a virtual machine.
        public var isHardware: Bool { type == 0 }

        /// perf's generic events (include/uapi/linux/perf_event.h: perf_hw_id, perf_sw_ids) and their aliases.
        static let known: [(names: [String], type: UInt32, config: UInt64)] = [
            (["cycles", "cpu-cycles"], 0, 0), (["instructions"], 0, 1), (["cache-references"], 0, 2),
            (["cache-misses"], 0, 3), (["branches", "branch-instructions"], 0, 4), (["branch-misses"], 0, 5),
            (["bus-cycles"], 0, 6), (["stalled-cycles-frontend", "idle-cycles-frontend"], 0, 7),
            (["stalled-cycles-backend", "idle-cycles-backend"], 0, 8), (["ref-cycles"], 0, 9),
            (["cpu-clock"], 1, 0), (["task-clock"], 1, 1), (["page-faults", "faults"], 1, 2),
            (["context-switches", "cs"], 1, 3), (["cpu-migrations", "migrations"], 1, 4),
            (["minor-faults"], 1, 5), (["major-faults"], 1, 6), (["alignment-faults"], 1, 7),
            (["emulation-faults"], 1, 8),
        ]

        /// The names `parse` accepts, for messages.
        public static var knownNames: String { (["auto"] + known.map { $0.names[0] }).joined(separator: ", ") }

        /// `auto`: resolved when the events are opened (cycles, else cpu-clock with a note).
        public static let auto = Event(type: 0, config: 0, baseName: "auto", isAuto: true)
        /// The software `cpu-clock` event (PERF_COUNT_SW_CPU_CLOCK): timer-driven, available everywhere.
        public static let cpuClock = Event(type: 1, config: 0, baseName: "cpu-clock")

        /// Parses `NAME[:MODIFIERS]`; nil with the reason when it is not an event xprof can open.
        public static func parse(_ text: String) -> Result<Event, EventParseError> {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let base = parts[0].lowercased()
            var e: Event
            if base == "auto" {
                e = .auto
            } else if let k = known.first(where: { $0.names.contains(base) }) {
                e = Event(type: k.type, config: k.config, baseName: k.names[0])
            } else {
                return .failure(EventParseError(text: text, reason: "unknown event '\(parts[0])'; xprof samples \(knownNames)"))
            }
            if parts.count == 2 {
                var user = false, kernel = false
                for c in parts[1] {
                    switch c {
                    case "u": user = true
                    case "k": kernel = true
                    case "p" where e.precise < 3: e.precise += 1
                    default:
                        return .failure(EventParseError(text: text, reason: "unknown modifier '\(c)' in '\(text)'; use u (user), k (kernel), p (precise, up to ppp)"))
                    }
                }
                if user != kernel { e.excludeKernel = user; e.excludeUser = kernel }
            }
            return .success(e)
        }

        /// Parses a comma-separated event list (perf's `-e a,b`).
        public static func parseList(_ text: String) -> Result<[Event], EventParseError> {
            var out: [Event] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                switch parse(String(part)) {
                case .success(let e):
                    if out.contains(e) { return .failure(EventParseError(text: text, reason: "event '\(e.name)' is listed twice")) }
                    out.append(e)
                case .failure(let err): return .failure(err)
                }
            }
            if out.count > 16 { return .failure(EventParseError(text: text, reason: "at most 16 events at once")) }
            return .success(out)
        }
    }

    /// Why an event list was refused.
    public struct EventParseError: Error, Sendable {
        /// The event list as the user gave it.
        public var text: String
        /// Why it was refused, for the user (names the known events or modifiers).
        public var reason: String
    }

    /// Which tasks are sampled.
    public var target: Target
    /// Samples per second per CPU.
    public var frequency: UInt64 = 997
    /// CPUs to sample (nil: all online).
    public var cpus: [Int]? = nil
    /// Record callchains (`-g`).
    public var callchains: Bool = false
    /// Stop after this many seconds (nil: when the command ends or on SIGINT/SIGTERM).
    public var duration: Double? = nil
    /// Events to sample, each into the same per-CPU rings; the first one also records the side-band
    /// (mappings, commands, forks).
    public var events: [Event] = [.auto]
    /// Fixed sample period (`-c`): one sample every this many events, instead of `frequency` samples a second.
    public var period: UInt64? = nil
    /// Output file.
    public var output: String = "xprof.data.xprof"
    /// With a system-wide target: a command to run while every CPU is sampled, the recording ending when it
    /// ends (perf's `record -a -- sleep 5`). The command is not followed specially; its samples are among all.
    public var whileCommand: [String] = []
    /// Run the command (`.command` targets) on these CPUs only (its CPU affinity, inherited by its children).
    public var commandCPUs: [Int]? = nil
    /// Ring buffer size per CPU in pages (a power of two).
    public var ringPages: Int = 128

    /// Options for `target` with xprof's defaults otherwise (997 Hz per CPU, `auto` event, no callchains, 128 pages).
    public init(target: Target) {
        self.target = target
    }
}

/// What a recording produced.
public struct RecordSummary: Sendable {
    /// The file written (``RecordOptions/output``).
    public var output: String
    /// Samples written to the file.
    public var samples: UInt64
    /// Samples the kernel reported lost (LOST records, over all CPUs and events).
    public var lost: UInt64
    /// Wall-clock length of the recording in seconds (monotonic clock, from just before sampling was
    /// enabled to the end).
    public var duration: Double
    /// The events sampled, by perf name with modifiers, comma-separated (after `auto` was resolved).
    public var event: String
    /// Notes for the user from opening the events (a fallback to cpu-clock, user-only sampling under
    /// `perf_event_paranoid`); already printed while recording.
    public var notes: [String]
    /// Exit status of the recorded command (nil for -a / -p).
    public var commandStatus: Int32?
    /// Whether the recorder ended the command (a stop signal or --duration) rather than it exiting by itself.
    public var commandEndedByRecorder = false
}

/// Kernel-style CPU lists (`0-3,6`).
public enum CPUList {
    /// The CPUs of `text`, or nil if it is not a CPU list.
    public static func parse(_ text: String) -> [Int]? {
        ProcScanner.parseCPUList(text)
    }
}
