#if canImport(Glibc)
import Glibc
#endif

/// A function found for an address.
public struct SymbolHit: Sendable, Equatable {
    /// The symbol's name as the table holds it (mangled for C++; callers demangle).
    public var name: String
    /// Address of the function's first byte (in the table's address space).
    public var start: UInt64
    /// Size in bytes (for zero-size symbols: the distance to the next symbol, 0 for the last).
    public var size: UInt64
    /// The looked-up address minus `start`.
    public var offset: UInt64
    /// The kernel module (`[module]` column of kallsyms), nil for the main image.
    public var module: String?

    /// A hit; `offset` is the looked-up address minus `start`, `module` nil for the main image.
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
/// runs to the next symbol's start (the last one to the end of the page after its own, as perf extends it). Aliases (several names at
/// one address) are kept (``aliases(at:)``); ``lookup(_:)`` returns the preferred one by
/// ``prefer(_:_:over:_:)``, the rule `perf report` applies, so both name a function alike.
public final class SymbolTable: Sendable {
    /// All names' UTF-8 bytes (for text maps: the whole file, names referenced where they stand).
    let nameBytes: NameStorage
    /// Module per entry, an index into `moduleNames` (0: none).
    let moduleIDs: [Int32]
    let moduleNames: [String]
    /// Addresses that have several names, ascending, and for each the range of its names in `aliasNames`
    /// (offset and length into `nameBytes`, the preferred one first): strings only when asked for.
    let aliasAddresses: [UInt64]
    let aliasRanges: [Range<Int32>]
    let aliasNames: [(UInt32, UInt32)]

    /// One raw symbol before sorting.
    public struct Entry: Sendable {
        /// Start address: an ELF virtual address, or the runtime address of a kallsyms dump or System.map.
        public var address: UInt64
        /// Size in bytes (`st_size`); 0 when unknown: the table extends it to the next symbol.
        public var size: UInt64
        /// The name as the source spells it (mangled for C++).
        public var name: String
        /// `STB_GLOBAL`, or an upper-case `T` in a text map: preferred over a local name at the same address.
        public var isGlobal: Bool
        /// `STB_WEAK`, or `W`/`w` in a text map: a non-weak name at the same address is preferred.
        public var isWeak: Bool
        /// The kernel module (kallsyms' `[module]` column); empty for the main image.
        public var module: String
        /// A symbol; `module` empty for the main image.
        public init(address: UInt64, size: UInt64, name: String, isGlobal: Bool, isWeak: Bool = false, module: String = "") {
            self.address = address
            self.size = size
            self.name = name
            self.isGlobal = isGlobal
            self.isWeak = isWeak
            self.module = module
        }
    }

    /// Collects raw symbols with their names as bytes (no `String` per symbol), for ``init(builder:)``.
    public struct Builder {
        /// One collected symbol: its address and size, where its name is in `bytes`, its module and flags
        /// (bit 0: global, bit 1: weak). One append per symbol.
        struct Raw {
            var address: UInt64
            var size: UInt64
            var nameStart: UInt32
            var nameLength: UInt32
            var module: Int32
            var flags: UInt8
        }
        var raws: [Raw] = []
        var bytes: [UInt8] = []
        var moduleNames: [String] = [""]
        var moduleIndex: [String: Int32] = ["": 0]

        /// An empty builder with room for `capacity` symbols (and about 24 name bytes each).
        public init(capacity: Int = 0) {
            raws.reserveCapacity(capacity)
            bytes.reserveCapacity(capacity * 24)
        }

        /// A builder whose names are already in `names` (a text map's bytes): symbols are then added with
        /// ``add(address:size:nameAt:length:isGlobal:isWeak:module:)`` and no name is copied.
        init(capacity: Int, names: NameStorage) {
            raws.reserveCapacity(capacity)
            adopted = names
        }

        /// Names that are already in memory (a text map's bytes), referenced by offset; nil when names are
        /// copied into `bytes`.
        var adopted: NameStorage?

        /// Symbols added so far (aliases each counted).
        public var count: Int { raws.count }

        /// The id of a module name for ``add(address:size:name:isGlobal:isWeak:module:)`` (0 for none).
        public mutating func module(_ name: String) -> Int32 {
            if let id = moduleIndex[name] { return id }
            let id = Int32(moduleNames.count)
            moduleNames.append(name)
            moduleIndex[name] = id
            return id
        }

