/// The header features of a perf.data (`HEADER_*` sections after the data, or HEADER_FEATURE records in a
/// pipe): host, kernel, command line, event names, build-ids, compression. What xprof does not use is
/// skipped; a damaged table or section is a warning, never an error (the samples are still readable).
extension PerfDataSource {
    /// Reads the feature table at `featuresAt`: one (offset, size) pair per bit set in the header's bitmap.
    func readFeatures(featuresAt: Int, order: ByteOrder) {
        let c = file.cursor(from: 0, to: 104)
        var bits: [Int] = []
        for word in 0..<4 {
            let w = c.peek(UInt64.self, order, at: 72 + word * 8) ?? 0
            for b in 0..<64 where w & (1 << UInt64(b)) != 0 { bits.append(word * 64 + b) }
        }
        var sc = file.cursor(from: featuresAt, to: featuresAt + 16 * bits.count)
        for bit in bits {
            guard let off = sc.read(UInt64.self, order), let len = sc.read(UInt64.self, order) else {
                stats.warnings.append("\(path): the feature table is cut short at feature \(bit); later features ignored")
                return
            }
            let o = Int(clamping: off), l = Int(clamping: len)
            guard o <= file.count, l <= file.count - o else {
                stats.warnings.append("\(path): feature \(bit) points outside the file (offset \(off), \(len) bytes); ignored")
                continue
            }
            parseFeature(bit, file.cursor(from: o, to: o + l), order: order)
        }
    }

    /// One feature section (`bit` is its HEADER_* number).
    func parseFeature(_ bit: Int, _ c: ByteCursor, order: ByteOrder) {
        var c = c
        func str() -> String? {
            guard let n = c.read(UInt32.self, order), let s = c.readFixedString(Int(n)) else { return nil }
            return s
        }
        switch bit {
        case 2:  // BUILD_ID: build_id_event records
            parseBuildIDEvents(&c, order: order)
        case 3: metadata.hostname = str() ?? ""
        case 4: metadata.kernelRelease = str() ?? ""
        case 5: metadata.extra["perf_version"] = str() ?? ""
        case 6: metadata.architecture = str() ?? ""
        case 7:
            _ = c.read(UInt32.self, order)
            metadata.cpusOnline = Int(c.read(UInt32.self, order) ?? 0)
        case 11:
            let n = Int(c.read(UInt32.self, order) ?? 0)
            var args: [String] = []
            for _ in 0..<min(n, 4096) { guard let s = str() else { break }; args.append(s) }
            metadata.command = args
        case 12:  // EVENT_DESC
            guard let nr = c.read(UInt32.self, order), let attrSize = c.read(UInt32.self, order), attrSize >= 64 else { return }
            for _ in 0..<min(Int(nr), 4096) {
                guard let a = PerfAttr.parse(c, order: order, size: Int(attrSize)), c.has(Int(attrSize)) else { return }
                _ = c.skip(Int(attrSize))
                guard let nids = c.read(UInt32.self, order), let name = str() else { return }
                var ids: [UInt64] = []
                for _ in 0..<min(Int(nids), 1 << 20) { if let id = c.read(UInt64.self, order) { ids.append(id) } }
                events.name(name, ids: ids, like: a)
            }
        case 27:  // COMPRESSED: version, type, level, ratio, mmap_len
            _ = c.read(UInt32.self, order); _ = c.read(UInt32.self, order); _ = c.read(UInt32.self, order)
            _ = c.read(UInt32.self, order)
            decompressor.chunkHint = Int(clamping: c.read(UInt64.self, order) ?? 0)
        default:
            break
        }
    }

    /// `build_id_event` records (the BUILD_ID feature, or HEADER_BUILD_ID records in a pipe).
    func parseBuildIDEvents(_ c: inout ByteCursor, order: ByteOrder) {
        while c.remaining >= 8 {
            let start = c.offset
            guard c.read(UInt32.self, order) != nil, let misc = c.read(UInt16.self, order),
                  let size = c.read(UInt16.self, order), size >= 8 + 4 + 24, c.has(Int(size) - 8) else { return }
            _ = c.read(UInt32.self, order)  // pid
            guard let raw = c.readBytes(24) else { return }
            var idLen = 20
            if misc & (1 << 15) != 0 { idLen = min(20, Int(raw[raw.startIndex + 20])) }  // PERF_RECORD_MISC_BUILD_ID_SIZE
            let name = c.readFixedString(Int(size) - 8 - 4 - 24) ?? ""
            let id = raw.prefix(idLen).map { String(format2: $0) }.joined()
            featureBuildIDs.append((id, name))
            _ = c.seek(to: start + Int(size))
        }
    }
}
