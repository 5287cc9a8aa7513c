import Foundation
import Testing

/// xprof on xentrace files against Xen's own analyzer, xenalyze (../shared/oracles/xenalyze), on traces written
/// by Fixtures/xentrace/xentrace_writer.c: run time per domain and vCPU, busy and idle time per physical CPU,
/// exit counts per domain and reason and per guest RIP, lost records.
@Suite(.serialized) struct XentraceTests {
    /// The writer and xenalyze, built once per run.
    static let tools: (writer: String, xenalyze: String)? = {
        guard let dir = try? XprofRunner.temporaryDirectory() else { return nil }
        let writer = dir.appendingPathComponent("xentrace_writer").path
        let src = XprofRunner.packageRoot.appendingPathComponent("Fixtures/xentrace/xentrace_writer.c").path
        guard (try? XprofRunner.run("/usr/bin/gcc", ["-O2", "-Wall", "-Werror", "-o", writer, src]))?.status == 0 else { return nil }
        let build = XprofRunner.sharedFixtures.deletingLastPathComponent().appendingPathComponent("oracles/xenalyze/build.sh").path
        guard FileManager.default.fileExists(atPath: build),
              let r = try? XprofRunner.run(build, [dir.appendingPathComponent("xenalyze-build").path]), r.status == 0 else { return nil }
        return (writer, r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    static func requireTools() throws -> (writer: String, xenalyze: String) {
        if let t = tools { return t }
        if XprofRunner.underCI { Issue.record("xenalyze oracle or the trace writer could not be built under CI=true") }
        throw SkipTrace()
    }

    struct SkipTrace: Error {}

    /// What xenalyze says about a trace, in TSC cycles and counts.
    struct Oracle {
        var running: [String: Double] = [:]      // "d1v0" -> cycles
        var pcpu: [String: Double] = [:]         // "0 running" / "0 idle" / "0 lost" -> cycles
        var exits: [String: Int] = [:]           // "1 CPUID" -> count
        var exitRIPs: [UInt64: Int] = [:]        // RIP -> count
        var lost = 0
    }

    static func oracle(_ xenalyze: String, _ trace: String) throws -> Oracle {
        var o = Oracle()
        let s = try XprofRunner.run(xenalyze, ["-s", "--report-pcpu", trace])
        #expect(s.status == 0, "xenalyze -s: \(s.stderr.suffix(500))")
        var dom: String?, vcpu: String?, pcpu: String?
        for line in s.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let m = line.firstMatch(of: /^\|-- Domain (\d+) --\|/) { dom = String(m.1); vcpu = nil; pcpu = nil; continue }
            if let m = line.firstMatch(of: /^-- v(\d+) --/) { vcpu = String(m.1); continue }
            if let m = line.firstMatch(of: /^pcpu (\d+)$/) { pcpu = String(m.1); dom = nil; continue }
            if let m = line.firstMatch(of: /^\s+(running|idle|lost):\s+(\d+)\s+\S+s\s+(\d+)/) {
                let cycles = Double(m.2)! * Double(m.3)!
                if let pcpu { o.pcpu["\(pcpu) \(m.1)"] = cycles }
                else if let dom, let vcpu, m.1 == "running" { o.running["d\(dom)v\(vcpu)", default: 0] += cycles }
                continue
            }
            if let dom, vcpu != nil, let m = line.firstMatch(of: /^ ([A-Z][A-Z_0-9]+)\s+(\d+)\s+[\d.]+s\s+[\d.]+%/) {
                o.exits["\(dom) \(m.1)", default: 0] += Int(m.2)!
            }
        }
        let scatter = try XprofRunner.run(xenalyze, ["--scatterplot-vmexit-eip", trace])
        for line in scatter.stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            // `%lld` of the RIP: kernel addresses come out negative.
            if f.count == 2, let rip = Int64(f[1]) { o.exitRIPs[UInt64(bitPattern: rip), default: 0] += 1 }
        }
        let dump = try XprofRunner.run(xenalyze, ["-a", "-s", trace])
        for m in dump.stdout.matches(of: /lost_records count (\d+)/) { o.lost += Int(m.1)! }
        return o
    }

    static func json(_ args: [String]) throws -> [String: Any] {
        let r = try XprofRunner.xprof(args)
        #expect(r.status == 0, "xprof \(args.joined(separator: " ")): \(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    static func rows(_ args: [String]) throws -> [[String: Any]] {
        try #require(try json(args)["rows"] as? [[String: Any]])
    }

