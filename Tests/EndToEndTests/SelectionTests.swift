import Foundation
import SampleIO
import Testing

/// Every command that reads samples takes the same selection options (`SampleSelectionOptions`, issue 15):
/// each runs on one synthetic recording with `--time`, `--comms`, `--domain` and `--event`, and what it
/// shows must be the selected samples and no others. One case at a time (each runs xprof twice): the load
/// of 48 at once would starve the tests that record.
@Suite(.serialized) struct SelectionTests {
    /// A recording made for this test (deterministic, no perf needed): four commands, each alone in a part
    /// of the selection space, one sample per millisecond on physical CPUs 0 and 1, no symbols:
    ///
    /// | comm     | pid | domain | event           | time (s)      | samples |
    /// |----------|-----|--------|-----------------|---------------|---------|
    /// | alphacmd | 100 | 0      | 0 (cpu-clock)   | 1.000 – 1.039 | 40      |
    /// | betacmd  | 200 | 0      | 0               | 3.000 – 3.019 | 20      |
    /// | gammacmd | 300 | 2      | 0               | 5.000 – 5.009 | 10      |
    /// | deltacmd | 400 | 0      | 1 (page-faults) | 7.000 – 7.004 | 5       |
    static let groups: [(comm: String, pid: Int32, domain: UInt32, event: UInt16, start: Double, count: Int)] = [
        ("alphacmd", 100, 0, 0, 1, 40), ("betacmd", 200, 0, 0, 3, 20), ("gammacmd", 300, 2, 0, 5, 10), ("deltacmd", 400, 0, 1, 7, 5),
    ]
    static let allComms = Set(groups.map(\.comm))

    static func writeRecording(to path: String) throws {
        var meta = RunMetadata()
        meta.sourceFormat = "xprof"
        meta.hostname = "selection-test"
        meta.cpusOnline = 2
        meta.events = [EventInfo(name: "cpu-clock", frequency: 1000), EventInfo(name: "page-faults", period: 1)]
        meta.domains = [DomainInfo(id: .host, name: "host", role: .coordinator, vcpus: 2),
                        DomainInfo(id: DomainID(2), name: "guest", role: .passive, vcpus: 1)]
        meta.duration = 8_000_000_000
        let writer = try XprofWriter(path: path, metadata: meta)
        var batch = SampleBatch()
        for g in groups {
            batch.append(.comm(domain: DomainID(g.domain), pid: g.pid, tid: g.pid, name: g.comm, exec: true),
                         time: UInt64(g.start * 1e9) - 1)
            for k in 0..<g.count {
                batch.samples.append(Sample(ip: 0x400000 + UInt64(k % 4) * 0x10, weight: 1_000_000,
                                            time: UInt64(g.start * 1e9) + UInt64(k) * 1_000_000, pid: g.pid, tid: g.pid,
                                            domain: DomainID(g.domain), pcpu: UInt32(k % 2), vcpu: g.domain == 0 ? UInt32(k % 2) : 0,
                                            event: g.event, mode: .user))
            }
        }
        try writer.write(batch)
        try writer.finish(stats: DecodeStats(), duration: meta.duration)
    }

