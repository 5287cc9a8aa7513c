import Foundation
import Testing
@testable import SymbolMap

/// The DWARF index's string table (DwarfIndex.swift) as the symbol cache hands it back: its strings and no
/// hash slots yet. Adding to one of more than 512 strings (a kernel's index has tens of thousands) used to
/// size its first slot table at 1,024 whatever the count and then probe a full table forever: a second
/// `symbolize --inlines` of other addresses against a cached kernel index never ended.
@Suite struct StringTableTests {
    @Test(arguments: [0, 1, 511, 512, 513, 5_000, 40_000])
    func cachedTablesTakeNewStrings(_ n: Int) {
        var bytes: [UInt8] = []
        var starts: [UInt32] = [0]
        for i in 0..<n {
            bytes += Array("name_\(i)".utf8)
            starts.append(UInt32(bytes.count))
        }
        var table = StringTable(bytes: bytes, starts: starts)
        #expect(table.isSound)
        // Old strings keep their ids, new ones get the next ones.
        for i in stride(from: 0, to: n, by: max(1, n / 97)) { #expect(table.intern("name_\(i)") == Int32(i)) }
        for k in 0..<3_000 { #expect(table.intern("new_\(k)") == Int32(n + k)) }
        #expect(table.intern("new_0") == Int32(n))
        #expect(table.count == n + 3_000)
        #expect(table.string(Int32(n + 2_999)) == "new_2999")
    }
}