    static func write(_ writer: String, _ out: String, _ args: [String]) throws {
        let r = try XprofRunner.run(writer, ["-o", out] + args)
        #expect(r.status == 0, "xentrace_writer: \(r.stderr)")
    }

    static func within(_ a: Double, _ b: Double, _ pct: Double = 1) -> Bool {
        abs(a - b) <= max(abs(b), 1) * pct / 100
    }

    @Test(arguments: [(1, 0), (2, 0), (4, 0), (8, 0), (1, 1), (2, 2), (4, 2), (8, 1)])
    func figuresEqualXenalyzes(pcpus: Int, lostEpisodes: Int) throws {
        guard let tools = try? Self.requireTools() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let trace = dir.appendingPathComponent("p\(pcpus).trace").path
        try Self.write(tools.writer, trace, ["-p", "\(pcpus)", "-t", "120", "-s", "\(pcpus * 7 + lostEpisodes)", "-l", "\(lostEpisodes)", "--wrap"]
            + (pcpus == 4 ? ["--svm"] : []))
        let o = try Self.oracle(tools.xenalyze, trace)
        let hz = 2_400_000_000.0
        #expect(!o.running.isEmpty && !o.exits.isEmpty)

        // Run time per domain and vCPU (period in ns).
        var mine: [String: Double] = [:]
        for r in try Self.rows(["report", trace, "--event", "sched", "--sort", "domain,vcpu", "--format", "json", "--cpu-hz", "2.4GHz"]) {
            mine["d\(r["domain"]!)v\(r["vcpu"]!)"] = (r["period"] as! Double) * hz / 1e9
        }
        #expect(Set(mine.keys) == Set(o.running.keys), "vCPUs: \(mine.keys.sorted()) vs xenalyze \(o.running.keys.sorted())")
        for (k, v) in o.running { #expect(Self.within(mine[k] ?? 0, v), "\(k): xprof \(mine[k] ?? 0) cycles, xenalyze \(v)") }
        // Per domain.
        var perDomain: [String: Double] = [:], oracleDomain: [String: Double] = [:]
        for r in try Self.rows(["report", trace, "--event", "sched", "--sort", "domain", "--format", "json"]) {
            perDomain["\(r["domain"]!)"] = (r["period"] as! Double) * hz / 1e9
        }
        for (k, v) in o.running { oracleDomain[String(k.dropFirst().prefix { $0 != "v" }), default: 0] += v }
        for (d, v) in oracleDomain { #expect(Self.within(perDomain[d] ?? 0, v), "domain \(d): \(perDomain[d] ?? 0) vs \(v)") }

        // Busy (non-idle domains) and idle time per physical CPU.
        var busy: [String: Double] = [:], idle: [String: Double] = [:]
        for r in try Self.rows(["report", trace, "--event", "sched", "--sort", "cpu,domain", "--format", "json"]) {
            let cycles = (r["period"] as! Double) * hz / 1e9
            if "\(r["domain"]!)" == "32767" { idle["\(r["cpu"]!)", default: 0] += cycles } else { busy["\(r["cpu"]!)", default: 0] += cycles }
        }
        for p in 0..<pcpus {
            #expect(Self.within(busy["\(p)"] ?? 0, o.pcpu["\(p) running"] ?? 0), "pcpu \(p) busy \(busy["\(p)"] ?? 0) vs \(o.pcpu["\(p) running"] ?? 0)")
            #expect(Self.within(idle["\(p)"] ?? 0, o.pcpu["\(p) idle"] ?? 0), "pcpu \(p) idle \(idle["\(p)"] ?? 0) vs \(o.pcpu["\(p) idle"] ?? 0)")
        }

        // Exits per domain and reason, exactly.
        var exits: [String: Int] = [:]
        for r in try Self.rows(["report", trace, "--event", "vmexit", "--sort", "domain,reason", "--format", "json"]) {
            exits["\(r["domain"]!) \(r["reason"]!)"] = r["samples"] as? Int
        }
        #expect(exits == o.exits)
        // Exits per RIP, exactly.
        let script = try XprofRunner.xprof(["script", trace, "--event", "vmexit", "--format", "csv"])
        let lines = script.stdout.split(separator: "\n")
        let ipColumn = try #require(XprofRunner.csvFields(lines[0]).firstIndex(of: "ip"))
        var rips: [UInt64: Int] = [:]
        for line in lines.dropFirst() {
            let ip = XprofRunner.csvFields(line)[ipColumn]
            rips[UInt64(ip.dropFirst(2), radix: 16) ?? 0, default: 0] += 1
        }
        #expect(rips == o.exitRIPs)

        // Lost records, exactly, as `lost_samples`.
        let info = try Self.json(["info", trace, "--format", "json"])
        #expect(info["lost_samples"] as? Int == o.lost, "lost: \(info["lost_samples"] ?? "nil") vs xenalyze \(o.lost)")
        if lostEpisodes > 0 { #expect(o.lost > 0) }
    }

    /// Exit RIPs resolve against the guest kernel's System.map given for their domain.
    @Test func exitsResolveAgainstTheGuestKernel() throws {
        guard let tools = try? Self.requireTools() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let map = XprofRunner.packageRoot.appendingPathComponent("Fixtures/xenoprof/guest-kernel.System.map").path
        // RIPs 0x10 into every 40th function of the map.
        let symbols = try String(contentsOfFile: map, encoding: .utf8).split(separator: "\n").compactMap { l -> (UInt64, String)? in
            let f = l.split(separator: " ")
            guard f.count == 3, let a = UInt64(f[0], radix: 16) else { return nil }
            return (a, String(f[2]))
        }.sorted { $0.0 < $1.0 }
        var chosen: [(UInt64, String)] = []
        for i in stride(from: 0, to: symbols.count - 1, by: 40) where symbols[i + 1].0 > symbols[i].0 + 0x10 {
            chosen.append((symbols[i].0 + 0x10, symbols[i].1))
        }
        let ripFile = dir.appendingPathComponent("rips").path
        try chosen.map { String($0.0, radix: 16) }.joined(separator: "\n").write(toFile: ripFile, atomically: true, encoding: .utf8)
        let trace = dir.appendingPathComponent("g.trace").path
        try Self.write(tools.writer, trace, ["-p", "2", "-t", "150", "-r", ripFile])
        let o = try Self.oracle(tools.xenalyze, trace)
        let names = Dictionary(chosen.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        var expected: [String: Int] = [:]
        for (rip, n) in o.exitRIPs { expected[names[rip] ?? "?", default: 0] += n }
        // Domain 1 is the 64-bit HVM guest; domain 2's 32-bit exits hold truncated RIPs.
        var got: [String: Int] = [:]
        for d in ["1", "2"] {
            for r in try Self.rows(["report", trace, "--event", "vmexit", "--domain", d, "--sort", "symbol", "--format", "json",
                                    "--system-map", "\(d)=\(map)"]) {
                got[r["symbol"] as! String, default: 0] += r["samples"] as! Int
            }
        }
        let resolved = got.filter { !$0.key.hasPrefix("[") }
        #expect(resolved.values.reduce(0, +) > 0)
        for (name, n) in resolved { #expect(expected[name] ?? 0 >= n, "\(name): \(n) exits resolved, xenalyze has \(expected[name] ?? 0) at its RIPs") }
        // Every exit of the 64-bit guest resolves.
        let d1 = try Self.rows(["report", trace, "--event", "vmexit", "--domain", "1", "--sort", "symbol", "--format", "json", "--system-map", "1=\(map)"])
        #expect(d1.allSatisfy { !($0["symbol"] as! String).hasPrefix("[") }, "\(d1.prefix(3))")
    }

    /// A trace cut at many offsets reads up to its last whole record (with a warning) or fails clearly.
    @Test func cutTracesReadOrFailClearly() throws {
        guard let tools = try? Self.requireTools() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let trace = dir.appendingPathComponent("full.trace").path
        try Self.write(tools.writer, trace, ["-p", "2", "-t", "20", "-l", "1"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: trace))
        let cut = dir.appendingPathComponent("cut.trace").path
        var lastSamples = -1
        for n in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 37)) + [bytes.count - 1, bytes.count - 3] {
            try bytes.prefix(n).write(to: URL(fileURLWithPath: cut))
            let r = try XprofRunner.xprof(["info", cut, "--format", "json"])
            #expect(r.status == 0 || r.status == 65, "cut at \(n): status \(r.status) \(r.stderr)")
            if r.status == 65 { #expect(r.stderr.contains("cut.trace")) ; continue }
            #expect(r.stderr.isEmpty || !r.stderr.contains("Fatal"))
            let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let warnings = (o["warnings"] as? [String] ?? []).joined(separator: "\n")
            if n < bytes.count { #expect(warnings.contains("cut short") || warnings.contains("left"), "cut at \(n): \(warnings)") }
            let samples = o["total_samples"] as? Int ?? o["samples"] as? Int ?? 0
            #expect(samples >= 0)
            lastSamples = samples
        }
        #expect(lastSamples > 0)
        // Not a trace at all: refused with the offset and what was expected.
        try Data([0x03, 0xf0, 0x01, 0x20, 0, 0, 0, 0, 8, 0, 0, 0] + [UInt8](repeating: 0xff, count: 8)).write(to: URL(fileURLWithPath: cut))
        let bad = try XprofRunner.xprof(["info", cut])
        #expect(bad.status == 0 || bad.status == 65)
    }

    /// `vmstat` on a trace: busy share per physical CPU from scheduling time, equal to xenalyze's running time over
    /// the trace's length.
    @Test func vmstatFromSchedulingRecords() throws {
        guard let tools = try? Self.requireTools() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let trace = dir.appendingPathComponent("v.trace").path
        try Self.write(tools.writer, trace, ["-p", "2", "-t", "200"])
        let o = try Self.oracle(tools.xenalyze, trace)
        let v = try Self.json(["vmstat", trace, "--format", "json"])
        let cpus = try #require((v["intervals"] as? [[String: Any]])?.first?["cpus"] as? [[String: Any]])
        let info = try Self.json(["info", trace, "--format", "json"])
        let meta = try #require(info["metadata"] as? [String: Any])
        let duration = try #require(meta["duration_ns"] as? Double)
        for c in cpus {
            let p = c["pcpu"] as! Int
            let busy = (o.pcpu["\(p) running"] ?? 0) / 2.4e9 * 1e9 / duration * 100
            #expect(abs((c["busy"] as! Double) - busy) < 1, "pcpu \(p): vmstat \(c["busy"]!) %, xenalyze \(busy) %")
            let held = (c["holders"] as! [[String: Any]]).reduce(0.0) { $0 + ($1["percent"] as! Double) }
            #expect(abs(held - (c["busy"] as! Double)) < 0.01)
        }
        // Intervals of 50 ms: as many as the trace's length takes, every CPU in each but perhaps the last.
        let w = try Self.json(["vmstat", trace, "--interval", "0.05", "--format", "json"])
        let intervals = try #require(w["intervals"] as? [[String: Any]])
        #expect(intervals.count == Int((duration / 50e6).rounded(.up)))
        #expect(intervals.dropLast().allSatisfy { ($0["cpus"] as? [[String: Any]])?.count == 2 })
    }

    /// `--cpu-hz` converts cycles to time; without it a warning says the default is assumed.
    @Test func cpuHzScalesTime() throws {
        guard let tools = try? Self.requireTools() else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let trace = dir.appendingPathComponent("hz.trace").path
        try Self.write(tools.writer, trace, ["-p", "1", "-t", "50"])
        let plain = try XprofRunner.xprof(["report", trace, "--event", "sched", "--sort", "domain", "--format", "json"])
        #expect(plain.stderr.contains("--cpu-hz") || plain.stdout.contains("--cpu-hz"))
        let a = try Self.json(["report", trace, "--event", "sched", "--sort", "domain", "--format", "json"])
        let b = try Self.json(["report", trace, "--event", "sched", "--sort", "domain", "--format", "json", "--cpu-hz", "1.2GHz"])
        let ta = try #require(a["total_period"] as? Double), tb = try #require(b["total_period"] as? Double)
        #expect(abs(tb / ta - 2) < 0.0001)
        #expect(try XprofRunner.xprof(["report", trace, "--cpu-hz", "fast"]).status == 64)
        // A domain the trace does not have: exit 64 with the domains it has.
        let none = try XprofRunner.xprof(["report", trace, "--domain", "99"])
        #expect(none.status == 64)
        #expect(none.stderr.contains("--domain 99") && none.stderr.contains("32767 (idle)"), "\(none.stderr)")
    }
}
