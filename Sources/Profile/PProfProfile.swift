import SampleIO

/// A profile shaped like pprof's (the protocol buffer `go tool pprof`, speedscope and Perfetto read), built
/// from any input with the same attribution as `xprof report`; the `xprof-pprof` executable encodes it (the
/// protocol-buffer library stays out of `xprof` itself, where it would slow every start).
///
/// One pprof sample per distinct (stack, command, pid, domain, mode, event), with the values samples and the
/// event period (cpu/nanoseconds for the CPU clocks) — one period column per event when several are shown.
/// One location per distinct address (per process for user addresses), one function per distinct (symbol,
/// source file), one mapping per image. Locations carry the
/// source line when the image has DWARF. Labels carry the command, pid, domain (`xen` for the hypervisor) and
/// mode of the leaf, and the event when the recording has several, so `pprof -tagfocus domain=2` picks one domain.
public struct PProfProfile: Sendable {
    /// pprof's `ValueType`: what a value column counts and in what unit, both as ``PProfProfile/strings`` indexes.
    public struct ValueType: Sendable, Equatable {
        /// Index of the type's name in ``PProfProfile/strings`` (`samples`, `cpu`, `cpu-clock`, `page-faults` …).
        public var type: Int64
        /// Index of the unit's name in ``PProfProfile/strings`` (`count` or `nanoseconds`).
        public var unit: Int64
    }
    /// pprof's `Mapping`: one per image with samples; xprof gives it only an id and a name (no address range,
    /// file offset or build-id).
    public struct Mapping: Sendable {
        /// The mapping's id, from 1 in order of first use (pprof's 0 means none).
        public var id: UInt64
        /// Index in ``PProfProfile/strings`` of the image's name as report's image column shows it.
        public var filename: Int64
    }
    /// pprof's `Location`: one distinct sampled or return address (per process for user addresses).
    public struct Location: Sendable {
        /// The location's id, from 1 in order of first use; ``Sample/locationIDs`` refer to it.
        public var id: UInt64
        /// The ``Mapping/id`` of the image the address falls in.
        public var mappingID: UInt64
        /// The runtime address as the sample or callchain gave it (not the ELF virtual address).
        public var address: UInt64
        /// The ``Function/id`` of the function the address resolved to (named as report names an unresolved
        /// address when it did not).
        public var functionID: UInt64
        /// 0 when unknown.
        public var line: Int64
    }
    /// pprof's `Function`: one per distinct (symbol, source file).
    public struct Function: Sendable {
        /// The function's id, from 1 in order of first use.
        public var id: UInt64
        /// Index in ``PProfProfile/strings`` of the symbol as report's symbol column shows it.
        public var name: Int64
        /// Source file (basename) or 0.
        public var filename: Int64
    }
    /// pprof's `Label` on a sample: `comm`, `pid`, `domain`, `mode`, and `event` when several events are shown.
    public struct Label: Sendable {
        /// Index in ``PProfProfile/strings`` of the label's name.
        public var key: Int64
        /// A string label's value (0 for a numeric one).
        public var str: Int64
        /// A numeric label's value (the pid); 0 for a string label.
        public var num: Int64
    }
    /// pprof's `Sample`: one distinct (stack, command, pid, domain, mode, event) with its counts.
    public struct Sample: Sendable {
        /// Leaf first.
        public var locationIDs: [UInt64]
        /// [samples, period]
        public var values: [Int64]
        /// The leaf's command, pid, domain (`xen` for the hypervisor) and mode, and the event when several are shown.
        public var labels: [Label]
    }