        /// Adds a symbol, copying its name's bytes; `module` from ``module(_:)`` (0 for none).
        public mutating func add(address: UInt64, size: UInt64, name: UnsafeBufferPointer<UInt8>, isGlobal: Bool,
                                 isWeak: Bool = false, module: Int32 = 0) {
            let at = bytes.count
            bytes.append(contentsOf: name)
            add(address: address, size: size, nameAt: at, length: name.count, isGlobal: isGlobal, isWeak: isWeak, module: module)
        }

        /// Adds a symbol whose name is `bytes[nameAt ..< nameAt + length]`.
        @inline(__always)
        mutating func add(address: UInt64, size: UInt64, nameAt: Int, length: Int, isGlobal: Bool,
                          isWeak: Bool = false, module: Int32 = 0) {
            raws.append(Raw(address: address, size: size, nameStart: UInt32(truncatingIfNeeded: nameAt),
                            nameLength: UInt32(truncatingIfNeeded: length), module: module,
                            flags: (isGlobal ? 1 : 0) | (isWeak ? 2 : 0)))
        }

        /// Adds `e`, copying its name and interning its module.
        public mutating func add(_ e: Entry) {
            var name = e.name
            let m = module(e.module)
            name.withUTF8 { add(address: e.address, size: e.size, name: $0, isGlobal: e.isGlobal, isWeak: e.isWeak, module: m) }
        }
    }

    /// Builds the table from what `builder` collected: sorted by address, zero-size symbols sized up to the
    /// next one, aliases kept and each address's preferred name picked (``prefer(_:_:over:_:)``).
    /// - Complexity: O(n) when the symbols came in address order (kallsyms, System.map), else O(n log n);
    ///   names are not copied.
    public init(builder b: Builder) {
        let n = b.raws.count
        var modules: [Int32] = []
        var aliasAddresses: [UInt64] = [], aliasRanges: [Range<Int32>] = [], aliasNames: [(UInt32, UInt32)] = []
        var m = 0
        let entries = UnsafeMutablePointer<IndexEntry>.allocate(capacity: max(1, n))
        b.raws.withUnsafeBufferPointer { raws in
            // Source order is usually address order already: then no order array at all.
            var sorted = true
            var k = 1
            while k < n { if raws[k - 1].address > raws[k].address { sorted = false; break }; k += 1 }
            var order: [Int32] = []
            if !sorted {
                order = Self.addressOrder(raws)
            }
            modules.reserveCapacity(n)
            order.withUnsafeBufferPointer { ord in
            let names = b.adopted ?? NameStorage(array: b.bytes)
            names.withBytes { bytes in
                @inline(__always) func at(_ k: Int) -> Int { sorted ? k : Int(ord[k]) }
                func name(_ i: Int) -> UnsafeBufferPointer<UInt8> {
                    let r = raws[i]
                    return UnsafeBufferPointer(rebasing: bytes[Int(r.nameStart)..<(Int(r.nameStart) + Int(r.nameLength))])
                }
                var k = 0
                while k < n {
                    let first = at(k)
                    let address = raws[first].address
                    var runEnd = k + 1
                    while runEnd < n, raws[at(runEnd)].address == address { runEnd += 1 }
                    var chosen = first
                    var size = raws[first].size
                    if runEnd - k > 1 {
                        // Aliases: order the run by preference. When none has a size (a kallsyms dump), the alias listed
                        // last still runs to the next symbol; otherwise a sized symbol (an ELF FUNC/OBJECT) beats the
                        // zero-size labels at its address (xen-syms' `_sinittext` at `setup_core_parking_option`).
                        var run = (k..<runEnd).map(at)
                        let last = run[run.count - 1]
                        let anySized = run.contains { raws[$0].size > 0 }
                        func sized(_ x: Int) -> Bool { raws[x].size > 0 || (!anySized && x == last) }
                        // Mangled names compare as perf holds them, demangled (SymbolTable+Order.swift).
                        var demangled: [Int: [UInt8]] = [:]
                        for x in run { if let d = Self.comparisonName(name(x)) { demangled[x] = d } }
                        func compared<R>(_ x: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
                            if let d = demangled[x] { return d.withUnsafeBufferPointer(body) }
                            return body(name(x))
                        }
                        run.sort { x, y in
                            let fx = raws[x].flags, fy = raws[y].flags
                            return compared(x) { nx in
                                compared(y) { ny in
                                    Self.prefer(sized(x), fx & 2 != 0, fx & 1 != 0, nx,
                                                over: sized(y), fy & 2 != 0, fy & 1 != 0, ny)
                                }
                            } ?? (x < y)
                        }
                        chosen = run[0]
                        size = run.map { raws[$0].size }.max() ?? 0
                        let from = Int32(aliasNames.count)
                        for i in run { aliasNames.append((raws[i].nameStart, raws[i].nameLength)) }
                        aliasAddresses.append(address)
                        aliasRanges.append(from..<Int32(aliasNames.count))
                    }
                    // `end` holds the size for now; the next pass turns it into the end.
                    entries[m] = IndexEntry(start: address, end: size, nameOffset: raws[chosen].nameStart,
                                            nameLength: raws[chosen].nameLength)
                    modules.append(raws[chosen].module)
                    m += 1
                    k = runEnd
                }
            }
            }
        }
        // A zero-size symbol runs to the next one of its module; the last one (of the table, or of its module)
        // to the end of the page after the one it starts in — perf's rule (symbols__fixup_end), which names
        // e.g. a sample in a library's `_fini+0x4` (its last symbol, of size 0).
        var lastEnd: UInt64 = 0
        for i in 0..<m {
            let s = entries[i].start, z = entries[i].end
            let e: UInt64
            if z > 0 {
                e = s &+ z
            } else if i + 1 < m, modules[i + 1] == modules[i] {
                e = entries[i + 1].start
            } else {
                let page = ((s &+ 4095) & ~UInt64(4095)) &+ 4096
                e = page > s ? page : UInt64.max
            }
            entries[i].end = e
            lastEnd = max(lastEnd, e)
        }
        self.nameBytes = b.adopted ?? NameStorage(array: b.bytes)
        self.moduleIDs = modules
        self.moduleNames = b.moduleNames
        self.aliasAddresses = aliasAddresses
        self.aliasRanges = aliasRanges
        self.aliasNames = aliasNames
        if m > 0, lastEnd > entries[0].start {
            addressRange = entries[0].start..<lastEnd
        } else {
            addressRange = nil
        }
        lookupIndex = LookupIndex(entries: entries, count: m)
    }

