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

/// A sorted, immutable table of function symbols, searched by binary search.
///
/// Built once from ELF symbols, a System.map or a kallsyms dump. Sizes: a symbol with size 0 runs to
/// the next symbol's start (the last one covers only its own address). Aliases (several names at one
/// address) are kept (``aliases(at:)``); ``lookup(_:)`` returns the preferred one by ``prefer(_:over:)``,
/// the rule `perf report` applies, so both name a function alike.
public final class SymbolTable: Sendable {
    /// Starts, ascending; one entry per distinct address.
    let starts: [UInt64]
    /// Ends (exclusive) per entry.
    let ends: [UInt64]
    /// Preferred name per entry.
    let names: [String]
    /// Module per entry ("" for none).
    let modules: [String]
    /// All names per address when there are aliases.
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

    /// Whether `a` is the better name for an address than `b` (the rule `perf report` uses, so the two agree):
    /// a symbol with an extent over an empty one, then non-weak over weak, global over local, fewer leading
    /// underscores, the longer name; ties keep the source order. A zero-size symbol runs to the next
    /// symbol, so among aliases only the last one listed at an address has an extent of its own (`aSized`,
    /// `bSized`): of a kallsyms dump's aliases, which all have size 0, that one is named.
    static func prefer(_ a: Entry, _ aSized: Bool, over b: Entry, _ bSized: Bool) -> Bool? {
        if aSized != bSized { return aSized }
        if a.isWeak != b.isWeak { return !a.isWeak }
        if a.isGlobal != b.isGlobal { return a.isGlobal }
        let ua = a.name.prefix { $0 == "_" }.count, ub = b.name.prefix { $0 == "_" }.count
        if ua != ub { return ua < ub }
        if a.name.utf8.count != b.name.utf8.count { return a.name.utf8.count > b.name.utf8.count }
        return nil
    }

    /// Builds the table; `entries` in source order (that order breaks remaining ties between aliases).
    /// - Complexity: O(n log n).
    public init(entries: [Entry]) {
        // Sort plain (address, index) pairs (kallsyms is nearly sorted already), then order each run of
        // equal addresses by preference; comparing whole entries in the sort would copy strings per step.
        var keyed = entries.indices.map { (entries[$0].address, $0) }
        if !zip(keyed, keyed.dropFirst()).allSatisfy({ $0.0 <= $1.0 }) {
            keyed.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        }
        var order = keyed.map(\.1)
        var runStart = 0
        while runStart < order.count {
            var runEnd = runStart + 1
            while runEnd < order.count, keyed[runEnd].0 == keyed[runStart].0 { runEnd += 1 }
            if runEnd - runStart > 1 {
                let last = order[runEnd - 1]  // the alias listed last: a zero size still runs to the next symbol
                order[runStart..<runEnd].sort { a, b in
                    Self.prefer(entries[a], entries[a].size > 0 || a == last, over: entries[b], entries[b].size > 0 || b == last) ?? (a < b)
                }
            }
            runStart = runEnd
        }
        var starts: [UInt64] = [], sizes: [UInt64] = [], names: [String] = [], modules: [String] = []
        var aliases: [UInt64: [String]] = [:]
        starts.reserveCapacity(order.count)
        for i in order {
            let e = entries[i]
            if let last = starts.last, last == e.address {
                aliases[e.address, default: [names[names.count - 1]]].append(e.name)
                sizes[sizes.count - 1] = max(sizes[sizes.count - 1], e.size)
                continue
            }
            starts.append(e.address)
            sizes.append(e.size)
            names.append(e.name)
            modules.append(e.module)
        }
        var ends = [UInt64](repeating: 0, count: starts.count)
        for i in starts.indices {
            if sizes[i] > 0 {
                ends[i] = starts[i] &+ sizes[i]
            } else if i + 1 < starts.count, modules[i + 1] == modules[i] {
                ends[i] = starts[i + 1]
            } else {
                ends[i] = starts[i] &+ 1
            }
        }
        self.starts = starts
        self.ends = ends
        self.names = names
        self.modules = modules
        self.aliasTable = aliases
        if let first = starts.first, let last = ends.max(), last > first {
            addressRange = first..<last
        } else {
            addressRange = nil
        }
        lookupIndex = LookupIndex(starts: starts, ends: ends)
    }

