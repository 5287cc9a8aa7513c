/// Puts the events of a perf.data with timestamps in time order, as perf's ordered events do: decoded
/// samples (with their callchains) and side-band events wait here until a FINISHED_ROUND proves nothing
/// older can follow (``RoundLimit``), then go out in (time, file order).
///
/// A waiting sample's callchain stays in the file when the file is at hand (``queue(_:chainInFileAt:count:into:)``:
/// only where it is, decoded once when the sample goes out) or is copied into `pendingFrames`.
///
/// The live recorder sorts the records of its per-CPU rings with the same rule and the same sorter, without a
/// file: it queues each drained round as a batch (``queue(_:into:)``) and ends the round
/// (docs/ARCHITECTURE.md, "Recording").
public final class PerfRoundSorter {
    /// The file's records (nil for the live recorder, whose callchains are always copied in).
    private unowned(unsafe) let cursor: PerfRecordCursor?
    private var limit = RoundLimit()
    /// Samples waiting, with their file sequence numbers and where their callchains are (`inFile` | file
    /// offset of the raw entries, else the index of their frames in `pendingFrames`; with a file reference,
    /// `chainCount` holds the raw entry count).
    private var pendingSamples = PlainBuffer<Sample>(capacity: 1 << 16)
    private var pendingSampleSeq = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var pendingChain = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var pendingFrames = PlainBuffer<CallFrame>(capacity: 1 << 16)
    private var pendingSideband = SidebandQueue()
    /// Scratch storage reused by every flush (no allocation per round once warmed up).
    private var order: [Int32] = []
    private var keptSamples = PlainBuffer<Sample>(capacity: 1 << 16)
    private var keptSampleSeq = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var keptChain = PlainBuffer<UInt64>(capacity: 1 << 16)
    private var keptFrames = PlainBuffer<CallFrame>(capacity: 1 << 16)
    /// Where a callchain kept in the file is decoded when its sample goes out.
    private let scratch = ChainScratch()
    private var seq: UInt64 = 0
    /// The lowest file offset a waiting sample still needs (pages before it can be handed back).
    private(set) var oldestNeeded = Int.max
    /// Where the data was at the last flush: samples queued since then come from records at or after it.
    private(set) var posAtLastFlush = 0

    /// Marks a pending sample's chain reference as a byte offset into the file.
    private static let inFile: UInt64 = 1 << 63

    /// Sorts the events of the records `cursor` reads (whose file holds the callchains left in place).
    init(cursor: PerfRecordCursor?) {
        self.cursor = cursor
    }

    /// Sorts records that are not in a file: the live recorder's rings (module Recording).
    public convenience init() {
        self.init(cursor: nil)
    }

    deinit {
        pendingSamples.release(); pendingSampleSeq.release(); pendingChain.release(); pendingFrames.release()
        keptSamples.release(); keptSampleSeq.release(); keptChain.release(); keptFrames.release()
    }

    /// A sample without callchain.
    @inline(__always)
    func queue(_ s: Sample, into ready: inout SampleBatch) {
        append(s, chain: 0, into: &ready)
    }

    /// A sample whose `count` raw callchain entries are at byte `at` of the file.
    @inline(__always)
    func queue(_ s: Sample, chainInFileAt at: Int, count: Int, into ready: inout SampleBatch) {
        var s = s
        s.chainCount = UInt32(truncatingIfNeeded: count)
        append(s, chain: Self.inFile | UInt64(at), into: &ready)
    }

    /// A sample with its decoded callchain.
    @inline(__always)
    func queue(_ s: Sample, chain: UnsafeBufferPointer<CallFrame>, into ready: inout SampleBatch) {
        var s = s
        let start = pendingFrames.count
        pendingFrames.append(contentsOf: chain)
        s.chainStart = UInt32(truncatingIfNeeded: start)
        s.chainCount = UInt32(truncatingIfNeeded: chain.count)
        append(s, chain: UInt64(start), into: &ready)
    }

