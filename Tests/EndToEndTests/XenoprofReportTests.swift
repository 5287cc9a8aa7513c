import Foundation
import Testing

/// `xprof report` of Xenoprof captures against Debian's real Xen 4.17 symbols.
@Suite struct XenoprofReportTests {
    static var fixtures: URL { XprofRunner.packageRoot.appendingPathComponent("Fixtures/xenoprof") }

    /// Function names `nm` lists as text symbols of `image`.
    static func nmFunctions(_ image: String) throws -> Set<String> {
        let r = try XprofRunner.run("/usr/bin/nm", [image])
        return Set(r.stdout.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            return f.count == 3 && "tTwW".contains(f[1]) ? String(f[2]) : nil
        })
    }

    static func csv(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func domain2NamesRealXenAndGuestKernelFunctions() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        let map = Self.fixtures.appendingPathComponent("guest-kernel.System.map").path
        let dir = try XprofRunner.temporaryDirectory()
        let cap = dir.appendingPathComponent("cap").path
        let gen = try XprofRunner.run(XprofRunner.binDir.appendingPathComponent("xprof-scenario").path,
                                      [Self.fixtures.appendingPathComponent("tlb-scaling.json").path, "-o", cap,
                                       "--xen", xen, "--map", "guest=\(map)"])
        #expect(gen.status == 0, "\(gen.stderr)")
        let r = try XprofRunner.xprof(["report", cap, "--domain", "2", "--sort", "mode,image,symbol", "--format", "csv",
                                       "--xen", xen, "--system-map", "2=\(map)"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.csv(r.stdout)
        let xenNames = try Self.nmFunctions(xen)
        let hyper = rows.filter { $0[2] == "hypervisor" }
        #expect(Set(hyper.map { $0[4] }) == ["flush_area_mask", "send_IPI_mask", "do_mmu_update", "_spin_lock"])
        for row in hyper {
            #expect(row[3] == "domain2-xen", "passive domain's hypervisor samples go to domain2-xen: \(row)")
            #expect(xenNames.contains(row[4]), "\(row[4]) is not a function of xen-syms")
        }
        let kernel = rows.filter { $0[2] == "kernel" }
        #expect(Set(kernel.map { $0[4] }) == ["flush_tlb_mm_range", "native_flush_tlb_multi", "smp_call_function_many_cond", "exc_page_fault"])
        #expect(kernel.allSatisfy { $0[3] == "domain2-kernel" })
        let user = rows.filter { $0[2] == "user" }
        #expect(!user.isEmpty && user.allSatisfy { $0[3] == "domain2-apps" && $0[4].hasPrefix("[dom2] 0x") },
                "a passive domain's user samples are lumped as domain2-apps, never resolved")
        // Per-domain summary as opreport shows it, with the lost samples of the full rings.
        let table = try XprofRunner.xprof(["report", cap, "--sort", "domain,image", "--xen", xen, "--system-map", "2=\(map)"])
        #expect(table.stdout.contains("SYNTHETIC"))
        #expect(table.stdout.contains("lost by domain: guest2 "))
        // --mode hypervisor isolates Xen time; the 32-bit guest's hypervisor samples name Xen functions too.
        let hv = try XprofRunner.xprof(["report", cap, "--mode", "hypervisor", "--sort", "domain,image,symbol", "--format", "csv", "--xen", xen])
        let hvRows = Self.csv(hv.stdout)
        #expect(hvRows.allSatisfy { ["domain2-xen", "domain3-xen", "xen-syms-4.17-amd64"].contains($0[3]) }, "\(hvRows)")
        #expect(hvRows.contains { $0[2] == "3" && $0[4] == "do_page_fault" })
        #expect(hvRows.contains { $0[2] == "0" && $0[3] == "xen-syms-4.17-amd64" && $0[4] == "csched_schedule" })
        // Without --xen: hypervisor samples stay counted, as domainN-xen-unknown / xen-unknown.
        let bare = try XprofRunner.xprof(["report", cap, "--mode", "hypervisor", "--sort", "image", "--format", "csv"])
        #expect(Set(Self.csv(bare.stdout).map { $0[2] }) == ["domain2-xen-unknown", "domain3-xen-unknown", "xen-unknown"])
        // … and the report says which options would name them (stderr for CSV, the header for tables), per
        // domain; with the symbols given, no hint.
        #expect(bare.stderr.contains("hypervisor samples have no symbols: give Xen's with --xen"), "\(bare.stderr)")
        let guest = try XprofRunner.xprof(["report", cap, "--domain", "2"])
        #expect(guest.stdout.contains("kernel samples of domain 2 have no symbols: give them with --vmlinux 2=VMLINUX, --system-map 2=System.map"),
                "\(guest.stdout.prefix(1500))")
        let named = try XprofRunner.xprof(["report", cap, "--domain", "2", "--xen", xen, "--system-map", "2=\(map)"])
        #expect(!named.stdout.contains("have no symbols"), "\(named.stdout.prefix(1500))")
        // convert → .xprof gives the same report.
        let conv = dir.appendingPathComponent("cap.xprof").path
        #expect(try XprofRunner.xprof(["convert", cap, "-o", conv]).status == 0)
        let again = try XprofRunner.xprof(["report", conv, "--domain", "2", "--sort", "mode,image,symbol", "--format", "csv",
                                           "--xen", xen, "--system-map", "2=\(map)"])
        #expect(again.stdout == r.stdout)
    }

    @Test func committedFixtureReportsAndSaysSynthetic() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        let cap = Self.fixtures.appendingPathComponent("tlb-scaling").path
        let r = try XprofRunner.xprof(["report", cap, "--domain", "2", "--xen", xen, "--system-map",
                                       "2=\(Self.fixtures.appendingPathComponent("guest-kernel.System.map").path)", "--top", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("SYNTHETIC"))
        #expect(r.stdout.contains("flush_area_mask"))
    }
}
