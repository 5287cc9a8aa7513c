import SampleIO

/// One process's executable mappings, sorted by start address; a new mapping replaces what it overlaps
/// (as after an exec or a re-mmap).
struct ProcessMaps: Sendable {
    struct Entry: Sendable {
        var start: UInt64
        var end: UInt64
        var fileOffset: UInt64
        /// Index into the attributor's image list.
        var image: Int32
    }

    private(set) var entries: [Entry] = []

    mutating func insert(_ e: Entry) {
        guard e.end > e.start else { return }
        var kept: [Entry] = []
        kept.reserveCapacity(entries.count + 2)
        for old in entries {
            if old.end <= e.start || old.start >= e.end {
                kept.append(old)
                continue
            }
            // Keep the parts of `old` outside the new range.
            if old.start < e.start {
                kept.append(Entry(start: old.start, end: e.start, fileOffset: old.fileOffset, image: old.image))
            }
            if old.end > e.end {
                kept.append(Entry(start: e.end, end: old.end, fileOffset: old.fileOffset &+ (e.end - old.start), image: old.image))
            }
        }
        let i = kept.firstIndex { $0.start > e.start } ?? kept.count
        kept.insert(e, at: i)
        entries = kept
    }

    /// The mapping containing `address`.
    /// - Complexity: O(log n).
    func find(_ address: UInt64) -> Entry? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let e = entries[lo - 1]
        return address < e.end ? e : nil
    }
}
