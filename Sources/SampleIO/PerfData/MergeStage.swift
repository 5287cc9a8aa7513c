#if canImport(Glibc)
import Glibc
#endif
internal import CPerfShim

/// The time order of a decoder whose consumer lets it merge samples (``SampleSource/setMergingAllowed(_:)``),
/// as perf orders events: samples arrive as merger keys with their time and weight, side-band events with
/// their time, and each round ends with ``endRound()`` (perf's FINISHED_ROUND: everything up to the newest
/// time seen before the previous round is complete). Merged samples and side-band events come out in time
/// order in ``ready``: before each side-band event, the merged samples that precede it.
///
/// The samples between two side-band events (an "epoch") need no order among themselves, so nothing is
/// sorted but the side-band events, and no sample is kept longer than its round.
final class MergeStage {
    /// Whether the input has timestamps to order by (else file order is kept).
    let ordered: Bool
    private var merger = SampleMerger()
    /// What is ready for the consumer (see ``takeReady()``).
    private(set) var ready = SampleBatch()
    /// A sample waiting for its round: when, its weight, its place in the input's event order, its key (the
    /// C type, which the merging loop of ``samples(_:frames:)`` writes).
    typealias MergedRef = xprof_merged_ref
    /// The samples of the current round (since the last ``endRound()``).
    private var pendingKeys = PlainBuffer<MergedRef>(capacity: 1 << 16)
    /// The samples that came before the last ``endRound()`` and are still waiting: their times are all at
    /// most the limit of the next flush (the newest time seen when that round ended).
    private var previousRound = PlainBuffer<MergedRef>(capacity: 1 << 16)
    private var sideband = SidebandQueue()
    private var epochStarts: [Int] = []
    private var epochOrder = PlainBuffer<Int32>(capacity: 1 << 10)
    private var seq: UInt64 = 0
    private var limit = RoundLimit()

    init(ordered: Bool) {
        self.ordered = ordered
    }

    deinit {
        merger.release(); pendingKeys.release(); previousRound.release(); epochOrder.release()
    }

    /// One sample: its key, the key's hash (``SampleMerger/hash(_:_:)``), callchain, time and weight.
    @inline(__always)
    func sample(_ key: SampleMerger.Key, hash: UInt64, chain: UnsafeBufferPointer<CallFrame>, time: UInt64, weight: UInt64) {
        let k = merger.index(of: key, chain: chain, hash: hash)
        if !ordered {
            merger.add(k, weight: weight, time: time)
            return
        }
        pendingKeys.append(MergedRef(time: time, weight: weight, seq: seq, key: k, reserved: 0))
        seq += 1
        limit.see(time)
        if pendingKeys.count >= 1 << 21 { flush(upTo: limit.newest, all: true) }
    }

    /// A run of parsed samples (a chunk's, between two of its controls), with their callchains in `frames`.
    /// The same as ``sample(_:hash:chain:time:weight:)`` for each, with the stage's state in locals.
    func samples(_ run: UnsafeBufferPointer<PerfChunk.Parsed>, frames: UnsafePointer<CallFrame>) {
        var m = SampleMerger.placeholder
        swap(&m, &merger)
        defer { swap(&m, &merger) }
        if !ordered {
            for p in run {
                let k = m.index(of: SampleMerger.Key(ip: p.ip, threads: p.threads, place: p.place, cpus: p.cpus),
                                chain: UnsafeBufferPointer(start: frames + Int(p.chain_start), count: Int(p.chain_count)), hash: p.hash)
                m.add(k, weight: p.weight, time: p.time)
            }
            return
        }
        var pending = pendingKeys
        var q = seq, newest = limit.newest
        var i = 0
        while i < run.count {
            // Up to the size at which a round is flushed early (then the state goes back for the flush).
            let stop = min(run.count, i + max(1, (1 << 21) - pending.count))
            while i < stop {
                // Known keys (nearly all samples of a long run) in the C loop; the first new one here.
                if let base = run.baseAddress {
                    let room = stop - i
                    var took = 0
                    let inFrames = UnsafeRawPointer(frames).assumingMemoryBound(to: xprof_frame.self)
                    m.withTable { slots, mask, keys, chains, keyFrames in
                        pending.append(upTo: room) { out in
                            took = xprof_merge_known(base + i, room, inFrames, slots, mask, keys, chains, keyFrames, out, room,
                                                     &q, &newest)
                            return took
                        }
                    }
                    i += took
                    if i >= stop { break }
                }
                let p = run[i]
                let k = m.index(of: SampleMerger.Key(ip: p.ip, threads: p.threads, place: p.place, cpus: p.cpus),
                                chain: UnsafeBufferPointer(start: frames + Int(p.chain_start), count: Int(p.chain_count)), hash: p.hash)
                pending.append(MergedRef(time: p.time, weight: p.weight, seq: q, key: k, reserved: 0))
                q += 1
                if p.time > newest { newest = p.time }
                i += 1
            }
            pendingKeys = pending
            seq = q
            limit.see(newest)
            if pending.count >= 1 << 21 {
                swap(&m, &merger)
                flush(upTo: limit.newest, all: true)
                swap(&m, &merger)
                pending = pendingKeys
            }
        }
    }