    /// A copy of the starts and ends in plain memory plus a bucket table over the address range, so a lookup
    /// is a short search in one bucket without reference counting (millions of lookups per report).
    final class LookupIndex: @unchecked Sendable {
        let count: Int
        let starts: UnsafeMutablePointer<UInt64>
        let ends: UnsafeMutablePointer<UInt64>
        let base: UInt64
        let shift: UInt64
        /// For bucket b: the first candidate index (the last symbol starting at or before the bucket).
        let bucketFirst: UnsafeMutablePointer<Int32>
        let bucketCount: Int

        init(starts s: [UInt64], ends e: [UInt64]) {
            count = s.count
            starts = .allocate(capacity: max(1, count))
            ends = .allocate(capacity: max(1, count))
            for i in 0..<count { starts[i] = s[i]; ends[i] = e[i] }
            base = s.first ?? 0
            let span = (s.last ?? 0) &- base
            // About one bucket per symbol, a power of two wide.
            var sh: UInt64 = 0
            while count > 0, (span >> sh) > UInt64(count) { sh += 1 }
            shift = sh
            bucketCount = count == 0 ? 1 : Int(span >> sh) + 1
            bucketFirst = .allocate(capacity: bucketCount)
            var j = 0
            for b in 0..<bucketCount {
                let bucketStart = base &+ (UInt64(b) << sh)
                while j + 1 < count, s[j + 1] <= bucketStart { j += 1 }
                bucketFirst[b] = Int32(j)
            }
        }

        deinit {
            starts.deallocate()
            ends.deallocate()
            bucketFirst.deallocate()
        }

        /// Index of the last symbol whose start is at or before `address`, nil if none.
        @inline(__always)
        func lastStart(atOrBefore address: UInt64) -> Int? {
            guard count > 0, address >= base else { return nil }
            let b = Int(min(UInt64(bucketCount - 1), (address &- base) >> shift))
            var i = Int(bucketFirst[b])
            while i + 1 < count, starts[i + 1] <= address { i += 1 }
            return i
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
    public var hasModules: Bool { modules.contains { !$0.isEmpty } }

    /// Number of distinct symbol addresses.
    public var count: Int { starts.count }

    /// Lowest start ..< highest end: the range "inside the image".
    public let addressRange: Range<UInt64>?

    /// Index of the function containing `address` (for ``name(at:)``/``start(at:)``), or nil.
    /// - Complexity: O(log n), no allocation.
    public func index(containing address: UInt64) -> Int? {
        let ix = lookupIndex
        guard let i = ix.lastStart(atOrBefore: address) else { return nil }
        var j = i
        // A sized symbol that ends before `address` may be nested inside an earlier, larger one.
        while address >= ix.ends[j] {
            guard j > 0, i - j < 4 else { return nil }
            j -= 1
        }
        return j
    }

    /// Name of the symbol at index `i` (from ``index(containing:)``).
    public func name(at i: Int) -> String { names[i] }
    /// Start address of the symbol at index `i`.
    public func start(at i: Int) -> UInt64 { starts[i] }

    /// The function containing `address`, or nil.
    /// - Complexity: O(log n).
    public func lookup(_ address: UInt64) -> SymbolHit? {
        guard let j = index(containing: address) else { return nil }
        return SymbolHit(name: names[j], start: starts[j], size: ends[j] - starts[j], offset: address - starts[j],
                         module: modules[j].isEmpty ? nil : modules[j])
    }

    /// All names at the address of `hit` (the preferred one first).
    public func aliases(at address: UInt64) -> [String] {
        if let a = aliasTable[address] { return a }
        if let i = Self.index(starts, address), starts[i] == address { return [names[i]] }
        return []
    }

    /// The symbol named `name` (e.g. `_stext` to find the kernel's relocation).
    /// - Complexity: O(n): meant for a few anchor symbols, not for bulk lookups.
    public func symbol(named name: String) -> SymbolHit? {
        var found = names.firstIndex(of: name)
        if found == nil, let (addr, _) = aliasTable.first(where: { $0.value.contains(name) }) {
            found = Self.index(starts, addr)
        }
        guard let i = found else { return nil }
        return SymbolHit(name: name, start: starts[i], size: ends[i] - starts[i], offset: 0,
                         module: modules[i].isEmpty ? nil : modules[i])
    }
}
