/// The line and inline answers of an image (``DwarfIndex``) in the symbol cache, under the same rules as its
/// symbol tables: found by the file's path and inode, used only while the file is exactly the one they were
/// read from and when the checksum and every id and interval check out (``DwarfIndex/isSound``); anything
/// else is a miss. See docs/ARCHITECTURE.md, "Line and inline index".
extension SymbolCache {
    /// The index kept for the file `id` (the file DWARF is read from), nil when there is no sound one.
    func dwarfIndex(for id: Identity) -> DwarfIndex? {
        guard var r = load(.dwarfIndex, id), let fileBytes = r.copy(of: UInt8.self), let fileStarts = r.copy(of: UInt32.self),
              let nameBytes = r.copy(of: UInt8.self), let nameStarts = r.copy(of: UInt32.self), let scopes = r.copy(of: IndexScope.self),
              let lines = r.copy(of: LineInterval.self), let inlines = r.copy(of: InlineInterval.self), r.remaining == 0 else { return nil }
        let index = DwarfIndex(files: StringTable(bytes: fileBytes, starts: fileStarts), names: StringTable(bytes: nameBytes, starts: nameStarts),
                               scopes: scopes, lines: lines, inlines: inlines)
        return index.isSound ? index : nil
    }

    /// Keeps `index` as the entry of the file `id` (replacing the one there).
    func store(_ index: DwarfIndex, for id: Identity) {
        var w = CacheWriter()
        w.reserve(index.lines.count * MemoryLayout<LineInterval>.stride + index.inlines.count * MemoryLayout<InlineInterval>.stride
                  + index.scopes.count * MemoryLayout<IndexScope>.stride + index.files.bytes.count + index.names.bytes.count
                  + (index.files.count + index.names.count) * 4 + 128)
        for table in [index.files, index.names] {
            table.bytes.withUnsafeBufferPointer { w.array($0) }
            table.starts.withUnsafeBufferPointer { w.array($0) }
        }
        index.scopes.withUnsafeBufferPointer { w.array($0) }
        index.lines.withUnsafeBufferPointer { w.array($0) }
        index.inlines.withUnsafeBufferPointer { w.array($0) }
        store(.dwarfIndex, id, payload: w.bytes)
    }
}
