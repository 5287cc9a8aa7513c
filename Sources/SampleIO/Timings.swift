#if canImport(Glibc)
import Glibc
#endif

/// With `XPROF_TIMINGS=1` in the environment, xprof writes a line to stderr at each step of its work (start,
/// arguments parsed, decoding started, each symbol table read, decoding done, report printed …): the wall
/// clock in microseconds (`$EPOCHREALTIME` without its dot, so a shell can subtract its own start time) and
/// the milliseconds since the first mark, then the step. For finding where a run's time goes; off, a mark
/// costs one load and a branch.
public enum Timings {
    private static let enabled = getenv("XPROF_TIMINGS").map { String(cString: $0) != "0" } ?? false
    /// The first mark's time (made then, once, by whichever thread marks first).
    private static let first = now()

    private static func now() -> Int {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int(t.tv_sec) * 1_000_000 + Int(t.tv_nsec) / 1000
    }

    /// Notes that `step` is reached (the text is only made when timings are on).
    public static func mark(_ step: @autoclosure () -> String) {
        guard enabled else { return }
        let start = first, us = now()
        let ms = Double(us - start) / 1000
        let line = "xprof timings: \(us) \((ms * 10).rounded() / 10) ms \(step())\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}
