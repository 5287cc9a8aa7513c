import Foundation
import Testing

/// Host kernel samples of a perf.data made on this kernel resolve through the kallsyms copy `perf record`
/// saved in perf's build-id cache (`$HOME/.debug/[kernel.kallsyms]/BUILDID/kallsyms`) when it is there, and
/// through `/proc/kallsyms` otherwise — with the same result.
@Suite(.serialized) struct PerfDataKallsymsCacheTests {
    static func csvRows(_ file: String, home: URL) throws -> [[String]] {
        let r = try XprofRunner.run(XprofRunner.xprof, ["report", file, "--sort", "dso,sym", "--format", "csv"],
                                    environment: ["HOME": home.path])
        #expect(r.status == 0, "xprof report failed: \(r.stderr)")
        return r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func kernelSymbolsComeFromPerfsBuildIDCacheWhenPresent() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return
        }
        // perf record keeps its build-id cache under $HOME/.debug: a fresh HOME holds only this recording's.
        let recordHome = try XprofRunner.temporaryDirectory()
        let file = recordHome.appendingPathComponent("perf.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock", "-F", "2999", "-o", file, "--",
                                                        XprofRunner.workload, "syscall", "1"],
                                      environment: ["HOME": recordHome.path])
        #expect(rec.status == 0, "perf record failed: \(rec.stderr)")
        let cacheRoot = recordHome.appendingPathComponent(".debug/[kernel.kallsyms]")
        guard let id = try? FileManager.default.contentsOfDirectory(atPath: cacheRoot.path).first(where: { $0.count == 40 }) else {
            // perf saves no kallsyms when kptr_restrict hides the addresses.
            if XprofRunner.underCI { Issue.record("perf record saved no kallsyms under \(cacheRoot.path)") }
            return
        }
        let cached = cacheRoot.appendingPathComponent(id).appendingPathComponent("kallsyms")

        // Through the cache, and through /proc/kallsyms (a HOME without a cache): the same rows.
        let viaCache = try Self.csvRows(file, home: recordHome)
        let viaProc = try Self.csvRows(file, home: try XprofRunner.temporaryDirectory())
        // Rows of 0.5 % and more must be identical. (Code the kernel generates at run time — BPF programs,
        // ftrace trampolines, which other tests running perf at the same moment can add or remove — may
        // name a stray sample differently in the live table than in the copy taken at record time.)
        let major = { (rows: [[String]]) in rows.filter { (Double($0.first ?? "") ?? 0) >= 0.5 } }
        #expect(major(viaCache) == major(viaProc))
        guard let top = viaCache.first(where: { $0.count == 4 && $0[2] == "[kernel.kallsyms]" && !$0[3].hasPrefix("[unknown]") }) else {
            Issue.record("no resolved kernel row in \(viaCache.prefix(10))"); return
        }

        // A doctored copy of the cache: the top kernel function renamed. The report must show the new name.
        let doctoredHome = try XprofRunner.temporaryDirectory()
        let doctoredDir = doctoredHome.appendingPathComponent(".debug/[kernel.kallsyms]/\(id)")
        try FileManager.default.createDirectory(at: doctoredDir, withIntermediateDirectories: true)
        let text = try String(contentsOf: cached, encoding: .utf8)
        var renamed = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            let f = line.split(separator: " ")
            guard f.count >= 3, f[2] == top[3] else { return line }
            renamed += 1
            return Substring("\(f[0]) \(f[1]) xprof_cache_marker" + (f.count > 3 ? " " + f[3...].joined(separator: " ") : ""))
        }
        #expect(renamed >= 1)
        try lines.joined(separator: "\n").write(to: doctoredDir.appendingPathComponent("kallsyms"), atomically: true, encoding: .utf8)
        let doctored = try Self.csvRows(file, home: doctoredHome)
        let marked = doctored.first { $0.count == 4 && $0[3] == "xprof_cache_marker" }
        #expect(marked?[0] == top[0] && marked?[1] == top[1], "expected \(top) renamed, got \(doctored.prefix(10))")
        #expect(!doctored.contains { $0.count == 4 && $0[3] == top[3] })
    }
}