    /// What to export and how much to resolve.
    public struct Options: Sendable {
        /// Which samples to export (``SampleSelection``).
        public var selection = SampleSelection()
        /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …), as for `report`.
        public var symbols = SymbolOptions()
        /// Look up source lines (DWARF) for every location.
        public var lines = true
        /// Every sample, with source lines.
        public init() {}
    }

    /// pprof's string table: index 0 is "".
    public var strings: [String] { table.strings }
    private var table = StringTable()
    /// The value columns: `samples`/`count` first, then one period column per event shown (`cpu`/`nanoseconds`
    /// for a single CPU-clock event, the event's name and `count` otherwise).
    public var sampleTypes: [ValueType] = []
    /// What ``period`` measures: the first shown event's period column type.
    public var periodType = ValueType(type: 0, unit: 0)
    /// Events per sample of the first shown event: its fixed period, or 10⁹ / frequency nanoseconds for a
    /// frequency-driven clock event; 0 when neither is known.
    public var period: Int64 = 0
    /// Index in ``strings`` of the preferred value's type: the first period column's (pprof shows it by default).
    public var defaultSampleType: Int64 = 0
    /// Start of the recording, nanoseconds since the Unix epoch (``SampleIO/RunMetadata/startTime``; 0 if unknown).
    public var timeNanos: Int64 = 0
    /// Length of the recording in nanoseconds (``SampleIO/RunMetadata/duration``; 0 if unknown).
    public var durationNanos: Int64 = 0
    /// Indexes in ``strings`` of the profile's comments: one naming the input format and profiled command.
    public var comments: [Int64] = []
    /// One per image with samples, ids from 1.
    public var mappings: [Mapping] = []
    /// One per distinct address, ids from 1; `locations[id - 1]` is the location with that id.
    public var locations: [Location] = []
    /// One per distinct (symbol, source file), ids from 1.
    public var functions: [Function] = []
    /// The distinct samples, largest period first (ties by their locations, then labels): the output does
    /// not depend on hashing.
    public var samples: [Sample] = []
    /// Samples read (the sum of the first value).
    public var totalSamples: UInt64 = 0

    mutating func intern(_ s: String) -> Int64 { Int64(table.intern(s)) }

    /// Reads `source` and returns its profile.
    public static func build(source: any SampleSource, options: Options) throws(SampleIOError) -> PProfProfile {
        let meta = source.metadata
        let profile = try AttributedStacks.collect(source: source, selection: options.selection,
                                                   symbols: options.symbols, lines: options.lines ? .all : .none)
        let attributor = profile.attributor
        var p = PProfProfile()

        struct StackKey {
            var locations: [UInt64]
            var comm: Int32
            var pid: Int32
            var domain: UInt32
            var mode: UInt8
            var event: UInt16
        }
        struct FunctionKey: Hashable {
            var symbol: Int32
            var file: String
        }
        // Ids in order of first use, the leaf first in each stack (pprof's order): a location makes its
        // mapping and function when new. (A user address is a location per process and image: after an exec
        // the same address is other code.)
        var functionIDs: [FunctionKey: UInt64] = [:]
        var mappingIDs: [Int32: UInt64] = [:]  // attributor image id → mapping id
        var locationIDs = [UInt64](repeating: 0, count: profile.locations.count)  // model index → id
        func locationID(_ i: Int32) -> UInt64 {
            if locationIDs[Int(i)] != 0 { return locationIDs[Int(i)] }
            let loc = profile.locations[Int(i)]
            let mappingID: UInt64
            if let m = mappingIDs[loc.image] { mappingID = m } else {
                mappingID = UInt64(p.mappings.count + 1)
                p.mappings.append(Mapping(id: mappingID, filename: p.intern(attributor.strings[loc.image])))
                mappingIDs[loc.image] = mappingID
            }
            // The path as the line table gives it (absolute with its compilation directory), so that
            // `pprof -list` finds the source from any folder; no file for a line 0.
            let source = loc.source.flatMap { $0.line > 0 ? $0 : nil }
            let fkey = FunctionKey(symbol: loc.symbol, file: source?.file ?? "")
            let functionID: UInt64
            if let fid = functionIDs[fkey] { functionID = fid } else {
                functionID = UInt64(p.functions.count + 1)
                p.functions.append(Function(id: functionID, name: p.intern(attributor.strings[loc.symbol]), filename: p.intern(fkey.file)))
                functionIDs[fkey] = functionID
            }
            let id = UInt64(p.locations.count + 1)
            p.locations.append(Location(id: id, mappingID: mappingID, address: loc.ip, functionID: functionID,
                                        line: Int64(source?.line ?? 0)))
            locationIDs[Int(i)] = id
            return id
        }
        // The model's stacks are distinct already: one pprof sample each, with its locations' pprof ids.
        let stacks = profile.stacks.indices.map { k -> (key: StackKey, value: (count: Int64, period: Int64)) in
            let st = profile.stacks[k], c = profile.counts[k]
            return (StackKey(locations: st.locations.map(locationID), comm: st.comm, pid: st.pid,
                             domain: st.domain.rawValue, mode: st.mode.rawValue, event: st.event),
                    (Int64(clamping: c.samples), Int64(truncatingIfNeeded: c.period)))
        }
        p.totalSamples = profile.totalSamples

        // pprof takes the first mapping for the main binary (its name heads `-top` and the web view): the image
        // of the command most samples were taken in (its comm, which the kernel cuts to 15 characters: a perf.data
        // file's recorded command line is perf's own), else the image with the most samples.
        var mappingSamples: [UInt64: Int64] = [:], commSamples: [Int32: Int64] = [:]
        for (key, v) in stacks {
            if let leaf = key.locations.first { mappingSamples[p.locations[Int(leaf) - 1].mappingID, default: 0] += v.count }
            commSamples[key.comm, default: 0] += v.count
        }
        let comm = commSamples.max { ($0.value, $1.key) < ($1.value, $0.key) }.map { attributor.strings[$0.key] } ?? ""
        func isCommand(_ m: Mapping) -> Bool {
            let name = basename(p.strings[Int(m.filename)])
            return !comm.isEmpty && (name == comm || (comm.count == 15 && name.hasPrefix(comm)))
        }
        if let main = p.mappings.first(where: { isCommand($0) && mappingSamples[$0.id] != nil })
            ?? p.mappings.max(by: { (mappingSamples[$0.id] ?? 0, $1.id) < (mappingSamples[$1.id] ?? 0, $0.id) }),
           let i = p.mappings.firstIndex(where: { $0.id == main.id }) {
            p.mappings.insert(p.mappings.remove(at: i), at: 0)
        }

        let events = meta.events
        // One value column per event shown: pprof has no way to add clock time to page faults.
        let shown: [Int] = options.selection.event.map { [Int($0)] } ?? Array(events.indices)
        let single = shown.count <= 1
        func periodType(_ k: Int?) -> (ValueType, clock: Bool) {
            // perf names events with their modifiers and terms (`cpu-clock:ppp`, `page-faults/period=1/`).
            let base = k.map { String(events[$0].name.prefix { $0 != ":" && $0 != "/" }) } ?? "events"
            if base == "cpu-clock" || base == "task-clock" {
                return (ValueType(type: p.intern(single ? "cpu" : base), unit: p.intern("nanoseconds")), true)
            }
            return (ValueType(type: p.intern(base), unit: p.intern("count")), false)
        }
        p.sampleTypes = [ValueType(type: p.intern("samples"), unit: p.intern("count"))]
        var column: [Int: Int] = [:]  // event index → value column
        for k in shown where k < events.count {
            column[k] = p.sampleTypes.count
            p.sampleTypes.append(periodType(k).0)
        }
        if p.sampleTypes.count == 1 { p.sampleTypes.append(periodType(nil).0) }  // no event table at all
        let first = shown.first.flatMap { $0 < events.count ? $0 : nil }
        let (firstType, clock) = periodType(first)
        p.periodType = firstType
        if let k = first {
            if let period = events[k].period, period > 0 {
                p.period = Int64(clamping: period)
            } else if clock, let hz = events[k].frequency, hz > 0 {
                p.period = Int64(1_000_000_000 / hz)
            }
        }
        // The preferred value, by its type's name: the (first) event's count.
        p.defaultSampleType = p.sampleTypes[1].type
        p.timeNanos = Int64(clamping: meta.startTime)
        p.durationNanos = Int64(clamping: meta.duration)
        let keyComm = p.intern("comm"), keyPid = p.intern("pid"), keyDomain = p.intern("domain"), keyMode = p.intern("mode")
        let keyEvent = p.intern("event")
        // Largest first, then by the key's fields, so the output does not depend on hashing.
        let ordered = stacks.sorted { a, b in
            if a.value.period != b.value.period { return a.value.period > b.value.period }
            if a.key.locations != b.key.locations { return a.key.locations.lexicographicallyPrecedes(b.key.locations) }
            return (a.key.pid, a.key.comm, a.key.domain, a.key.mode, a.key.event) < (b.key.pid, b.key.comm, b.key.domain, b.key.mode, b.key.event)
        }
        p.samples.reserveCapacity(ordered.count)
        for (key, v) in ordered {
            var labels = [
                Label(key: keyComm, str: p.intern(attributor.strings[key.comm]), num: 0),
                Label(key: keyPid, str: 0, num: Int64(key.pid)),
                Label(key: keyDomain, str: p.intern(DomainID(key.domain).description), num: 0),
                Label(key: keyMode, str: p.intern((SampleMode(rawValue: key.mode) ?? .unknown).description), num: 0),
            ]
            if !single {
                let name = Int(key.event) < events.count ? events[Int(key.event)].name : "event\(key.event)"
                labels.append(Label(key: keyEvent, str: p.intern(name), num: 0))
            }
            var values = [Int64](repeating: 0, count: p.sampleTypes.count)
            values[0] = v.count
            values[column[Int(key.event)] ?? 1] = v.period
            p.samples.append(Sample(locationIDs: key.locations, values: values, labels: labels))
        }
        let command = meta.command.isEmpty ? "" : " of " + meta.command.joined(separator: " ")
        p.comments = [p.intern("xprof export --format pprof: \(meta.sourceFormat)\(command)")]
        return p
    }
}
