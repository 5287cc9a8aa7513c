import Foundation
import Testing
@testable import SampleIO

/// Samples with PERF_SAMPLE_READ and PERF_FORMAT_GROUP (leader sampling, `perf record -e '{A,B,C}:S'`) become
/// perf's samples: one per group member whose counter changed since that counter's (id's) previous value,
/// of that member's event, with the increment as its period (tools/perf/util/session.c,
/// deliver_sample_value). A handcrafted sequence on two CPUs (so two sets of ids) checked sample by sample.
@Suite struct PerfGroupReadTests {
    static let cpuClock = 0, pageFaults = 1, contextSwitches = 2
    /// Ids of each event's counter on CPU 0 and CPU 1 (as the attrs' id sections list them).
    static let ids: [[UInt64]] = [[10, 11], [20, 21], [30, 31]]

    /// One leader sample: its CPU, the three counters' values (ids of that CPU), and whether it carries a
    /// two-frame callchain. `extra` adds a value of an id no attr lists.
    struct Step {
        var cpu: Int
        var values: [UInt64]
        var chain = false
        var extra: (id: UInt64, value: UInt64)? = nil
    }

    static let steps: [Step] = [
        Step(cpu: 0, values: [1000, 5, 0]),                   // first values: the whole count; context-switches 0: nothing
        Step(cpu: 0, values: [2000, 5, 1], chain: true),      // page-faults unchanged: nothing
        Step(cpu: 1, values: [700, 3, 2]),                    // CPU 1's counters are their own
        Step(cpu: 0, values: [3500, 9, 1], extra: (99, 4)),   // context-switches unchanged; id 99 unknown
        Step(cpu: 1, values: [1400, 3, 2], chain: true),      // only cpu-clock moved
    ]

    /// What perf delivers for `steps`, in order: (step, event, period).
    static let expected: [(step: Int, event: Int, period: UInt64)] = [
        (0, cpuClock, 1000), (0, pageFaults, 5),
        (1, cpuClock, 1000), (1, contextSwitches, 1),
        (2, cpuClock, 700), (2, pageFaults, 3), (2, contextSwitches, 2),
        (3, cpuClock, 1500), (3, pageFaults, 4),
        (4, cpuClock, 700),
    ]

    /// A perf.data file of three software events in one group, the first sampling with `readFormat`
    /// (always with GROUP and ID), and `steps` as its samples.
    static func file(readFormat: UInt64, steps: [Step] = steps) -> [UInt8] {
        // sample_type IP | TID | TIME | READ | CALLCHAIN | ID | CPU | PERIOD.
        let sampleType: UInt64 = 1 | 2 | 4 | 16 | 32 | 64 | 128 | 256
        let hasID = readFormat & PerfAttr.fmtID != 0
        var data = ByteWriter()
        for (i, step) in steps.enumerated() {
            var values: [(UInt64, UInt64)] = (0..<3).map { (ids[$0][step.cpu], step.values[$0]) }
            if let e = step.extra { values.append(e) }
            let times = (readFormat & PerfAttr.fmtTotalTimeEnabled != 0 ? 1 : 0) + (readFormat & PerfAttr.fmtTotalTimeRunning != 0 ? 1 : 0)
            let perValue = 1 + (hasID ? 1 : 0) + (readFormat & PerfAttr.fmtLost != 0 ? 1 : 0)
            let chain: [UInt64] = step.chain ? [UInt64(bitPattern: -512), 0x40_1000, 0x40_2000] : []
            let words = 6 + 1 + times + values.count * perValue + 1 + chain.count
            data.write(UInt32(9)); data.write(UInt16(2)); data.write(UInt16(8 + 8 * words))
            data.write(UInt64(0x40_0000 + UInt64(i) * 16))      // ip
            data.write(UInt32(100)); data.write(UInt32(100))     // pid, tid
            data.write(UInt64(1_000_000 + UInt64(i) * 1000))    // time
            data.write(ids[cpuClock][step.cpu])                  // id: the leader's counter
            data.write(UInt32(step.cpu)); data.write(UInt32(0))  // cpu, res
            data.write(UInt64(999_999))                          // period: not what perf uses
            data.write(UInt64(values.count))
            for _ in 0..<times { data.write(UInt64(123_456)) }
            for (id, value) in values {
                data.write(value)
                if hasID { data.write(id) }
                if readFormat & PerfAttr.fmtLost != 0 { data.write(UInt64(0)) }
            }
            data.write(UInt64(chain.count))
            for c in chain { data.write(c) }
        }
        data.write(UInt32(68)); data.write(UInt16(0)); data.write(UInt16(8))  // FINISHED_ROUND
        var out = ByteWriter()
        let attrSize = 128, attrsAt = 104, entry = attrSize + 16
        let idsAt = attrsAt + 3 * entry, dataAt = idsAt + 3 * 16
        out.write(bytes: Array("PERFILE2".utf8))
        out.write(UInt64(104)); out.write(UInt64(entry))
        out.write(UInt64(attrsAt)); out.write(UInt64(3 * entry))
        out.write(UInt64(dataAt)); out.write(UInt64(data.count))
        out.write(UInt64(0)); out.write(UInt64(0))
        for _ in 0..<4 { out.write(UInt64(0)) }
        for event in 0..<3 {
            // type 1 (software), config = the event (cpu-clock, page-faults, context-switches are 0, 2, 3),
            // the leader samples every 1000000 (members: period 0), flags: sample_id_all.
            out.write(UInt32(1)); out.write(UInt32(attrSize)); out.write(UInt64([0, 2, 3][event]))
            out.write(UInt64(event == 0 ? 1_000_000 : 0))
            out.write(sampleType); out.write(readFormat); out.write(UInt64(1) << 18)
            for _ in 0..<((attrSize - 48) / 8) { out.write(UInt64(0)) }
            out.write(UInt64(idsAt + event * 16)); out.write(UInt64(16))
        }
        for event in 0..<3 { for id in ids[event] { out.write(id) } }
        out.write(bytes: data.bytes)
        return out.bytes
    }

