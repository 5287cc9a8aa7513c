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
    @inline(__always)
    func find(_ address: UInt64) -> Entry? {
        entries.withUnsafeBufferPointer { Self.find(address, in: $0) }
    }

    /// The entry of `entries` (sorted, not overlapping) containing `address`.
    @inline(__always)
    static func find(_ address: UInt64, in entries: UnsafeBufferPointer<Entry>) -> Entry? {
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

/// Every process's executable mappings and incarnation, by (domain, pid).
///
/// A process's incarnation is a number unique in the whole recording, given anew whenever the process's
/// mappings or thread names change (its mmap, fork, comm). Cache keys that depend on a process hold it, so a
/// change makes only that process's entries unreachable, in O(1): clearing the caches cost their size on
/// every mmap, fork and comm anywhere on a busy machine. (Unreachable entries stay until a cache is emptied
/// for size; 0 is never an incarnation, keys use it for "no process".)
struct ProcessTable {
    struct State {
        var incarnation: UInt32
        /// nil until the process's first mapping (or its parent's, copied at its fork).
        var maps: ProcessMaps?
    }

    /// (domain, pid) → index into `states`.
    private var index = FastMap<Int32>(capacity: 1024)
    private var states: [State] = []
    private var nextIncarnation: UInt32 = 1
    /// The last lookup: a sample's frames, and runs of samples, are of one process.
    private var last: (key: UInt64, slot: Int) = (.max, 0)

    @inline(__always)
    private static func key(_ domain: DomainID, _ pid: Int32) -> UInt64 {
        UInt64(domain.rawValue) << 32 | UInt64(UInt32(bitPattern: pid))
    }

    /// The process's index in `states`, made when it is new.
    /// - Complexity: O(1).
    @inline(__always)
    private mutating func slot(_ domain: DomainID, _ pid: Int32) -> Int {
        let k = Self.key(domain, pid)
        if last.key == k { return last.slot }
        let i: Int
        if let j = index.get(k, 0) {
            i = Int(j)
        } else {
            i = states.count
            states.append(State(incarnation: nextIncarnation, maps: nil))
            nextIncarnation &+= 1
            index.set(k, 0, 0, Int32(i))
        }
        last = (k, i)
        return i
    }

    /// The process's incarnation.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func incarnation(domain: DomainID, pid: Int32) -> UInt32 { states[slot(domain, pid)].incarnation }

    /// The process's incarnation and mappings.
    @inline(__always)
    mutating func state(domain: DomainID, pid: Int32) -> State { states[slot(domain, pid)] }

    /// The process's mapping holding `address`, found in place (``state(domain:pid:)`` copies the state,
    /// a reference count up and down per sample).
    @inline(__always)
    mutating func mapping(domain: DomainID, pid: Int32, address: UInt64) -> ProcessMaps.Entry? {
        let i = slot(domain, pid)
        return states.withUnsafeBufferPointer { s in
            s[i].maps?.entries.withUnsafeBufferPointer { ProcessMaps.find(address, in: $0) }
        }
    }

    /// Gives the process a new incarnation: what was cached for it is not found again.
    mutating func renew(domain: DomainID, pid: Int32) {
        let i = slot(domain, pid)
        states[i].incarnation = nextIncarnation
        nextIncarnation &+= 1
    }

    /// The process's executable mappings; nil when it has none.
    func maps(domain: DomainID, pid: Int32) -> ProcessMaps? {
        index.get(Self.key(domain, pid), 0).flatMap { states[Int($0)].maps }
    }

    /// Adds a mapping to the process (replacing what it overlaps).
    mutating func insert(_ e: ProcessMaps.Entry, domain: DomainID, pid: Int32) {
        let i = slot(domain, pid)
        states[i].maps = states[i].maps ?? ProcessMaps()
        states[i].maps!.insert(e)
    }

    /// A new process starts with a copy of its parent's mappings (unless it has some already).
    mutating func inherit(domain: DomainID, pid: Int32, parent: Int32) {
        guard let p = maps(domain: domain, pid: parent) else { return }
        let i = slot(domain, pid)
        if states[i].maps == nil { states[i].maps = p }
    }
}
