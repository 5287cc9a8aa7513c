#if canImport(Glibc)
import Glibc
#endif

/// The rules that order a symbol table: which name an address takes among aliases, and the address sort.
extension SymbolTable {
    /// Whether `a` is the better name for an address than `b` (the rule `perf report` uses, so the two agree):
    /// a symbol with an extent over an empty one, then non-weak over weak, global over local, fewer leading
    /// underscores, the longer name; nil on a tie (source order decides). Names are compared as perf holds
    /// them, demangled (``comparisonName(_:)``): chromium's `free`, `cfree`, `_ZdlPv`, `_ZdaPv` at one
    /// address are `operator delete[]` to perf, the longest. A zero-size symbol runs to the next
    /// symbol, so among aliases only the last one listed at an address has an extent of its own
    /// (`aSized`, `bSized`): of a kallsyms dump's aliases, which all have size 0, that one is named.
    static func prefer(_ a: Entry, _ aSized: Bool, over b: Entry, _ bSized: Bool) -> Bool? {
        var an = Array(a.name.utf8), bn = Array(b.name.utf8)
        if let d = comparisonName(an) { an = d }
        if let d = comparisonName(bn) { bn = d }
        return an.withUnsafeBufferPointer { ab in
            bn.withUnsafeBufferPointer { bb in
                prefer(aSized, a.isWeak, a.isGlobal, ab, over: bSized, b.isWeak, b.isGlobal, bb)
            }
        }
    }

    /// The name perf compares aliases by when `raw` is mangled: perf demangles a symbol as it loads it
    /// (`dso__load_sym`, no options: no parameter list) before choosing among an address's aliases, so
    /// `_Znam` counts as `operator new[]`, fourteen characters and no leading underscore. Nil when `raw`
    /// is not a name ``Demangler`` demangles (it is compared as it is).
    static func comparisonName<C: Collection<UInt8>>(_ raw: C) -> [UInt8]? {
        guard raw.count > 2, raw.first == 95 else { return nil }
        let second = raw[raw.index(after: raw.startIndex)]
        guard second == 90 || second == 82 else { return nil }  // "_Z", "_R"
        guard let name = String(validating: raw, as: UTF8.self), let d = Demangler.demangle(name) else { return nil }
        return Array(d.utf8)
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

    /// Indexes of `raws` in (address, index) order. When the addresses span less than 2^42 bytes and there
    /// are fewer than 2^21 symbols (every ELF image, kallsyms, System.map), each (address − lowest, index)
    /// is packed into one UInt64 and the plain integers are sorted: several times faster than sorting
    /// indexes through a comparison closure (a 36,000-symbol binary: the table's largest cost).
    static func addressOrder(_ raws: UnsafeBufferPointer<Builder.Raw>) -> [Int32] {
        let n = raws.count
        var low = UInt64.max, high: UInt64 = 0
        for r in raws { low = min(low, r.address); high = max(high, r.address) }
        if n > 0, n < 1 << 21, high &- low < 1 << 42 {
            var keys = [UInt64](unsafeUninitializedCapacity: n) { buf, count in
                for i in 0..<n { buf[i] = (raws[i].address &- low) << 21 | UInt64(i) }
                count = n
            }
            radixSort(&keys, bits: 21 + (64 - (high &- low).leadingZeroBitCount))
            return keys.map { Int32(truncatingIfNeeded: $0 & (1 << 21 - 1)) }
        }
        var order = (0..<n).map { Int32(truncatingIfNeeded: $0) }
        order.sort { x, y in
            let ax = raws[Int(x)].address, ay = raws[Int(y)].address
            return ax != ay ? ax < ay : x < y
        }
        return order
    }

    /// Sorts `keys`, whose values fit in `bits` bits, by least-significant-digit radix sort, a byte at a time
    /// (passes whose byte is the same in every key are skipped): linear, and far quicker than a comparison
    /// sort on the tens of thousands of symbols of a large binary.
    static func radixSort(_ keys: inout [UInt64], bits: Int) {
        let n = keys.count
        guard n > 1 else { return }
        var other = [UInt64](repeating: 0, count: n)
        var counts = [Int](repeating: 0, count: 256)
        var shift = 0
        while shift < bits {
            for i in 0..<256 { counts[i] = 0 }
            keys.withUnsafeBufferPointer { k in
                for v in k { counts[Int((v >> UInt64(shift)) & 255)] += 1 }
            }
            if counts.contains(n) { shift += 8; continue }  // every key has this byte: nothing to move
            var total = 0
            for i in 0..<256 { let c = counts[i]; counts[i] = total; total += c }
            keys.withUnsafeBufferPointer { k in
                other.withUnsafeMutableBufferPointer { o in
                    counts.withUnsafeMutableBufferPointer { c in
                        for v in k {
                            let d = Int((v >> UInt64(shift)) & 255)
                            o[c[d]] = v
                            c[d] += 1
                        }
                    }
                }
            }
            swap(&keys, &other)
            shift += 8
        }
    }
}
