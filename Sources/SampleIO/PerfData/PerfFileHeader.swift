/// The header of a perf.data (`struct perf_file_header`, tools/perf/Documentation/perf.data-file-format.txt):
/// its byte order, file or pipe layout, the attr section and where the data and the feature table are.
/// Read before anything else, so a file that is not one fails here with where and why.
struct PerfFileHeader {
    /// A file (`perf record -o FILE`): a 104-byte header with sections; a pipe (`perf record -o -`): a 16-byte
    /// header, then the attrs and features as records in the stream (``PerfDataSource/readPipeHeaderRecords()``).
    enum Layout { case file, pipe }

    let layout: Layout
    /// Whether the file is big-endian (magic `2ELIFREP`): decided once from the magic.
    let big: Bool
    /// The attrs of the attr section (empty for a pipe: they come as HEADER_ATTR records).
    var events = PerfEventTable()
    /// The records: `dataStart ..< dataEnd`.
    var dataStart = 0
    var dataEnd = 0
    /// Where the feature table is (nil: none to read, e.g. an unfinished recording).
    var featuresAt: Int? = nil
    /// What is wrong but readable (an unfinished or cut recording).
    var warnings: [String] = []

    var order: ByteOrder { big ? .big : .little }

    /// Reads the header of `file` (named `path` in messages).
    static func read(_ file: PerfFileBytes, path: String) throws(SampleIOError) -> PerfFileHeader {
        let big = file.raw.starts(with: PerfDataFormat.magicBE)
        let c = file.cursor(from: 0, to: 104)
        let order: ByteOrder = big ? .big : .little
        let headerSize = Int(clamping: c.peek(UInt64.self, order, at: 8) ?? 0)
        guard file.count >= 16 else {
            throw SampleIOError.truncated(expected: "a perf.data header (at least 16 bytes)", at: 0, found: file.count)
        }
        if headerSize == 16 {
            var h = PerfFileHeader(layout: .pipe, big: big)
            h.dataStart = 16
            h.dataEnd = file.count
            return h
        }
        var h = PerfFileHeader(layout: .file, big: big)
        guard headerSize >= 104 else {
            throw SampleIOError(.badData, "perf.data header size \(headerSize), expected 16 (pipe) or at least 104 (file)",
                                offset: 8, hint: "the file is corrupt or not a perf.data file")
        }
        guard file.count >= 104 else {
            throw SampleIOError.truncated(expected: "the 104-byte perf.data file header", at: 0, found: file.count)
        }
        let attrSize = Int(clamping: c.peek(UInt64.self, order, at: 16) ?? 0)
        let attrsOff = Int(clamping: c.peek(UInt64.self, order, at: 24) ?? 0)
        let attrsLen = Int(clamping: c.peek(UInt64.self, order, at: 32) ?? 0)
        let dataOff = Int(clamping: c.peek(UInt64.self, order, at: 40) ?? 0)
        let dataLen = Int(clamping: c.peek(UInt64.self, order, at: 48) ?? 0)
        try h.readAttrSection(file, size: attrSize, at: attrsOff, length: attrsLen)
        guard dataOff <= file.count else {
            throw SampleIOError.truncated(expected: "the data section at offset \(dataOff)", at: dataOff, found: file.count)
        }
        h.dataStart = dataOff
        if dataLen == 0 {
            h.dataEnd = file.count
            h.warnings.append("\(path): the header's data size is 0: the recording was not finished (perf killed?); reading records up to the end of the file")
        } else if dataLen > file.count - dataOff {
            h.dataEnd = file.count
            h.warnings.append("\(path): the data section should hold \(dataLen) bytes but the file ends after \(file.count - dataOff); reading what is there")
        } else {
            h.dataEnd = dataOff + dataLen
            h.featuresAt = dataOff + dataLen
        }
        return h
    }

    private init(layout: Layout, big: Bool) {
        self.layout = layout
        self.big = big
    }

    /// The attr section: `length / size` entries of `struct perf_file_attr` (an attr, then the file section of
    /// its ids).
    private mutating func readAttrSection(_ file: PerfFileBytes, size attrSize: Int, at attrsOff: Int, length attrsLen: Int) throws(SampleIOError) {
        guard attrSize >= 16 + 64, attrsLen % attrSize == 0 else {
            throw SampleIOError(.badData, "attr entry size \(attrSize) with an attr section of \(attrsLen) bytes: expected entries of at least 80 bytes that divide the section",
                                offset: 16, hint: "the file header is corrupt")
        }
        guard attrsOff <= file.count, attrsLen <= file.count - attrsOff else {
            throw SampleIOError.truncated(expected: "the attr section (\(attrsLen) bytes at offset \(attrsOff))", at: attrsOff,
                                          found: max(0, file.count - attrsOff))
        }
        for i in 0..<(attrsLen / attrSize) {
            let at = attrsOff + i * attrSize
            var ac = file.cursor(from: at, to: at + attrSize)
            guard var a = PerfAttr.parse(ac, order: order, size: attrSize - 16) else {
                throw SampleIOError(.badData, "attr \(i) is unreadable", offset: at)
            }
            _ = ac.skip(attrSize - 16)
            let idsOff = Int(clamping: ac.read(UInt64.self, order) ?? 0)
            let idsLen = Int(clamping: ac.read(UInt64.self, order) ?? 0)
            if idsLen > 0 {
                guard idsOff <= file.count, idsLen <= file.count - idsOff else {
                    throw SampleIOError.truncated(expected: "the id list of attr \(i) (\(idsLen) bytes at \(idsOff))", at: idsOff)
                }
                var ic = file.cursor(from: idsOff, to: idsOff + idsLen)
                while let id = ic.read(UInt64.self, order) { a.ids.append(id) }
            }
            events.add(a)
        }
        guard !events.isEmpty else {
            throw SampleIOError(.badData, "the file describes no events (empty attr section)", offset: 24)
        }
    }
}
