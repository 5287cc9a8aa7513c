internal import CPerfShim
#if canImport(Glibc)
import Glibc
#endif

/// A small open-addressing hash map from up to three 64-bit words to a value, with a multiplicative hash:
/// the per-sample caches of the attribution, where SipHash through `Dictionary` costs more than the work
/// it saves.
///
/// Each slot is four words in one array (the key, then the value's index + 1, 0 when empty), so a probe
/// touches one cache line; values sit densely in a second array.
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
struct FastMap<Value> {
    private var slots: SlotStorage
    private var values: [Value] = []
    private var mask: Int
    var count: Int { values.count }

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = SlotStorage(slots: n)
        mask = n - 1
        values.reserveCapacity(n / 2)
    }

    @inline(__always)
    private func find(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int { WordSlots.find(slots.words, mask, a, b, c) }

    @inline(__always)
    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) -> Value? {
        let i = find(a, b, c)
        if i < 0 { return nil }
        return values.withUnsafeBufferPointer { $0[Int(slots.words[i &* 4 + 3]) - 1] }
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ v: Value) {
        if (values.count + 1) * 2 > mask + 1 { grow() }
        if !isKnownUniquelyReferenced(&slots) { slots = slots.copy() }
        let i = find(a, b, c)
        let w = slots.words
        if i >= 0 {
            values[Int(w[i * 4 + 3]) - 1] = v
            return
        }
        let at = ~i * 4
        values.append(v)
        w[at] = a
        w[at + 1] = b
        w[at + 2] = c
        w[at + 3] = UInt64(values.count)
    }

    mutating func removeAll() {
        guard !values.isEmpty else { return }
        if !isKnownUniquelyReferenced(&slots) { slots = slots.copy() }
        slots.clearFourthWords()
        values.removeAll(keepingCapacity: true)
    }

    private mutating func grow() {
        let old = slots, oldValues = values
        let n = (mask + 1) * 2
        slots = SlotStorage(slots: n)
        mask = n - 1
        values.removeAll(keepingCapacity: true)
        values.reserveCapacity(n / 2)
        let o = old.words
        for k in stride(from: 0, to: old.slots * 4, by: 4) where o[k + 3] != 0 {
            set(o[k], o[k + 1], o[k + 2], oldValues[Int(o[k + 3]) - 1])
        }
    }
}

/// The zeroed words of a table of 4-word slots (``FastMap``, ``WordMap``), mapped on their own. A table of
/// 4 MB or more is asked to be backed by 2 MB pages (`madvise(MADV_HUGEPAGE)`; Linux's transparent huge pages
/// in their default `madvise` mode): a whole system's row cache is 128 MB probed at random, where with 4 KB
/// pages nearly every probe also missed the TLB, and zeroing it cost a page fault per 4 KB
/// (docs/ARCHITECTURE.md, "Whole-system reports"). Where the kernel gives no huge pages it is plain memory.
final class SlotStorage {
    /// The table's words, `slots * 4`, zero when mapped.
    let words: UnsafeMutablePointer<UInt64>
    /// How many slots (4 words each) the table has.
    let slots: Int
    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int

    init(slots: Int) {
        self.slots = slots
        let bytes = slots * 32
        let huge = 2 << 20
        if bytes >= 4 << 20 {
            // Mapped with a spare 2 MB so that the table can start on a 2 MB boundary.
            let length = (bytes + huge - 1) / huge * huge + huge
            if let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
                let start = (Int(bitPattern: p) + huge - 1) & ~(huge - 1)
                _ = madvise(UnsafeMutableRawPointer(bitPattern: start), length - (start - Int(bitPattern: p)), MADV_HUGEPAGE)
                mapping = p
                mappedBytes = length
                words = UnsafeMutableRawPointer(bitPattern: start)!.bindMemory(to: UInt64.self, capacity: slots * 4)
                return
            }
        }
        mapping = nil
        mappedBytes = 0
        words = UnsafeMutablePointer<UInt64>.allocate(capacity: slots * 4)
        words.initialize(repeating: 0, count: slots * 4)
    }

    deinit {
        if let mapping { munmap(mapping, mappedBytes) } else { words.deallocate() }
    }

    /// A table with the same words (a map copied and then changed: value semantics).
    func copy() -> SlotStorage {
        let c = SlotStorage(slots: slots)
        c.words.update(from: words, count: slots * 4)
        return c
    }

    /// Every slot emptied: every fourth word, from the fourth, set to 0.
    func clearFourthWords() {
        for k in stride(from: 3, to: slots * 4, by: 4) { words[k] = 0 }
    }
}

