internal import CPerfShim

/// Merges samples that are identical but for their time and weight — same address, pid, tid, domain, CPUs,
/// event, mode and callchain — into one ``Sample`` with a ``Sample/count`` and the summed weight, for
/// consumers that only count (``SampleSource/setMergingAllowed(_:)``).
///
/// A decoder asks for a sample's key ``index(of:chain:)`` once (a hash and a compare when seen before), adds
/// samples to keys with ``add(_:weight:time:)``, and hands the sums out with ``emit(into:)`` wherever the
/// order matters (before each side-band event, and at the end). Keys live for the whole decode, so memory
/// grows with the number of distinct samples (and their callchains), not with the number of samples.
/// Plain memory, not copy-on-write: exactly one owner calls ``release()`` once.
struct SampleMerger {
    /// What identifies a merged sample besides its callchain, as four words (compared and hashed as such).
    struct Key: Equatable, BitwiseCopyable {
        var ip: UInt64
        /// pid << 32 | tid (bit patterns).
        var threads: UInt64
        /// domain << 32 | event << 8 | mode.
        var place: UInt64
        /// pcpu << 32 | vcpu.
        var cpus: UInt64

        @inline(__always)
        init(ip: UInt64, pid: Int32, tid: Int32, domain: DomainID, pcpu: UInt32, vcpu: UInt32, event: UInt16, mode: SampleMode) {
            self.ip = ip
            threads = UInt64(UInt32(bitPattern: pid)) << 32 | UInt64(UInt32(bitPattern: tid))
            place = UInt64(domain.rawValue) << 32 | UInt64(event) << 8 | UInt64(mode.rawValue)
            cpus = UInt64(pcpu) << 32 | UInt64(vcpu)
        }

        init(ip: UInt64, threads: UInt64, place: UInt64, cpus: UInt64) {
            self.ip = ip
            self.threads = threads
            self.place = place
            self.cpus = cpus
        }

        init(_ s: Sample) {
            self.init(ip: s.ip, pid: s.pid, tid: s.tid, domain: s.domain, pcpu: s.pcpu, vcpu: s.vcpu, event: s.event, mode: s.mode)
        }

        /// The sample this key stands for (weight, time and count 0, no callchain).
        var sample: Sample {
            Sample(ip: ip, weight: 0, time: 0, pid: Int32(bitPattern: UInt32(truncatingIfNeeded: threads >> 32)),
                   tid: Int32(bitPattern: UInt32(truncatingIfNeeded: threads)),
                   domain: DomainID(UInt32(truncatingIfNeeded: place >> 32)),
                   pcpu: UInt32(truncatingIfNeeded: cpus >> 32), vcpu: UInt32(truncatingIfNeeded: cpus),
                   event: UInt16(truncatingIfNeeded: place >> 8), mode: SampleMode(rawValue: UInt8(truncatingIfNeeded: place)) ?? .unknown,
                   count: 0)
        }
    }

    /// Per key: its words, where its callchain is in `frames`, and what was added since the last emit.
    private var keys = PlainBuffer<Key>(capacity: 1024)
    private var chains = PlainBuffer<(start: UInt32, count: UInt32)>(capacity: 1024)
    private var counts = PlainBuffer<UInt64>(capacity: 1024)
    private var weights = PlainBuffer<UInt64>(capacity: 1024)
    private var times = PlainBuffer<UInt64>(capacity: 1024)
    /// Keys with a count since the last emit, in the order they were first added.
    private var touched = PlainBuffer<UInt32>(capacity: 1024)
    private var frames = PlainBuffer<CallFrame>(capacity: 4096)
    /// Open addressing, at most half full: per slot the hash's high half << 32 | key index + 1 (0: free), so
    /// most misses and all but the matching key are told apart without touching the key arrays.
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int

