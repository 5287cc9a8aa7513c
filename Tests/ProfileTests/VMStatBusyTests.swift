import Testing
@testable import Profile
@testable import SampleIO

/// vmstat's busy share is a share of the interval's time, not of the samples the CPU took: a tickless idle
/// CPU takes no cpu-clock samples, so a CPU that ran a spinner for the first second of two is busy in the
/// first second and not in the second (it showed [100.0] throughout).
@Suite struct VMStatBusyTests {
    /// CPU 0: a spinner (pid 50) sampled every 1 ms for 1 s, then nothing (tickless idle); CPU 1: the spinner
    /// for 0.5 s then the idle task (pid 0) for 0.5 s, then nothing.
    static func run(event: EventInfo, periodNS: UInt64, sampleWeight: (UInt64) -> UInt64) -> CallGraphTests.MemorySource {
        var b = SampleBatch()
        let t0: UInt64 = 5_000_000_000
        for i in 1...1000 {
            let t = t0 + UInt64(i) * periodNS
            b.append(Sample(ip: 0x1000, weight: sampleWeight(periodNS), time: t, pid: 50, tid: 50, pcpu: 0, mode: .user), callchain: [])
            let pid: Int32 = i <= 500 ? 50 : 0
            b.append(Sample(ip: 0x1000, weight: sampleWeight(periodNS), time: t, pid: pid, tid: pid, pcpu: 1, mode: .user), callchain: [])
        }
        // One last sample of CPU 1 at 2 s, so the run spans two seconds.
        b.append(Sample(ip: 0x1000, weight: sampleWeight(periodNS), time: t0 + 2_000_000_000, pid: 0, tid: 0, pcpu: 1, mode: .kernel), callchain: [])
        var m = RunMetadata()
        m.events = [event]
        m.domains = [DomainInfo(id: .host, name: "host", role: .coordinator)]
        return CallGraphTests.MemorySource(metadata: m, batch: b)
    }

    static func busy(_ v: VMStat, interval: Int, cpu: UInt32) -> Double {
        v.intervals[interval].cpus.first { $0.pcpu == cpu }?.busyPercent ?? -1
    }

    @Test(arguments: [true, false]) func busyIsAShareOfTheIntervalsTime(timeEvent: Bool) throws {
        // cpu-clock: each sample's period is its nanoseconds; cycles at 1000 Hz: one sample a millisecond.
        let event = timeEvent ? EventInfo(name: "cpu-clock", frequency: 1000) : EventInfo(name: "cycles", frequency: 1000)
        let src = Self.run(event: event, periodNS: 1_000_000, sampleWeight: { timeEvent ? $0 : 2_400_000 })
        let v = try VMStat.build(source: src, path: "synthetic", interval: 1)
        try #require(v.intervals.count == 2, "\(v.intervals.map { ($0.start, $0.end) })")
        // First second: CPU 0 all spinner, CPU 1 half spinner, half idle task.
        #expect(abs(Self.busy(v, interval: 0, cpu: 0) - 100) < 0.5)
        #expect(abs(Self.busy(v, interval: 0, cpu: 1) - 50) < 0.5)
        // Second second: no samples on CPU 0 (tickless idle) — 0 %, not 100 %; CPU 0 still listed.
        #expect(Self.busy(v, interval: 1, cpu: 0) == 0)
        #expect(Self.busy(v, interval: 1, cpu: 1) == 0)
        // The holder's share is of time too.
        let holder = try #require(v.intervals[0].cpus.first { $0.pcpu == 1 }?.holders.first)
        #expect(abs(holder.percent - 50) < 0.5)
        // The whole run at once: CPU 0 busy half of two seconds.
        let whole = try VMStat.build(source: Self.run(event: event, periodNS: 1_000_000, sampleWeight: { timeEvent ? $0 : 2_400_000 }),
                                     path: "synthetic", interval: nil)
        #expect(abs(Self.busy(whole, interval: 0, cpu: 0) - 50) < 0.5, "\(whole.intervals)")
    }
}

/// `overhead --max-overhead` gates on the 95 % interval: above only when all of it is above the limit.
@Suite struct OverheadVerdictTests {
    @Test func theIntervalDecides() {
        // Noisy: about +32 % with an interval far wider than that.
        let noisy = OverheadEstimate(profiler: "xprof", baseline: [1.0, 2.0, 0.6, 1.8], profiled: [2.6, 1.0, 2.4, 1.0])
        #expect(noisy.low < 20 && noisy.high > 20, "\(noisy.low)…\(noisy.high)")
        #expect(noisy.verdict(limit: 20) == .inconclusive)
        // Steady: +50 % within a point or two.
        let clear = OverheadEstimate(profiler: "xprof", baseline: [1.0, 1.01, 0.99, 1.0], profiled: [1.5, 1.51, 1.49, 1.5])
        #expect(clear.verdict(limit: 20) == .above)
        #expect(clear.verdict(limit: 80) == .within)
        // Start-up: 0.2 s around /bin/true (0.001 s alone) of a 1.5 s profiled run against 1 s plain.
        let split = OverheadEstimate(profiler: "xprof", baseline: [1, 1], profiled: [1.5, 1.5], startupPlain: [0.001, 0.001], startupProfiled: [0.201, 0.201])
        #expect(abs((split.startupSeconds ?? 0) - 0.2) < 1e-9)
        #expect(abs((split.steadyPercent ?? 0) - 30) < 1e-6)
    }
}
