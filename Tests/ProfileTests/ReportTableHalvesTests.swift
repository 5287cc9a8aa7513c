import SampleIO
import Testing
@testable import Profile
@testable import Render

/// A table of 100,000 rows or more is measured and written in pieces on two threads
/// (`ReportRenderer.rowLines`, docs/ARCHITECTURE.md "Whole-system reports"): the pieces must give the bytes
/// one pass gives — widths of the whole table, not of a piece, and the pieces in order.
@Suite struct ReportTableHalvesTests {
    /// `n` rows whose widest cells fall in different pieces: counts, percentages and names of every length,
    /// non-ASCII names (measured in characters, not bytes) and empty ones.
    static func report(rows n: Int, children: Bool) -> Report {
        var rng: UInt64 = 7
        func next() -> UInt64 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return rng >> 11
        }
        let names = ["[unknown] 0x7f81", "_ZN4llvm", "", "é", "std::vector<int>::push_back", "ünïcode"]
        var rows: [ReportRow] = []
        rows.reserveCapacity(n)
        for i in 0..<n {
            var image = names[Int(next() % UInt64(names.count))]
            var symbol = names[Int(next() % UInt64(names.count))] + String(next() % 100_000, radix: 16)
            // One row far down the table has the widest image, another the widest symbol and count.
            if i == n * 3 / 4 { image = String(repeating: "i", count: 70) }
            if i == n - 1 { symbol = String(repeating: "s", count: 90) }
            let samples = i == n / 2 + 1 ? 123_456_789 : next() % 1000
            var row = ReportRow(values: [image, symbol], samples: samples, period: samples * 50_000,
                                percent: Double(next() % 10_000) / 100)
            if children {
                row.childrenPeriod = row.period * 2
                row.childrenPercent = i == 2 ? 100 : Double(next() % 10_000) / 100
            }
            rows.append(row)
        }
        var r = Report(source: "test", metadata: RunMetadata(), stats: DecodeStats(), keys: [.image, .symbol], rows: rows,
                       totalSamples: 1, totalPeriod: 1, inputSamples: 1, rowsOmitted: 0, omittedPeriod: 0, domains: [],
                       symbolWarnings: [], filterDescription: "")
        r.children = children
        return r
    }

    @Test(arguments: [false, true])
    func piecesGiveTheBytesOfOnePass(children: Bool) {
        let r = Self.report(rows: 120_000, children: children)
        let heads = (children ? ["Children", "Self"] : ["Overhead"]) + ["Samples", "Image", "Symbol"]
        let numeric = children ? 3 : 2
        let one = ReportRenderer.rowLines(r, heads: heads, numeric: numeric, prefix: "# head\n", suffix: "  end\n", parts: 1)
        for parts in [2, 3] {
            let pieces = ReportRenderer.rowLines(r, heads: heads, numeric: numeric, prefix: "# head\n", suffix: "  end\n", parts: parts)
            #expect(pieces == one, "\(parts) pieces")
        }
        // The widest cells, far down the table, set the columns of the first rows too.
        let lines = one.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "# head")
        #expect(lines[lines.count - 2] == "  end")
        #expect(lines[1].contains("Image" + String(repeating: " ", count: 70 - 5 + 2) + "Symbol"))
        #expect(lines.count == 120_000 + 5)
        // The default (two pieces for this many rows) is what the table prints.
        #expect(ReportRenderer.rowLines(r, heads: heads, numeric: numeric, prefix: "# head\n", suffix: "  end\n") == one)
    }
}