    init() {
        mask = 4095
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: 0, count: mask + 1)
    }

    private init(placeholderSlots: UnsafeMutablePointer<UInt64>) {
        mask = 0
        slots = placeholderSlots
        keys = PlainBuffer(capacity: 0); chains = PlainBuffer(capacity: 0); counts = PlainBuffer(capacity: 0)
        weights = PlainBuffer(capacity: 0); times = PlainBuffer(capacity: 0); touched = PlainBuffer(capacity: 0)
        frames = PlainBuffer(capacity: 0)
    }

    /// A merger that holds nothing, to stand in a stored property while the real one is used from a local
    /// variable (swapped out and back). Never used itself; never released.
    nonisolated(unsafe) static let placeholder = SampleMerger(placeholderSlots: .allocate(capacity: 1))

    /// Frees the memory; the merger must not be used afterwards.
    func release() {
        keys.release(); chains.release(); counts.release(); weights.release(); times.release()
        touched.release(); frames.release(); slots.deallocate()
    }

    /// Number of distinct keys so far.
    var keyCount: Int { keys.count }

    /// Number of keys added to since the last emit.
    var touchedCount: Int { touched.count }

    /// Whether anything was added since the last emit.
    var isEmpty: Bool { touched.isEmpty }

    /// The hash ``index(of:chain:hash:)`` wants (a decoder may compute it on another thread).
    @inline(__always)
    static func hash(_ k: Key, _ chain: UnsafeBufferPointer<CallFrame>) -> UInt64 {
        // Four independent products (they run side by side), then the callchain one frame at a time.
        var h = (k.ip &* 0x9E37_79B9_7F4A_7C15) ^ (k.threads &* 0xC2B2_AE3D_27D4_EB4F)
            ^ (k.place &* 0x1656_67B1_9E37_79F9) ^ (k.cpus &* 0x27D4_EB2F_1656_67C5)
        for f in chain { h = (h ^ (f.ip &+ UInt64(f.mode.rawValue))) &* 0x9E37_79B9_7F4A_7C15; h ^= h >> 29 }
        h ^= h >> 32
        h = (h ^ UInt64(chain.count)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// What the decoder's C fast path computes for a key and callchain (tests hold it to ``hash(_:_:)``).
    static func fastPathHash(_ k: Key, chain: UnsafeBufferPointer<CallFrame> = UnsafeBufferPointer(start: nil, count: 0)) -> UInt64 {
        guard let base = chain.baseAddress else { return xprof_key_hash(k.ip, k.threads, k.place, k.cpus) }
        return base.withMemoryRebound(to: xprof_frame.self, capacity: chain.count) {
            xprof_chain_hash(k.ip, k.threads, k.place, k.cpus, $0, chain.count)
        }
    }

    @inline(__always)
    private func sameChain(_ k: Int, _ chain: UnsafeBufferPointer<CallFrame>) -> Bool {
        let c = chains[k]
        guard Int(c.count) == chain.count else { return false }
        let start = Int(c.start)
        for j in 0..<chain.count {
            let f = frames[start + j]
            if f.ip != chain[j].ip || f.mode != chain[j].mode { return false }
        }
        return true
    }

    /// The index of key `key` with callchain `chain` (leaf first; empty for none), added if new; `h` is
    /// their ``hash(_:_:)``.
    @inline(__always)
    mutating func index(of key: Key, chain: UnsafeBufferPointer<CallFrame>, hash h: UInt64) -> UInt32 {
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let v = slots[i]
            if v == 0 { break }
            if v & 0xFFFF_FFFF_0000_0000 == tag {
                let k = Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1
                if keys[k] == key && sameChain(k, chain) { return UInt32(k) }
            }
            i = (i + 1) & mask
        }
        let k = keys.count
        keys.append(key)
        chains.append((UInt32(truncatingIfNeeded: frames.count), UInt32(truncatingIfNeeded: chain.count)))
        frames.append(contentsOf: chain)
        counts.append(0)
        weights.append(0)
        times.append(0)
        slots[i] = tag | UInt64(k + 1)
        if keys.count * 2 > mask { grow() }
        return UInt32(k)
    }

    private mutating func grow() {
        let newMask = mask * 2 + 1
        let ns = UnsafeMutablePointer<UInt64>.allocate(capacity: newMask + 1)
        ns.initialize(repeating: 0, count: newMask + 1)
        for i in 0...mask where slots[i] != 0 {
            let v = slots[i]
            let k = Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1
            var j = Int(truncatingIfNeeded: Self.hash(keys[k], UnsafeBufferPointer(start: frames.base + Int(chains[k].start),
                                                                                    count: Int(chains[k].count)))) & newMask
            while ns[j] != 0 { j = (j + 1) & newMask }
            ns[j] = v
        }
        slots.deallocate()
        slots = ns
        mask = newMask
    }

    /// The lookup table as plain memory for the C merging loop (`xprof_merge_known`): slots, mask, the keys'
    /// words (4 per key), the (start, count) of each key's callchain, and the callchains' frames.
    @inline(__always)
    func withTable<R>(_ body: (UnsafePointer<UInt64>, UInt64, UnsafePointer<UInt64>, UnsafePointer<UInt32>,
                               UnsafePointer<xprof_frame>) -> R) -> R {
        let k = UnsafeRawPointer(keys.base).assumingMemoryBound(to: UInt64.self)
        let c = UnsafeRawPointer(chains.base).assumingMemoryBound(to: UInt32.self)
        let f = UnsafeRawPointer(frames.base).assumingMemoryBound(to: xprof_frame.self)
        return body(slots, UInt64(mask), k, c, f)
    }

    /// Starts a new table with only the keys still needed: those added to since the last emit (with their
    /// sums, in the same order) and those `refs` name, whose key fields are changed to the new indexes.
    /// Keys live only as long as samples wait for them, so the table stays the size of what waits (a whole
    /// system's 1.8 M keys made it 150 MB, its lookups a cache miss each), and what is emitted is the same:
    /// a key met again after being dropped gets a new index and is emitted in the order it is first added.
    /// - Complexity: O(keys before + keys kept + refs).
    mutating func compact(refs: [UnsafeMutableBufferPointer<xprof_merged_ref>]) {
        var fresh = SampleMerger()
        let map = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, keys.count))
        map.initialize(repeating: UInt32.max, count: max(1, keys.count))
        defer { map.deallocate() }
        func move(_ k: UInt32) -> UInt32 {
            let i = Int(k)
            if map[i] != UInt32.max { return map[i] }
            let chain = UnsafeBufferPointer(start: frames.base + Int(chains[i].start), count: Int(chains[i].count))
            let n = fresh.index(of: keys[i], chain: chain, hash: Self.hash(keys[i], chain))
            map[i] = n
            return n
        }
        for k in touched.buffer {
            let n = Int(move(k)), i = Int(k)
            fresh.counts[n] = counts[i]
            fresh.weights[n] = weights[i]
            fresh.times[n] = times[i]
            fresh.touched.append(UInt32(n))
        }
        for buffer in refs {
            for j in buffer.indices { buffer[j].key = move(buffer[j].key) }
        }
        release()
        self = fresh
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
        // Called once per due side-band event into the same batch: an exact reserve each time would copy the
        // batch every time (reserveCapacity does not grow geometrically).
        let need = batch.samples.count + touched.count
        if batch.samples.capacity < need { batch.samples.reserveCapacity(max(need, batch.samples.capacity * 2)) }
        for k in touched.buffer {
            let i = Int(k)
            var s = keys[i].sample
            s.count = counts[i]
            s.weight = weights[i]
            s.time = times[i]
            let c = chains[i]
            if c.count > 0 {
                s.chainStart = UInt32(truncatingIfNeeded: batch.frames.count)
                s.chainCount = c.count
                batch.frames.append(contentsOf: UnsafeBufferPointer(start: frames.base + Int(c.start), count: Int(c.count)))
            }
            batch.samples.append(s)
            counts[i] = 0
            weights[i] = 0
        }
        touched.removeAll()
    }
}
