import Testing
@testable import Profile
@testable import Render

/// The SVG writer every chart uses: escaping, numbers, nesting.
@Suite struct SVGWriterTests {
    @Test(arguments: [
        ("plain_name", "plain_name"),
        ("std::vector<int>::push_back(int&&)", "std::vector&lt;int&gt;::push_back(int&amp;&amp;)"),
        ("say \"hi\" & 'bye'", "say &quot;hi&quot; &amp; &#39;bye&#39;"),
        ("tab\tand\u{1}bell\u{7}", "tab\tand\u{FFFD}bell\u{FFFD}"),
        ("ünïcødé → ↑", "ünïcødé → ↑"),
    ])
    func escapes(raw: String, escaped: String) {
        #expect(SVGWriter.escape(raw) == escaped)
    }

    @Test(arguments: [
        (0.0, 2, "0"), (12.5, 2, "12.5"), (3.0, 2, "3"), (-0.25, 2, "-0.25"), (0.004, 2, "0"), (1179.996, 2, "1180"),
        (0.000123, 6, "0.000123"), (1e-7, 2, "0"), (7.5, 0, "8"), (-0.001, 2, "0"), (Double.nan, 2, "0"), (123456789.0, 2, "123456789"),
    ])
    func numbersHaveNoExponent(value: Double, decimals: Int, text: String) {
        #expect(SVGWriter.number(value, decimals: decimals) == text)
    }

    @Test func elementsNestAndClose() {
        var svg = SVGWriter(width: 10, height: 5)
        svg.open("g", ["class": "a<b"])
        svg.title("x & y")
        svg.element("rect", ["x": .number(1.5), "fill": "#fff"])
        svg.script("var a = 1 < 2 && 3 > 2;")
        let text = svg.finish()
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(text.contains("<g class=\"a&lt;b\">\n<title>x &amp; y</title><rect x=\"1.5\" fill=\"#fff\"/>\n"))
        #expect(text.contains("<![CDATA[\nvar a = 1 < 2 && 3 > 2;\n]]>"))
        #expect(text.hasSuffix("</g>\n</svg>\n"))
    }

    @Test(arguments: [
        (41.2, 10.0, 50.0), (0.37, 0.1, 0.4), (5.0, 1.0, 5.0), (0.0, 1.0, 1.0), (1234.0, 500.0, 1500.0), (99.99, 20.0, 100.0),
    ])
    func ticksAtRoundSteps(maximum: Double, step: Double, top: Double) {
        let t = ChartScale.ticks(upTo: maximum)
        #expect(abs(t.step - step) < 1e-9 && abs(t.top - top) < 1e-9, "\(t)")
    }
}
