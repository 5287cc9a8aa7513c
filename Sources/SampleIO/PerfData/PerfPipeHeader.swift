/// The start of a pipe-mode perf.data (`perf record -o -`): what a file keeps in its header — attrs, features,
/// build-ids — comes as HEADER_* records (types 64 and up) before the first event.
extension PerfDataSource {
    /// Reads the header records at the start of the stream; an error when no HEADER_ATTR came before the
    /// first event.
    func readPipeHeaderRecords() throws(SampleIOError) {
        let order: ByteOrder = cursor.big ? .big : .little
        while cursor.pos + 8 <= cursor.end {
            let pos = cursor.pos
            guard let r = cursor.record(at: pos) else { break }
            let type = r.u32(0)
            guard type >= 64 else { break }
            let size = Int(r.u16(6))
            switch type {
            case PerfDataFormat.headerAttr:
                guard size >= 8 + 64 else {
                    throw SampleIOError(.badData, "HEADER_ATTR record of \(size) bytes, expected at least 72", offset: pos)
                }
                let c = file.cursor(from: pos + 8, to: pos + size)
                let attrSize = Int(c.peek(UInt32.self, order, at: 4) ?? 0)
                guard attrSize >= 64, attrSize <= size - 8, var a = PerfAttr.parse(c, order: order, size: attrSize) else {
                    throw SampleIOError(.badData, "HEADER_ATTR record holds an attr of size \(attrSize) in \(size - 8) bytes", offset: pos)
                }
                var ic = file.cursor(from: pos + 8 + attrSize, to: pos + size)
                while let id = ic.read(UInt64.self, order) { a.ids.append(id) }
                events.add(a)
            case PerfDataFormat.headerFeature:
                let c = file.cursor(from: pos + 8, to: pos + size)
                let feat = Int(clamping: c.peek(UInt64.self, order, at: 0) ?? 0)
                parseFeature(feat, file.cursor(from: pos + 16, to: pos + size), order: order)
            case PerfDataFormat.headerBuildID:
                var c = file.cursor(from: pos, to: pos + size)
                parseBuildIDEvents(&c, order: order)
            default:
                break
            }
            guard advance(past: r, type: type) else { break }
        }
        guard !events.isEmpty else {
            throw SampleIOError(.badData, "pipe-mode perf.data without a HEADER_ATTR record before its first event",
                                offset: cursor.pos, hint: "the stream is incomplete; record it again")
        }
    }
}
