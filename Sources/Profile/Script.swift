#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SampleIO

/// A column `xprof script` can print for each sample (perf script's `-F` names, and xprof's domain and mode).
public enum ScriptField: String, Sendable, CaseIterable {
    case comm, pid, tid, cpu, time, period, event, domain, mode, ip, sym, symoff, dso, srcline

    /// Parses perf script's comma-separated field list.
    public static func parseList(_ text: String) -> [ScriptField]? {
        var out: [ScriptField] = []
        for part in text.split(separator: ",") {
            guard let f = ScriptField(rawValue: part.lowercased()) else { return nil }
            if !out.contains(f) { out.append(f) }
        }
        return out.isEmpty ? nil : out
    }
}

/// How `xprof script` writes samples.
public enum ScriptFormat: String, Sendable, CaseIterable {
    /// perf script's layout: `comm tid [cpu] time: period event: ip sym+off (dso)`, callchain frames below.
    case text
    /// One row per sample with a header; the callchain (leaf first) as `sym;sym;…` in a last column.
    case csv
    /// JSON Lines: one object per sample, the callchain as an array of frames.
    case json
}

/// What `xprof script` prints.
public struct ScriptOptions: Sendable {
    /// Columns; nil: perf script's default for the input (comm, tid, cpu, time, period, event, ip, sym, dso,
    /// and the domain when the input has several).
    public var fields: [ScriptField]? = nil
    /// Print callchains where samples have them.
    public var callchains = true
    /// Text like perf script (the default), CSV, or JSON Lines.
    public var format: ScriptFormat = .text
    /// Which samples to print (perf script's `--time`, `--comms` … among them).
    public var selection = SampleSelection()
    /// Where symbols come from (`--xen`, `--vmlinux`, `--symfs` …), as for `report`.
    public var symbols = SymbolOptions()
    /// perf script's defaults: its default fields, callchains, text, every sample.
    public init() {}
}

/// What `xprof script` went through.
public struct ScriptSummary: Sendable {
    /// Samples written, one line (or object) each.
    public var printed: UInt64 = 0
    /// Samples of the domain, mode and event in view that the time window or the sample filter left out.
    public var skipped: UInt64 = 0
    /// What the decoder lost, dropped or skipped, as of the end of the input.
    public var stats = DecodeStats()
    /// Symbol sources that could not be used (missing images, build-id mismatches).
    public var symbolWarnings: [String] = []
}

/// `xprof script`: every sample, one by one, in the input's time order, attributed as reports attribute it.
public enum ScriptWriter {
    /// The default fields for `metadata`'s input.
    public static func defaultFields(_ metadata: RunMetadata) -> [ScriptField] {
        // Xenoprof rings and OProfile streams carry no thread, command, CPU or time (perf script, too, shows
        // only the fields a recording has): the domain and mode lead instead of "[unknown] -1 … 0.000000".
        if ["xenoprof-capture", "oprofile-stream"].contains(metadata.sourceFormat) {
            return [.domain, .mode, .period, .event, .ip, .sym, .symoff, .dso]
        }
        var f: [ScriptField] = [.comm, .tid]
        if metadata.domains.count > 1 { f.append(.domain) }
        f += [.cpu, .time, .period, .event, .ip, .sym, .symoff, .dso]
        return f
    }

