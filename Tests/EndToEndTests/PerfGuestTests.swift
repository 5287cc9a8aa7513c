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
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "2999", "-o", host, "--",
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

/// `perf inject --guest-data` names each guest event's machine (the VMM's pid) and vCPU in a second array of
/// the PERF_RECORD_ID_INDEX entries. Such a file is made here from a real two-event recording (so that every
/// sample carries its event id): the ID_INDEX record gets machine 4242 for the cpu-clock ids (vCPU = the
/// entry's cpu) and none for the task-clock ids, and every sample is rewritten to a guest cpumode. perf is
/// the oracle for both halves: its raw dump shows the machine entries it read, and `perf script` on the
/// original counts each event's samples (perf 6.1 has no field to print a guest sample's machine).
@Suite struct PerfGuestMachineTests {
    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { b[o..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
    static func put64(_ b: inout [UInt8], _ o: Int, _ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b.replaceSubrange(o..<(o + 8), with: $0) } }

    /// Adds machine entries to the file's ID_INDEX record; returns how many ids got a machine.
    static func addMachines(_ b: inout [UInt8], machine: UInt64) throws -> Int {
        let attrSize = Int(u64(b, 16)), attrsAt = Int(u64(b, 24)), dataAt = Int(u64(b, 40)), dataSize = Int(u64(b, 48))
        // The first attr's ids (cpu-clock): {offset, size} after the attr itself.
        let idsAt = Int(u64(b, attrsAt + attrSize - 16)), idsSize = Int(u64(b, attrsAt + attrSize - 8))
        let firstIDs = Set((0..<(idsSize / 8)).map { u64(b, idsAt + 8 * $0) })
        var o = dataAt
        while o + 8 <= dataAt + dataSize {
            let type = b[o..<(o + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let size = Int(b[(o + 6)..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
            guard size >= 8 else { break }
            if type == 69 {
                let nr = Int(u64(b, o + 8))
                try #require(size == 16 + nr * 32, "an ID_INDEX record without machine entries")
                var extra: [UInt8] = []
                var named = 0
                for k in 0..<nr {
                    let id = u64(b, o + 16 + k * 32), cpu = u64(b, o + 16 + k * 32 + 16)
                    let pid: UInt64 = firstIDs.contains(id) ? machine : 0
                    if pid != 0 { named += 1 }
                    withUnsafeBytes(of: pid.littleEndian) { extra += $0 }
                    withUnsafeBytes(of: cpu.littleEndian) { extra += $0 }
                }
                b.insert(contentsOf: extra, at: o + size)
                let newSize = UInt16(size + extra.count)
                withUnsafeBytes(of: newSize.littleEndian) { b.replaceSubrange((o + 6)..<(o + 8), with: $0) }
                put64(&b, 48, UInt64(dataSize + extra.count))
                // The feature sections come after the data: their offsets move too.
                let features = (0..<4).reduce(0) { $0 + u64(b, 72 + 8 * $1).nonzeroBitCount }
                let table = dataAt + dataSize + extra.count
                for f in 0..<features { put64(&b, table + 16 * f, u64(b, table + 16 * f) + UInt64(extra.count)) }
                return named
            }
            o += size
        }
        Issue.record("no ID_INDEX record in the recording")
        return 0
    }

    @Test func machinePidOfTheIdIndexNamesTheGuest() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf missing under CI=true") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        let host = dir.appendingPathComponent("host.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock", "-e", "task-clock", "-F", "1999", "-o", host, "--",
                                                        XprofRunner.workload, "syscall", "0.7"])
        #expect(rec.status == 0, "\(rec.stderr)")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: host)))
        #expect(try Self.addMachines(&bytes, machine: 4242) > 0)
        let rewritten = PerfGuestTests.rewriteToGuest(&bytes)
        #expect(rewritten > 100)
        let guest = dir.appendingPathComponent("guest.data").path
        try Data(bytes).write(to: URL(fileURLWithPath: guest))

        // perf reads the machine entries as written (perf 6.1 shows them in its raw dump) ...
        let dump = try XprofRunner.run("/usr/bin/perf", ["report", "-D", "-i", guest])
        #expect(dump.stdout.contains("machine_pid: 4242"), "perf parses the ID_INDEX machine entries")
        // ... and counts the samples of each event in the original: the cpu-clock ones belong to machine 4242.
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", host, "-F", "event"])
        #expect(script.status == 0, "\(script.stderr)")
        let events = script.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let perfMachine = events.filter { $0.hasPrefix("cpu-clock") }.count
        let perfOther = events.filter { $0.hasPrefix("task-clock") }.count
        #expect(perfMachine > 0 && perfOther > 0 && perfMachine + perfOther == rewritten)

        let info = try XprofRunner.xprof(["info", guest, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let domains = try #require(obj["domains"] as? [[String: Any]])
        let machine = domains.first { ($0["id"] as? Int) == 4242 }
        #expect(machine?["role"] as? String == "passive")
        #expect(machine?["samples"] as? Int == perfMachine, "xprof \(machine?["samples"] ?? "none") vs perf \(perfMachine) samples on machine 4242")
        let others = domains.filter { ($0["id"] as? Int) != 4242 }.reduce(0) { $0 + ($1["samples"] as? Int ?? 0) }
        #expect(others == perfOther, "the task-clock samples stay with their sampled pid's guest")
    }
}
