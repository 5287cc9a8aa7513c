import Foundation
import Testing

/// dom0 perf under Xen's vPMU hands Xen's own samples to perf as kernel-mode samples at Xen's addresses. Such a
/// recording is made here from a real `perf record -a`: every kernel sample's address is rewritten to a place
/// inside a function of Debian's xen-syms 4.17 `.text` (chosen by the original address). xprof must report those
/// samples as the hypervisor's, named by xen-syms' symbols — counted per function exactly as `nm` places the
/// rewritten addresses — and the user samples must stay dom0's.
@Suite struct XenVPMUTests {
    @Test func kernelSamplesAtXenAddressesAreTheHypervisors() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf missing under CI=true") }
            return
        }
        // Functions of xen-syms with a size and an address no other symbol shares (nm -S).
        let nm = try XprofRunner.run("/usr/bin/nm", ["-S", "--defined-only", xen])
        #expect(nm.status == 0)
        var byAddress: [UInt64: [(String, UInt64)]] = [:]
        for line in nm.stdout.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard let a = UInt64(f[0], radix: 16) else { continue }
            let sized = f.count == 4
            byAddress[a, default: []].append((String(f.last!), sized && (f[2] == "t" || f[2] == "T") ? UInt64(f[1], radix: 16) ?? 0 : 0))
        }
        let functions = byAddress.compactMap { a, syms -> (UInt64, String, UInt64)? in
            guard syms.count == 1, syms[0].1 >= 32 else { return nil }
            return (a, syms[0].0, syms[0].1)
        }.sorted { $0.0 < $1.0 }
        #expect(functions.count > 1000)

        let dir = try XprofRunner.temporaryDirectory()
        let host = dir.appendingPathComponent("dom0.data").path
        // perf record -a ends when its command's SIGCHLD arrives: start it with no signal blocked (the test
        // process's threads may block SIGCHLD, and a spawned child inherits the mask).
        let unblock = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])"
        let rec = try XprofRunner.run("/usr/bin/python3", ["-c", unblock, "/usr/bin/perf", "record", "-a", "-e", "cpu-clock", "-F", "1999",
                                                           "-o", host, "--", XprofRunner.workload, "syscall", "0.7"])
        #expect(rec.status == 0, "\(rec.stderr)")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: host)))
        func u64(_ o: Int) -> UInt64 { bytes[o..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
        // The first attr's sample_type: the ip is the first field after the header unless IDENTIFIER comes first.
        let attrs = Int(u64(24))
        let sampleType = u64(attrs + 24)
        try #require(sampleType & 1 != 0 && sampleType & (1 << 16) == 0, "sample_type \(sampleType): ip not first")
        let dataOffset = Int(u64(40)), dataSize = Int(u64(48))
        var o = dataOffset
        var expected: [String: Int] = [:], userSamples = 0
        while o + 8 <= dataOffset + dataSize {
            let type = bytes[o..<(o + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let size = Int(bytes[(o + 6)..<(o + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
            guard size >= 8 else { break }
            if type == 9 {
                switch bytes[o + 4] & 7 {
                case 1:
                    let ip = u64(o + 8)
                    let f = functions[Int((ip >> 2) % UInt64(functions.count))]
                    let xenIP = f.0 + (ip % f.2)
                    withUnsafeBytes(of: xenIP.littleEndian) { bytes.replaceSubrange((o + 8)..<(o + 16), with: $0) }
                    expected[f.1, default: 0] += 1
                case 2: userSamples += 1
                default: break
                }
            }
            o += size
        }
        #expect(expected.values.reduce(0, +) > 100, "kernel samples to rewrite")
        let vpmu = dir.appendingPathComponent("vpmu.data").path
        try Data(bytes).write(to: URL(fileURLWithPath: vpmu))

        let r = try XprofRunner.xprof(["report", vpmu, "--mode", "hypervisor", "--sort", "domain,image,symbol", "--format", "csv", "--xen", xen])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("vPMU"), "a warning names the vPMU recording: \(r.stderr)")
        var got: [String: Int] = [:]
        for line in r.stdout.split(separator: "\n").dropFirst() {
            let f = XprofRunner.csvFields(line)
            #expect(f[2] == "xen" && f[3] == "xen-syms-4.17-amd64", "\(f)")
            got[f[4], default: 0] += Int(f[1]) ?? 0
        }
        #expect(got == expected)
        // Nothing of it is left in dom0's kernel; dom0's user samples stay dom0's.
        let modes = try XprofRunner.xprof(["report", vpmu, "--sort", "domain,mode", "--format", "csv", "--xen", xen])
        let rows = modes.stdout.split(separator: "\n").dropFirst().map { XprofRunner.csvFields($0) }
        #expect(!rows.contains { $0[2] == "0" && $0[3] == "kernel" })
        #expect(rows.first { $0[2] == "0" && $0[3] == "user" }.map { Int($0[1]) ?? 0 } == userSamples)
        // The recording as perf made it has no hypervisor samples.
        let plain = try XprofRunner.xprof(["report", host, "--sort", "mode", "--format", "csv"])
        #expect(!plain.stdout.contains("hypervisor"))
    }
}
