/// Linux `perf.data`, file mode and pipe mode, either byte order
/// (tools/perf/Documentation/perf.data-file-format.txt).
public enum PerfDataFormat: SampleFormat {
    public static let name = "perf.data"

    static let magicLE: [UInt8] = Array("PERFILE2".utf8)
    static let magicBE: [UInt8] = Array("2ELIFREP".utf8)
    static let magicV1: [UInt8] = Array("PERFFILE".utf8)

    // Record types perf's tool writes (enum perf_user_event_type); the kernel's are in PerfSidebandRecords.
    static let headerAttr: UInt32 = 64, headerEventType: UInt32 = 65, headerTracingData: UInt32 = 66
    static let headerBuildID: UInt32 = 67, finishedRound: UInt32 = 68, auxtrace: UInt32 = 71
    static let headerFeature: UInt32 = 80, compressed: UInt32 = 81, compressed2: UInt32 = 83
    /// Kernel and tool record types that carry nothing xprof needs (skipped without counting as unknown).
    static let ignored: Set<UInt32> = [5, 6, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 65, 70, 72, 73, 74,
                                       75, 76, 77, 78, 79, 82]

    public static func sniff(prefix: [UInt8], path: String) -> Bool {
        prefix.starts(with: magicLE) || prefix.starts(with: magicBE) || prefix.starts(with: magicV1)
    }

    public static func open(path: String) throws(SampleIOError) -> any SampleSource {
        let bytes = try PerfFileBytes.open(path)
        if bytes.raw.starts(with: magicV1) {
            throw SampleIOError(.unsupported,
                                "this is a perf.data file of the legacy version 1 format (magic 'PERFFILE'), written by perf before Linux 2.6.37; xprof reads version 2 ('PERFILE2') only",
                                path: path, offset: 0,
                                hint: "re-record with a current perf, or convert it with an old perf's `perf inject`")
        }
        do {
            return XenVPMUSource(try PerfDataSource(file: bytes, path: path))
        } catch {
            throw error.at(path: path)
        }
    }
}