    /// One side-band event.
    func sideband(_ e: SidebandEvent, time: UInt64) {
        if !ordered {
            // The merged samples before it go first.
            merger.emit(into: &ready)
            ready.append(e, time: time)
            return
        }
        sideband.append(e, time: time, seq: seq)
        seq += 1
        limit.see(time)
    }

    /// The end of a round (perf's FINISHED_ROUND, by ``RoundLimit``).
    func endRound() {
        flush(upTo: limit.endRound(), all: false)
    }

    /// The end of the input: everything still waiting goes out.
    func finish() {
        flush(upTo: UInt64.max, all: true)
        merger.emit(into: &ready)
    }

    /// What is ready, handed over (the stage starts a new batch).
    func takeReady() -> SampleBatch {
        let out = ready
        ready = SampleBatch()
        return out
    }

    /// Moves the pending samples with time ≤ `limit` into the merger, and before each due side-band event
    /// hands out what the merger holds. `all`: `limit` is the newest time seen (every sample goes).
    ///
    /// When no side-band event is due — nearly always — the samples of the previous round go into the merger
    /// as they are (their times are within the limit) and the current round's wait for the next flush, even
    /// those already within the limit: no event can come between them and the previous round's, so they
    /// belong to the same epoch either way. That way no sample is compared or copied on its way.
    /// - Complexity: O(n + s log s) for n pending samples and s pending side-band events.
    private func flush(upTo limit: UInt64, all: Bool) {
        // Side-band events in (time, seq) order; the due ones are a prefix.
        sideband.sortByTime()
        var due = 0
        while due < sideband.count, sideband[due].record.time <= limit { due += 1 }
        if due == 0 {
            for r in previousRound.buffer { merger.add(r.key, weight: r.weight, time: r.time) }
            previousRound.removeAll()
            if all {
                for r in pendingKeys.buffer { merger.add(r.key, weight: r.weight, time: r.time) }
                pendingKeys.removeAll()
            } else {
                swap(&previousRound, &pendingKeys)
            }
            compactIfSparse()
            return
        }
        // All waiting samples in one buffer (the previous round's first: the input's order is kept); those
        // past the limit are kept in the other.
        previousRound.append(contentsOf: pendingKeys.buffer)
        pendingKeys.removeAll()
        let refs = previousRound.buffer
        // The epoch of a due sample: how many due side-band events come before it in (time, seq) order.
        let sbTime = (0..<due).map { sideband[$0].record.time }
        let sbSeq = (0..<due).map { sideband[$0].seq }
        func epoch(_ r: MergedRef) -> Int {
            var lo = 0, hi = due
            while lo < hi {
                let mid = (lo + hi) / 2
                if sbTime[mid] < r.time || (sbTime[mid] == r.time && sbSeq[mid] < r.seq) { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        // Counting sort of the due samples by epoch (file order kept within one).
        epochStarts = [Int](repeating: 0, count: due + 2)
        for r in refs where r.time <= limit { epochStarts[epoch(r) + 1] += 1 }
        for e in 0...due { epochStarts[e + 1] += epochStarts[e] }
        epochOrder.removeAll()
        for _ in 0..<epochStarts[due + 1] { epochOrder.append(0) }
        var fill = epochStarts
        for (i, r) in refs.enumerated() {
            if r.time <= limit {
                let e = epoch(r)
                epochOrder[fill[e]] = Int32(truncatingIfNeeded: i)
                fill[e] += 1
            } else {
                pendingKeys.append(r)
            }
        }
        for e in 0...due {
            for j in epochStarts[e]..<epochStarts[e + 1] {
                let r = refs[Int(epochOrder[j])]
                merger.add(r.key, weight: r.weight, time: r.time)
            }
            if e < due {
                merger.emit(into: &ready)
                let r = sideband[e].record
                ready.append(r.event, time: r.time)
            }
        }
        sideband.removeFirst(due)
        // The kept samples (past this limit, within the next one) are now the previous round's.
        previousRound.removeAll()
        swap(&previousRound, &pendingKeys)
        compactIfSparse()
    }

    /// Drops the merger's keys that no waiting sample needs (``SampleMerger/compact(refs:)``) once there are
    /// `compactAt` of them and at most a quarter are still needed: on a whole system most keys are met in
    /// one epoch only (2.39 M samples were 1.8 M keys), and a table of them all made each lookup a cache miss.
    private func compactIfSparse() {
        let keys = merger.keyCount
        guard keys >= compactAt else { return }
        let needed = merger.touchedCount + previousRound.count + pendingKeys.count
        if needed * 4 <= keys {
            merger.compact(refs: [previousRound.mutableBuffer, pendingKeys.mutableBuffer])
        } else {
            // Mostly needed still: try again when the table is twice as large.
            compactAt = keys * 2
            return
        }
        compactAt = max(Self.compactMinimum, merger.keyCount * 4)
    }

    /// The merger's keys now (tests watch compaction keep it small).
    var keyCount: Int { merger.keyCount }

    /// When the merger is next looked at for compaction (see ``compactIfSparse()``).
    private var compactAt = MergeStage.compactMinimum
    static let compactMinimum = 1 << 16
}

/// A run of parsed samples — and the side-band events and round ends among them — on its way from the
/// decoding thread to a ``MergeWorker``. Reused: the worker hands it back empty.
final class PerfChunk: @unchecked Sendable {
    /// A sample as the decoder parsed it: its merger key's words and hash, time, weight and callchain (in
    /// `frames`). The C type, so that the decoder's C fast path writes chunks directly.
    typealias Parsed = xprof_parsed_sample

    enum Control {
        case sideband(SidebandEvent, time: UInt64)
        case endRound
    }

    static let capacity = 8192
    var samples = PlainBuffer<Parsed>(capacity: PerfChunk.capacity)
    var frames = PlainBuffer<CallFrame>(capacity: 1 << 15)
    /// In order, each to be applied before the sample at `before`.
    var controls: [(before: Int, control: Control)] = []
    /// The input ends with this chunk.
    var last = false

    deinit {
        samples.release()
        frames.release()
    }

    func reset() {
        samples.removeAll()
        frames.removeAll()
        controls.removeAll(keepingCapacity: true)
        last = false
    }
}

/// Runs a ``MergeStage`` on a thread of its own, fed with chunks by the decoding thread: the two halves of
/// decoding a large perf.data (reading and parsing records; merging and ordering samples) then take about
/// the same time each, on two cores. Output batches come back through `outputs` (nil after the last).
final class MergeWorker: @unchecked Sendable {
    let chunks = HandOff<PerfChunk>(capacity: 3)
    /// Emptied chunks, back to the decoder.
    let free = HandOff<PerfChunk>(capacity: 16)
    let outputs = HandOff<SampleBatch?>(capacity: 1 << 16)
    private let stage: MergeStage

    init(ordered: Bool) {
        stage = MergeStage(ordered: ordered)
    }

    /// Starts the thread; it ends after the last chunk, or when `chunks` is cancelled. False when no
    /// thread could be made.
    func start() -> Bool {
        startDetachedThread { [self] in run() }
    }

    private func run() {
        // What merging saved (XPROF_TIMINGS): samples in and out, and side-band events.
        var samplesIn = 0, samplesOut = 0, sidebandOut = 0
        func put(_ batch: SampleBatch) {
            samplesOut += batch.samples.count
            sidebandOut += batch.sideband.count
            _ = outputs.put(batch)
        }
        while let c = chunks.take() {
            samplesIn += c.samples.count
            var next = 0
            let controls = c.controls
            func apply(upTo i: Int) {
                while next < controls.count, controls[next].before <= i {
                    switch controls[next].control {
                    case .sideband(let e, let time): stage.sideband(e, time: time)
                    case .endRound: stage.endRound()
                    }
                    next += 1
                }
            }
            // The samples in runs between controls.
            let samples = c.samples.buffer, frames = c.frames.base
            var from = 0
            while from < samples.count {
                apply(upTo: from)
                let to = next < controls.count ? min(samples.count, max(from + 1, controls[next].before)) : samples.count
                stage.samples(UnsafeBufferPointer(rebasing: samples[from..<to]), frames: frames)
                from = to
            }
            apply(upTo: Int.max)
            let last = c.last
            c.reset()
            _ = free.put(c)
            if last {
                stage.finish()
                if !stage.ready.isEmpty { put(stage.takeReady()) }
                Timings.mark("merged: \(samplesIn) samples in, \(samplesOut) out, \(sidebandOut) side-band events")
                _ = outputs.put(nil)
                return
            }
            if stage.ready.samples.count >= 16384 || stage.ready.sideband.count >= 16384 {
                put(stage.takeReady())
            }
        }
    }
}

/// Runs `body` on a new, detached thread (not a dispatch worker: this one blocks on hand-offs, and
/// libdispatch's pool on a two-CPU machine may not start another worker while two are blocked). False
/// when the thread could not be made (then `body` does not run).
func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { p in
        let b = Unmanaged<Box>.fromOpaque(p!).takeRetainedValue()
        b.body()
        return nil
    }, box)
    guard rc == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return false
    }
    pthread_detach(thread)
    return true
}
