/// perf's FINISHED_ROUND rule, written once for the places that order events by time: the round sorter
/// (``PerfRoundSorter``, which the file reader and the live recorder both use) and the merging stage
/// (``MergeStage``).
///
/// perf writes the ring buffers out in rounds; a round's records are each in time order per ring but not
/// across rings. Whatever a later round holds was written after the previous round was complete, so it is
/// newer than everything seen *before* the previous round ended: when round N ends, the events up to the
/// newest time seen by the end of round N-1 are complete and can go out (docs/ARCHITECTURE.md, "perf.data").
struct RoundLimit {
    /// The newest time seen so far.
    private(set) var newest: UInt64 = 0
    /// The newest time seen when the previous round ended.
    private var previous: UInt64 = 0

    /// Notes an event of time `time`.
    @inline(__always)
    mutating func see(_ time: UInt64) {
        if time > newest { newest = time }
    }

    /// Ends a round: returns the time up to which events are complete (and may be released).
    mutating func endRound() -> UInt64 {
        let limit = previous
        previous = newest
        return limit
    }
}
