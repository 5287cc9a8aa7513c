/// A function found for an address.
public struct SymbolHit: Sendable, Equatable {
    public var name: String
    /// Address of the function's first byte (in the table's address space).
    public var start: UInt64
    /// Size in bytes (for zero-size symbols: the distance to the next symbol, 0 for the last).
    public var size: UInt64
    /// The looked-up address minus `start`.
    public var offset: UInt64
    /// The kernel module (`[module]` column of kallsyms), nil for the main image.
    public var module: String?

    public init(name: String, start: UInt64, size: UInt64, offset: UInt64, module: String? = nil) {
        self.name = name
        self.start = start
        self.size = size
        self.offset = offset
        self.module = module
    }
}

/// Why no symbol was found: a result, not an error.
public enum SymbolMiss: Sendable, Equatable {
    /// The image has no symbol table.
    case noSymbols
    /// The address lies outside every symbol of the image.
    case outsideImage
    /// No mapping covers the address.
    case unmapped
    /// The image's build-id differs from the recording's.
    case buildIDMismatch
}

/// A sorted, immutable table of function symbols, searched through a bucket index.
///
/// Built once from ELF symbols, a System.map or a kallsyms dump (through a ``Builder``, which takes names as
/// bytes: no string per symbol is made while loading a 100,000-symbol kallsyms). Sizes: a symbol with size 0
/// runs to the next symbol's start (the last one covers only its own address). Aliases (several names at
/// one address) are kept (``aliases(at:)``); ``lookup(_:)`` returns the preferred one by
/// ``prefer(_:_:over:_:)``, the rule `perf report` applies, so both name a function alike.
public final class SymbolTable: Sendable {
    /// Starts, ascending; one entry per distinct address.
    let starts: [UInt64]
    /// Ends (exclusive) per entry.
    let ends: [UInt64]
    /// All names' UTF-8 bytes, one after another.
    let nameBytes: [UInt8]
    /// Where the preferred name of each entry is in `nameBytes`, and how long it is.
    let nameOffset: [UInt32]
    let nameLength: [UInt32]
    /// Module per entry, an index into `moduleNames` (0: none).
    let moduleIDs: [Int32]
    let moduleNames: [String]
    /// All names per address when there are aliases (the preferred one first).
    let aliasTable: [UInt64: [String]]

    /// One raw symbol before sorting.
    public struct Entry: Sendable {
        public var address: UInt64
        public var size: UInt64
        public var name: String
        public var isGlobal: Bool
        public var isWeak: Bool
        public var module: String
        public init(address: UInt64, size: UInt64, name: String, isGlobal: Bool, isWeak: Bool = false, module: String = "") {
            self.address = address
            self.size = size
            self.name = name
            self.isGlobal = isGlobal
            self.isWeak = isWeak
            self.module = module
        }
    }

    /// Collects raw symbols in source order, names as bytes in one buffer.
    public struct Builder {
        var addresses: [UInt64] = []
        var sizes: [UInt64] = []
        /// Bit 0: global, bit 1: weak.
        var flags: [UInt8] = []
        var modules: [Int32] = []
        /// Start of each name in `bytes`; one more at the end once built.
        var nameStarts: [UInt32] = []
        var bytes: [UInt8] = []
        var moduleNames: [String] = [""]
        var moduleIndex: [String: Int32] = ["": 0]

        public init(capacity: Int = 0) {
            addresses.reserveCapacity(capacity)
            sizes.reserveCapacity(capacity)
            flags.reserveCapacity(capacity)
            modules.reserveCapacity(capacity)
            nameStarts.reserveCapacity(capacity + 1)
            bytes.reserveCapacity(capacity * 24)
        }

        public var count: Int { addresses.count }

        /// The id of a module name for ``add(address:size:name:isGlobal:isWeak:module:)`` (0 for none).
        public mutating func module(_ name: String) -> Int32 {
            if let id = moduleIndex[name] { return id }
            let id = Int32(moduleNames.count)
            moduleNames.append(name)
            moduleIndex[name] = id
            return id
        }

        public mutating func add(address: UInt64, size: UInt64, name: UnsafeBufferPointer<UInt8>, isGlobal: Bool,
                                 isWeak: Bool = false, module: Int32 = 0) {
            addresses.append(address)
            sizes.append(size)
            flags.append((isGlobal ? 1 : 0) | (isWeak ? 2 : 0))
            modules.append(module)
            nameStarts.append(UInt32(truncatingIfNeeded: bytes.count))
            bytes.append(contentsOf: name)
        }

