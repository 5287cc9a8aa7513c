import Foundation
import Testing

/// Mistakes on the command line get a clear message and a non-zero exit: help for a command that does not
/// exist, a directory given as a profile.
@Suite struct CommandLineTests {
    @Test func helpForAnUnknownCommandFails() throws {
        let r = try XprofRunner.xprof(["help", "bogus"])
        #expect(r.status == 64, "\(r.stdout.prefix(200))")
        #expect(r.stderr.contains("no command 'bogus'") && r.stderr.contains("record, report"), "\(r.stderr)")
        let ok = try XprofRunner.xprof(["help", "report"])
        #expect(ok.status == 0 && ok.stdout.contains("USAGE: xprof report"))
    }

    /// A Xenoprof capture has no threads, commands or times: script's default line leads with the domain and
    /// mode instead of "[unknown] -1 … 0.000000".
    @Test func scriptOfAXenoprofCaptureShowsWhatItHas() throws {
        let cap = XprofRunner.packageRoot.appendingPathComponent("Fixtures/xenoprof/tlb-scaling").path
        let r = try XprofRunner.xprof(["script", cap])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count > 100)
        for line in lines.prefix(50) {
            let f = line.split(separator: " ")
            #expect(f.first?.hasPrefix("d") == true || f.first == "xen", "\(line)")
            #expect(["hypervisor", "kernel", "user"].contains(String(f.dropFirst().first ?? "")), "\(line)")
            #expect(!line.contains(" -1 ") && !line.contains("0.000000"), "\(line)")
        }
    }

    @Test func aDirectoryIsNotAProfile() throws {
        let dir = try XprofRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for command in ["report", "info", "script"] {
            let r = try XprofRunner.xprof([command, dir.path])
            #expect(r.status == 65, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("a directory that holds no input xprof reads") && r.stderr.contains("capture.json"), "\(r.stderr)")
            #expect(!r.stderr.contains("empty file"))
        }
    }
}
