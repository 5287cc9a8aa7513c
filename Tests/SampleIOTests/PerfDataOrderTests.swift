import Foundation
import Testing
@testable import SampleIO

/// The decoder's delivery order and callchains against `perf script` dumps of the same files (perf's own
/// ordered-events queue is the oracle), the mapped and in-memory paths against each other, and the
/// read-ahead wrapper against direct decoding.
@Suite struct PerfDataOrderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/perf")
    static let readable = ["quipper__perf.data.singleprocess-3.8", "quipper__perf.data.callgraph-3.8",
                           "quipper__perf.data.piped.header_features_aligned-6.12", "mstange_linux-perf-data__sleep.data"]

    static func path(_ name: String) -> String? {
        let p = root.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: p) else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("missing shared fixture \(p) under CI=true") }
            return nil
        }
        return p
    }

    /// Everything a source delivers, flattened: samples (callchains resolved to their frames) and side-band
    /// events with the sample index they come before.
    struct Decoded: Equatable {
        var samples: [Sample] = []
        var chains: [[CallFrame]] = []
        var sideband: [String] = []
    }

    static func drain(_ source: any SampleSource) throws -> Decoded {
        var d = Decoded()
        while let b = try source.nextBatch() {
            var next = 0
            for i in b.samples.indices {
                while next < b.sideband.count, b.sideband[next].beforeSample <= i {
                    d.sideband.append("\(d.samples.count) \(b.sideband[next].time) \(b.sideband[next].event)")
                    next += 1
                }
                var s = b.samples[i]
                d.chains.append(Array(b.callchain(of: i)))
                s.chainStart = 0
                d.samples.append(s)
            }
            for r in b.sideband[next...] { d.sideband.append("\(d.samples.count) \(r.time) \(r.event)") }
        }
        return d
    }

    static func gunzip(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// `perf script` with callchains (comm, tid, period, then one frame a line): per sample, in perf's order, its tid, period
    /// and every frame (context markers removed, the sampled ip first).
    @Test func callchainsAndOrderMatchPerfScript() throws {
        guard let file = Self.path("quipper__perf.data.callgraph-3.8") else { return }
        let script = try Self.gunzip(Self.root.appendingPathComponent("expected/quipper__perf.data.callgraph-3.8.script_callchains.txt.gz").path)
        var expected: [(tid: Int32, period: UInt64, ips: [UInt64])] = []
        for line in script.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.first == "\t" || line.first == " " {
                let hex = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
                if let v = UInt64(hex, radix: 16), !expected.isEmpty { expected[expected.count - 1].ips.append(v) }
            } else {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                guard f.count >= 3, let tid = Int32(f[f.count - 2]), let period = UInt64(f[f.count - 1]) else {
                    Issue.record("unreadable perf script line '\(line)'"); return
                }
                expected.append((tid, period, []))
            }
        }
        let got = try Self.drain(PerfDataFormat.open(path: file))
        #expect(got.samples.count == expected.count)
        var mismatches = 0
        for (i, (s, e)) in zip(got.samples, expected).enumerated() {
            let ips = got.chains[i].map(\.ip)
            // perf script prints a user frame inside a mapped file relative to that file ("dff47
            // (/lib64/libc-2.15.so)"), others as they are: same page offset, or the same address.
            let framesAgree = ips.count == e.ips.count && zip(ips, e.ips).allSatisfy { g, x in
                g == x || (g < 0xFFFF_8000_0000_0000 && x < g && g & 0xFFF == x & 0xFFF)
            }
            if s.tid != e.tid || s.weight != e.period || !framesAgree {
                mismatches += 1
                if mismatches <= 3 {
                    Issue.record("sample \(i): xprof tid \(s.tid) period \(s.weight) chain \(ips.map { String($0, radix: 16) }); perf script tid \(e.tid) period \(e.period) chain \(e.ips.map { String($0, radix: 16) })")
                }
            }
        }
        #expect(mismatches == 0)
        #expect(got.samples.allSatisfy { $0.chainCount > 0 })
    }

    /// `perf script -F comm,pid,tid,time,period,ip,dso`: the same samples in the same (time) order.
    @Test func samplesAndTimesMatchPerfScript() throws {
        guard let file = Self.path("quipper__perf.data.singleprocess-3.8") else { return }
        let text = try String(contentsOfFile: Self.root.appendingPathComponent("expected/quipper__perf.data.singleprocess-3.8.script_comm_pid_tid_time_period_ip_dso.txt").path, encoding: .utf8)
        var expected: [String] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6 else { continue }
            let pt = f[1].split(separator: "/")
            let t = f[2].dropLast().split(separator: ".")  // "346637.627965:" → seconds, microseconds
            guard pt.count == 2, t.count == 2 else { Issue.record("unreadable perf script line '\(line)'"); return }
            expected.append("\(pt[0]) \(pt[1]) \(t[0]).\(t[1]) \(f[3]) \(f[4])")
        }
        let got = try Self.drain(PerfDataFormat.open(path: file)).samples.map { s in
            let us = s.time / 1000
            let frac = String(us % 1_000_000)
            return "\(s.pid) \(s.tid) \(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count) + frac) \(s.weight) \(String(s.ip, radix: 16))"
        }
        #expect(expected.count == 13)
        #expect(got == expected)
    }

    /// The mapped file (what `xprof` uses) and an in-memory copy decode to exactly the same events and stats.
    @Test(arguments: readable)
    func mappedAndInMemoryDecodeAgree(name: String) throws {
        guard let file = Self.path(name) else { return }
        let mapped = try PerfDataFormat.open(path: file)
        let memory = try PerfDataSource(bytes: try FileBytes.read(file), path: file)
        let a = try Self.drain(mapped), b = try Self.drain(memory)
        #expect(a.samples.count > 0)
        #expect(a == b)
        #expect(mapped.stats.lostSamples == memory.stats.lostSamples)
        #expect(mapped.stats.warnings == memory.stats.warnings)
        #expect(mapped.metadata.domains.map(\.id) == memory.metadata.domains.map(\.id))
    }

    /// Reading ahead on another thread changes nothing in what is delivered, nor the final metadata and stats.
    @Test(arguments: readable)
    func readAheadDeliversTheSameEvents(name: String) throws {
        guard let file = Self.path(name) else { return }
        let direct = try PerfDataFormat.open(path: file)
        let ahead = ReadAheadSource(try PerfDataFormat.open(path: file), depth: 2)
        let a = try Self.drain(direct), b = try Self.drain(ahead)
        #expect(a == b)
        #expect(try ahead.nextBatch() == nil)
        #expect(ahead.stats.lostSamples == direct.stats.lostSamples)
        #expect(ahead.stats.warnings == direct.stats.warnings)
        #expect(ahead.metadata.hostname == direct.metadata.hostname)
        #expect(ahead.metadata.domains.map(\.id) == direct.metadata.domains.map(\.id))
    }

    /// Per stretch between two side-band events ("epoch"): each distinct sample (everything but time and
    /// weight, callchain included) with its count and summed weight; and the side-band events in order.
    static func epochs(_ source: any SampleSource) throws -> (epochs: [[String: [UInt64]]], sideband: [String]) {
        var epochs: [[String: [UInt64]]] = [[:]]
        var sideband: [String] = []
        while let b = try source.nextBatch() {
            var next = 0
            func flushSideband(upTo i: Int) {
                while next < b.sideband.count, b.sideband[next].beforeSample <= i {
                    sideband.append("\(b.sideband[next].time) \(b.sideband[next].event)")
                    epochs.append([:])
                    next += 1
                }
            }
            for i in b.samples.indices {
                flushSideband(upTo: i)
                let s = b.samples[i]
                let chain = b.callchain(of: i).map { "\(String($0.ip, radix: 16))/\($0.mode)" }.joined(separator: ",")
                let key = "\(String(s.ip, radix: 16)) \(s.pid) \(s.tid) \(s.domain) \(s.pcpu) \(s.vcpu) \(s.event) \(s.mode) [\(chain)]"
                let v = epochs[epochs.count - 1][key, default: [0, 0]]
                epochs[epochs.count - 1][key] = [v[0] + s.count, v[1] &+ s.weight]
            }
            flushSideband(upTo: Int.max)
        }
        return (epochs, sideband)
    }

    /// Where two `epochs` results first differ (nil when equal), briefly, for a failure message.
    static func firstDifference(_ a: [[String: [UInt64]]], _ b: [[String: [UInt64]]]) -> String? {
        if a.count != b.count { return "\(a.count) against \(b.count) epochs" }
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            let key = Set(x.keys).union(y.keys).sorted().first { x[$0] != y[$0] } ?? "?"
            return "epoch \(i), sample \(key): \(x[key] ?? []) against \(y[key] ?? [])"
        }
        return nil
    }

    /// A consumer that only counts may let the decoder merge identical samples: between any two side-band
    /// events the merged stream has exactly the counts and weights of the sample-by-sample stream, with and
    /// without callchains, and fewer samples.
    @Test(arguments: readable)
    func mergedSamplesKeepEveryCountBetweenSideBandEvents(name: String) throws {
        guard let file = Self.path(name) else { return }
        for chains in [false, true] {
            let plain = try PerfDataFormat.open(path: file)
            plain.setCallchainsWanted(chains)
            let merged = try PerfDataFormat.open(path: file)
            merged.setCallchainsWanted(chains)
            merged.setMergingAllowed(true)
            let a = try Self.epochs(plain), b = try Self.epochs(merged)
            #expect(a.sideband == b.sideband)
            #expect(a.epochs.count == b.epochs.count)
            // Empty stretches aside (an epoch with no sample is empty in both).
            let diff = Self.firstDifference(a.epochs, b.epochs)
            #expect(diff == nil, "\(name), callchains \(chains): \(diff ?? "")")
            let total = a.epochs.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1[0] } }
            #expect(total > 0)
            #expect(merged.stats.lostSamples == plain.stats.lostSamples)
        }
    }

    /// A source that yields `batches` one-sample batches, then throws (or ends), and says when it is released.
    final class Scripted: SampleSource {
        var metadata = RunMetadata()
        var stats = DecodeStats()
        let batches: Int
        let failAtEnd: Bool
        var served = 0
        let released: ReleasedFlag
        init(batches: Int, failAtEnd: Bool, released: ReleasedFlag) {
            self.batches = batches
            self.failAtEnd = failAtEnd
            self.released = released
        }
        deinit { released.set() }
        func nextBatch() throws(SampleIOError) -> SampleBatch? {
            if served == batches {
                if failAtEnd { throw SampleIOError(.badData, "record \(served) is corrupt", offset: served) }
                return nil
            }
            served += 1
            stats.addLost(1)
            return SampleBatch(samples: [Sample(ip: UInt64(served), mode: .user)])
        }
    }

    final class ReleasedFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    @Test func readAheadPassesErrorsOnInOrder() throws {
        let flag = ReleasedFlag()
        let ahead = ReadAheadSource(Scripted(batches: 3, failAtEnd: true, released: flag), depth: 2)
        var ips: [UInt64] = []
        #expect(throws: SampleIOError.self) {
            while let b = try ahead.nextBatch() { ips += b.samples.map(\.ip) }
        }
        #expect(ips == [1, 2, 3])
        #expect(ahead.stats.lostSamples[.host] == 3)
        #expect(try ahead.nextBatch() == nil)
    }

    /// A consumer that stops early (an error of its own, `--top` …) must not leave the decoding thread behind.
    @Test func readAheadStopsDecodingWhenDropped() throws {
        let flag = ReleasedFlag()
        do {
            let ahead = ReadAheadSource(Scripted(batches: 1_000_000, failAtEnd: false, released: flag), depth: 2)
            #expect(try ahead.nextBatch()?.samples.first?.ip == 1)
        }
        var waited = 0
        while !flag.isSet && waited < 500 { usleep(10_000); waited += 1 }
        #expect(flag.isSet, "the decoding thread still holds its source 5 s after the consumer went away")
    }
}
