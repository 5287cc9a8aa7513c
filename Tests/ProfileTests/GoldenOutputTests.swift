import Foundation
import Testing
@testable import Profile
@testable import Render
@testable import SampleIO

/// The builders and renderers on one synthetic recording, each output compared byte for byte with a file under
/// `Fixtures/golden/` (docs/ARCHITECTURE.md, "Tests"). The recording has two domains (the host and a guest,
/// each with kernel symbols), the three modes, two commands, callchains and two events, so each view has
/// something to group, filter and draw. A change to what users see shows up here as a diff of the file;
/// when it is meant, `XPROF_UPDATE_GOLDEN=1 swift test --filter GoldenOutputTests` writes the files anew (and
/// the diff is reviewed in the commit).
@Suite struct GoldenOutputTests {
    typealias MemorySource = CallGraphTests.MemorySource

    /// Kernel functions, 0x1000 apart, of the host (domain 0) and of guest domain 1; Xen's at 0xffff82d0….
    static let hostFunctions = ["entry_syscall", "do_syscall", "vfs_read", "copy_user", "flush_tlb_mm", "smp_call_function"]
    static let guestFunctions = ["guest_entry", "guest_timer", "guest_idle"]
    static func kernelAddress(_ name: String) -> UInt64 {
        if let i = hostFunctions.firstIndex(of: name) { return 0xffff_ffff_8100_0010 + UInt64(i) * 0x1000 }
        return 0xffff_ffff_8100_0010 + UInt64(guestFunctions.firstIndex(of: name)!) * 0x1000
    }
    static func kallsyms(_ functions: [String]) -> String {
        functions.enumerated().map { i, f in String(0xffff_ffff_8100_0000 + UInt64(i) * 0x1000, radix: 16) + " T " + f }
            .joined(separator: "\n") + "\n"
    }

    /// The recording; `tlbShare` scales the TLB-flush samples (a second run "at more CPUs" for diff and scale).
    static func recording(tlbShare: UInt64 = 1, cpus: Int = 2) -> (RunMetadata, SampleBatch) {
        var m = RunMetadata()
        m.sourceFormat = "xprof"
        m.hostname = "golden"
        m.kernelRelease = "6.1.0-golden"
        m.architecture = "x86_64"
        m.cpusOnline = cpus
        m.cpusUsed = Array(0..<cpus)
        m.events = [EventInfo(name: "cpu-clock", frequency: 1000), EventInfo(name: "page-faults", period: 1)]
        m.command = ["golden-workload", "--threads", String(cpus)]
        m.duration = 2_000_000_000
        m.domains = [DomainInfo(id: .host, name: "dom0", role: .coordinator, vcpus: 2),
                     DomainInfo(id: DomainID(1), name: "guest1", role: .active, vcpus: 1)]
        m.kernelSymbols = [KernelSymbolSnapshot(domain: .host, text: kallsyms(hostFunctions)),
                           KernelSymbolSnapshot(domain: DomainID(1), text: kallsyms(guestFunctions))]
        var b = SampleBatch()
        var t: UInt64 = 1_000_000_000
        b.append(.comm(domain: .host, pid: 10, tid: 10, name: "reader", exec: true), time: t - 10)
        b.append(.comm(domain: .host, pid: 20, tid: 20, name: "mapper", exec: true), time: t - 5)
        func add(_ leaf: UInt64, chain: [UInt64], pid: Int32, domain: DomainID = .host, mode: SampleMode, count: Int,
                 event: UInt16 = 0, cpu: UInt32 = 0) {
            for _ in 0..<count {
                t += 1_000_000
                let s = Sample(ip: leaf, weight: 1_000_000, time: t, pid: pid, tid: pid, domain: domain, pcpu: cpu,
                               vcpu: domain == .host ? cpu : 0, event: event, mode: mode)
                b.append(s, callchain: chain.map { CallFrame(ip: $0, mode: mode) })
            }
        }
        let k = kernelAddress
        add(k("copy_user"), chain: [k("copy_user"), k("vfs_read"), k("do_syscall"), k("entry_syscall")], pid: 10, mode: .kernel, count: 30)
        add(k("vfs_read"), chain: [k("vfs_read"), k("do_syscall"), k("entry_syscall")], pid: 10, mode: .kernel, count: 12, cpu: 1)
        add(k("smp_call_function"), chain: [k("smp_call_function"), k("flush_tlb_mm"), k("do_syscall"), k("entry_syscall")], pid: 20,
            mode: .kernel, count: 8 * Int(tlbShare), cpu: 1)
        add(k("flush_tlb_mm"), chain: [k("flush_tlb_mm"), k("do_syscall"), k("entry_syscall")], pid: 20, mode: .kernel, count: 4 * Int(tlbShare))
        // User code without symbols (an unresolved address in the process), and Xen's own code.
        add(0x40_1234, chain: [0x40_1234, 0x40_1000], pid: 10, mode: .user, count: 20)
        add(0xffff_82d0_4020_1000, chain: [], pid: -1, domain: .host, mode: .hypervisor, count: 6)
        // The guest's kernel.
        add(k("guest_timer"), chain: [k("guest_timer"), k("guest_entry")], pid: -1, domain: DomainID(1), mode: .kernel, count: 10)
        add(k("guest_idle"), chain: [k("guest_idle"), k("guest_entry")], pid: -1, domain: DomainID(1), mode: .kernel, count: 5)
        // The second event.
        add(k("copy_user"), chain: [], pid: 10, mode: .kernel, count: 3, event: 1)
        return (m, b)
    }