    @inline(__always)
    private func append(_ s: Sample, chain: UInt64, into ready: inout SampleBatch) {
        pendingSamples.append(s)
        pendingSampleSeq.append(seq)
        pendingChain.append(chain)
        seq += 1
        limit.see(s.time)
        if pendingSamples.count >= 1 << 21 { flush(upTo: limit.newest, into: &ready) }
    }

    /// The records of one drained round of the live recorder's rings, in the order they were read (each ring
    /// in time order, the rings one after another); callchains are copied from the batch's frames.
    public func queue(_ batch: SampleBatch, into ready: inout SampleBatch) {
        var j = 0
        batch.frames.withUnsafeBufferPointer { frames in
            for i in 0...batch.samples.count {
                while j < batch.sideband.count, batch.sideband[j].beforeSample <= i {
                    queue(batch.sideband[j].event, time: batch.sideband[j].time)
                    j += 1
                }
                guard i < batch.samples.count else { break }
                let s = batch.samples[i]
                let start = Int(s.chainStart), count = Int(s.chainCount)
                if count == 0 || start + count > frames.count {
                    var plain = s
                    plain.chainCount = 0
                    queue(plain, into: &ready)
                } else {
                    queue(s, chain: UnsafeBufferPointer(rebasing: frames[start..<(start + count)]), into: &ready)
                }
            }
        }
    }

    /// A side-band event.
    func queue(_ e: SidebandEvent, time: UInt64) {
        pendingSideband.append(e, time: time, seq: seq)
        seq += 1
        limit.see(time)
    }

    /// The end of a round (FINISHED_ROUND): what is complete goes to `ready`.
    public func endRound(into ready: inout SampleBatch) {
        flush(upTo: limit.endRound(), into: &ready)
    }

    /// The end of the input: everything goes to `ready`.
    public func finish(into ready: inout SampleBatch) {
        flush(upTo: UInt64.max, into: &ready)
    }

