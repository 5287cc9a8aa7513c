/// Merges samples that are identical but for their time and weight — same address, pid, tid, domain, CPUs,
/// event, mode and callchain — into one ``Sample`` with a ``Sample/count`` and the summed weight, for
/// consumers that only count (``SampleSource/setMergingAllowed(_:)``).
///
/// A decoder asks for a sample's ``key(for:chain:)`` once (a hash and a compare when seen before), adds
/// samples to keys with ``add(_:weight:time:)``, and hands the sums out with ``emit(into:)`` wherever the
/// order matters (before each side-band event, and at the end). Keys live for the whole decode, so memory
/// grows with the number of distinct samples (and their callchains), not with the number of samples.
/// Plain memory, not copy-on-write: exactly one owner calls ``release()`` once.
struct SampleMerger {
    /// Per key: the sample (with `chainStart` into `frames`), its hash, and what was added since the last emit.
    private var templates = PlainBuffer<Sample>(capacity: 1024)
    private var hashes = PlainBuffer<UInt64>(capacity: 1024)
    private var counts = PlainBuffer<UInt64>(capacity: 1024)
    private var weights = PlainBuffer<UInt64>(capacity: 1024)
    private var times = PlainBuffer<UInt64>(capacity: 1024)
    /// Keys with a count since the last emit, in the order they were first added.
    private var touched = PlainBuffer<UInt32>(capacity: 1024)
    private var frames = PlainBuffer<CallFrame>(capacity: 4096)
    /// Open addressing: key index + 1 per slot, 0 when free; at most half full.
    private var slots: UnsafeMutablePointer<UInt32>
    private var mask: Int

    init() {
        mask = 4095
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: 0, count: mask + 1)
    }

    /// Frees the memory; the merger must not be used afterwards.
    func release() {
        templates.release(); hashes.release(); counts.release(); weights.release(); times.release()
        touched.release(); frames.release(); slots.deallocate()
    }

    /// Number of distinct keys so far.
    var keyCount: Int { templates.count }

    /// Whether anything was added since the last emit.
    var isEmpty: Bool { touched.isEmpty }

    @inline(__always)
    private static func mix(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let x = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 29)
    }

    @inline(__always)
    private static func hash(_ s: Sample, _ chain: UnsafeBufferPointer<CallFrame>) -> UInt64 {
        var h = mix(0x243F_6A88_85A3_08D3, s.ip)
        h = mix(h, UInt64(UInt32(bitPattern: s.pid)) << 32 | UInt64(UInt32(bitPattern: s.tid)))
        h = mix(h, UInt64(s.domain.rawValue) << 32 | UInt64(s.event) << 8 | UInt64(s.mode.rawValue))
        h = mix(h, UInt64(s.pcpu) << 32 | UInt64(s.vcpu))
        for f in chain { h = mix(h, f.ip &+ UInt64(f.mode.rawValue)) }
        return mix(h, UInt64(chain.count))
    }

    @inline(__always)
    private func matches(_ k: Int, _ s: Sample, _ chain: UnsafeBufferPointer<CallFrame>) -> Bool {
        let t = templates[k]
        guard t.ip == s.ip, t.pid == s.pid, t.tid == s.tid, t.domain == s.domain, t.pcpu == s.pcpu, t.vcpu == s.vcpu,
              t.event == s.event, t.mode == s.mode, Int(t.chainCount) == chain.count else { return false }
        let start = Int(t.chainStart)
        for j in 0..<chain.count {
            let f = frames[start + j]
            if f.ip != chain[j].ip || f.mode != chain[j].mode { return false }
        }
        return true
    }

    /// The key of `s` with callchain `chain` (leaf first; empty for none). `s`'s time, weight, count and
    /// chain fields are ignored.
    @inline(__always)
    mutating func key(for s: Sample, chain: UnsafeBufferPointer<CallFrame>) -> UInt32 {
        let h = Self.hash(s, chain)
        var i = Int(truncatingIfNeeded: h >> 20) & mask
        while true {
            let v = slots[i]
            if v == 0 { break }
            let k = Int(v - 1)
            if hashes[k] == h && matches(k, s, chain) { return UInt32(k) }
            i = (i + 1) & mask
        }
        let k = templates.count
        var t = s
        t.chainStart = UInt32(truncatingIfNeeded: frames.count)
        t.chainCount = UInt32(truncatingIfNeeded: chain.count)
        t.count = 0
        t.weight = 0
        frames.append(contentsOf: chain)
        templates.append(t)
        hashes.append(h)
        counts.append(0)
        weights.append(0)
        times.append(0)
        slots[i] = UInt32(k + 1)
        if templates.count * 2 > mask { grow() }
        return UInt32(k)
    }

    private mutating func grow() {
        let newMask = mask * 2 + 1
        let ns = UnsafeMutablePointer<UInt32>.allocate(capacity: newMask + 1)
        ns.initialize(repeating: 0, count: newMask + 1)
        for k in 0..<templates.count {
            var i = Int(truncatingIfNeeded: hashes[k] >> 20) & newMask
            while ns[i] != 0 { i = (i + 1) & newMask }
            ns[i] = UInt32(k + 1)
        }
        slots.deallocate()
        slots = ns
        mask = newMask
    }

    /// Adds one sample of weight `weight` taken at `time` to key `k`.
    @inline(__always)
    mutating func add(_ k: UInt32, weight: UInt64, time: UInt64) {
        let i = Int(k)
        if counts[i] == 0 { touched.append(k) }
        counts[i] += 1
        weights[i] &+= weight
        times[i] = time
    }

    /// Appends one sample per key added to since the last emit (count, summed weight, last time, callchain)
    /// to `batch`, and starts over.
    mutating func emit(into batch: inout SampleBatch) {
        guard !touched.isEmpty else { return }
        batch.samples.reserveCapacity(batch.samples.count + touched.count)
        for k in touched.buffer {
            let i = Int(k)
            var s = templates[i]
            s.count = counts[i]
            s.weight = weights[i]
            s.time = times[i]
            let start = Int(s.chainStart), n = Int(s.chainCount)
            s.chainStart = n > 0 ? UInt32(truncatingIfNeeded: batch.frames.count) : 0
            if n > 0 { batch.frames.append(contentsOf: UnsafeBufferPointer(start: frames.base + start, count: n)) }
            batch.samples.append(s)
            counts[i] = 0
            weights[i] = 0
        }
        touched.removeAll()
    }
}
