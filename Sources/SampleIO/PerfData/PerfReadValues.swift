/// The counter values a PERF_SAMPLE_READ sample carries, and perf's rule for turning them into samples.
///
/// Layouts (include/uapi/linux/perf_event.h, `struct read_format`), every field a u64:
///
///     without PERF_FORMAT_GROUP: value, [time_enabled], [time_running], [id], [lost]
///     with PERF_FORMAT_GROUP:    nr, [time_enabled], [time_running], nr × { value, [id], [lost] }
///
/// perf (tools/perf/util/session.c, `deliver_sample_value` and `deliver_sample_group`) does not use such a
/// sample's own period: it delivers one sample per value, attributed to the event that owns the value's id,
/// with the period `value − the previous value of that id` (0 before the first); a value that did not change
/// delivers nothing, and a value whose id no attr lists is counted as unknown and delivers nothing. This is
/// how a leader-sampled group (`perf record -e '{A,B}:S'`) becomes samples of A and of B.
///
/// The ids are per counter (per event, CPU and thread), so previous values are kept per id. perf applies the
/// rule in time order; the values of one id all come through one ring buffer, in time order, so file order
/// gives the same periods.
struct PerfReadValues {
    /// The last value seen per id.
    private var last: [UInt64: UInt64] = [:]

    /// The period perf delivers for `value` of counter `id`, remembering `value` for the next one.
    /// 0 when the value did not change (perf then delivers no sample).
    @inline(__always)
    mutating func period(id: UInt64, value: UInt64) -> UInt64 {
        let before = last.updateValue(value, forKey: id) ?? 0
        return value &- before
    }

    /// Calls `body(id, value)` for each value of the read area at byte `at` of `r` (which the sample's walk
    /// found to be complete) in the layout `readFormat` gives. Without PERF_FORMAT_ID every id is 0.
    @inline(__always)
    static func forEach(in r: RawRecord, at: Int, readFormat rf: UInt64, _ body: (UInt64, UInt64) -> Void) {
        let times = (rf & PerfAttr.fmtTotalTimeEnabled != 0 ? 8 : 0) + (rf & PerfAttr.fmtTotalTimeRunning != 0 ? 8 : 0)
        let hasID = rf & PerfAttr.fmtID != 0
        if rf & PerfAttr.fmtGroup == 0 {
            guard at >= 0, r.count - at >= 8 + times + (hasID ? 8 : 0) else { return }
            body(hasID ? r.u64(at + 8 + times) : 0, r.u64(at))
            return
        }
        guard at >= 0, r.count - at >= 8 + times else { return }
        let stride = 8 + (hasID ? 8 : 0) + (rf & PerfAttr.fmtLost != 0 ? 8 : 0)
        let nr = r.u64(at)
        guard nr <= UInt64((r.count - at - 8 - times) / stride) else { return }
        var o = at + 8 + times
        for _ in 0..<Int(nr) {
            body(hasID ? r.u64(o + 8) : 0, r.u64(o))
            o += stride
        }
    }
}
