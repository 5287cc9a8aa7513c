import Testing
@testable import SampleIO

/// The live recorder's cross-ring ordering, by the perf.data reader's sorter (``PerfRoundSorter`` without a
/// file): records of rings drained one after another reach the file in time order, one round late.
@Suite struct LiveRoundSortTests {
    static func mapping(_ start: UInt64) -> SidebandEvent {
        .mapping(Mapping(pid: 7, start: start, length: 0x1000, fileOffset: 0, path: "/bin/w"))
    }

    /// One round as the recorder drains it: ring 0 (cpu 0) then ring 1 (cpu 1).
    static func round(_ ring0: [(UInt64, SidebandEvent?)], _ ring1: [(UInt64, SidebandEvent?)]) -> SampleBatch {
        var b = SampleBatch()
        for (cpu, ring) in [ring0, ring1].enumerated() {
            for (t, e) in ring {
                if let e { b.append(e, time: t) } else {
                    b.append(Sample(ip: 0x1000 + t, time: t, pid: 7, tid: 7, pcpu: UInt32(cpu), mode: .user),
                             callchain: [CallFrame(ip: 0x1000 + t, mode: .user), CallFrame(ip: 0x9000 + t, mode: .user)])
                }
            }
        }
        return b
    }

    /// Flattens a batch to "s<time>" / "m<time>" in delivery order, checking each callchain came along.
    static func flat(_ b: SampleBatch) -> [String] {
        var out: [String] = [], j = 0
        for i in 0...b.samples.count {
            while j < b.sideband.count, b.sideband[j].beforeSample <= i { out.append("m\(b.sideband[j].time)"); j += 1 }
            guard i < b.samples.count else { break }
            let t = b.samples[i].time
            #expect(b.callchain(of: i).map(\.ip) == [0x1000 + t, 0x9000 + t])
            out.append("s\(t)")
        }
        return out
    }

    /// The sorter's output for rounds queued and ended one after another (the last one finishing).
    @Test func aMappingOnAnotherCPUComesBeforeTheSamplesItMaps() {
        // Ring 1 is read after ring 0, but the exec's mapping (time 10, cpu 1) precedes the samples on
        // cpu 0 (times 12, 14) that run in it.
        let sorter = PerfRoundSorter()
        var out = SampleBatch()
        sorter.queue(Self.round([(12, nil), (14, nil)], [(10, Self.mapping(0x1000)), (11, nil)]), into: &out)
        sorter.endRound(into: &out)
        // Released up to the previous round's newest time (none yet): nothing leaves in the first round.
        #expect(Self.flat(out).isEmpty)
        // Round 2: a record from round 1's time span that was still being written (13 on cpu 1).
        sorter.queue(Self.round([(20, nil)], [(13, nil), (21, nil)]), into: &out)
        sorter.endRound(into: &out)
        #expect(Self.flat(out) == ["m10", "s11", "s12", "s13", "s14"])
        var rest = SampleBatch()
        sorter.finish(into: &rest)
        #expect(Self.flat(rest) == ["s20", "s21"])
    }

    @Test func equalTimesKeepArrivalOrderAndSideBandFirst() {
        let sorter = PerfRoundSorter()
        var out = SampleBatch()
        sorter.queue(Self.round([(5, Self.mapping(1)), (5, nil), (0, Self.mapping(2))], [(5, nil), (3, nil)]), into: &out)
        sorter.finish(into: &out)
        // Time-0 records (the recorder's synthesized mappings of existing processes) go first.
        #expect(Self.flat(out) == ["m0", "s3", "m5", "s5", "s5"])
    }

    /// A sample without a callchain between ones with callchains keeps none, and theirs stay theirs.
    @Test func samplesWithoutCallchainsMixed() {
        var b = Self.round([(2, nil)], [(1, nil)])
        b.append(Sample(ip: 0x77, time: 3, pid: 7, tid: 7, mode: .user), callchain: [])
        let sorter = PerfRoundSorter()
        var out = SampleBatch()
        sorter.queue(b, into: &out)
        sorter.finish(into: &out)
        #expect(out.samples.map(\.time) == [1, 2, 3])
        #expect(out.callchain(of: 2).isEmpty && out.callchain(of: 0).map(\.ip) == [0x1001, 0x9001])
    }

    @Test func appendBatchRebasesChainsAndSideBand() {
        var a = Self.round([(1, nil), (2, Self.mapping(1))], [])
        a.appendBatch(Self.round([(3, nil)], [(4, Self.mapping(2)), (5, nil)]))
        #expect(Self.flat(a) == ["s1", "m2", "s3", "m4", "s5"])
    }
}
