/// Puts the records of several per-CPU rings into time order, the way perf's ordered events do with
/// FINISHED_ROUND.
///
/// Each ring is in time order, but the recorder drains the rings one after another, so a process that
/// execs on one CPU and runs on another can have samples read before the MMAP record that maps them.
/// Records are kept until a later round proves nothing older can still arrive: a record not yet read when
/// round N is drained was written after round N started, so it is newer than everything read in round N-1.
/// ``add(_:)`` takes one round's records (rings concatenated); ``release(upTo:)`` hands out, in (time,
/// arrival) order, those no newer than the limit ``RoundLimit`` gives (the previous round's newest time).
struct RoundOrderer {
    /// Records waiting for a later round, in arrival order.
    private(set) var pending = SampleBatch()

    /// The newest time among the records of `batch` (0 if it holds none).
    static func newestTime(_ batch: SampleBatch) -> UInt64 {
        var t: UInt64 = 0
        for s in batch.samples where s.time > t { t = s.time }
        for r in batch.sideband where r.time > t { t = r.time }
        return t
    }

    /// Appends one round's records after those waiting.
    mutating func add(_ batch: SampleBatch) {
        pending.appendBatch(batch)
    }

    /// Removes and returns, in time order, the waiting records whose time is at most `limit`; records of
    /// equal time keep their arrival order, a side-band record before the sample that followed it.
    mutating func release(upTo limit: UInt64) -> SampleBatch {
        var ready: [(time: UInt64, place: Int, side: Bool, index: Int)] = []
        var rest = SampleBatch()
        let batch = pending
        Self.forEachRecord(of: batch) { side, index, time in
            if time <= limit {
                ready.append((time, ready.count, side, index))
            } else {
                Self.copy(side, index, of: batch, to: &rest)
            }
        }
        pending = rest
        guard !ready.isEmpty else { return SampleBatch() }
        ready.sort { $0.time != $1.time ? $0.time < $1.time : $0.place < $1.place }
        var out = SampleBatch()
        out.samples.reserveCapacity(ready.count)
        for item in ready { Self.copy(item.side, item.index, of: batch, to: &out) }
        return out
    }

    /// Calls `body` with each record of `batch` in arrival order: whether it is a side-band record, its index
    /// (in `sideband` or `samples`) and its time.
    private static func forEachRecord(of batch: SampleBatch, _ body: (Bool, Int, UInt64) -> Void) {
        var j = 0
        for i in 0...batch.samples.count {
            while j < batch.sideband.count, batch.sideband[j].beforeSample <= i {
                body(true, j, batch.sideband[j].time)
                j += 1
            }
            guard i < batch.samples.count else { break }
            body(false, i, batch.samples[i].time)
        }
    }

    /// Appends one record of `batch` (a side-band record, or a sample with its callchain) to `out`.
    private static func copy(_ side: Bool, _ index: Int, of batch: SampleBatch, to out: inout SampleBatch) {
        if side {
            let r = batch.sideband[index]
            out.sideband.append(SidebandRecord(beforeSample: out.samples.count, time: r.time, event: r.event))
        } else {
            out.append(batch.samples[index], callchain: batch.callchain(of: index))
        }
    }
}
