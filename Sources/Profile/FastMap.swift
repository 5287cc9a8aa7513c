internal import CPerfShim

/// A small open-addressing hash map from up to three 64-bit words to a value, with a multiplicative hash:
/// the per-sample caches of the attribution, where SipHash through `Dictionary` costs more than the work
/// it saves.
///
/// Each slot is four words in one array (the key, then the value's index + 1, 0 when empty), so a probe
/// touches one cache line; values sit densely in a second array.
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
struct FastMap<Value> {
    private var slots: [UInt64]
    private var values: [Value] = []
    private var mask: Int
    var count: Int { values.count }

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n * 4)
        mask = n - 1
        values.reserveCapacity(n / 2)
    }

    @inline(__always)
    private func find(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> Int { WordSlots.find(slots, mask, a, b, c) }

    @inline(__always)
    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) -> Value? {
        let i = find(a, b, c)
        if i < 0 { return nil }
        return values.withUnsafeBufferPointer { $0[Int(slots.withUnsafeBufferPointer { $0[i &* 4 + 3] }) - 1] }
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ v: Value) {
        if (values.count + 1) * 2 > mask + 1 { grow() }
        let i = find(a, b, c)
        if i >= 0 {
            values[Int(slots[i * 4 + 3]) - 1] = v
            return
        }
        let at = ~i * 4
        values.append(v)
        slots[at] = a
        slots[at + 1] = b
        slots[at + 2] = c
        slots[at + 3] = UInt64(values.count)
    }

    mutating func removeAll() {
        guard !values.isEmpty else { return }
        slots.clearFourthWords()
        values.removeAll(keepingCapacity: true)
    }

    private mutating func grow() {
        let old = slots, oldValues = values
        let n = (mask + 1) * 2
        slots = [UInt64](repeating: 0, count: n * 4)
        mask = n - 1
        values.removeAll(keepingCapacity: true)
        values.reserveCapacity(n / 2)
        for k in stride(from: 0, to: old.count, by: 4) where old[k + 3] != 0 {
            set(old[k], old[k + 1], old[k + 2], oldValues[Int(old[k + 3]) - 1])
        }
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
        slots.withUnsafeBufferPointer { s in
            var i = slot(a, b, c, mask)
            while true {
                let at = i &* 4
                if s[at &+ 3] == 0 { return ~i }
                if s[at] == a && s[at &+ 1] == b && s[at &+ 2] == c { return i }
                i = (i &+ 1) & mask
            }
        }
    }
}

/// ``FastMap``'s table with the value in the slot itself: a 63-bit payload in the word that marks the slot
/// used. A lookup touches one cache line, not two: the row caches of a whole-system report hold hundreds of
/// thousands of addresses, where each sample's lookup waited for memory twice (docs/ARCHITECTURE.md,
/// "Whole-system reports").
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
struct WordMap {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let used: UInt64 = 1 << 63

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n * 4)
        mask = n - 1
    }

    /// The payload stored under the key (below 2^63), or nil.
    @inline(__always)
    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64? {
        slots.withUnsafeBufferPointer { s in
            var i = WordSlots.slot(a, b, c, mask)
            while true {
                let at = i &* 4
                let v = s[at &+ 3]
                if v == 0 { return nil }
                if s[at] == a && s[at &+ 1] == b && s[at &+ 2] == c { return v & ~Self.used }
                i = (i &+ 1) & mask
            }
        }
    }

    /// Asks the CPU to fetch the key's first slot (a ``get(_:_:_:)`` a little later then need not wait).
    @inline(__always)
    func prefetch(_ a: UInt64, _ b: UInt64, _ c: UInt64) {
        let i = WordSlots.slot(a, b, c, mask)
        slots.withUnsafeBufferPointer { xprof_prefetch($0.baseAddress! + i &* 4) }
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ payload: UInt64) {
        if (count + 1) * 2 > mask + 1 { grow() }
        let i = WordSlots.find(slots, mask, a, b, c)
        let at = (i >= 0 ? i : ~i) * 4
        if i < 0 {
            count += 1
            slots[at] = a
            slots[at + 1] = b
            slots[at + 2] = c
        }
        slots[at + 3] = payload | Self.used
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        slots.clearFourthWords()
        count = 0
    }

    private mutating func grow() {
        let old = slots
        let n = (mask + 1) * 2
        slots = [UInt64](repeating: 0, count: n * 4)
        mask = n - 1
        count = 0
        for k in stride(from: 0, to: old.count, by: 4) where old[k + 3] != 0 {
            set(old[k], old[k + 1], old[k + 2], old[k + 3] & ~Self.used)
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
