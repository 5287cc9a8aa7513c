import Foundation
import Testing

/// `xprof export --format pprof` (run by the `xprof-pprof` executable): decoded by protoc, not by xprof; its
/// samples add up to the recording, its leaf functions to the report's rows, its lines to perf's.
@Suite struct PProfExportTests {
    /// The profile as protoc's text format, parsed into what the checks need.
    struct Decoded {
        struct Sample {
            var locations: [Int]
            var values: [Int]
            /// label key string → value string (numbers as decimal text)
            var labels: [String: String]
        }
        var strings: [String] = []
        var samples: [Sample] = []
        var locationFunction: [Int: Int] = [:]  // location id → function id of its line
        var locationLine: [Int: Int] = [:]
        var locationAddress: [Int: UInt64] = [:]
        var functionName: [Int: Int] = [:]  // function id → string index
        var sampleTypes: [String] = []  // "type/unit"
        var period = 0
        var defaultSampleType = ""

        func leafName(_ s: Sample) -> String? {
            guard let leaf = s.locations.first, let f = locationFunction[leaf], let n = functionName[f] else { return nil }
            return strings[n]
        }
    }

    static func decode(_ gz: String) throws -> Decoded? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc") else {
            if XprofRunner.underCI { Issue.record("protoc is not installed under CI=true") }
            return nil
        }
        let proto = XprofRunner.packageRoot.appendingPathComponent("proto").path
        let raw = try XprofRunner.run("/bin/sh", ["-c", "gzip -dc '\(gz)' | /usr/bin/protoc --decode=perftools.profiles.Profile -I '\(proto)' pprof.proto"])
        #expect(raw.status == 0, "protoc could not decode the profile: \(raw.stderr)")
        var d = Decoded()
        var stack: [String] = []
        var cur: [String: [Int]] = [:]
        var address: UInt64 = 0
        var rawLabels: [[String: Int]] = []
        var label: [String: Int] = [:]
        var lineFunction = 0, lineNumber = 0
        var types: [(Int, Int)] = []
        var defaultType = 0
        for line in raw.stdout.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasSuffix("{") {
                stack.append(String(t.dropLast(2)))
                if stack.count == 1 { cur = [:]; rawLabels = []; address = 0 }
                if stack.last == "label" { label = [:] }
                continue
            }
            if t == "}" {
                let done = stack.removeLast()
                if done == "label" { rawLabels.append(label) }
                if done == "line" { cur["function", default: []].append(lineFunction); cur["lineno", default: []].append(lineNumber) }
                if stack.isEmpty {
                    switch done {
                    case "sample":
                        d.samples.append(Decoded.Sample(locations: cur["location_id"] ?? [], values: cur["value"] ?? [],
                                                        labels: [:]))
                        for l in rawLabels {
                            d.samples[d.samples.count - 1].labels["\(l["key"] ?? 0)"] = l["str"].map { "s\($0)" } ?? "\(l["num"] ?? 0)"
                        }
                    case "location":
                        let id = cur["id"]?.first ?? 0
                        d.locationFunction[id] = cur["function"]?.first ?? 0
                        d.locationLine[id] = cur["lineno"]?.first ?? 0
                        d.locationAddress[id] = address
                    case "function": d.functionName[cur["id"]?.first ?? 0] = cur["name"]?.first ?? 0
                    case "sample_type": types.append((cur["type"]?.first ?? 0, cur["unit"]?.first ?? 0))
                    default: break
                    }
                }
                continue
            }
            guard let colon = t.firstIndex(of: ":") else { continue }
            let key = String(t[..<colon]), value = t[t.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if stack.isEmpty && key == "string_table" {
                // protoc prints strings C-escaped in double quotes.
                d.strings.append(String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\""))
                continue
            }
            if stack.isEmpty && key == "period" { d.period = Int(value) ?? 0; continue }
            if stack.isEmpty && key == "default_sample_type" { defaultType = Int(value) ?? 0; continue }
            if stack == ["location"] && key == "address" { address = UInt64(value) ?? 0; continue }
            guard let n = Int(value) else { continue }
            if stack.last == "label" {
                label[key] = n
            } else if stack.last == "line" {
                if key == "function_id" { lineFunction = n }
                if key == "line" { lineNumber = n }
            } else {
                cur[key, default: []].append(n)
            }
        }
        // Label keys and string values as text.
        for i in d.samples.indices {
            var named: [String: String] = [:]
            for (k, v) in d.samples[i].labels {
                let key = d.strings[Int(k) ?? 0]
                named[key] = v.hasPrefix("s") ? d.strings[Int(v.dropFirst()) ?? 0] : v
            }
            d.samples[i].labels = named
        }
        d.sampleTypes = types.map { "\(d.strings[$0.0])/\(d.strings[$0.1])" }
        d.defaultSampleType = d.strings[defaultType]
        return d
    }

    /// The first mapping's file name (pprof's main binary) and every function's source file, from protoc's
    /// text form of the profile.
    static func mainMappingAndSourceFiles(_ gz: String, strings: [String]) throws -> (main: String, files: Set<String>) {
        let proto = XprofRunner.packageRoot.appendingPathComponent("proto").path
        let raw = try XprofRunner.run("/bin/sh", ["-c", "gzip -dc '\(gz)' | /usr/bin/protoc --decode=perftools.profiles.Profile -I '\(proto)' pprof.proto"])
        var main = "", files: Set<String> = [], block = ""
        for line in raw.stdout.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasSuffix("{") { block = String(t.dropLast().trimmingCharacters(in: .whitespaces)); continue }
            guard t.hasPrefix("filename: "), let n = Int(t.dropFirst("filename: ".count)), n < strings.count else { continue }
            if block == "mapping", main.isEmpty { main = strings[n] }
            if block == "function", n > 0 { files.insert(strings[n]) }
        }
        return (main, files)
    }

    @Test func pprofAddsUpToTheRecordingTheReportAndPerfsLines() throws {
        let file = try XprofRunner.orSkip(try PerfRecordAgreementTests.recordPerf(["mixed", "1"]), "a perf recording (perf)")
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("profile.pb.gz").path
        let r = try XprofRunner.xprof(["export", file, "--format", "pprof", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("wrote \(out): "), "\(r.stderr)")
        guard let d = try Self.decode(out) else { return }
        #expect(d.strings.first == "", "pprof's string table starts with the empty string")
        #expect(d.sampleTypes == ["samples/count", "cpu/nanoseconds"])
        #expect(d.defaultSampleType == "cpu", "viewers show the event's count by default")
        #expect(d.period > 0 && abs(d.period - 1_000_000_000 / 2999) < 1000, "period of a 2999 Hz cpu-clock: \(d.period) ns")
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(d.samples.reduce(0) { $0 + $1.values[0] } == obj["total_samples"] as? Int)
        #expect(d.samples.reduce(0) { $0 + $1.values[1] } == obj["total_period"] as? Int)
        // Leaf functions (location_id[0]) add up to the report's self samples per symbol.
        var leaves: [String: Int] = [:]
        for s in d.samples { leaves[try #require(d.leafName(s)), default: 0] += s.values[0] }
        let report = try XprofRunner.xprof(["report", file, "--sort", "symbol", "--format", "csv"])
        var rows: [String: Int] = [:]
        for row in report.stdout.split(separator: "\n").dropFirst() {
            let f = XprofRunner.csvFields(row)
            rows[f[2], default: 0] += Int(f[1]) ?? 0
        }
        #expect(leaves == rows)
        #expect(leaves["workload_spin_hot", default: 0] > 0)
        // Callers are there too: the spin loop's stacks reach main through run_spin.
        let spinStacks = d.samples.filter { d.leafName($0) == "workload_spin_hot" }
        #expect(spinStacks.contains { s in s.locations.contains { d.functionName[d.locationFunction[$0] ?? 0].map { d.strings[$0] } == "run_spin" } })
        // Every sample says its command, domain and mode.
        #expect(d.samples.allSatisfy { $0.labels["comm"] == "xprof-workload" && $0.labels["domain"] == "0" })
        #expect(d.samples.allSatisfy { ["user", "kernel"].contains($0.labels["mode"] ?? "") })
        #expect(Set(d.samples.compactMap { $0.labels["pid"] }).count == 1)

        // Source lines of the workload's leaf addresses agree with perf script's srcline (addr2line behind it;
        // -G: the sample's own ip, as a run-time address like the profile's).
        let script = try XprofRunner.run("/usr/bin/perf", ["script", "-i", file, "-F", "ip,srcline", "-G", "--comms", "xprof-workload"])
        #expect(script.status == 0, "\(script.stderr)")
        var perfLine: [UInt64: String] = [:]
        var lastIP: UInt64?
        for line in script.stdout.split(separator: "\n", omittingEmptySubsequences: true) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if let ip = UInt64(t, radix: 16) { lastIP = ip; continue }
            if let ip = lastIP, t.contains("main.c:") { perfLine[ip] = t; lastIP = nil }
        }
        var compared = 0
        for (id, addr) in d.locationAddress {
            guard let want = perfLine[addr] else { continue }
            #expect(want.hasSuffix("main.c:\(d.locationLine[id] ?? -1)"), "0x\(String(addr, radix: 16)): perf says \(want), pprof line \(d.locationLine[id] ?? -1)")
            compared += 1
        }
        #expect(compared > 0, "no leaf address of main.c was in both perf script and the profile")
        // pprof's main binary is the profiled command, not the first image met (ld.so, the kernel); source files
        // are whole paths, so that `pprof -list` finds them from any folder.
        let (main, files) = try Self.mainMappingAndSourceFiles(out, strings: d.strings)
        #expect(main == "xprof-workload", "first mapping: \(main)")
        // (glibc's line tables name files relative to a build folder that is not here: kept as they are.)
        #expect(!files.contains("main.c"), "\(files)")
        #expect(files.contains { $0.hasSuffix("/Sources/xprof-workload/main.c") && FileManager.default.fileExists(atPath: $0) }, "\(files)")

        // The helper run directly, writing to standard output, gives the same profile.
        let direct = dir.appendingPathComponent("direct.pb.gz").path
        let helper = XprofRunner.binDir.appendingPathComponent("xprof-pprof").path
        let viaStdout = try XprofRunner.run("/bin/sh", ["-c", "'\(helper)' '\(file)' > '\(direct)'"])
        #expect(viaStdout.status == 0, "\(viaStdout.stderr)")
        #expect(FileManager.default.contents(atPath: direct) == FileManager.default.contents(atPath: out),
                "xprof export --format pprof and xprof-pprof give the same bytes")
    }

    /// A recording of two events: one value column per event (clock time and page faults are not added up),
    /// each sample labelled with its event, the columns' sums equal to `xprof info`'s per-event figures (which
    /// agree with perf's, PerfGroupReadAgreementTests); `--event` keeps one event. The folded export and `diff`
    /// take the first event of several, saying so, or `--event`'s.
    @Test func severalEventsGetAColumnEachAndCanBeChosen() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") else {
            if XprofRunner.underCI { Issue.record("perf is not installed under CI=true") }
            return
        }
        let dir = try XprofRunner.temporaryDirectory()
        let file = dir.appendingPathComponent("two.data").path
        let rec = try XprofRunner.perfRecord(["-e", "cpu-clock/freq=1999/", "-e", "page-faults/period=1/", "-g", "-o", file, "--",
                                              XprofRunner.workload, "mixed", "1"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let events = try #require(obj["events"] as? [[String: Any]])
        try #require(events.count == 2)
        let samples = events.map { $0["samples"] as? Int ?? -1 }, periods = events.map { $0["period"] as? Int ?? -1 }
        #expect(samples[1] > 0, "the workload faults pages")

        let out = dir.appendingPathComponent("two.pb.gz").path
        let r = try XprofRunner.xprof(["export", file, "--format", "pprof", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        guard let d = try Self.decode(out) else { return }
        #expect(d.sampleTypes == ["samples/count", "cpu-clock/nanoseconds", "page-faults/count"])
        #expect(d.defaultSampleType == "cpu-clock")
        for (k, name) in ["cpu-clock/freq=1999/", "page-faults/period=1/"].enumerated() {
            let mine = d.samples.filter { $0.labels["event"] == name }
            #expect(mine.reduce(0) { $0 + $1.values[0] } == samples[k], "\(name): samples")
            #expect(mine.reduce(0) { $0 + $1.values[1 + k] } == periods[k], "\(name): its own column holds its period")
            #expect(mine.allSatisfy { $0.values[2 - k] == 0 }, "\(name): nothing in the other event's column")
        }
        let one = dir.appendingPathComponent("faults.pb.gz").path
        #expect(try XprofRunner.xprof(["export", file, "--format", "pprof", "--event", "page-faults", "-o", one]).status == 0)
        guard let f = try Self.decode(one) else { return }
        #expect(f.sampleTypes == ["samples/count", "page-faults/count"])
        #expect(f.samples.reduce(0) { $0 + $1.values[0] } == samples[1])
        #expect(f.samples.reduce(0) { $0 + $1.values[1] } == periods[1])

        // Folded stacks: the first event, with a note; --event for the other.
        func foldedSum(_ args: [String]) throws -> (Int, String) {
            let x = try XprofRunner.xprof(["export", file] + args)
            #expect(x.status == 0, "\(x.stderr)")
            return (x.stdout.split(separator: "\n").reduce(0) { $0 + (Int($1.split(separator: " ").last ?? "") ?? 0) }, x.stderr)
        }
        let (first, note) = try foldedSum([])
        #expect(first == samples[0])
        #expect(note.contains("has 2 events; using the first, 'cpu-clock/freq=1999/'"), "\(note)")
        #expect(try foldedSum(["--event", "page-faults"]).0 == samples[1])
        #expect(try foldedSum(["--event", "1", "--period"]).0 == periods[1])
        // diff compares one event: its header counts the first event's samples.
        let diff = try XprofRunner.xprof(["diff", file, file, "--format", "json"])
        #expect(diff.status == 0 && diff.stderr.contains("using the first"), "\(diff.stderr)")
        let dj = try #require(try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any])
        #expect(dj["base_samples"] as? Int == samples[0] && dj["new_samples"] as? Int == samples[0])
        let faults = try XprofRunner.xprof(["diff", file, file, "--format", "json", "--event", "page-faults"])
        let fj = try #require(try JSONSerialization.jsonObject(with: Data(faults.stdout.utf8)) as? [String: Any])
        #expect(fj["base_samples"] as? Int == samples[1] && !faults.stderr.contains("using the first"))
        let bad = try XprofRunner.xprof(["export", file, "--event", "cycles"])
        #expect(bad.status == 64 && bad.stderr.contains("its events are 0 cpu-clock/freq=1999/, 1 page-faults/period=1/"), "\(bad.stderr)")
    }

    /// Passive domains of a Xenoprof capture: `--domain 2` and the symbol options reach the helper; the labels
    /// say the domain; the functions are Xen's and the guest kernel's as in `xprof report --domain 2`.
    @Test func xenoprofDomainSelectionAndSymbolsReachThePProfHelper() throws {
        let xen = try XprofRunner.orSkip(XprofRunner.xenSyms(), "Debian's xen-syms 4.17")
        let fixtures = XenoprofReportTests.fixtures
        let cap = fixtures.appendingPathComponent("tlb-scaling").path
        let map = fixtures.appendingPathComponent("guest-kernel.System.map").path
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("dom2.pb.gz").path
        let r = try XprofRunner.xprof(["export", cap, "--format", "pprof", "--domain", "2", "-o", out,
                                       "--xen", xen, "--system-map", "2=\(map)"])
        #expect(r.status == 0, "\(r.stderr)")
        guard let d = try Self.decode(out) else { return }
        #expect(!d.samples.isEmpty)
        #expect(d.samples.allSatisfy { $0.labels["domain"] == "2" })
        var leaves: [String: Int] = [:]
        for s in d.samples { leaves[try #require(d.leafName(s)), default: 0] += s.values[0] }
        let report = try XprofRunner.xprof(["report", cap, "--domain", "2", "--sort", "symbol", "--format", "csv",
                                            "--xen", xen, "--system-map", "2=\(map)"])
        var rows: [String: Int] = [:]
        for row in XenoprofReportTests.csv(report.stdout) { rows[row[2], default: 0] += Int(row[1]) ?? 0 }
        #expect(leaves == rows)
        #expect(leaves["flush_area_mask", default: 0] > 0, "Xen's function, from --xen")
        #expect(leaves["flush_tlb_mm_range", default: 0] > 0, "the guest kernel's, from --system-map")
        // Hypervisor samples are labelled so.
        let hyper = d.samples.filter { $0.labels["mode"] == "hypervisor" }
        #expect(!hyper.isEmpty && hyper.allSatisfy { ["flush_area_mask", "send_IPI_mask", "do_mmu_update", "_spin_lock"].contains(d.leafName($0) ?? "") })
    }

    @Test func missingInputIsRefusedClearly() throws {
        let dir = try XprofRunner.temporaryDirectory()
        let missing = dir.appendingPathComponent("nope.data").path
        let r = try XprofRunner.xprof(["export", missing, "--format", "pprof", "-o", dir.appendingPathComponent("x.pb.gz").path])
        #expect(r.status == 66, "missing input: exit 66, got \(r.status): \(r.stderr)")
        #expect(r.stderr.contains(missing), "the message names the file: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.pb.gz").path))
    }
}
