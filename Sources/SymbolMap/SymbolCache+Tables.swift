#if canImport(Glibc)
import Glibc
#endif

extension SymbolCache {
    /// The ELF image at `path`: from its cache entry when the file is unchanged, else parsed (and its entry
    /// written). Errors are the parser's.
    public func elfImage(at path: String) throws(SymbolMapError) -> ElfImage {
        guard let id = Identity(path: path) else { return try ElfImage(path: path) }
        if var r = load(.elfImage, id), let image = ElfImage.decode(&r, path: path) { return image }
        let image = try ElfImage(path: path)
        // Only what was read from the file as it still is.
        if Identity(path: path) == id {
            var w = CacheWriter()
            image.encode(into: &w)
            store(.elfImage, id, payload: w.bytes)
        }
        return image
    }

    /// The kallsyms dump at `path` (a regular file, as perf's build-id cache keeps them): from its cache entry
    /// when the file is unchanged, else parsed (and its entry written). Nil when it cannot be read.
    public func kallsyms(at path: String) -> SymbolTable? {
        guard let id = Identity(path: path) else { return SymbolTable.kallsyms(mapping: path)?.0 }
        if var r = load(.kallsyms, id), let table = SymbolTable.decode(&r) { return table }
        guard let (table, _) = SymbolTable.kallsyms(mapping: path) else { return nil }
        if Identity(path: path) == id {
            var w = CacheWriter()
            table.encode(into: &w)
            store(.kallsyms, id, payload: w.bytes)
        }
        return table
    }
}

extension SymbolTable {
    /// Writes the table; only the names it uses are kept (a kallsyms table's names stand in the whole text
    /// of the dump, an ELF table's in the whole string table), one after the other, their offsets rewritten.
    /// Written straight into `w` (no copy of the entries or the names on the way).
    func encode(into w: inout CacheWriter) {
        let v = lookupIndex.view
        let entries = UnsafeBufferPointer(start: v.entries, count: v.count)
        let nameTotal = entries.reduce(0) { $0 + Int($1.nameLength) } + aliasNames.reduce(0) { $0 + Int($1.1) }
        w.reserve(nameTotal + entries.count * (MemoryLayout<IndexEntry>.stride + 4) + aliasNames.count * 20 + 4096)
        nameBytes.withBytes { all in
            w.arrayCount(nameTotal)
            for e in entries { w.append(contentsOf: UnsafeBufferPointer(rebasing: all[Int(e.nameOffset)..<(Int(e.nameOffset) + Int(e.nameLength))])) }
            for a in aliasNames { w.append(contentsOf: UnsafeBufferPointer(rebasing: all[Int(a.0)..<(Int(a.0) + Int(a.1))])) }
            w.pad()
        }
        var at: UInt32 = 0
        w.arrayCount(entries.count)
        for var e in entries {
            e.nameOffset = at
            at &+= e.nameLength
            w.append(e)
        }
        w.pad()
        var aliases = aliasNames
        for i in aliases.indices {
            aliases[i].0 = at
            at &+= aliases[i].1
        }
        moduleIDs.withUnsafeBufferPointer { w.array($0) }
        w.u64(UInt64(moduleNames.count))
        for m in moduleNames { w.string(m) }
        aliasAddresses.withUnsafeBufferPointer { w.array($0) }
        let ranges = aliasRanges.map { (UInt32(bitPattern: $0.lowerBound), UInt32(bitPattern: $0.upperBound)) }
        ranges.withUnsafeBufferPointer { w.array($0) }
        aliases.withUnsafeBufferPointer { w.array($0) }
        w.u64(addressRange == nil ? 0 : 1)
        w.u64(addressRange?.lowerBound ?? 0)
        w.u64(addressRange?.upperBound ?? 0)
    }

    /// The table ``encode(into:)`` wrote; its names stay in the entry's mapping. Nil when anything is off.
    static func decode(_ r: inout CacheReader) -> SymbolTable? {
        guard let (names, _) = r.array(of: UInt8.self), let (entries, count) = r.array(of: IndexEntry.self),
              let moduleIDs = r.copy(of: Int32.self), let moduleCount = r.u64(), moduleCount <= UInt64(r.remaining) else { return nil }
        var moduleNames: [String] = []
        for _ in 0..<moduleCount {
            guard let m = r.string() else { return nil }
            moduleNames.append(m)
        }
        guard let aliasAddresses = r.copy(of: UInt64.self), let ranges = r.copy(of: (UInt32, UInt32).self),
              let aliasNames = r.copy(of: (UInt32, UInt32).self), let hasRange = r.u64(), let low = r.u64(), let high = r.u64(),
              hasRange <= 1, low <= high, r.remaining == 0 else { return nil }
        var aliasRanges: [Range<Int32>] = []
        aliasRanges.reserveCapacity(ranges.count)
        for (a, b) in ranges {
            let lo = Int32(bitPattern: a), hi = Int32(bitPattern: b)
            guard lo <= hi else { return nil }
            aliasRanges.append(lo..<hi)
        }
        return SymbolTable(names: NameStorage(bytes: names, keeping: r.owner), entries: entries, count: count,
                           moduleIDs: moduleIDs, moduleNames: moduleNames, aliasAddresses: aliasAddresses,
                           aliasRanges: aliasRanges, aliasNames: aliasNames, addressRange: hasRange == 1 ? low..<high : nil)
    }
}

extension ElfImage {
    func encode(into w: inout CacheWriter) {
        w.string(buildID)
        w.u64(isPositionIndependent ? 1 : 0)
        w.u64(UInt64(loadSegments.count))
        for s in loadSegments {
            for v in [s.virtualAddress, s.memorySize, s.fileOffset, s.fileSize, s.executable ? 1 : 0] { w.u64(v) }
        }
        w.string(symbolSection)
        w.u64(debugLink == nil ? 0 : 1)
        w.string(debugLink ?? "")
        w.u64(hasDebugLines ? 1 : 0)
        symbols.encode(into: &w)
    }

    /// The image ``encode(into:)`` wrote, for the file at `path`; nil when anything is off.
    static func decode(_ r: inout CacheReader, path: String) -> ElfImage? {
        guard let buildID = r.string(), let pie = r.u64(), pie <= 1, let segmentCount = r.u64(),
              segmentCount <= UInt64(r.remaining / 40) else { return nil }
        var segments: [LoadSegment] = []
        for _ in 0..<segmentCount {
            guard let va = r.u64(), let ms = r.u64(), let fo = r.u64(), let fs = r.u64(), let x = r.u64(), x <= 1 else { return nil }
            segments.append(LoadSegment(virtualAddress: va, memorySize: ms, fileOffset: fo, fileSize: fs, executable: x == 1))
        }
        guard let section = r.string(), let hasLink = r.u64(), hasLink <= 1, let link = r.string(), let lines = r.u64(), lines <= 1,
              let table = SymbolTable.decode(&r) else { return nil }
        return ElfImage(path: path, buildID: buildID, symbols: table, isPositionIndependent: pie == 1, loadSegments: segments,
                        symbolSection: section, debugLink: hasLink == 1 ? link : nil, hasDebugLines: lines == 1)
    }
}
