import ArgumentParser
import SampleIO

/// What an input cannot say about itself (docs/XEN.md): shared by every command that reads samples.
public struct InputOptions: ParsableArguments {
    @Option(name: .customLong("cpu-hz"), help: ArgumentHelp("The tracing host's TSC rate for xentrace files, which record cycles, not time: a number of Hz, or with a unit (2.4GHz, 2400MHz). Default 2.4 GHz, as xenalyze.", valueName: "HZ"))
    public var cpuHz: String?

    /// Options as ArgumentParser fills them (none given).
    public init() {}

    /// Refuses a `--cpu-hz` that is not a rate (``parseHz(_:)``), with the forms it takes.
    public func validate() throws {
        if let cpuHz, Self.parseHz(cpuHz) == nil {
            throw ValidationError("--cpu-hz expects a rate in Hz, e.g. 2400000000, 2.4GHz or 2400MHz, not '\(cpuHz)'")
        }
    }

    /// `2400000000`, `2.4GHz`, `2400MHz`, `2400000kHz` (case-insensitive) in Hz; nil if not a positive rate.
    public static func parseHz(_ text: String) -> UInt64? {
        let t = text.lowercased()
        var number = Substring(t), scale = 1.0
        for (suffix, s) in [("ghz", 1e9), ("mhz", 1e6), ("khz", 1e3), ("hz", 1.0), ("g", 1e9), ("m", 1e6), ("k", 1e3)] where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = s
            break
        }
        guard let v = Double(number), v > 0, v * scale >= 1e3, v * scale < 1e12 else { return nil }
        return UInt64((v * scale).rounded())
    }

    /// The reader's options these name.
    public var readOptions: ReadOptions { ReadOptions(cpuHz: cpuHz.flatMap(Self.parseHz)) }

    /// Opens `path` by content with these options.
    public func open(_ path: String) throws(SampleIOError) -> any SampleSource {
        try SampleReader.open(path: path, options: readOptions)
    }
}
