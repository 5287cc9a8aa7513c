import Foundation
import Testing

/// Guest samples of `perf kvm record` carry the cpumodes PERF_RECORD_MISC_GUEST_KERNEL (4) and
/// PERF_RECORD_MISC_GUEST_USER (5). Such a file is made here from a real `perf record` file by rewriting
/// the low three `misc` bits of every PERF_RECORD_SAMPLE: kernel (1) → guest kernel (4), user (2) →
/// guest user (5). The samples then belong to the guest domain of their VMM process (the sampled pid) and
/// must resolve only against that guest's symbols, never the host's.
@Suite struct PerfGuestTests {
    /// Rewrites cpumodes of every sample record of a file-mode, little-endian perf.data in place.
    static func rewriteToGuest(_ bytes: inout [UInt8]) -> Int {
        func u64(_ o: Int) -> Int { bytes[o..<(o + 8)].withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) } }
        let dataOffset = u64(40), dataSize = u64(48)
        var o = dataOffset, rewritten = 0
        while o + 8 <= dataOffset + dataSize {
            let type = bytes[o..<(o + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let size = Int(bytes[(o + 6)..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
            guard size >= 8 else { break }
            if type == 9 {
                let mode = bytes[o + 4] & 7
                if mode == 1 { bytes[o + 4] = (bytes[o + 4] & ~7) | 4; rewritten += 1 }
                if mode == 2 { bytes[o + 4] = (bytes[o + 4] & ~7) | 5; rewritten += 1 }
            }
            o += size
        }
        return rewritten
    }

    @Test func guestSamplesLandInTheirGuestDomainWithGuestSymbols() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf missing under CI=true") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        let host = dir.appendingPathComponent("host.data").path
        let rec = try XprofRunner.run("/usr/bin/perf", ["record", "-e", "cpu-clock", "-F", "2999", "-o", host, "--",
                                                        XprofRunner.workload, "syscall", "0.7"])
        #expect(rec.status == 0, "\(rec.stderr)")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: host)))
        let n = Self.rewriteToGuest(&bytes)
        #expect(n > 100)
        let guest = dir.appendingPathComponent("guest.data").path
        try Data(bytes).write(to: URL(fileURLWithPath: guest))
        // The guest's kallsyms: this machine's, copied (the "guest" kernel is the one the samples came from).
        let kallsyms = dir.appendingPathComponent("guest.kallsyms").path
        // (procfs reports size 0, so copy it with cp rather than a sized read)
        #expect(try XprofRunner.run("/bin/cp", ["/proc/kallsyms", kallsyms]).status == 0)

        let info = try XprofRunner.xprof(["info", guest, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let domains = try #require(obj["domains"] as? [[String: Any]])
        let guestDomain = try #require(domains.first { ($0["role"] as? String) == "passive" })
        let id = try #require(guestDomain["id"] as? Int)
        #expect((guestDomain["samples"] as? Int ?? 0) == n, "every rewritten sample belongs to the guest")
        #expect(domains.allSatisfy { ($0["id"] as? Int) != 0 || ($0["samples"] as? Int ?? 0) == 0 }, "no sample left on the host")

        // Without the guest's symbols: passive names, never host symbols.
        let bare = try XprofRunner.xprof(["report", guest, "--domain", "\(id)", "--sort", "mode,image", "--format", "csv"])
        let bareRows = bare.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(bareRows.contains { $0[2] == "user" && $0[3] == "domain\(id)-apps" })
        #expect(!bare.stdout.contains("xprof-workload"), "guest user samples must not resolve to host binaries")
        #expect(!bare.stdout.contains("[kernel.kallsyms]"), "guest kernel samples must not use the host kernel")

        // With the guest's kallsyms: kernel samples name real kernel functions under domainN-kernel.
        let named = try XprofRunner.xprof(["report", guest, "--domain", "\(id)", "--mode", "kernel", "--sort", "image,symbol",
                                           "--format", "csv", "--kallsyms", "\(id)=\(kallsyms)", "--guest-name", "\(id)=vm1"])
        #expect(named.status == 0, "\(named.stderr)")
        let rows = named.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.allSatisfy { $0[2] == "domain\(id)-kernel" || $0[2] == "domain\(id)-modules" })
        let resolved = rows.filter { !$0[3].hasPrefix("[dom") }.reduce(0.0) { $0 + (Double($1[0]) ?? 0) }
        #expect(resolved > 90, "guest kernel samples resolve through the guest's kallsyms: \(rows.prefix(5))")
        let table = try XprofRunner.xprof(["report", guest, "--sort", "domain", "--guest-name", "\(id)=vm1"])
        #expect(table.stdout.contains("vm1 (\(id))"), "the guest's name is shown: \(table.stdout)")
    }
}