/// The slot layout ``FastMap`` and the call graph's node table share: four words per slot (a three-word
/// key, then a word that is 0 when the slot is empty), linear probing from a multiplicative hash.
enum WordSlots {
    @inline(__always)
    static func slot(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ mask: Int) -> Int {
        var h = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019) &* 0xC2B2_AE3D_27D4_EB4F ^ (c &+ 0x1656_67B1_9E37_79F9) &* 0x27D4_EB2F_1656_67C5
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The slot holding the key, or the empty slot where it would go (as `~slot`).
    @inline(__always)
    static func find(_ slots: [UInt64], _ mask: Int, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int {
        slots.withUnsafeBufferPointer { find($0.baseAddress!, mask, a, b, c) }
    }

    /// The same in a table's words.
    @inline(__always)
    static func find(_ s: UnsafePointer<UInt64>, _ mask: Int, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int {
        var i = slot(a, b, c, mask)
        while true {
            let at = i &* 4
            if s[at &+ 3] == 0 { return ~i }
            if s[at] == a && s[at &+ 1] == b && s[at &+ 2] == c { return i }
            i = (i &+ 1) & mask
        }
    }
    @inline(__always)
    static func find(_ s: UnsafeMutablePointer<UInt64>, _ mask: Int, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int {
        find(UnsafePointer(s), mask, a, b, c)
    }
}

/// ``FastMap``'s table with the value in the slot itself: a 63-bit payload in the word that marks the slot
/// used. A lookup touches one cache line, not two: the row caches of a whole-system report hold hundreds of
/// thousands of addresses, where each sample's lookup waited for memory twice (docs/ARCHITECTURE.md,
/// "Whole-system reports").
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
struct WordMap {
    private var slots: SlotStorage
    private var mask: Int
    private(set) var count = 0
    private static let used: UInt64 = 1 << 63

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = SlotStorage(slots: n)
        mask = n - 1
    }

    /// The payload stored under the key (below 2^63), or nil.
    @inline(__always)
    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64? {
        let s = slots.words
        var i = WordSlots.slot(a, b, c, mask)
        while true {
            let at = i &* 4
            let v = s[at &+ 3]
            if v == 0 { return nil }
            if s[at] == a && s[at &+ 1] == b && s[at &+ 2] == c { return v & ~Self.used }
            i = (i &+ 1) & mask
        }
    }

    /// Asks the CPU to fetch the key's first slot (a ``get(_:_:_:)`` a little later then need not wait).
    @inline(__always)
    func prefetch(_ a: UInt64, _ b: UInt64, _ c: UInt64) {
        let i = WordSlots.slot(a, b, c, mask)
        xprof_prefetch(slots.words + i &* 4)
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ payload: UInt64) {
        if (count + 1) * 2 > mask + 1 { grow() }
        if !isKnownUniquelyReferenced(&slots) { slots = slots.copy() }
        let s = slots.words
        let i = WordSlots.find(s, mask, a, b, c)
        let at = (i >= 0 ? i : ~i) * 4
        if i < 0 {
            count += 1
            s[at] = a
            s[at + 1] = b
            s[at + 2] = c
        }
        s[at + 3] = payload | Self.used
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        if !isKnownUniquelyReferenced(&slots) { slots = slots.copy() }
        slots.clearFourthWords()
        count = 0
    }

    private mutating func grow() {
        let old = slots
        let n = (mask + 1) * 2
        slots = SlotStorage(slots: n)
        mask = n - 1
        count = 0
        let o = old.words
        for k in stride(from: 0, to: old.slots * 4, by: 4) where o[k + 3] != 0 {
            set(o[k], o[k + 1], o[k + 2], o[k + 3] & ~Self.used)
        }
    }
}

extension Array where Element == UInt64 {
    /// Empties a table of 4-word slots whose fourth word says whether the slot is used (``FastMap``,
    /// ``WordMap``, the call-graph trie): every fourth word, from the fourth, set to 0.
    mutating func clearFourthWords() {
        withUnsafeMutableBufferPointer { s in
            for k in stride(from: 3, to: s.count, by: 4) { s[k] = 0 }
        }
    }
}