    static func report(_ adjust: (inout ReportOptions) -> Void = { _ in }, tlbShare: UInt64 = 1, cpus: Int = 2) throws -> Report {
        let (m, b) = recording(tlbShare: tlbShare, cpus: cpus)
        var o = ReportOptions()
        o.selection.event = 0
        adjust(&o)
        return try ReportBuilder.build(source: MemorySource(metadata: m, batch: b), path: "golden.xprof", options: o)
    }

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    /// `text` equals the golden file `name` (or is written there under XPROF_UPDATE_GOLDEN=1).
    static func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["XPROF_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            Issue.record("\(name) differs from the golden file at line \(i + 1): expected '\(i < a.count ? a[i] : "<end>")', got '\(i < b.count ? b[i] : "<end>")' (XPROF_UPDATE_GOLDEN=1 writes it anew)",
                         sourceLocation: sourceLocation)
        }
    }

    @Test func reportTables() throws {
        try Self.expectGolden(ReportRenderer.render(try Self.report(), as: .table), "report.txt")
        try Self.expectGolden(ReportRenderer.render(try Self.report { $0.sortKeys = [.domain, .mode, .comm] }, as: .table), "report-domain-mode-comm.txt")
        try Self.expectGolden(ReportRenderer.render(try Self.report { $0.sortKeys = [.symbol]; $0.selection.domain = DomainID(1) }, as: .table), "report-domain1.txt")
        try Self.expectGolden(ReportRenderer.render(try Self.report { $0.children = true }, as: .table), "report-children.txt")
    }

    @Test func reportCSVAndJSON() throws {
        let r = try Self.report { $0.children = true }
        try Self.expectGolden(ReportRenderer.render(r, as: .csv), "report-children.csv")
        try Self.expectGolden(ReportRenderer.render(r, as: .json), "report-children.json")
    }

    @Test func callGraphs() throws {
        for order in [CallGraphOrder.callee, .caller] {
            let r = try Self.report { $0.callGraph = CallGraphOptions(order: order, limit: 0.5) }
            try Self.expectGolden(ReportRenderer.render(r, as: .table), "report-graph-\(order).txt")
        }
    }

    @Test func foldedStacksAndFlameGraph() throws {
        let (m, b) = Self.recording()
        var o = FoldedStacks.Options()
        o.selection.event = 0
        o.annotateModes = true
        let stacks = try FoldedStacks.collect(source: MemorySource(metadata: m, batch: b), options: o)
        try Self.expectGolden(FoldedStacks.lines(stacks, byPeriod: false).joined(separator: "\n") + "\n", "folded.txt")
        var g = FlameGraph.Options()
        g.title = "golden"
        try Self.expectGolden(FlameGraph(stacks: stacks).svg(options: g), "flamegraph.svg")
    }

    @Test func diffAndScale() throws {
        let one = try Self.report(cpus: 1), two = try Self.report(tlbShare: 3, cpus: 2), four = try Self.report(tlbShare: 9, cpus: 4)
        let c = Comparison(base: one, new: two)
        for f in [ReportFormat.table, .csv, .json] {
            try Self.expectGolden(ComparisonRenderer.render(c, format: f, top: nil), "diff.\(f == .table ? "txt" : f.rawValue)")
        }
        let s = ScalingAnalysis(reports: [one, two, four])
        for f in [ReportFormat.table, .csv, .json] {
            try Self.expectGolden(ComparisonRenderer.render(s, format: f, top: nil), "scale.\(f == .table ? "txt" : f.rawValue)")
        }
        try Self.expectGolden(ScalingChart.render(s, rows: 8), "scale.svg")
    }

    @Test func vmstat() throws {
        let (m, b) = Self.recording()
        let v = try VMStat.build(source: MemorySource(metadata: m, batch: b), path: "golden.xprof", interval: 0.05)
        try Self.expectGolden(VMStatRenderer.text(v), "vmstat.txt")
        try Self.expectGolden(VMStatRenderer.json(v), "vmstat.json")
    }
}