    /// Moves the pending events with time ≤ `limit` to `ready`, in (time, file order).
    ///
    /// Sorts index arrays (not the events), skips the sort when the round is already in time order, and
    /// copies each callchain once into `ready` (or once into the kept arena when it must wait).
    /// - Complexity: O(n log n) in the pending events; no allocation once the scratch arrays have grown.
    private func flush(upTo limit: UInt64, into ready: inout SampleBatch) {
        if pendingSamples.isEmpty && pendingSideband.isEmpty { return }
        // Samples in (time, seq) order.
        order.removeAll(keepingCapacity: true)
        var inOrder = true
        var anyChain = false
        do {
            let smp = pendingSamples.buffer, seq = pendingSampleSeq.buffer
            var prevTime: UInt64 = 0, prevSeq: UInt64 = 0
            for i in 0..<smp.count {
                let t = smp[i].time, q = seq[i]
                if smp[i].chainCount != 0 { anyChain = true }
                if t < prevTime || (t == prevTime && q < prevSeq) { inOrder = false }
                prevTime = t
                prevSeq = q
                order.append(Int32(truncatingIfNeeded: i))
            }
            if !inOrder {
                order.sort { a, b in
                    let ta = smp[Int(a)].time, tb = smp[Int(b)].time
                    return ta != tb ? ta < tb : seq[Int(a)] < seq[Int(b)]
                }
            }
        }
        if !anyChain && pendingSideband.isEmpty {
            flushPlainSamples(upTo: limit, into: &ready)
            return
        }
        pendingSideband.sortByTime()
        keptSamples.removeAll()
        keptSampleSeq.removeAll()
        keptChain.removeAll()
        keptFrames.removeAll()
        oldestNeeded = Int.max
        posAtLastFlush = cursor?.pos ?? 0
        var nextSideband = 0
        let scratch = self.scratch.frames
        let frames = pendingFrames.buffer
        for oi in order {
            let i = Int(oi)
            var smp = pendingSamples[i]
            let q = pendingSampleSeq[i]
            // Side-band events that come before this sample (and are due) go first.
            while nextSideband < pendingSideband.count {
                let (e, eq) = pendingSideband[nextSideband]
                guard e.time <= limit, e.time < smp.time || (e.time == smp.time && eq < q) else { break }
                ready.append(e.event, time: e.time)
                nextSideband += 1
            }
            if smp.chainCount == 0 {
                if smp.time <= limit {
                    ready.samples.append(smp)
                } else {
                    keptSamples.append(smp)
                    keptSampleSeq.append(q)
                    keptChain.append(0)
                }
                continue
            }
            let ref = pendingChain[i]
            if ref & Self.inFile != 0, let cursor {
                let at = Int(ref & ~Self.inFile), count = Int(smp.chainCount)
                if smp.time <= limit {
                    let r = RawRecord(p: UnsafeRawBufferPointer(rebasing: cursor.file.raw[at..<(at + 8 * count)]), big: cursor.big)
                    let range = PerfModes.decodeChain(r, at: 0, count: count, ip: smp.ip, mode: smp.mode, into: scratch)
                    smp.chainStart = UInt32(truncatingIfNeeded: ready.frames.count)
                    smp.chainCount = UInt32(truncatingIfNeeded: range.count)
                    ready.frames.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[range]))
                    ready.samples.append(smp)
                } else {
                    keptSamples.append(smp)
                    keptSampleSeq.append(q)
                    keptChain.append(ref)
                    oldestNeeded = min(oldestNeeded, at)
                }
                continue
            }
            let start = Int(smp.chainStart), count = Int(smp.chainCount)
            let chain = count > 0 && start + count <= frames.count
                ? UnsafeBufferPointer(rebasing: frames[start..<(start + count)]) : UnsafeBufferPointer(start: nil, count: 0)
            if smp.time <= limit {
                smp.chainStart = chain.isEmpty ? 0 : UInt32(truncatingIfNeeded: ready.frames.count)
                smp.chainCount = UInt32(truncatingIfNeeded: chain.count)
                ready.frames.append(contentsOf: chain)
                ready.samples.append(smp)
            } else {
                smp.chainStart = chain.isEmpty ? 0 : UInt32(truncatingIfNeeded: keptFrames.count)
                smp.chainCount = UInt32(truncatingIfNeeded: chain.count)
                keptChain.append(UInt64(keptFrames.count))
                keptFrames.append(contentsOf: chain)
                keptSamples.append(smp)
                keptSampleSeq.append(q)
            }
        }
        while nextSideband < pendingSideband.count {
            let e = pendingSideband[nextSideband].record
            guard e.time <= limit else { break }
            ready.append(e.event, time: e.time)
            nextSideband += 1
        }
        pendingSideband.removeFirst(nextSideband)
        swap(&pendingSamples, &keptSamples)
        swap(&pendingSampleSeq, &keptSampleSeq)
        swap(&pendingChain, &keptChain)
        swap(&pendingFrames, &keptFrames)
    }

    /// `flush(upTo:into:)` when `order` is ready and the pending events are samples without callchains: the
    /// due ones (a prefix of `order`) are gathered into `ready` in one block, the rest kept in order.
    private func flushPlainSamples(upTo limit: UInt64, into ready: inout SampleBatch) {
        posAtLastFlush = cursor?.pos ?? 0
        oldestNeeded = Int.max
        let n = order.count
        let smp = pendingSamples.buffer, seq = pendingSampleSeq.buffer
        order.withUnsafeBufferPointer { ord in
            var due = 0
            while due < n && smp[Int(ord[due])].time <= limit { due += 1 }
            ready.samples.append(contentsOf: (0..<due).lazy.map { smp[Int(ord[$0])] })
            keptSamples.removeAll()
            keptSampleSeq.removeAll()
            keptChain.removeAll()
            for k in due..<n {
                keptSamples.append(smp[Int(ord[k])])
                keptSampleSeq.append(seq[Int(ord[k])])
                keptChain.append(0)
            }
        }
        swap(&pendingSamples, &keptSamples)
        swap(&pendingSampleSeq, &keptSampleSeq)
        swap(&pendingChain, &keptChain)
        pendingFrames.removeAll()
    }
}
