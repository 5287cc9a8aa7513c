import Testing
@testable import SampleIO

/// The perf rules written once (docs/ARCHITECTURE.md, "perf.data") and used by the file reader, its fast
/// loops and the live recorder: their answers, table by table.
@Suite struct PerfSharedRulesTests {
    /// PERF_RECORD_MISC_CPUMODE (misc & 7; higher misc bits are ignored) → guest?, host domain, mode.
    @Test(arguments: [
        (UInt16(0), false, DomainID.host, SampleMode.unknown), (1, false, .host, .kernel), (2, false, .host, .user),
        (3, false, .hypervisor, .hypervisor), (4, true, .host, .kernel), (5, true, .host, .user),
        (6, false, .host, .unknown), (7, false, .host, .unknown), (0x2001, false, .host, .kernel), (0x4005, true, .host, .user),
    ])
    func cpumode(_ misc: UInt16, _ guest: Bool, _ domain: DomainID, _ mode: SampleMode) {
        #expect(PerfModes.isGuest(cpumode: misc) == guest)
        #expect(PerfModes.mode(cpumode: misc) == mode)
        if !guest { #expect(PerfModes.host(cpumode: misc) == (domain, mode)) }
        #expect(PerfRecordParser.mode(cpumode: misc) == mode)
    }

    static func marker(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) }

    /// A callchain as perf writes it: context markers set the mode of the frames after them (HV -32,
    /// KERNEL -128, USER -512, GUEST_KERNEL -2176, GUEST_USER -2560), other markers (GUEST -2048, unknown
    /// ones up to -4095) keep it; the sampled ip comes first unless the chain starts with it.
    @Test func callchainMarkers() {
        let raw: [UInt64] = [Self.marker(-128), 0xffff_1000, Self.marker(-2048), 0xffff_2000, Self.marker(-32), 0x8000,
                             Self.marker(-512), 0x40_1000, Self.marker(-4095), 0x40_2000, Self.marker(-2176), 0xffff_3000,
                             Self.marker(-2560), 0x40_3000]
        let scratch = ChainScratch()
        let range = PerfModes.decodeChain(count: raw.count, ip: 0x40_0000, mode: .user, into: scratch.frames) { raw[$0] }
        let frames = Array(scratch.frames[range])
        #expect(frames.map(\.ip) == [0x40_0000, 0xffff_1000, 0xffff_2000, 0x8000, 0x40_1000, 0x40_2000, 0xffff_3000, 0x40_3000])
        #expect(frames.map(\.mode) == [.user, .kernel, .kernel, .hypervisor, .user, .user, .kernel, .user])
        // A chain that starts with the sampled ip does not repeat it.
        let own: [UInt64] = [Self.marker(-128), 0xffff_1000, 0xffff_1100]
        let r2 = PerfModes.decodeChain(count: own.count, ip: 0xffff_1000, mode: .kernel, into: scratch.frames) { own[$0] }
        #expect(scratch.frames[r2].map(\.ip) == [0xffff_1000, 0xffff_1100])
    }

    /// FINISHED_ROUND: when a round ends, what is complete is what was seen by the end of the round before.
    @Test func roundLimit() {
        var limit = RoundLimit()
        var released: [UInt64] = []
        for round in [[5, 3], [9, 7, 2], [], [12]] as [[UInt64]] {
            for t in round { limit.see(t) }
            released.append(limit.endRound())
        }
        #expect(released == [0, 5, 9, 9])
        #expect(limit.newest == 12)
    }

    /// One record's bytes: header (type, misc, size) and body, little-endian.
    static func record(type: UInt32, misc: UInt16, body: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.write(type); w.write(misc); w.write(UInt16(8 + body.count))
        return w.bytes + body
    }

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    /// The side-band records both readers decode through ``PerfSidebandRecords``: the live parser gives what
    /// the shared decoder says, with the trailer's time where the record has none of its own.
    @Test func sidebandRecordsDecodeAlikeLiveAndFromFiles() throws {
        let trailer = Self.u32(7) + Self.u32(7) + Self.u64(555) + Self.u32(1) + Self.u32(0)  // tid, time, cpu
        let buildID = [UInt8](0..<20)
        let mmap2 = Self.record(type: 10, misc: 1 | (1 << 14),  // KERNEL, MMAP_BUILD_ID
                                body: Self.u32(9) + Self.u32(9) + Self.u64(0xffff_0000) + Self.u64(0x1000) + Self.u64(0)
                                    + [20, 0, 0, 0] + buildID + Self.u32(5) + Self.u32(0) + Array("[kernel.kallsyms]\0\0\0\0\0\0\0".utf8) + trailer)
        let comm = Self.record(type: 3, misc: 1 << 13, body: Self.u32(9) + Self.u32(10) + Array("worker\0\0".utf8) + trailer)
        let fork = Self.record(type: 7, misc: 0, body: Self.u32(11) + Self.u32(9) + Self.u32(11) + Self.u32(10) + Self.u64(777) + trailer)
        let expected: [(SidebandEvent, UInt64)] = [
            (.mapping(Mapping(pid: -1, start: 0xffff_0000, length: 0x1000, fileOffset: 0, path: "[kernel.kallsyms]",
                              buildID: buildID, executable: true)), 555),
            (.comm(domain: .host, pid: 9, tid: 10, name: "worker", exec: true), 555),
            (.fork(domain: .host, pid: 11, ppid: 9, tid: 11, ptid: 10), 777),
        ]
        var parser = PerfRecordParser(sampleType: 0x187)  // IP|TID|TIME|CPU|PERIOD
        for r in [mmap2, comm, fork] {
            r.withUnsafeBytes { p in
                let misc = p.loadUnaligned(fromByteOffset: 4, as: UInt16.self)
                guard case .event(let e, _) = PerfSidebandRecords.decode(RawRecord(p: p, big: false), type: p.loadUnaligned(as: UInt32.self), misc: misc) else {
                    Issue.record("not decoded: \(r)"); return
                }
                #expect(expected.contains { $0.0 == e })
                parser.parse(p)
            }
        }
        #expect(parser.batch.sideband.map(\.event) == expected.map(\.0))
        #expect(parser.batch.sideband.map(\.time) == expected.map(\.1))
    }
}
