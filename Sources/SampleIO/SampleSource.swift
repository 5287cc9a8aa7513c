/// A decoded input: its metadata up front, then its samples batch by batch.
///
/// Consumers call ``nextBatch()`` until it returns `nil`, then read ``stats`` for what was lost,
/// dropped or skipped. Batches are bounded in size so memory does not grow with the number of samples.
public protocol SampleSource: AnyObject {
    /// The run's metadata (complete before the first batch; some sources add to `stats` as they go).
    var metadata: RunMetadata { get }
    /// Everything the decoder could not deliver so far.
    var stats: DecodeStats { get }
    /// The next batch, or nil at the end of the input. Throws on input that cannot be read further;
    /// a source that can recover (skip a corrupt buffer) records it in `stats` instead.
    func nextBatch() throws(SampleIOError) -> SampleBatch?
    /// Tells the source whether callchains will be used; a source may then skip decoding them.
    /// Call before the first batch. The default does nothing.
    func setCallchainsWanted(_ wanted: Bool)
    /// Tells the source that the consumer only counts: samples that are identical but for their time and
    /// weight (same address, thread, CPUs, domain, mode, event and, when wanted, callchain) and that no
    /// side-band event separates may then arrive as one ``Sample`` with ``Sample/count`` > 1. Call before the
    /// first batch. The default ignores it (every sample has a count of 1).
    func setMergingAllowed(_ allowed: Bool)
}

extension SampleSource {
    /// Ignores the hint: the source always decodes callchains.
    public func setCallchainsWanted(_ wanted: Bool) {}
    /// Ignores the permission: every sample keeps a ``Sample/count`` of 1.
    public func setMergingAllowed(_ allowed: Bool) {}
}

/// A format xprof can read: it sniffs the first bytes of a file, then opens it.
public protocol SampleFormat: Sendable {
    /// Short name shown to the user (`xprof`, `perf.data` …).
    static var name: String { get }
    /// Whether `prefix` (the first up-to-4096 bytes of a file) or `path` (for directory formats) is this format.
    static func sniff(prefix: [UInt8], path: String) -> Bool
    /// Opens `path` for decoding.
    static func open(path: String) throws(SampleIOError) -> any SampleSource
    /// Opens `path` for decoding with the reader's options (formats that take none ignore them).
    static func open(path: String, options: ReadOptions) throws(SampleIOError) -> any SampleSource
}

extension SampleFormat {
    /// Opens `path` with the options ignored (for formats whose ``open(path:)`` takes none).
    public static func open(path: String, options: ReadOptions) throws(SampleIOError) -> any SampleSource {
        try open(path: path)
    }
}

/// What some inputs cannot say about themselves and the user can: given on the command line.
public struct ReadOptions: Sendable, Equatable {
    /// The tracing host's TSC rate in Hz (xentrace files record cycles, not time); nil: xenalyze's default.
    public var cpuHz: UInt64?
    /// Options; `cpuHz` nil uses xenalyze's default rate for xentrace files.
    public init(cpuHz: UInt64? = nil) {
        self.cpuHz = cpuHz
    }
}

/// Opens any supported input by content, never by file name.
public enum SampleReader {
    /// Formats tried in order. Each decoder adds its type here (one line per format).
    public static let formats: [any SampleFormat.Type] = [
        XprofFormat.self,
        PerfDataFormat.self,
        XenoprofCaptureFormat.self,
        XentraceFormat.self,
    ]

    /// Opens `path` with the first format that recognises it.
    public static func open(path: String, options: ReadOptions = ReadOptions()) throws(SampleIOError) -> any SampleSource {
        let prefix = try FileBytes.prefix(of: path, count: 4096)
        for f in formats where f.sniff(prefix: prefix, path: path) {
            do {
                return try f.open(path: path, options: options)
            } catch {
                throw error.at(path: path)
            }
        }
        if FileBytes.isDirectory(path) {
            throw SampleIOError(.unsupported, "a directory that holds no input xprof reads",
                                path: path, hint: "a Xenoprof capture directory holds capture.json; perf.data, .xprof and xentrace inputs are files: give one of them")
        }
        let head = prefix.prefix(8).map { String(format2: $0) }.joined(separator: " ")
        throw SampleIOError(.unsupported,
                            "not a format xprof reads: the first bytes are \(head.isEmpty ? "(empty file)" : head)",
                            path: path, offset: 0,
                            hint: "xprof reads " + formats.map { $0.name }.joined(separator: ", ") + " inputs")
    }
}

extension String {
    /// Two-digit lower-case hex of a byte.
    public init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