    /// A table from its parts as ``encode(into:)`` wrote them, checked: nil unless every entry is in
    /// start order, every name and alias inside `names`, and every module id known.
    init?(names: NameStorage, entries: UnsafeRawBufferPointer, count: Int, moduleIDs: [Int32], moduleNames: [String],
          aliasAddresses: [UInt64], aliasRanges: [Range<Int32>], aliasNames: [(UInt32, UInt32)], addressRange: Range<UInt64>?) {
        guard entries.count == count * MemoryLayout<IndexEntry>.stride, moduleIDs.count == count, !moduleNames.isEmpty,
              aliasRanges.count == aliasAddresses.count else { return nil }
        let nameCount = UInt64(names.count)
        let copy = UnsafeMutablePointer<IndexEntry>.allocate(capacity: max(1, count))
        if count > 0 { UnsafeMutableRawPointer(copy).copyMemory(from: entries.baseAddress!, byteCount: entries.count) }
        var sound = moduleIDs.allSatisfy { $0 >= 0 && Int($0) < moduleNames.count }
        for i in 0..<count where sound {
            let e = copy[i]
            sound = e.end >= e.start && UInt64(e.nameOffset) + UInt64(e.nameLength) <= nameCount && (i == 0 || copy[i - 1].start <= e.start)
        }
        sound = sound && aliasNames.allSatisfy { UInt64($0.0) + UInt64($0.1) <= nameCount }
            && aliasRanges.allSatisfy { $0.lowerBound >= 0 && Int($0.upperBound) <= aliasNames.count }
        guard sound else { copy.deallocate(); return nil }
        nameBytes = names
        self.moduleIDs = moduleIDs
        self.moduleNames = moduleNames
        self.aliasAddresses = aliasAddresses
        self.aliasRanges = aliasRanges
        self.aliasNames = aliasNames
        self.addressRange = addressRange
        lookupIndex = LookupIndex(entries: copy, count: count)
    }

    /// A copy of the starts and ends in plain memory plus a bucket table over the address range, so a lookup
    /// is a short search in one bucket without reference counting (millions of lookups per report).
    final class LookupIndex: @unchecked Sendable {
        /// The index itself, as plain pointers this object owns: lookups go through it with no reference
        /// counting, so several threads can share the index without touching a common counter.
        let view: View

