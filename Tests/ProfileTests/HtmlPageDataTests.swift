import Testing
@testable import Profile
@testable import Render

/// The pieces of the HTML pages that need no browser: the JSON text of the data (a symbol must not end the
/// `<script>` element holding it) and `diff --format folded-diff`'s lines.
@Suite struct HtmlPageDataTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        ("</script><script>alert(1)</script>", #""\u003c/script>\u003cscript>alert(1)\u003c/script>""#),
        ("say \"hi\" \\ bye", #""say \"hi\" \\ bye""#),
        ("tab\tline\nbell\u{7}", #""tab\tline\nbell\u0007""#),
        ("std::map<int, int>::find", #""std::map\u003cint, int>::find""#),
        ("ünïcødé → ↑", "\"ünïcødé → ↑\""),
    ])
    func jsonStringsAreEscaped(_ raw: String, _ written: String) {
        var j = JSONText()
        j.string(raw)
        #expect(String(decoding: j.bytes, as: UTF8.self) == written)
    }

    @Test func numbersAndListsAreJSON() {
        var j = JSONText()
        j.raw("[")
        j.numbers([0, 7, 10, 18_446_744_073_709_551_615])
        j.raw(",")
        j.strings(["a", "b<"])
        j.raw("]")
        #expect(String(decoding: j.bytes, as: UTF8.self) == #"[0,7,10,18446744073709551615,["a","b\u003c"]]"#)
    }

    @Test func foldedDiffPutsEachStacksCountsSideBySide() {
        func stack(_ names: [String], _ n: UInt64) -> FoldedStacks.Stack {
            FoldedStacks.Stack(frames: names.map { FoldedStacks.Frame(name: $0, kind: .user) }, samples: n, period: n * 1000)
        }
        let base = [stack(["cmd", "main", "spin"], 90), stack(["cmd", "main", "write"], 10), stack(["cmd", "a b;c"], 1)]
        let new = [stack(["cmd", "main", "spin"], 40), stack(["cmd", "main", "read"], 60), stack(["cmd", "a b;c"], 2)]
        #expect(FoldedStacks.diffLines(base: base, new: new, byPeriod: false) == [
            "cmd;a_b:c 1 2", "cmd;main;read 0 60", "cmd;main;spin 90 40", "cmd;main;write 10 0",
        ])
        #expect(FoldedStacks.diffLines(base: base, new: [], byPeriod: true).first == "cmd;a_b:c 1000 0")
    }

    @Test func pageHoldsNoReferenceToAnythingOutside() {
        let page = HtmlPage.profile(CallTree(), title: "t </title><script>")
        #expect(page.contains("default-src 'none'"))
        #expect(!page.contains("<script src") && !page.contains("<link") && !page.contains("@import"))
        #expect(page.contains("<title>t &lt;/title&gt;&lt;script&gt;</title>"))
    }
}
