import Testing
@testable import Profile
@testable import SampleIO

/// DESIGN.md's attribution table, rule by rule, on synthetic samples with no symbol files.
@Suite struct AttributionTests {
    static func attributor(_ roles: [(UInt32, DomainRole)], format: String = "xenoprof-capture") -> Attributor {
        var m = RunMetadata()
        m.sourceFormat = format
        m.domains = roles.map { DomainInfo(id: DomainID($0.0), name: "d\($0.0)", role: $0.1) }
        return Attributor(metadata: m, options: SymbolOptions())
    }

    @Test(arguments: [
        (SampleMode.hypervisor, "domain2-xen-unknown"),
        (SampleMode.kernel, "domain2-kernel"),
        (SampleMode.user, "domain2-apps"),
    ])
    func passiveDomainNames(mode: SampleMode, image: String) {
        let a = Self.attributor([(0, .coordinator), (2, .passive)])
        let r = a.attribute(Sample(ip: 0x1234, domain: DomainID(2), mode: mode))  // ids first, then names
        #expect(a.strings[r.image] == image)
        #expect(a.strings[r.symbol] == "[dom2] 0x1234")
        #expect(!r.resolved)
    }

    @Test func coordinatorWithoutSymbols() {
        let a = Self.attributor([(0, .coordinator)])
        do { let r = a.attribute(Sample(ip: 0xffff82d040200000, mode: .hypervisor)); #expect(a.strings[r.image] == "xen-unknown") }
        do { let r = a.attribute(Sample(ip: 0x400000, pid: 7, mode: .user)); #expect(a.strings[r.image] == "[unknown]") }
        do { let r = a.attribute(Sample(ip: 0x400000, pid: 7, mode: .user)); #expect(a.strings[r.symbol] == "[unknown] 0x400000") }
        // With a kernel map known, an address outside it is vmlinux-unknown.
        a.apply(.mapping(Mapping(pid: -1, start: 0xffffffff81000000, length: 0x1000000, fileOffset: 0, path: "[kernel.kallsyms]_text")))
        do { let r = a.attribute(Sample(ip: 0xffffffff81000010, mode: .kernel)); #expect(a.strings[r.image] == "[kernel.kallsyms]") }
        do { let r = a.attribute(Sample(ip: 0xffffffffc0000000, mode: .kernel)); #expect(a.strings[r.image] == "vmlinux-unknown") }
    }

    /// perf's inputs keep perf's name for a kernel-mode sample outside every kernel map (a perf 4.4 recording's
    /// misc 0x4001 sample at a user address): `[unknown]`, where OProfile's inputs say `vmlinux-unknown`.
    @Test(arguments: [("perf.data", "[unknown]"), ("xprof", "[unknown]"), ("xenoprof-capture", "vmlinux-unknown"),
                      ("oprofile-stream", "vmlinux-unknown")])
    func unresolvedKernelAddressesTakeTheInputsNames(format: String, image: String) {
        let a = Self.attributor([(0, .coordinator)], format: format)
        a.apply(.mapping(Mapping(pid: -1, start: 0xffffffff81000000, length: 0x1000000, fileOffset: 0, path: "[kernel.kallsyms]_text")))
        let r = a.attribute(Sample(ip: 0x7f16_0000_1234, pid: 7, mode: .kernel))
        #expect(a.strings[r.image] == image)
        #expect(a.strings[r.symbol] == "[unknown] 0x7f1600001234")
        #expect(!r.resolved)
    }

    @Test func userMappingsFollowForkAndReplacement() {
        let a = Self.attributor([(0, .coordinator)])
        a.apply(.mapping(Mapping(pid: 10, start: 0x1000, length: 0x1000, fileOffset: 0, path: "/bin/one")))
        a.apply(.fork(domain: .host, pid: 11, ppid: 10, tid: 11, ptid: 10))
        do { let r = a.attribute(Sample(ip: 0x1800, pid: 11, mode: .user)); #expect(a.strings[r.image] == "one") }
        a.apply(.mapping(Mapping(pid: 11, start: 0x1400, length: 0x100, fileOffset: 0, path: "/lib/two.so")))
        do { let r = a.attribute(Sample(ip: 0x1450, pid: 11, mode: .user)); #expect(a.strings[r.image] == "two.so") }
        do { let r = a.attribute(Sample(ip: 0x1600, pid: 11, mode: .user)); #expect(a.strings[r.image] == "one") }
        do { let r = a.attribute(Sample(ip: 0x1450, pid: 10, mode: .user)); #expect(a.strings[r.image] == "one", "the parent keeps its own maps") }
    }

    @Test func commNames() {
        let a = Self.attributor([(0, .coordinator)])
        a.apply(.comm(domain: .host, pid: 5, tid: 6, name: "worker", exec: false))
        // (ids first: interning a new name grows the table)
        let worker = a.comm(domain: .host, pid: 5, tid: 6), idle = a.comm(domain: .host, pid: 0, tid: 0)
        let unknown = a.comm(domain: .host, pid: 9, tid: 9)
        #expect(a.strings[worker] == "worker")
        #expect(a.strings[idle] == "swapper")
        #expect(a.strings[unknown] == ":9")
    }

    @Test func sortKeyAliases() {
        #expect(SortKey.parseList("dso,sym") == [.image, .symbol])
        #expect(SortKey.parseList("comm, pid ,domain") == [.comm, .pid, .domain])
        #expect(SortKey.parseList("nonsense") == nil)
    }
}
