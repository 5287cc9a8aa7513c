import Testing
@testable import Profile
@testable import Render

/// The pieces the whole-system report is made faster with (docs/ARCHITECTURE.md, "Whole-system reports"),
/// against what they replace: `String`'s order, a dictionary-interned table, `pct`.
@Suite struct WholeSystemPiecesTests {
    /// Random texts: ASCII names sharing long prefixes (as `[unknown] 0x7f…` do), some equal, some prefixes of
    /// others, some with bytes below the space.
    static func texts(_ n: Int, seed: UInt64) -> [String] {
        var rng = seed
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 11
        }
        let stems = ["[unknown] 0x7f81", "[unknown] 0x5643", "_ZN4llvm", "", "a", "\t", "std::vector<int>::push_back"]
        return (0..<n).map { _ in
            var s = stems[Int(next() % UInt64(stems.count))]
            for _ in 0..<Int(next() % 30) { s.append(Character(UnicodeScalar(UInt8(next() % 5 == 0 ? next() % 32 : 32 + next() % 95)))) }
            return s
        }
    }

    @Test func byteOrderIsStringsOrderForASCII() {
        for seed: UInt64 in [1, 2, 3] {
            let t = Self.texts(5000, seed: seed)
            let order = ReportBuilder.byteOrder(t)
            #expect(order != nil)
            let sorted = (order ?? []).map { t[Int($0)] }
            #expect(sorted == t.sorted(), "seed \(seed)")
            #expect(Set(order ?? []).count == t.count)
        }
    }

    @Test func byteOrderLeavesNonASCIIToStrings() {
        #expect(ReportBuilder.byteOrder(["b", "é", "a"]) == nil)
        #expect(ReportBuilder.byteOrder([]) == [])
    }

    @Test func appendedAddressNamesAreFoundByIntern() {
        var t = StringTable()
        let a = t.appendDistinct("[unknown] 0x401000")
        let b = t.appendDistinct("[dom3] 0x10")
        let c = t.intern("main")
        #expect(Set([a, b, c]).count == 3)
        // intern finds an appended name (the appended ones are indexed at the first such question).
        #expect(t.intern("[unknown] 0x401000") == a)
        #expect(t.intern("[dom3] 0x10") == b)
        #expect(t[a] == "[unknown] 0x401000")
        // Once intern has been given such a name, appendDistinct looks it up rather than adding it again.
        let d = t.intern("[unknown] 0x999")
        #expect(t.appendDistinct("[unknown] 0x999") == d)
        #expect(t.count == 5)
    }

    @Test func internedAddressNameIsNotAddedTwice() {
        var t = StringTable()
        let a = t.intern("[unknown] 0x10")
        #expect(t.appendDistinct("[unknown] 0x10") == a)
        #expect(t.appendDistinct("[unknown] 0x20") != a)
        #expect(StringTable.isAddressName("[unknown] 0x1") && StringTable.isAddressName("[dom2] 0x1"))
        #expect(!StringTable.isAddressName("[unknown]") && !StringTable.isAddressName("main"))
    }

    @Test func percentBytesArePct() {
        var rng: UInt64 = 5
        var values: [Double] = [0, -0.0, 0.004999, 0.005, 0.015, 1, 12.345, 99.995, 100, 1e9, 1e12, -3, .nan, .infinity]
        for _ in 0..<20000 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            values.append(Double(rng >> 11) / Double(1 << 53) * 100)
        }
        for v in values {
            var out: [UInt8] = []
            ReportRenderer.appendPercent(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == ReportRenderer.pct(v) + "%", "\(v)")
            #expect(ReportRenderer.percentLength(v) == out.count, "\(v)")
        }
    }

    @Test func wordMapHoldsItsValuesThroughGrowthAndEmptying() {
        var m = WordMap(capacity: 4)
        for i in 0..<10_000 as Range<UInt64> { m.set(i, i &* 7, i >> 3, i * 3) }
        #expect(m.count == 10_000)
        for i in 0..<10_000 as Range<UInt64> where m.get(i, i &* 7, i >> 3) != i * 3 { Issue.record("key \(i)") }
        #expect(m.get(10_001, 0, 0) == nil)
        m.set(5, 35, 0, 1 << 40)
        #expect(m.get(5, 35, 0) == 1 << 40 && m.count == 10_000)
        m.removeAll()
        #expect(m.count == 0 && m.get(5, 35, 0) == nil)
    }
}