        public mutating func add(_ e: Entry) {
            var name = e.name
            let m = module(e.module)
            name.withUTF8 { add(address: e.address, size: e.size, name: $0, isGlobal: e.isGlobal, isWeak: e.isWeak, module: m) }
        }
    }

    /// Whether `a` is the better name for an address than `b` (the rule `perf report` uses, so the two agree):
    /// a symbol with an extent over an empty one, then non-weak over weak, global over local, fewer leading
    /// underscores, the longer name; nil on a tie (source order decides). A zero-size symbol runs to the next
    /// symbol, so among aliases only the last one listed at an address has an extent of its own
    /// (`aSized`, `bSized`): of a kallsyms dump's aliases, which all have size 0, that one is named.
    static func prefer(_ a: Entry, _ aSized: Bool, over b: Entry, _ bSized: Bool) -> Bool? {
        var an = a.name, bn = b.name
        return an.withUTF8 { ab in
            bn.withUTF8 { bb in
                prefer(aSized, a.isWeak, a.isGlobal, ab, over: bSized, b.isWeak, b.isGlobal, bb)
            }
        }
    }

    static func prefer(_ aSized: Bool, _ aWeak: Bool, _ aGlobal: Bool, _ an: UnsafeBufferPointer<UInt8>,
                       over bSized: Bool, _ bWeak: Bool, _ bGlobal: Bool, _ bn: UnsafeBufferPointer<UInt8>) -> Bool? {
        if aSized != bSized { return aSized }
        if aWeak != bWeak { return !aWeak }
        if aGlobal != bGlobal { return aGlobal }
        let ua = an.prefix { $0 == 95 }.count, ub = bn.prefix { $0 == 95 }.count
        if ua != ub { return ua < ub }
        if an.count != bn.count { return an.count > bn.count }
        return nil
    }

    /// Builds the table; `entries` in source order (that order breaks remaining ties between aliases).
    /// - Complexity: O(n log n).
    public convenience init(entries: [Entry]) {
        var b = Builder(capacity: entries.count)
        for e in entries { b.add(e) }
        self.init(builder: b)
    }

