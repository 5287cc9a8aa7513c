/// Puts the records of several per-CPU rings into time order, the way perf's ordered events do with
/// FINISHED_ROUND.
///
/// Each ring is in time order, but the recorder drains the rings one after another, so a process that
/// execs on one CPU and runs on another can have samples read before the MMAP record that maps them.
/// Records are kept until a later round proves nothing older can still arrive: a record not yet read when
/// round N is drained was written after round N started, so it is newer than everything read in round N-1.
/// ``add(_:)`` takes one round's records (rings concatenated); ``release(upTo:)`` hands out, in (time,
/// arrival) order, those no newer than the previous round's newest time.
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
        guard !batch.isEmpty else { return }
        Self.appendInOrder(batch, to: &pending) { _ in true }
    }

    /// Removes and returns, in time order, the waiting records whose time is at most `limit`; records of
    /// equal time keep their arrival order, a side-band record before the sample that followed it.
    mutating func release(upTo limit: UInt64) -> SampleBatch {
        var ready: [(time: UInt64, place: UInt64, side: Bool, index: Int)] = []
        let batch = pending
        var j = 0
        for i in 0...batch.samples.count {
            while j < batch.sideband.count, batch.sideband[j].beforeSample <= i {
                let r = batch.sideband[j]
                if r.time <= limit { ready.append((r.time, UInt64(ready.count), true, j)) }
                j += 1
            }
            guard i < batch.samples.count else { break }
            if batch.samples[i].time <= limit { ready.append((batch.samples[i].time, UInt64(ready.count), false, i)) }
        }
        guard !ready.isEmpty else { return SampleBatch() }
        ready.sort { $0.time != $1.time ? $0.time < $1.time : $0.place < $1.place }
        var out = SampleBatch()
        out.samples.reserveCapacity(ready.count)
        for item in ready {
            if item.side {
                out.sideband.append(SidebandRecord(beforeSample: out.samples.count, time: batch.sideband[item.index].time,
                                                   event: batch.sideband[item.index].event))
            } else {
                out.append(batch.samples[item.index], callchain: batch.callchain(of: item.index))
            }
        }
        var rest = SampleBatch()
        Self.appendInOrder(batch, to: &rest) { $0 > limit }
        pending = rest
        return out
    }

    /// Appends the records of `batch` whose time passes `keep` to `out`, in arrival order.
    private static func appendInOrder(_ batch: SampleBatch, to out: inout SampleBatch, keep: (UInt64) -> Bool) {
        var j = 0
        for i in 0...batch.samples.count {
            while j < batch.sideband.count, batch.sideband[j].beforeSample <= i {
                let r = batch.sideband[j]
                if keep(r.time) { out.sideband.append(SidebandRecord(beforeSample: out.samples.count, time: r.time, event: r.event)) }
                j += 1
            }
            guard i < batch.samples.count else { break }
            if keep(batch.samples[i].time) { out.append(batch.samples[i], callchain: batch.callchain(of: i)) }
        }
    }
}