    /// Reads `source` and hands the output, in pieces of about 64 KiB, to `write`.
    public static func run(source: any SampleSource, options: ScriptOptions,
                           write: ([UInt8]) -> Void) throws(SampleIOError) -> ScriptSummary {
        let fields = options.fields ?? defaultFields(source.metadata)
        source.setCallchainsWanted(options.callchains)
        source.setMergingAllowed(false)
        let meta = source.metadata
        let attributor = Attributor(metadata: meta, options: options.symbols)
        let eventNames = meta.events.map(\.name)
        let line = Line(fields: fields, format: options.format, eventNames: eventNames, callchains: options.callchains)
        var text = TextLayout(fields: fields, eventNames: eventNames)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        if options.format == .csv { out += line.csvHeader().utf8 }
        var summary = ScriptSummary()
        // Frames by (ip, domain/mode/pid): image, symbol, offset (and for text, the frame's rendered text);
        // emptied with every side-band event.
        var frames = FastMap<Frame>(capacity: 4096)
        var frameList: [Frame] = []
        let wantSource = fields.contains(.srcline)
        func describe(_ domain: DomainID, _ mode: SampleMode, _ pid: Int32, _ ip: UInt64) -> Frame {
            let key = UInt64(domain.rawValue) << 40 | UInt64(mode.rawValue) << 32 | UInt64(UInt32(bitPattern: pid))
            if let f = frames.get(ip, key) { return f }
            let d = attributor.describe(domain: domain, mode: mode, pid: pid, ip: ip)
            let srcline = wantSource ? attributor.sourceLine(domain: domain, mode: mode, pid: pid, ip: ip) : -1
            var f = Frame(ip: ip, image: d.image, symbol: d.symbol, offset: d.offset, srcline: srcline, text: -1)
            if options.format == .text { f.text = text.render(f, attributor.strings) }
            frames.set(ip, key, 0, f)
            return f
        }
        try attributor.forEachSample(of: source, selection: options.selection,
                                     afterSideband: { frames.removeAll(); text.forgetFrames() },
                                     skipped: { _ in summary.skipped += 1 }) { s, batch, i in
            // Bounded caches, emptied between samples only: a sample's frames hold indexes of their texts.
            if frames.count >= 1 << 20 { frames.removeAll(); text.forgetFrames() }
            let comm = attributor.comm(domain: s.domain, pid: s.pid, tid: s.tid)
            let own = describe(s.domain, s.mode, s.pid, s.ip)
            frameList.removeAll(keepingCapacity: true)
            let hasChain = options.callchains && s.chainCount > 0
            if hasChain {
                for f in batch.callchain(of: i) { frameList.append(describe(s.domain, f.mode, s.pid, f.ip)) }
            }
            if options.format == .text {
                text.append(s, comm: comm, own: own, chain: frameList, hasChain: hasChain, strings: attributor.strings, to: &out)
            } else {
                var piece = ""
                line.append(s, comm: attributor.strings[comm], own: own, chain: frameList, strings: attributor.strings,
                            hasChain: hasChain, to: &piece)
                out += piece.utf8
            }
            summary.printed += 1
            if out.count >= 1 << 16 {
                write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { write(out) }
        summary.stats = source.stats
        summary.symbolWarnings = attributor.sources.warnings
        return summary
    }

    /// perf script's text layout, written as bytes: per-command and per-event pieces and each distinct
    /// frame's text are made once.
    struct TextLayout {
        let fields: [ScriptField]
        let has: Set<ScriptField>
        let eventTexts: [[UInt8]]
        let frameFields: Bool
        /// Rendered frames (`ip sym+off (dso) srcline`), by ``Frame/text``.
        private var frameTexts: [[UInt8]] = []
        /// Commands padded to 16 columns, by interned id.
        private var commTexts: [Int32: [UInt8]] = [:]

        init(fields: [ScriptField], eventNames: [String]) {
            self.fields = fields
            has = Set(fields)
            eventTexts = eventNames.map { Array(($0 + ":").utf8) }
            frameFields = fields.contains { [.ip, .sym, .dso, .srcline].contains($0) }
        }

        mutating func forgetFrames() { frameTexts.removeAll(keepingCapacity: true) }

        mutating func render(_ f: Frame, _ strings: StringTable) -> Int32 {
            var parts: [String] = []
            if has.contains(.ip) { parts.append(Line.pad(Line.hex(f.ip), 16)) }
            if has.contains(.sym) { parts.append(Line.symbolText(f, strings, offset: has.contains(.symoff))) }
            if has.contains(.dso) { parts.append("(" + strings[f.image] + ")") }
            if has.contains(.srcline), f.srcline >= 0 { parts.append(strings[f.srcline]) }
            frameTexts.append(Array(parts.joined(separator: " ").utf8))
            return Int32(frameTexts.count - 1)
        }

        static func decimal(_ v: UInt64, width: Int = 0, fill: UInt8 = 32, left: Bool = false, to out: inout [UInt8]) {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                          UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = 0
            var x = v
            withUnsafeMutableBytes(of: &digits) { d in
                repeat { d[19 - n] = 48 + UInt8(x % 10); x /= 10; n += 1 } while x > 0
                if !left { for _ in n..<max(n, width) { out.append(fill) } }
                out.append(contentsOf: d[(20 - n)...])
                if left { for _ in n..<max(n, width) { out.append(fill) } }
            }
        }

        static func signed(_ v: Int32, width: Int, left: Bool = false, to out: inout [UInt8]) {
            if v < 0 {
                let t = Array(String(v).utf8)
                if !left { for _ in t.count..<max(t.count, width) { out.append(32) } }
                out += t
                if left { for _ in t.count..<max(t.count, width) { out.append(32) } }
            } else {
                decimal(UInt64(v), width: width, left: left, to: &out)
            }
        }

        mutating func append(_ s: Sample, comm: Int32, own: Frame, chain: [Frame], hasChain: Bool, strings: StringTable,
                             to out: inout [UInt8]) {
            var first = true
            func gap() { if first { first = false } else { out.append(32) } }
            let pid = has.contains(.pid), tid = has.contains(.tid)
            for f in fields {
                switch f {
                case .comm:
                    gap()
                    if let t = commTexts[comm] { out += t } else {
                        let t = Array(Line.pad(strings[comm], 16).utf8)
                        commTexts[comm] = t
                        out += t
                    }
                case .pid:
                    gap()
                    Self.signed(s.pid, width: 5, to: &out)
                    if tid { out.append(47 /* / */); Self.signed(s.tid, width: 5, left: true, to: &out) }
                case .tid:
                    if !pid { gap(); Self.signed(s.tid, width: 5, to: &out) }
                case .cpu:
                    if s.pcpu != Sample.unknownCPU {
                        gap()
                        out.append(91 /* [ */)
                        Self.decimal(UInt64(s.pcpu), width: 3, fill: 48, to: &out)
                        out.append(93 /* ] */)
                    }
                case .domain:
                    gap()
                    if s.domain == .hypervisor { out += "xen".utf8 } else { out.append(100 /* d */); Self.decimal(UInt64(s.domain.rawValue), to: &out) }
                case .mode:
                    gap()
                    out += Line.pad(s.mode.description, 10, left: true).utf8  // "hypervisor": the longest
                case .time:
                    gap()
                    Self.decimal(s.time / 1_000_000_000, to: &out)
                    out.append(46 /* . */)
                    Self.decimal(s.time % 1_000_000_000 / 1000, width: 6, fill: 48, to: &out)
                    out.append(58 /* : */)
                case .period:
                    gap()
                    Self.decimal(s.weight, width: 10, to: &out)
                case .event:
                    gap()
                    if Int(s.event) < eventTexts.count { out += eventTexts[Int(s.event)] } else { out += "event\(s.event):".utf8 }
                case .ip, .sym, .symoff, .dso, .srcline:
                    break
                }
            }
            if hasChain && frameFields {
                out += " \n".utf8
                for f in chain {
                    out.append(9 /* tab */)
                    out += frameTexts[Int(f.text)]
                    out.append(10)
                }
                out.append(10)
            } else {
                if frameFields {
                    out += "  ".utf8
                    out += frameTexts[Int(own.text)]
                }
                out.append(10)
            }
        }
    }

    /// One address as script prints it: interned image (the mapped file's path for user code) and symbol,
    /// the offset into the symbol when known, and the source line id (-1 when not asked for).
    struct Frame {
        var ip: UInt64
        var image: Int32
        var symbol: Int32
        var offset: UInt64?
        var srcline: Int32
        /// Index of the rendered text (text format), -1 otherwise.
        var text: Int32
    }

    /// Formats samples as CSV rows or JSON Lines (``TextLayout`` writes the text layout).
    struct Line {
        let fields: [ScriptField]
        let format: ScriptFormat
        let eventNames: [String]
        let callchains: Bool
        let encoder: JSONEncoder = {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return e
        }()

        init(fields: [ScriptField], format: ScriptFormat, eventNames: [String], callchains: Bool) {
            self.fields = fields
            self.format = format
            self.eventNames = eventNames
            self.callchains = callchains
        }

        func csvHeader() -> String {
            (fields.map(\.rawValue) + (callchains ? ["callchain"] : [])).joined(separator: ",") + "\n"
        }

        func eventName(_ e: UInt16) -> String { Int(e) < eventNames.count ? eventNames[Int(e)] : "event\(e)" }

        static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

        static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
            let n = s.count
            if n >= width { return s }
            let fill = String(repeating: " ", count: width - n)
            return left ? s + fill : fill + s
        }

        static func symbolText(_ f: Frame, _ strings: StringTable, offset: Bool) -> String {
            let name = strings[f.symbol]
            guard offset, let off = f.offset else { return name }
            return name + "+0x" + hex(off)
        }

        func append(_ s: Sample, comm: String, own: Frame, chain: [Frame], strings: StringTable, hasChain: Bool,
                             to out: inout String) {
            if format == .json {
                json(s, comm: comm, own: own, chain: chain, strings: strings, hasChain: hasChain, to: &out)
            } else {
                csv(s, comm: comm, own: own, chain: chain, strings: strings, to: &out)
            }
        }


        func csv(_ s: Sample, comm: String, own: Frame, chain: [Frame], strings: StringTable, to out: inout String) {
            var row: [String] = []
            for f in fields {
                switch f {
                case .comm: row.append(CSV.field(comm))
                case .pid: row.append(String(s.pid))
                case .tid: row.append(String(s.tid))
                case .cpu: row.append(s.pcpu == Sample.unknownCPU ? "" : String(s.pcpu))
                case .domain: row.append(s.domain.description)
                case .mode: row.append(s.mode.description)
                case .time: row.append(TimeWindow.seconds(s.time))
                case .period: row.append(String(s.weight))
                case .event: row.append(CSV.field(eventName(s.event)))
                case .ip: row.append("0x" + Self.hex(s.ip))
                case .sym: row.append(CSV.field(strings[own.symbol]))
                case .symoff: row.append(own.offset.map { "0x" + Self.hex($0) } ?? "")
                case .dso: row.append(CSV.field(strings[own.image]))
                case .srcline: row.append(CSV.field(own.srcline >= 0 ? strings[own.srcline] : "??:0"))
                }
            }
            out += row.joined(separator: ",")
            // The callchain column when callchains are asked for: empty for a sample without one.
            if callchains { out += "," + CSV.field(chain.map { strings[$0.symbol] }.joined(separator: ";")) }
            out += "\n"
        }

        func json(_ s: Sample, comm: String, own: Frame, chain: [Frame], strings: StringTable, hasChain: Bool,
                  to out: inout String) {
            var o: [String: JSONValue] = [:]
            for f in fields {
                switch f {
                case .comm: o["comm"] = .of(comm)
                case .pid: o["pid"] = .int(Int64(s.pid))
                case .tid: o["tid"] = .int(Int64(s.tid))
                case .cpu: o["cpu"] = s.pcpu == Sample.unknownCPU ? .null : .of(s.pcpu)
                case .domain: o["domain"] = s.domain == .hypervisor ? .of("xen") : .of(s.domain.rawValue)
                case .mode: o["mode"] = .of(s.mode.description)
                case .time: o["time"] = .of(s.time)
                case .period: o["period"] = .of(s.weight)
                case .event: o["event"] = .of(eventName(s.event))
                case .ip: o["ip"] = .of("0x" + Self.hex(s.ip))
                case .sym: o["sym"] = .of(strings[own.symbol])
                case .symoff: o["symoff"] = own.offset.map { .of($0) } ?? .null
                case .dso: o["dso"] = .of(strings[own.image])
                case .srcline: o["srcline"] = .of(own.srcline >= 0 ? strings[own.srcline] : "??:0")
                }
            }
            if hasChain {
                o["callchain"] = .array(chain.map { f in
                    var e: [String: JSONValue] = ["ip": .of("0x" + Self.hex(f.ip)), "sym": .of(strings[f.symbol]),
                                                  "dso": .of(strings[f.image])]
                    if let off = f.offset { e["symoff"] = .of(off) }
                    if f.srcline >= 0 { e["srcline"] = .of(strings[f.srcline]) }
                    return .object(e)
                })
            }
            guard let data = try? encoder.encode(JSONValue.object(o)) else { return }
            out += String(decoding: data, as: UTF8.self)
            out += "\n"
        }
    }
}
