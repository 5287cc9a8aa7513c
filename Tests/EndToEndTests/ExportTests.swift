import Foundation
import Testing

/// `xprof export --format folded`: collapsed stacks for flame graphs.
@Suite struct ExportTests {
    @Test func foldedStacksAddUpToTheReport() throws {
        guard let file = try PerfRecordAgreementTests.recordPerf(["tlb", "1", "2"]) else { return }
        let folded = try XprofRunner.xprof(["export", file, "--annotate"])
        #expect(folded.status == 0, "\(folded.stderr)")
        let lines = folded.stdout.split(separator: "\n")
        var leafCounts: [String: Int] = [:]
        var total = 0
        for l in lines {
            guard let space = l.lastIndex(of: " "), let n = Int(l[l.index(after: space)...]) else {
                Issue.record("bad folded line \(l)"); continue
            }
            let frames = l[..<space].split(separator: ";")
            #expect(frames.first == "xprof-workload", "stacks start with the command: \(l.prefix(80))")
            var leaf = String(frames.last ?? "")
            for tag in ["_[k]", "_[h]"] where leaf.hasSuffix(tag) { leaf = String(leaf.dropLast(tag.count)) }
            leafCounts[leaf, default: 0] += n
            total += n
        }
        // The storm's mprotect calls show in kernel frames (how many samples land in the flush routines
        // themselves, flush_tlb_mm_range, tlb_finish_mmu, ..., varies with the machine's load).
        #expect(lines.contains { $0.split(separator: ";").contains { ($0.contains("mprotect") || $0.contains("tlb")) && $0.hasSuffix("_[k]") } },
                "the mprotect / TLB-flush path shows in kernel frames")
        // The leaves add up to the report's self samples per symbol.
        let report = try XprofRunner.xprof(["report", file, "--sort", "symbol", "--format", "csv"])
        var selfCounts: [String: Int] = [:]
        var reportTotal = 0
        for row in report.stdout.split(separator: "\n").dropFirst() {
            let f = row.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            let name = String(f[2]).replacingOccurrences(of: " ", with: "_")
            selfCounts[name, default: 0] += Int(f[1]) ?? 0
            reportTotal += Int(f[1]) ?? 0
        }
        #expect(total == reportTotal)
        #expect(leafCounts == selfCounts)
        // --period counts the event period: the sum is the report's total event count.
        let byPeriod = try XprofRunner.xprof(["export", file, "--period"])
        let periodSum = byPeriod.stdout.split(separator: "\n").reduce(0) { $0 + (Int($1.split(separator: " ").last ?? "") ?? 0) }
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(periodSum == obj["total_period"] as? Int)
    }
}

/// `xprof export --format pprof`: decoded by protoc (not by xprof), its samples add up to the recording and its
/// leaf functions to the report's rows.
@Suite struct PProfExportTests {
    /// The profile as protoc's text format, parsed into what the checks need.
    struct Decoded {
        var strings: [String] = []
        var samples: [(locations: [Int], values: [Int], labels: [String: String])] = []
        var locationFunction: [Int: Int] = [:]  // location id → function id of its (only) line
        var functionName: [Int: Int] = [:]  // function id → string index
        var sampleTypes: [(Int, Int)] = []
    }

    static func decode(_ gz: String) throws -> Decoded? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc") else {
            if XprofRunner.underCI { Issue.record("protoc is not installed under CI=true") }
            return nil
        }
        let raw = try XprofRunner.run("/bin/sh", ["-c", "gzip -dc '\(gz)' | /usr/bin/protoc --decode=perftools.profiles.Profile -I '\(XprofRunner.packageRoot.path)/proto' pprof.proto"])
        #expect(raw.status == 0, "protoc could not decode the profile: \(raw.stderr)")
        var d = Decoded()
        var stack: [String] = []
        var cur: [String: [Int]] = [:]
        var labels: [[String: Int]] = []
        var label: [String: Int] = [:]
        var lineFunction = 0
        for line in raw.stdout.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasSuffix("{") {
                stack.append(String(t.dropLast(2)))
                if stack.count == 1 { cur = [:]; labels = [] }
                if stack.last == "label" { label = [:] }
                continue
            }
            if t == "}" {
                let done = stack.removeLast()
                if done == "label" { labels.append(label) }
                if done == "line" { cur["function", default: []].append(lineFunction) }
                if stack.isEmpty {
                    switch done {
                    case "sample":
                        d.samples.append((cur["location_id"] ?? [], cur["value"] ?? [], [:]))
                        d.samples[d.samples.count - 1].labels = Dictionary(uniqueKeysWithValues: labels.map { l in
                            ("\(l["key"] ?? 0)", "\(l["str"] ?? -1)") })
                    case "location": d.locationFunction[cur["id"]?.first ?? 0] = cur["function"]?.first ?? 0
                    case "function": d.functionName[cur["id"]?.first ?? 0] = cur["name"]?.first ?? 0
                    case "sample_type": d.sampleTypes.append((cur["type"]?.first ?? 0, cur["unit"]?.first ?? 0))
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
            guard let n = Int(value) else { continue }
            if stack.last == "label" { label[key] = n } else if stack.last == "line" { if key == "function_id" { lineFunction = n } } else { cur[key, default: []].append(n) }
        }
        return d
    }

    @Test func pprofAddsUpToTheRecordingAndTheReport() throws {
        guard let file = try PerfRecordAgreementTests.recordPerf(["mixed", "1"]) else { return }
        let dir = try XprofRunner.temporaryDirectory()
        let out = dir.appendingPathComponent("profile.pb.gz").path
        let r = try XprofRunner.xprof(["export", file, "--format", "pprof", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        guard let d = try Self.decode(out) else { return }
        #expect(d.strings.first == "", "pprof's string table starts with the empty string")
        #expect(d.sampleTypes.map { "\(d.strings[$0.0])/\(d.strings[$0.1])" } == ["samples/count", "cpu/nanoseconds"])
        let info = try XprofRunner.xprof(["info", file, "--format", "json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        #expect(d.samples.reduce(0) { $0 + $1.values[0] } == obj["total_samples"] as? Int)
        #expect(d.samples.reduce(0) { $0 + $1.values[1] } == obj["total_period"] as? Int)
        // Leaf functions (location_id[0]) add up to the report's self samples per symbol.
        var leaves: [String: Int] = [:]
        for s in d.samples {
            let leaf = try #require(s.locations.first)
            let fn = try #require(d.locationFunction[leaf])
            let name = try #require(d.functionName[fn])
            leaves[d.strings[name], default: 0] += s.values[0]
        }
        let report = try XprofRunner.xprof(["report", file, "--sort", "symbol", "--format", "csv"])
        var rows: [String: Int] = [:]
        for row in report.stdout.split(separator: "\n").dropFirst() {
            let f = row.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            rows[String(f[2]), default: 0] += Int(f[1]) ?? 0
        }
        #expect(leaves == rows)
        #expect(leaves["workload_spin_hot", default: 0] > 0)
        // Every sample says its command and domain.
        let comm = d.strings.firstIndex(of: "comm").map { "\($0)" }, domain = d.strings.firstIndex(of: "domain").map { "\($0)" }
        #expect(d.samples.allSatisfy { s in comm.flatMap { s.labels[$0] }.map { d.strings[Int($0)!] } == "xprof-workload" })
        #expect(d.samples.allSatisfy { s in domain.flatMap { s.labels[$0] }.map { d.strings[Int($0)!] } == "0" })
    }
}
