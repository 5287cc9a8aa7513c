import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `-F`: samples a second, or `max` — the kernel's limit, `kernel.perf_event_max_sample_rate`, as perf
/// record takes it.
public struct SamplingRate: ExpressibleByArgument, Sendable, Equatable {
    /// A number, or nil for `max`.
    public var hertz: UInt64?

    /// A rate of `hertz` samples a second, or the kernel's limit for nil.
    public init(hertz: UInt64?) { self.hertz = hertz }

    /// `-F`'s value: a positive number, or `max`; nil for anything else (ArgumentParser says so).
    public init?(argument: String) {
        if argument == "max" { hertz = nil; return }
        guard let n = UInt64(argument), n >= 1 else { return nil }
        hertz = n
    }

    /// What help shows as the default: the number, or `max`.
    public var defaultValueDescription: String { hertz.map(String.init) ?? "max" }

    /// The rate to ask the kernel for: the number, or the kernel's limit for `max` (1000 when unreadable).
    public var resolved: UInt64 {
        if let hertz { return hertz }
        let fd = open("/proc/sys/kernel/perf_event_max_sample_rate", O_RDONLY)
        guard fd >= 0 else { return 1000 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buf, buf.count)
        guard n > 0, let v = UInt64(String(decoding: buf[0..<n], as: UTF8.self).filter(\.isNumber)), v > 0 else { return 1000 }
        return v
    }

    /// For help texts.
    public static let help = "Samples a second per CPU, or max (the kernel's limit, kernel.perf_event_max_sample_rate)"
}