    /// Builds the table from what `builder` collected.
    /// - Complexity: O(n log n); names are not copied.
    public init(builder: Builder) {
        var b = builder
        b.nameStarts.append(UInt32(truncatingIfNeeded: b.bytes.count))
        let n = b.addresses.count
        // Source order is usually address order already (kallsyms, System.map): then no order array at all.
        var order: [Int32] = []
        let sorted = b.addresses.withUnsafeBufferPointer { a in (0..<max(0, n - 1)).allSatisfy { a[$0] <= a[$0 + 1] } }
        if !sorted {
            order = (0..<n).map { Int32(truncatingIfNeeded: $0) }
            b.addresses.withUnsafeBufferPointer { a in
                order.sort { x, y in
                    let ax = a[Int(x)], ay = a[Int(y)]
                    return ax != ay ? ax < ay : x < y
                }
            }
        }
        var starts = [UInt64](), sizes = [UInt64](), offsets = [UInt32](), lengths = [UInt32](), mods = [Int32]()
        starts.reserveCapacity(n); sizes.reserveCapacity(n); offsets.reserveCapacity(n); lengths.reserveCapacity(n)
        mods.reserveCapacity(n)
        var aliases: [UInt64: [String]] = [:]
        b.addresses.withUnsafeBufferPointer { addr in
        b.sizes.withUnsafeBufferPointer { sz in
        b.flags.withUnsafeBufferPointer { flags in
        b.modules.withUnsafeBufferPointer { modules in
        b.nameStarts.withUnsafeBufferPointer { ns in
        b.bytes.withUnsafeBufferPointer { bytes in
        order.withUnsafeBufferPointer { ord in
            @inline(__always) func at(_ k: Int) -> Int { sorted ? k : Int(ord[k]) }
            func name(_ i: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[Int(ns[i])..<Int(ns[i + 1])])
            }
            var k = 0
            while k < n {
                let first = at(k)
                let address = addr[first]
                var runEnd = k + 1
                while runEnd < n, addr[at(runEnd)] == address { runEnd += 1 }
                var chosen = first
                var size = sz[first]
                if runEnd - k > 1 {
                    // Aliases: order the run by preference; the alias listed last still runs to the next symbol.
                    var run = (k..<runEnd).map(at)
                    let last = run[run.count - 1]
                    run.sort { x, y in
                        let fx = flags[x], fy = flags[y]
                        return Self.prefer(sz[x] > 0 || x == last, fx & 2 != 0, fx & 1 != 0, name(x),
                                           over: sz[y] > 0 || y == last, fy & 2 != 0, fy & 1 != 0, name(y)) ?? (x < y)
                    }
                    chosen = run[0]
                    size = run.map { sz[$0] }.max() ?? 0
                    aliases[address] = run.map { String(decoding: name($0), as: UTF8.self) }
                }
                starts.append(address)
                sizes.append(size)
                offsets.append(ns[chosen])
                lengths.append(ns[chosen + 1] - ns[chosen])
                mods.append(modules[chosen])
                k = runEnd
            }
        } } } } } } }
        let m = starts.count
        let ends = [UInt64](unsafeUninitializedCapacity: m) { e, count in
            starts.withUnsafeBufferPointer { s in
                sizes.withUnsafeBufferPointer { z in
                    mods.withUnsafeBufferPointer { md in
                        for i in 0..<m {
                            if z[i] > 0 {
                                e[i] = s[i] &+ z[i]
                            } else if i + 1 < m, md[i + 1] == md[i] {
                                e[i] = s[i + 1]
                            } else {
                                e[i] = s[i] &+ 1
                            }
                        }
                    }
                }
            }
            count = m
        }
        self.starts = starts
        self.ends = ends
        self.nameBytes = b.bytes
        self.nameOffset = offsets
        self.nameLength = lengths
        self.moduleIDs = mods
        self.moduleNames = b.moduleNames
        self.aliasTable = aliases
        if let first = starts.first, let last = ends.max(), last > first {
            addressRange = first..<last
        } else {
            addressRange = nil
        }
        lookupIndex = LookupIndex(starts: starts, ends: ends, nameOffsets: offsets, nameLengths: lengths)
    }

    /// A copy of the starts and ends in plain memory plus a bucket table over the address range, so a lookup
    /// is a short search in one bucket without reference counting (millions of lookups per report).
    final class LookupIndex: @unchecked Sendable {
        /// The index itself, as plain pointers this object owns: lookups go through it with no reference
        /// counting, so several threads can share the index without touching a common counter.
        let view: View

        init(starts s: [UInt64], ends e: [UInt64], nameOffsets o: [UInt32], nameLengths l: [UInt32]) {
            let count = s.count
            let entries = UnsafeMutablePointer<IndexEntry>.allocate(capacity: max(1, count))
            for i in 0..<count { entries[i] = IndexEntry(start: s[i], end: e[i], nameOffset: o[i], nameLength: l[i]) }
            let base = s.first ?? 0
            let span = (s.last ?? 0) &- base
            // Two to four buckets per symbol, a power of two wide: symbols cluster (many small functions
            // side by side), and fewer per bucket means a shorter scan (4 bytes per bucket).
            var sh: UInt64 = 0
            while count > 0, (span >> sh) > UInt64(count) * 4 { sh += 1 }
            let bucketCount = count == 0 ? 1 : Int(span >> sh) + 1
            let bucketFirst = UnsafeMutablePointer<Int32>.allocate(capacity: bucketCount)
            var j = 0
            for b in 0..<bucketCount {
                let bucketStart = base &+ (UInt64(b) << sh)
                while j + 1 < count, s[j + 1] <= bucketStart { j += 1 }
                bucketFirst[b] = Int32(j)
            }
            view = View(count: count, entries: entries, base: base, shift: sh, bucketFirst: bucketFirst, bucketCount: bucketCount)
        }

        deinit {
            view.entries.deallocate()
            view.bucketFirst.deallocate()
        }
    }

    /// One symbol of the lookup index: its extent and where its preferred name is in the name bytes.
    struct IndexEntry {
        var start: UInt64
        var end: UInt64
        var nameOffset: UInt32
        var nameLength: UInt32
    }

    /// The lookup index as plain pointers, valid while its table lives.
    struct View {
        let count: Int
        /// Per symbol, all a lookup and its row need, side by side (one cache line or two per lookup).
        let entries: UnsafeMutablePointer<IndexEntry>
        let base: UInt64
        let shift: UInt64
        /// For bucket b: the first candidate index (the last symbol starting at or before the bucket).
        let bucketFirst: UnsafeMutablePointer<Int32>
        let bucketCount: Int

        /// Index of the last symbol whose start is at or before `address`, nil if none.
        @inline(__always)
        func lastStart(atOrBefore address: UInt64) -> Int? {
            guard count > 0, address >= base else { return nil }
            let b = Int(min(UInt64(bucketCount - 1), (address &- base) >> shift))
            var i = Int(bucketFirst[b])
            while i + 1 < count, entries[i + 1].start <= address { i += 1 }
            return i
        }

        /// Index of the function containing `address`, or nil (see ``SymbolTable/index(containing:)``).
        @inline(__always)
        func index(containing address: UInt64) -> Int? {
            guard let i = lastStart(atOrBefore: address) else { return nil }
            var j = i
            // A sized symbol that ends before `address` may be nested inside an earlier, larger one.
            while address >= entries[j].end {
                guard j > 0, i - j < 4 else { return nil }
                j -= 1
            }
            return j
        }
    }

    /// Where the names' bytes are, as a plain pointer (offsets and lengths are in ``IndexEntry``): valid
    /// inside ``withNames(_:)`` only.
    struct NameView {
        let bytes: UnsafePointer<UInt8>
    }

    /// Calls `body` with a plain pointer to the names (for loops that must not retain arrays per lookup,
    /// possibly on several threads at once: the table is immutable).
    func withNames<R>(_ body: (NameView) throws -> R) rethrows -> R {
        try nameBytes.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { return try body(NameView(bytes: base)) }
            // No names at all (an empty array has no base address): point at a zero byte instead.
            var zero: UInt8 = 0
            return try withUnsafePointer(to: &zero) { try body(NameView(bytes: $0)) }
        }
    }

    let lookupIndex: LookupIndex

    private static func index(_ starts: [UInt64], _ address: UInt64) -> Int? {
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lo - 1 : nil
    }

    /// Whether any symbol belongs to a kernel module (a kallsyms `[module]` column).
    public var hasModules: Bool { moduleNames.count > 1 }

    /// Number of distinct symbol addresses.
    public var count: Int { starts.count }

    /// Lowest start ..< highest end: the range "inside the image".
    public let addressRange: Range<UInt64>?

    /// Index of the function containing `address` (for ``name(at:)``/``start(at:)``), or nil.
    /// - Complexity: O(log n), no allocation.
    public func index(containing address: UInt64) -> Int? {
        lookupIndex.view.index(containing: address)
    }

    /// Name of the symbol at index `i` (from ``index(containing:)``).
    public func name(at i: Int) -> String {
        withName(at: i) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 bytes of the name of the symbol at index `i` (no string is made).
    @inline(__always)
    public func withName<R>(at i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let o = Int(nameOffset[i]), l = Int(nameLength[i])
        return nameBytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[o..<(o + l)])) }
    }

    /// The module of the symbol at index `i`, nil for the main image.
    public func module(at i: Int) -> String? {
        let m = Int(moduleIDs[i])
        return m == 0 ? nil : moduleNames[m]
    }
    /// Start address of the symbol at index `i`.
    public func start(at i: Int) -> UInt64 { starts[i] }

    /// The function containing `address`, or nil.
    /// - Complexity: O(log n).
    public func lookup(_ address: UInt64) -> SymbolHit? {
        guard let j = index(containing: address) else { return nil }
        return SymbolHit(name: name(at: j), start: starts[j], size: ends[j] - starts[j], offset: address - starts[j],
                         module: module(at: j))
    }

    /// All names at the address of `hit` (the preferred one first).
    public func aliases(at address: UInt64) -> [String] {
        if let a = aliasTable[address] { return a }
        if let i = Self.index(starts, address), starts[i] == address { return [name(at: i)] }
        return []
    }

    /// The symbol named `name` (e.g. `_stext` to find the kernel's relocation).
    /// - Complexity: O(n): meant for a few anchor symbols, not for bulk lookups.
    public func symbol(named name: String) -> SymbolHit? {
        var wanted = name
        var found = wanted.withUTF8 { w in starts.indices.first { i in withName(at: i) { $0.elementsEqual(w) } } }
        if found == nil, let (addr, _) = aliasTable.first(where: { $0.value.contains(name) }) {
            found = Self.index(starts, addr)
        }
        guard let i = found else { return nil }
        return SymbolHit(name: name, start: starts[i], size: ends[i] - starts[i], offset: 0, module: module(at: i))
    }
}
