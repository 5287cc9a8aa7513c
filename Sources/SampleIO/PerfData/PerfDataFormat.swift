/// Linux `perf.data`, file mode and pipe mode, either byte order
/// (tools/perf/Documentation/perf.data-file-format.txt).
public enum PerfDataFormat: SampleFormat {
    public static let name = "perf.data"

    static let magicLE: [UInt8] = Array("PERFILE2".utf8)
    static let magicBE: [UInt8] = Array("2ELIFREP".utf8)
    static let magicV1: [UInt8] = Array("PERFFILE".utf8)

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