        /// Takes ownership of `entries` (sorted by start, `count` of them).
        init(entries: UnsafeMutablePointer<IndexEntry>, count: Int) {
            let base = count > 0 ? entries[0].start : 0
            let span = count > 0 ? entries[count - 1].start &- base : 0
            // Two to four buckets per symbol, a power of two wide: symbols cluster (many small functions
            // side by side), and fewer per bucket means a shorter scan (4 bytes per bucket).
            var sh: UInt64 = 0
            while count > 0, (span >> sh) > UInt64(count) * 4 { sh += 1 }
            let bucketCount = count == 0 ? 1 : Int(span >> sh) + 1
            let bucketFirst = UnsafeMutablePointer<Int32>.allocate(capacity: bucketCount)
            var j = 0
            for b in 0..<bucketCount {
                let bucketStart = base &+ (UInt64(b) << sh)
                while j + 1 < count, entries[j + 1].start <= bucketStart { j += 1 }
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
        try nameBytes.withBytes { b in
            if let base = b.baseAddress { return try body(NameView(bytes: base)) }
            // No names at all (an empty array has no base address): point at a zero byte instead.
            var zero: UInt8 = 0
            return try withUnsafePointer(to: &zero) { try body(NameView(bytes: $0)) }
        }
    }

    let lookupIndex: LookupIndex

    /// Index of the entry starting exactly at `address`, nil if none.
    private func entry(startingAt address: UInt64) -> Int? {
        guard let i = lookupIndex.view.lastStart(atOrBefore: address), lookupIndex.view.entries[i].start == address else { return nil }
        return i
    }

    /// Whether any symbol belongs to a kernel module (a kallsyms `[module]` column).
    public var hasModules: Bool { moduleNames.count > 1 }

    /// Number of distinct symbol addresses.
    public var count: Int { lookupIndex.view.count }

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
        let e = lookupIndex.view.entries[i]
        let o = Int(e.nameOffset), l = Int(e.nameLength)
        return nameBytes.withBytes { body(UnsafeBufferPointer(rebasing: $0[o..<(o + l)])) }
    }

    private func string(_ span: (UInt32, UInt32)) -> String {
        nameBytes.withBytes { String(decoding: UnsafeBufferPointer(rebasing: $0[Int(span.0)..<(Int(span.0) + Int(span.1))]), as: UTF8.self) }
    }

    /// The module of the symbol at index `i`, nil for the main image.
    public func module(at i: Int) -> String? {
        let m = Int(moduleIDs[i])
        return m == 0 ? nil : moduleNames[m]
    }
    /// The module index of the symbol at index `i` (0: the main image; ``module(at:)`` names it).
    @inline(__always)
    public func moduleIndex(at i: Int) -> Int32 { moduleIDs[i] }

    /// Start address of the symbol at index `i`.
    public func start(at i: Int) -> UInt64 { lookupIndex.view.entries[i].start }

    private func hit(_ j: Int, name: String, offset: UInt64) -> SymbolHit {
        let e = lookupIndex.view.entries[j]
        return SymbolHit(name: name, start: e.start, size: e.end - e.start, offset: offset, module: module(at: j))
    }

    /// The function containing `address`, or nil.
    /// - Complexity: O(log n).
    public func lookup(_ address: UInt64) -> SymbolHit? {
        guard let j = index(containing: address) else { return nil }
        return hit(j, name: name(at: j), offset: address - start(at: j))
    }

    /// All names at the address of `hit` (the preferred one first).
    public func aliases(at address: UInt64) -> [String] {
        var lo = 0, hi = aliasAddresses.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if aliasAddresses[mid] < address { lo = mid + 1 } else { hi = mid }
        }
        if lo < aliasAddresses.count, aliasAddresses[lo] == address {
            return aliasRanges[lo].map { string(aliasNames[Int($0)]) }
        }
        if let i = entry(startingAt: address) { return [name(at: i)] }
        return []
    }

    /// The symbol named `name` (e.g. `_stext` to find the kernel's relocation).
    /// - Complexity: O(n): meant for a few anchor symbols, not for bulk lookups.
    public func symbol(named name: String) -> SymbolHit? {
        var wanted = name
        let view = lookupIndex.view
        // Lengths first, then the bytes (memcmp): a scan of a 120,000-symbol kallsyms takes well under a millisecond.
        var found: Int? = nil
        var k: Int? = nil
        wanted.withUTF8 { w in
            nameBytes.withBytes { names in
                guard let base = names.baseAddress, let wb = w.baseAddress else { return }
                let n = UInt32(w.count)
                for i in 0..<view.count where view.entries[i].nameLength == n {
                    if memcmp(base + Int(view.entries[i].nameOffset), wb, w.count) == 0 { found = i; return }
                }
                k = aliasNames.firstIndex { span in span.1 == n && memcmp(base + Int(span.0), wb, w.count) == 0 }
            }
        }
        if found == nil {
            if let k, let r = aliasRanges.firstIndex(where: { $0.contains(Int32(k)) }) {
                found = entry(startingAt: aliasAddresses[r])
            }
        }
        guard let i = found else { return nil }
        return hit(i, name: name, offset: 0)
    }
}
