import CPerfShim
import SampleIO
import SwiftProtobuf

/// A profile in pprof's format (the gzip-compressed protocol buffer `go tool pprof`, speedscope and other
/// viewers read): one pprof sample per distinct (stack, command, pid, domain), with two values, the sample
/// count and the event period (nanoseconds for the CPU clocks); one location per distinct address, named by
/// the same attribution as `xprof report` (image = mapping, symbol = function). Labels carry the command,
/// pid, domain and mode of the leaf, so `pprof -tagfocus domain=2` picks one domain.
public enum PProfExport {
    public struct Options: Sendable {
        public var domain: DomainID?
        public var mode: SampleMode?
        public var symbols = SymbolOptions()
        public init() {}
    }

    /// What was written: counts for the user.
    public struct Summary: Sendable {
        public var samples: UInt64 = 0
        public var stacks = 0
        public var locations = 0
        public var functions = 0
    }

    /// The profile, serialized and gzip-compressed, and what is in it.
    public struct Output: Sendable {
        public var bytes: [UInt8]
        public var summary: Summary
    }

    /// Reads `source` and returns the profile.
    public static func build(source: any SampleSource, options: Options) throws(SampleIOError) -> Output {
        source.setCallchainsWanted(true)
        let meta = source.metadata
        let attributor = Attributor(metadata: meta, options: options.symbols)
        var table = StringTable()  // pprof's string table: index 0 is ""

        struct StackKey: Hashable {
            var locations: [UInt64]
            var comm: Int32
            var pid: Int32
            var domain: UInt32
            var mode: UInt8
        }
        var stacks: [StackKey: (count: Int64, period: Int64)] = [:]
        var locationIDs: [LocationKey: UInt64] = [:]
        var locations: [Perftools_Profiles_Location] = []
        var functionIDs: [Int32: UInt64] = [:]  // attributor symbol id → function id
        var functions: [Perftools_Profiles_Function] = []
        var mappingIDs: [Int32: UInt64] = [:]  // attributor image id → mapping id
        var mappings: [Perftools_Profiles_Mapping] = []
        var summary = Summary()
        var frames: [CallFrame] = []
        var locs: [UInt64] = []

        func location(_ s: Sample, _ f: CallFrame) -> UInt64 {
            let key = LocationKey(ip: f.ip, domain: s.domain.rawValue, mode: f.mode.rawValue, pid: f.mode == .user ? s.pid : -1)
            if let id = locationIDs[key] { return id }
            let (img, sym, _) = attributor.attributeAddress(domain: s.domain, mode: f.mode, pid: s.pid, ip: f.ip)
            let mappingID: UInt64
            if let m = mappingIDs[img] { mappingID = m } else {
                mappingID = UInt64(mappings.count + 1)
                var m = Perftools_Profiles_Mapping()
                m.id = mappingID
                m.filename = table.intern(attributor.strings[img]).int64
                m.hasFunctions_p = true
                mappings.append(m)
                mappingIDs[img] = mappingID
            }
            let functionID: UInt64
            if let fid = functionIDs[sym] { functionID = fid } else {
                functionID = UInt64(functions.count + 1)
                var fn = Perftools_Profiles_Function()
                fn.id = functionID
                fn.name = table.intern(attributor.strings[sym]).int64
                fn.systemName = fn.name
                functions.append(fn)
                functionIDs[sym] = functionID
            }
            var loc = Perftools_Profiles_Location()
            loc.id = UInt64(locations.count + 1)
            loc.mappingID = mappingID
            loc.address = f.ip
            var line = Perftools_Profiles_Line()
            line.functionID = functionID
            loc.line = [line]
            locations.append(loc)
            locationIDs[key] = loc.id
            return loc.id
        }

        try attributor.forEachSample(of: source, domain: options.domain, mode: options.mode) { s, batch, i in
            let chain = batch.callchain(of: i)
            frames.removeAll(keepingCapacity: true)
            if chain.isEmpty { frames.append(CallFrame(ip: s.ip, mode: s.mode)) } else { frames.append(contentsOf: chain) }
            locs.removeAll(keepingCapacity: true)
            for f in frames { locs.append(location(s, f)) }  // leaf first, as pprof wants
            let key = StackKey(locations: locs, comm: attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid),
                               pid: s.pid, domain: s.domain.rawValue, mode: s.mode.rawValue)
            stacks[key, default: (0, 0)].count += 1
            stacks[key, default: (0, 0)].period &+= Int64(truncatingIfNeeded: s.weight)
            summary.samples += 1
        }

