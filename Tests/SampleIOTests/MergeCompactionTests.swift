import Foundation
import Testing
@testable import SampleIO

/// The merging stage drops the merger's keys no waiting sample needs once it holds many
/// (`SampleMerger.compact`, docs/ARCHITECTURE.md "Whole-system reports"): what it emits must stay exactly
/// what merging every epoch's samples gives — per epoch (between side-band events) one sample per distinct
/// key, in the order keys were first met, with their counts and summed weights.
@Suite struct MergeCompactionTests {
    @Test func compactedMergerEmitsWhatEachEpochMerges() {
        let stage = MergeStage(ordered: true)
        var expected: [[(key: SampleMerger.Key, count: UInt64, weight: UInt64)]] = [[]]
        var at: [UInt64: Int] = [:]  // key's ip -> place in the current epoch's list
        var rng: UInt64 = 3
        var time: UInt64 = 1000
        let none = UnsafeBufferPointer<CallFrame>(start: nil, count: 0)
        var sidebandTimes: [UInt64] = []
        for i in 0..<300_000 {
            if i % 1000 == 999 {
                // A side-band event: the epoch ends.
                stage.sideband(.exit(domain: .host, pid: 1, tid: Int32(i)), time: time)
                sidebandTimes.append(time)
                time += 1
                expected.append([])
                at.removeAll()
            }
            if i % 700 == 0 { stage.endRound() }
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            // Mostly new keys (i / 3: each met about three times in a row), now and then one met long before.
            let ip = rng >> 60 == 0 ? UInt64((rng >> 40) % 1000) : UInt64(0x1000 + i / 3)
            let key = SampleMerger.Key(ip: ip, pid: 1, tid: 2, domain: .host, pcpu: 0, vcpu: 0, event: 0, mode: .user)
            let weight = UInt64(1 + i % 7)
            stage.sample(key, hash: SampleMerger.hash(key, none), chain: none, time: time, weight: weight)
            time += 1
            if let j = at[ip] {
                expected[expected.count - 1][j].count += 1
                expected[expected.count - 1][j].weight += weight
            } else {
                at[ip] = expected[expected.count - 1].count
                expected[expected.count - 1].append((key, 1, weight))
            }
            #expect(stage.keyCount < 150_000)  // (without compaction: 100,000 and more)
        }
        let keysBeforeEnd = stage.keyCount
        stage.finish()
        let out = stage.takeReady()
        #expect(keysBeforeEnd < 70_000, "the merger should have been compacted: \(keysBeforeEnd) keys")
        #expect(out.sideband.map(\.time) == sidebandTimes)
        // Split the output at its side-band events and compare epoch by epoch.
        var got: [[Sample]] = [[]]
        var next = 0
        for (i, s) in out.samples.enumerated() {
            while next < out.sideband.count, out.sideband[next].beforeSample <= i { got.append([]); next += 1 }
            got[got.count - 1].append(s)
        }
        while next < out.sideband.count { got.append([]); next += 1 }
        #expect(got.count == expected.count)
        var differences = 0
        for (e, (g, x)) in zip(got, expected).enumerated() where g.count != x.count || zip(g, x).contains(where: { s, k in
            SampleMerger.Key(s) != k.key || s.count != k.count || s.weight != k.weight }) {
            if differences == 0 { Issue.record("epoch \(e) differs: \(g.count) samples, \(x.count) expected") }
            differences += 1
        }
        #expect(differences == 0)
        #expect(out.samples.reduce(0) { $0 + $1.count } == 300_000)
    }

    /// A hand-off with start slack holds `capacity + startSlack` items before its first takes, then only
    /// `capacity` (ReadAheadSource: a consumer busy reading symbols lets decoding run ahead that far).
    @Test func handOffSlackShrinksToItsCapacity() async throws {
        let queue = HandOff<Int>(capacity: 2, startSlack: 3)
        for i in 0..<5 { #expect(queue.put(i)) }
        // The three slack items taken give no room back; the fourth gives one.
        for i in 0..<3 { #expect(queue.take() == i) }
        #expect(queue.tryTake() == 3)
        #expect(queue.put(5))
        // Two wait (4, 5): the capacity is 2 again, so a third put waits until one is taken.
        let done = Flag()
        Thread.detachNewThread { _ = queue.put(6); done.set() }
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(!done.isSet, "a put beyond the capacity should wait")
        #expect(queue.take() == 4)
        #expect(queue.take() == 5)
        #expect(queue.take() == 6)
        var waited = 0
        while !done.isSet && waited < 500 { try await Task.sleep(nanoseconds: 10_000_000); waited += 1 }
        #expect(done.isSet)
        queue.cancel()
        #expect(queue.tryTake() == nil)
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }
}