    /// One selection and what it keeps.
    struct Selection: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var comm: String
        var samples: Int
        var testDescription: String { arguments.joined(separator: " ") }
    }
    static let selections = [
        Selection(arguments: ["--time", "0.5,2"], comm: "alphacmd", samples: 40),
        // Shares of the span from the first sample (1.000 s) to the last (7.004 s): 2.80–3.40 s.
        Selection(arguments: ["--time", "30%-40%"], comm: "betacmd", samples: 20),
        Selection(arguments: ["--comms", "betacmd"], comm: "betacmd", samples: 20),
        Selection(arguments: ["--domain", "2"], comm: "gammacmd", samples: 10),
        Selection(arguments: ["--event", "1"], comm: "deltacmd", samples: 5),
    ]

    /// How a command's output shows what it kept.
    enum Shows: Sendable { case comms, annotatedSamples, vmstatSamples, infoSamples }

    /// A command, its arguments (`FILE` the recording, `OUT` a file it writes, read instead of stdout) and
    /// how its output shows what it kept.
    struct Command: CustomTestStringConvertible, Sendable {
        var arguments: [String]
        var shows: Shows
        var testDescription: String { arguments.joined(separator: " ") }
    }
    static let commands = [
        Command(arguments: ["report", "FILE", "--sort", "comm"], shows: .comms),
        Command(arguments: ["script", "FILE"], shows: .comms),
        Command(arguments: ["annotate", "FILE", "--format", "text"], shows: .annotatedSamples),
        Command(arguments: ["diff", "FILE", "FILE", "--sort", "comm"], shows: .comms),
        Command(arguments: ["scale", "FILE", "FILE", "--cpus", "1,2", "--sort", "comm"], shows: .comms),
        Command(arguments: ["export", "FILE", "--format", "folded"], shows: .comms),
        Command(arguments: ["export", "FILE", "--format", "flamegraph"], shows: .comms),
        Command(arguments: ["export", "FILE", "--format", "csv", "--sort", "comm"], shows: .comms),
        Command(arguments: ["export", "FILE", "--format", "json", "--sort", "comm"], shows: .comms),
        Command(arguments: ["export", "FILE", "--format", "pprof", "-o", "OUT"], shows: .comms),
        Command(arguments: ["vmstat", "FILE", "--format", "json"], shows: .vmstatSamples),
        Command(arguments: ["info", "FILE", "--format", "json"], shows: .infoSamples),
    ]

    /// What `command` shows of the recording with `selection` (nil: none): the comms it names, or the samples
    /// it counts.
    static func run(_ command: Command, _ selection: [String], in dir: URL) throws -> (comms: Set<String>, samples: Int?) {
        let file = dir.appendingPathComponent("selection.xprof").path
        let out = dir.appendingPathComponent("out.pb.gz").path
        let args = command.arguments.map { $0 == "FILE" ? file : $0 == "OUT" ? out : $0 } + selection
        let r = try XprofRunner.run(XprofRunner.xprof, args)
        #expect(r.status == 0, "xprof \(args.joined(separator: " ")): \(r.stderr)")
        var text = r.stdout
        if command.arguments.contains("OUT") {
            // pprof: the comm labels are strings of the decompressed protocol buffer.
            text = try XprofRunner.run("/usr/bin/env", ["gzip", "-dc", out]).stdout
        }
        let comms = allComms.filter { text.contains($0) }
        switch command.shows {
        case .comms:
            return (comms, nil)
        case .annotatedSamples:
            // "# 40 samples, event count (period) …"
            let line = text.split(separator: "\n").first { $0.hasPrefix("# ") && $0.contains(" samples, event count") }
            return (comms, line.flatMap { Int($0.dropFirst(2).prefix { $0.isNumber }) })
        case .vmstatSamples, .infoSamples:
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            var n = 0
            if command.shows == .vmstatSamples {
                for i in json?["intervals"] as? [[String: Any]] ?? [] {
                    for c in i["cpus"] as? [[String: Any]] ?? [] { n += c["samples"] as? Int ?? 0 }
                }
            } else {
                for d in json?["domains"] as? [[String: Any]] ?? [] { n += d["samples"] as? Int ?? 0 }
            }
            return (comms, n)
        }
    }

    @Test(arguments: commands, selections)
    func everyCommandAppliesTheSelection(_ command: Command, _ selection: Selection) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-selection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.writeRecording(to: dir.appendingPathComponent("selection.xprof").path)
        // Without the selection the command shows more than the selected samples (else the check below
        // could not fail).
        let all = try Self.run(command, [], in: dir)
        let kept = try Self.run(command, selection.arguments, in: dir)
        switch command.shows {
        case .comms:
            #expect(all.comms.count > 1, "\(all.comms)")
            #expect(kept.comms == [selection.comm], "xprof \(command.testDescription) \(selection.testDescription)")
        case .annotatedSamples, .vmstatSamples, .infoSamples:
            #expect((all.samples ?? 0) > selection.samples)
            #expect(kept.samples == selection.samples, "xprof \(command.testDescription) \(selection.testDescription)")
        }
    }
}