        var p = Perftools_Profiles_Profile()
        let event = meta.events.first
        let eventName = event?.name ?? "samples"
        let clock = eventName == "cpu-clock" || eventName == "task-clock"
        func valueType(_ type: String, _ unit: String) -> Perftools_Profiles_ValueType {
            var v = Perftools_Profiles_ValueType()
            v.type = table.intern(type).int64
            v.unit = table.intern(unit).int64
            return v
        }
        let periodType = clock ? valueType("cpu", "nanoseconds") : valueType(eventName, "count")
        p.sampleType = [valueType("samples", "count"), periodType]
        p.periodType = periodType
        if let period = event?.period, period > 0 {
            p.period = Int64(clamping: period)
        } else if clock, let hz = event?.frequency, hz > 0 {
            p.period = Int64(1_000_000_000 / hz)
        }
        p.defaultSampleType = 1
        p.timeNanos = Int64(clamping: meta.startTime)
        p.durationNanos = Int64(clamping: meta.duration)
        let keyComm = table.intern("comm").int64, keyPid = table.intern("pid").int64
        let keyDomain = table.intern("domain").int64, keyMode = table.intern("mode").int64
        // Largest first, then by location ids, so the output does not depend on hashing.
        let ordered = stacks.sorted { a, b in
            a.value.period != b.value.period ? a.value.period > b.value.period
                : a.key.locations.lexicographicallyPrecedes(b.key.locations) || (a.key.locations == b.key.locations && (a.key.pid, a.key.comm, a.key.domain, a.key.mode) < (b.key.pid, b.key.comm, b.key.domain, b.key.mode))
        }
        p.sample.reserveCapacity(ordered.count)
        for (key, v) in ordered {
            var smp = Perftools_Profiles_Sample()
            smp.locationID = key.locations
            smp.value = [v.count, v.period]
            var comm = Perftools_Profiles_Label()
            comm.key = keyComm
            comm.str = table.intern(attributor.strings[key.comm]).int64
            var pid = Perftools_Profiles_Label()
            pid.key = keyPid
            pid.num = Int64(key.pid)
            var domain = Perftools_Profiles_Label()
            domain.key = keyDomain
            let d = DomainID(key.domain)
            domain.str = table.intern(d == .hypervisor ? "xen" : String(d.rawValue)).int64
            var mode = Perftools_Profiles_Label()
            mode.key = keyMode
            mode.str = table.intern((SampleMode(rawValue: key.mode) ?? .unknown).description).int64
            smp.label = [comm, pid, domain, mode]
            p.sample.append(smp)
        }
        p.mapping = mappings
        p.location = locations
        p.function = functions
        p.comment = [table.intern("xprof export --format pprof of \(meta.sourceFormat) \(meta.command.joined(separator: " "))").int64]
        p.stringTable = table.strings
        summary.stacks = ordered.count
        summary.locations = locations.count
        summary.functions = functions.count
        let raw: [UInt8]
        do {
            raw = try p.serializedBytes()
        } catch {
            throw SampleIOError(.badData, "the pprof profile could not be encoded: \(error)", path: "")
        }
        return Output(bytes: try gzip(raw), summary: summary)
    }

    struct LocationKey: Hashable {
        var ip: UInt64
        var domain: UInt32
        var mode: UInt8
        var pid: Int32
    }

    /// `bytes` in a gzip container (zlib).
    static func gzip(_ bytes: [UInt8]) throws(SampleIOError) -> [UInt8] {
        let capacity = Int(xprof_deflate_bound(bytes.count)) + 64
        var out = [UInt8](repeating: 0, count: capacity)
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in xprof_gzip(src.baseAddress, src.count, dst.baseAddress, dst.count, 6) }
        }
        guard n >= 0 else { throw SampleIOError(.badData, "zlib could not compress the pprof profile", path: "") }
        return Array(out.prefix(Int(n)))
    }
}

private extension Int32 {
    var int64: Int64 { Int64(self) }
}
