import Testing
@testable import SymbolMap

@Suite struct SymbolTableTests {
    typealias E = SymbolTable.Entry

    @Test func zeroSizeSymbolsRunToTheNextOne() {
        let t = SymbolTable(entries: [E(address: 0x1000, size: 0, name: "a", isGlobal: true),
                                      E(address: 0x1100, size: 0, name: "b", isGlobal: true),
                                      E(address: 0x1200, size: 0x10, name: "c", isGlobal: true)])
        #expect(t.lookup(0x10ff)?.name == "a")
        #expect(t.lookup(0x10ff)?.offset == 0xff)
        #expect(t.lookup(0x1100)?.name == "b")
        #expect(t.lookup(0x120f)?.name == "c")
        #expect(t.lookup(0x1210) == nil, "past a sized symbol's end is outside")
        #expect(t.lookup(0xfff) == nil)
        #expect(t.addressRange == 0x1000..<0x1210)
    }

    @Test func sizedSymbolsLeaveGaps() {
        let t = SymbolTable(entries: [E(address: 0x100, size: 0x10, name: "f", isGlobal: true),
                                      E(address: 0x200, size: 0x10, name: "g", isGlobal: false)])
        #expect(t.lookup(0x150) == nil)
        #expect(t.lookup(0x205)?.name == "g")
    }

    /// perf's preference among aliases: sized, non-weak, global, fewer leading underscores, longer name.
    @Test(arguments: [
        ([E(address: 1, size: 0, name: "zero", isGlobal: true), E(address: 1, size: 4, name: "sized", isGlobal: false)], "sized"),
        ([E(address: 1, size: 4, name: "weak", isGlobal: false, isWeak: true), E(address: 1, size: 4, name: "strong", isGlobal: false)], "strong"),
        ([E(address: 1, size: 4, name: "local", isGlobal: false), E(address: 1, size: 4, name: "global", isGlobal: true)], "global"),
        ([E(address: 1, size: 4, name: "__x", isGlobal: true), E(address: 1, size: 4, name: "x", isGlobal: true)], "x"),
        ([E(address: 1, size: 4, name: "ab", isGlobal: true), E(address: 1, size: 4, name: "abc", isGlobal: true)], "abc"),
        ([E(address: 1, size: 4, name: "first", isGlobal: true), E(address: 1, size: 4, name: "later", isGlobal: true)], "first"),
        // kallsyms lists memcpy, __memcpy, __pi_memcpy at one address, all size 0: only the last runs to the
        // next symbol (the others end where the next alias starts), so perf names it __pi_memcpy.
        ([E(address: 1, size: 0, name: "memcpy", isGlobal: true), E(address: 1, size: 0, name: "__memcpy", isGlobal: true),
          E(address: 1, size: 0, name: "__pi_memcpy", isGlobal: true), E(address: 9, size: 0, name: "next", isGlobal: true)], "__pi_memcpy"),
        // ... but where an alias has a size (an ELF FUNC), it beats the zero-size labels at its address whatever
        // their order (perf's choose_best_symbol on the sizes as loaded; addr2line alike).
        ([E(address: 1, size: 4, name: "__sized", isGlobal: true), E(address: 1, size: 0, name: "plain", isGlobal: true)], "__sized"),
        ([E(address: 1, size: 4, name: "setup_core_parking_option", isGlobal: false), E(address: 1, size: 0, name: "_sinittext", isGlobal: true)], "setup_core_parking_option"),
        // Mangled names compare demangled, as perf loads them: chromium's allocator shim puts free, cfree,
        // operator delete (_ZdlPv) and operator delete[] (_ZdaPv) at one address; perf names it the last.
        ([E(address: 1, size: 20, name: "free", isGlobal: true), E(address: 1, size: 20, name: "_ZdlPv", isGlobal: true),
          E(address: 1, size: 20, name: "cfree", isGlobal: true), E(address: 1, size: 20, name: "_ZdaPv", isGlobal: true)], "_ZdaPv"),
        ([E(address: 1, size: 92, name: "_Znwm", isGlobal: true), E(address: 1, size: 92, name: "_Znam", isGlobal: true)], "_Znam"),
    ])
    func aliasPreference(entries: [E], expected: String) {
        let t = SymbolTable(entries: entries)
        #expect(t.lookup(1)?.name == expected)
        #expect(Set(t.aliases(at: 1)) == Set(entries.filter { $0.address == 1 }.map(\.name)))
    }

    @Test func kallsymsWithModulesAndBadLines() {
        let text = """
        ffffffff81000000 T _stext
        ffffffff81000100 t do_thing
        ffffffff81000200 D some_data
        ffffffff81000300 T _etext
        garbage line here
        ffffffffc0000000 t mod_func\t[mymod]
        ffffffffc0000100 T mod_other\t[mymod]
        """
        let (t, bad) = SymbolTable.kallsyms(text: text)
        #expect(bad.count == 1 && bad[0].hasPrefix("line 5"))
        #expect(t.lookup(0xffffffff81000150)?.name == "do_thing")
        #expect(t.lookup(0xffffffffc0000010)?.module == "mymod")
        #expect(t.hasModules)
        #expect(t.symbol(named: "_stext")?.start == 0xffffffff81000000)
        let (m, mbad) = SymbolTable.systemMap(text: "ffffffff81000000 T _stext\nffffffff81000100 T x [mod]\n")
        #expect(mbad.count == 1, "a System.map has no module column")
        #expect(m.count == 1)
    }
}

/// The address order of a table's symbols: packed keys by radix sort, or (wide ranges) a comparison sort;
/// both must give (address, source order), as a plain sort does.
@Suite struct SymbolOrderTests {
    @Test(arguments: [(UInt64(0x400000), UInt64(1) << 24), (UInt64(0xffffffff81000000), UInt64(1) << 30), (UInt64(0x1000), UInt64(1) << 60)])
    func addressOrderIsASortedStableOrder(base: UInt64, span: UInt64) {
        var b = SymbolTable.Builder()
        var state: UInt64 = 0x9E3779B97F4A7C15 ^ span
        for i in 0..<5000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            // Some addresses repeat (aliases), so the tie order is exercised.
            let address = i % 7 == 0 && i > 0 ? base &+ (state % 97) : base &+ state % span
            b.add(address: address, size: 0, name: UnsafeBufferPointer(start: nil, count: 0), isGlobal: true)
        }
        let order = b.raws.withUnsafeBufferPointer { SymbolTable.addressOrder($0) }
        let reference = b.raws.indices.sorted { x, y in
            b.raws[x].address != b.raws[y].address ? b.raws[x].address < b.raws[y].address : x < y
        }
        #expect(order.map(Int.init) == reference)
    }
}
