import Testing
@testable import SampleIO

/// The live recorder's cross-ring ordering: records of rings drained one after another reach the file in
/// time order, one round late.
@Suite struct RoundOrdererTests {
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

    @Test func aMappingOnAnotherCPUComesBeforeTheSamplesItMaps() {
        // Ring 1 is read after ring 0, but the exec's mapping (time 10, cpu 1) precedes the samples on
        // cpu 0 (times 12, 14) that run in it.
        var o = RoundOrderer()
        let r1 = Self.round([(12, nil), (14, nil)], [(10, Self.mapping(0x1000)), (11, nil)])
        o.add(r1)
        // Released up to the previous round's newest time (none yet): nothing leaves in the first round.
        #expect(Self.flat(o.release(upTo: 0)).isEmpty)
        let newest1 = RoundOrderer.newestTime(r1)
        #expect(newest1 == 14)
        // Round 2: a record from round 1's time span that was still being written (13 on cpu 1).
        o.add(Self.round([(20, nil)], [(13, nil), (21, nil)]))
        #expect(Self.flat(o.release(upTo: newest1)) == ["m10", "s11", "s12", "s13", "s14"])
        #expect(Self.flat(o.release(upTo: UInt64.max)) == ["s20", "s21"])
        #expect(o.pending.isEmpty)
    }

    @Test func equalTimesKeepArrivalOrderAndSideBandFirst() {
        var o = RoundOrderer()
        o.add(Self.round([(5, Self.mapping(1)), (5, nil), (0, Self.mapping(2))], [(5, nil), (3, nil)]))
        // Time-0 records (the recorder's synthesized mappings of existing processes) go first.
        #expect(Self.flat(o.release(upTo: .max)) == ["m0", "s3", "m5", "s5", "s5"])
    }

    @Test func appendBatchRebasesChainsAndSideBand() {
        var a = Self.round([(1, nil), (2, Self.mapping(1))], [])
        a.appendBatch(Self.round([(3, nil)], [(4, Self.mapping(2)), (5, nil)]))
        #expect(Self.flat(a) == ["s1", "m2", "s3", "m4", "s5"])
    }
}
