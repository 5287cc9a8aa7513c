/// Interned strings: each distinct string stored once, referred to by a small integer id.
struct StringTable: Sendable {
    private(set) var strings: [String] = [""]
    private var ids: [String: Int32] = ["": 0]

    /// The id of `s`, adding it if new.
    mutating func intern(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(strings.count)
        strings.append(s)
        ids[s] = id
        return id
    }

    subscript(id: Int32) -> String { strings[Int(id)] }
}
