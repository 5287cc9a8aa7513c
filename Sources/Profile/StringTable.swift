/// Interned strings: each distinct string stored once, referred to by a small integer id.
///
/// Names of unresolved addresses (`[unknown] 0x…`, `[domN] 0x…`) are many on a whole system (640,000 with
/// `--children`) and each is met once, by construction (the attributor keys them by address): they go in
/// with ``appendDistinct(_:)``, which skips the dictionary; they are indexed only if ``intern(_:)`` is ever
/// asked for such a name (docs/ARCHITECTURE.md, "Whole-system reports").
struct StringTable: Sendable {
    private(set) var strings: [String] = [""]
    private var ids: [String: Int32] = ["": 0]
    /// Ids added by ``appendDistinct(_:)`` and not yet in `ids`.
    private var unindexed: [Int32] = []
    /// Whether ``intern(_:)`` added a name that ``appendDistinct(_:)`` could be asked for (it then interns).
    private var internedAddressName = false

    /// The id of `s`, adding it if new.
    mutating func intern(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        if Self.isAddressName(s) {
            if !unindexed.isEmpty {
                for i in unindexed { ids[strings[Int(i)]] = i }
                unindexed.removeAll()
                if let id = ids[s] { return id }
            }
            internedAddressName = true
        }
        let id = Int32(strings.count)
        strings.append(s)
        ids[s] = id
        return id
    }

    /// The id of the name of an unresolved address, `s` (``isAddressName(_:)``), which the caller has not asked
    /// for before: added without hashing it (unless ``intern(_:)`` was given such names, when it may be known).
    mutating func appendDistinct(_ s: String) -> Int32 {
        if internedAddressName { return intern(s) }
        let id = Int32(strings.count)
        strings.append(s)
        unindexed.append(id)
        return id
    }

    /// Whether `s` has the form of an unresolved address's name: `[unknown] 0x…` or `[dom…`.
    static func isAddressName(_ s: String) -> Bool {
        var u = s.utf8.makeIterator()
        guard u.next() == UInt8(ascii: "[") else { return false }
        return s.hasPrefix("[unknown] 0x") || s.hasPrefix("[dom")
    }

    subscript(id: Int32) -> String { strings[Int(id)] }

    var count: Int { strings.count }
}