    /// Every sample of `source`: (ip, event, weight, count, callchain).
    static func samples(_ source: any SampleSource) throws -> [(ip: UInt64, event: Int, weight: UInt64, count: UInt64, chain: [UInt64])] {
        var out: [(UInt64, Int, UInt64, UInt64, [UInt64])] = []
        while let b = try source.nextBatch() {
            for s in b.samples {
                let chain = s.chainCount == 0 ? [] : b.frames[Int(s.chainStart)..<Int(s.chainStart + s.chainCount)].map(\.ip)
                out.append((s.ip, Int(s.event), s.weight, s.count, chain))
            }
        }
        return out
    }

    static let groupFormats: [UInt64] = [
        PerfAttr.fmtGroup | PerfAttr.fmtID,
        PerfAttr.fmtGroup | PerfAttr.fmtID | PerfAttr.fmtLost,
        PerfAttr.fmtGroup | PerfAttr.fmtID | PerfAttr.fmtTotalTimeEnabled | PerfAttr.fmtTotalTimeRunning | PerfAttr.fmtLost,
        PerfAttr.fmtGroup | PerfAttr.fmtID | PerfAttr.fmtTotalTimeRunning,
    ]

    @Test func perMemberPeriodsArePerIDIncrements() {
        var v = PerfReadValues()
        #expect(v.period(id: 1, value: 50) == 50)
        #expect(v.period(id: 2, value: 7) == 7)
        #expect(v.period(id: 1, value: 50) == 0)  // unchanged: perf delivers nothing
        #expect(v.period(id: 1, value: 80) == 30)
        #expect(v.period(id: 2, value: 10) == 3)
    }

    @Test(arguments: groupFormats)
    func sampleBySampleDecodeSplitsAsPerfDoes(readFormat: UInt64) throws {
        let source = try PerfDataSource(bytes: Self.file(readFormat: readFormat), path: "group.data")
        source.setCallchainsWanted(true)
        let got = try Self.samples(source)
        #expect(got.count == Self.expected.count, "\(got.map { ($0.event, $0.weight) })")
        for (g, e) in zip(got, Self.expected) {
            #expect(g.ip == 0x40_0000 + UInt64(e.step) * 16 && g.event == e.event && g.weight == e.period && g.count == 1,
                    "step \(e.step): got event \(g.event) period \(g.weight), expected event \(e.event) period \(e.period)")
            // Every member's sample has the leader sample's callchain.
            #expect(g.chain == (Self.steps[e.step].chain ? [g.ip, 0x40_1000, 0x40_2000] : []), "step \(e.step) event \(e.event)")
        }
        #expect(source.stats.droppedRecords == ["read value (unknown event id)": 1])
        #expect(source.metadata.events.map(\.name) == ["cpu-clock", "page-faults", "context-switches"])
    }

    /// Merged (a report's path), in memory and through the reading and merging threads of a file on disk:
    /// the same samples and periods per event.
    @Test(arguments: groupFormats)
    func mergedDecodeSplitsAsPerfDoes(readFormat: UInt64) throws {
        let bytes = Self.file(readFormat: readFormat)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-group-\(getpid())-\(readFormat).data").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var want: [Int: (samples: UInt64, period: UInt64)] = [:]
        for e in Self.expected { want[e.event, default: (0, 0)].samples += 1; want[e.event, default: (0, 0)].period += e.period }
        for chains in [false, true] {
            let memory = try PerfDataSource(bytes: bytes, path: path)
            let disk = try PerfDataFormat.open(path: path)
            for source in [memory, disk] as [any SampleSource] {
                source.setCallchainsWanted(chains)
                source.setMergingAllowed(true)
                var per: [Int: (samples: UInt64, period: UInt64)] = [:]
                for s in try Self.samples(source) {
                    per[s.event, default: (0, 0)].samples += s.count
                    per[s.event, default: (0, 0)].period += s.weight
                }
                for event in 0..<3 {
                    #expect(per[event]?.samples == want[event]?.samples && per[event]?.period == want[event]?.period,
                            "event \(event), chains \(chains): \(per[event].map { "\($0)" } ?? "none") vs \(want[event]!)")
                }
            }
        }
    }

    /// Without PERF_FORMAT_ID the values cannot be told apart (perf drops them all as unknown ids): xprof
    /// keeps each record as one sample of its own event with its own period, and says so.
    @Test func groupValuesWithoutIDsCountTheRecordOnce() throws {
        let source = try PerfDataSource(bytes: Self.file(readFormat: PerfAttr.fmtGroup), path: "group.data")
        let got = try Self.samples(source)
        #expect(got.count == Self.steps.count)
        #expect(got.allSatisfy { $0.event == Self.cpuClock && $0.weight == 999_999 })
        #expect(source.stats.warnings.contains { $0.contains("carry no ids") }, "\(source.stats.warnings)")
    }
}
