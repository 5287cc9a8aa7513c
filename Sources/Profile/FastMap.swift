/// A small open-addressing hash map from up to three 64-bit words to a value, with a multiplicative hash:
/// the per-sample caches of the attribution, where SipHash through `Dictionary` costs more than the work
/// it saves.
/// - Complexity: O(1) expected per lookup and insert; grows by doubling at 50 % load.
struct FastMap<Value> {
    private var keysA: [UInt64]
    private var keysB: [UInt64]
    private var keysC: [UInt64]
    private var used: [Bool]
    private var values: [Value?]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        (keysA, keysB, keysC, used, values, mask) = Self.storage(n)
    }

    private static func storage(_ n: Int) -> ([UInt64], [UInt64], [UInt64], [Bool], [Value?], Int) {
        (Array(repeating: 0, count: n), Array(repeating: 0, count: n), Array(repeating: 0, count: n),
         Array(repeating: false, count: n), Array(repeating: nil, count: n), n - 1)
    }

    @inline(__always)
    private static func slot(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ mask: Int) -> Int {
        var h = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019) &* 0xC2B2_AE3D_27D4_EB4F ^ (c &+ 0x1656_67B1_9E37_79F9) &* 0x27D4_EB2F_1656_67C5
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    func get(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) -> Value? {
        var i = Self.slot(a, b, c, mask)
        while used[i] {
            if keysA[i] == a && keysB[i] == b && keysC[i] == c { return values[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    mutating func set(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ v: Value) {
        if (count + 1) * 2 > used.count { grow() }
        var i = Self.slot(a, b, c, mask)
        while used[i] {
            if keysA[i] == a && keysB[i] == b && keysC[i] == c { values[i] = v; return }
            i = (i + 1) & mask
        }
        used[i] = true
        keysA[i] = a
        keysB[i] = b
        keysC[i] = c
        values[i] = v
        count += 1
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        for i in used.indices { used[i] = false; values[i] = nil }
        count = 0
    }

    private mutating func grow() {
        let oldA = keysA, oldB = keysB, oldC = keysC, oldUsed = used, oldValues = values
        (keysA, keysB, keysC, used, values, mask) = Self.storage(used.count * 2)
        count = 0
        for i in oldUsed.indices where oldUsed[i] {
            if let v = oldValues[i] { set(oldA[i], oldB[i], oldC[i], v) }
        }
    }
}
