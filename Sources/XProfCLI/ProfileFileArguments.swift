import ArgumentParser

/// The profile a command reads, given as perf's commands take it: a positional FILE or `-i FILE`, and without
/// either the file `xprof record` writes by default.
public struct ProfileFileArguments: ParsableArguments {
    /// What `xprof record` writes without -o.
    public static let defaultFile = "xprof.data.xprof"

    @Argument(help: ArgumentHelp("The profile: .xprof, perf.data, Xenoprof capture or xentrace file (default \(Self.defaultFile), what record writes).",
                                 valueName: "file"))
    public var positional: String?

    @Option(name: [.customShort("i"), .customLong("input")], help: ArgumentHelp("The profile, as perf's -i (instead of the positional file).", valueName: "file"))
    public var input: String?

    /// Options as ArgumentParser fills them (none given).
    public init() {}

    /// Refuses a profile given twice (as FILE and as `-i FILE`).
    public func validate() throws {
        if positional != nil, input != nil { throw ValidationError("give the profile once: as FILE or as -i FILE") }
    }

    /// The path to read.
    public var path: String { input ?? positional ?? Self.defaultFile }
}
