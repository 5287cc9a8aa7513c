import Profile
/// Writes one SVG document as text: elements with escaped attributes and text, numbers with a fixed
/// number of decimals (never an exponent), so that every chart comes out as well-formed XML whatever the
/// names in it (C++ symbols carry `<`, `>` and `&`).
///
/// The charts (``FlameGraph``, ``ScalingChart``, ``OverheadChart``) build their documents with it:
///
/// ```swift
/// var svg = SVGWriter(width: 400, height: 300)
/// svg.element("rect", ["x": .number(10), "width": .number(w), "fill": "#eee"])
/// svg.element("text", ["x": .number(12), "y": .number(20)], text: "vector<int>&")   // escaped
/// let document = svg.finish()
/// ```
struct SVGWriter {
    /// An attribute value: text (escaped when written) or a number (written with ``number(_:decimals:)``).
    enum Value: ExpressibleByStringLiteral {
        case text(String)
        case number(Double)
        init(stringLiteral s: String) { self = .text(s) }

        var rendered: String {
            switch self {
            case .text(let s): SVGWriter.escape(s)
            case .number(let v): SVGWriter.number(v)
            }
        }
    }

    typealias Attributes = KeyValuePairs<String, Value>

    private(set) var text: String
    private var open: [String] = []

    /// Starts a document of `width` × `height` pixels (its `viewBox` the same) on a white background.
    init(width: Double, height: Double) {
        text = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        text += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\""
        text += " viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" font-family=\"Verdana, sans-serif\">\n"
        element("rect", ["x": "0", "y": "0", "width": .number(width), "height": .number(height), "fill": "#ffffff"])
    }

    /// Opens `name`; every element written until ``close()`` goes inside it.
    mutating func open(_ name: String, _ attributes: Attributes = [:]) {
        text += "<" + name
        append(attributes)
        text += ">"
        if name != "text" && name != "title" { text += "\n" }
        open.append(name)
    }

    /// Closes the innermost open element.
    mutating func close() {
        guard let name = open.popLast() else { return }
        text += "</" + name + ">\n"
    }

    /// One element, empty or holding `text` (escaped).
    mutating func element(_ name: String, _ attributes: Attributes, text content: String? = nil) {
        text += "<" + name
        append(attributes)
        if let content {
            text += ">" + Self.escape(content) + "</" + name + ">\n"
        } else {
            text += "/>\n"
        }
    }

    /// A `<title>` (the tooltip of its parent element).
    mutating func title(_ s: String) {
        text += "<title>" + Self.escape(s) + "</title>"
    }

    /// A `<script>` holding `code` as character data (`code` must not contain `]]>`).
    mutating func script(_ code: String) {
        text += "<script type=\"text/ecmascript\"><![CDATA[\n" + code + "\n]]></script>\n"
    }

    /// Closes what is still open and returns the document.
    mutating func finish() -> String {
        while !open.isEmpty { close() }
        text += "</svg>\n"
        return text
    }

    private mutating func append(_ attributes: Attributes) {
        for (k, v) in attributes {
            text += " " + k + "=\"" + v.rendered + "\""
        }
    }

    /// `s` made safe for XML text and attribute values: `&`, `<`, `>`, `"` and `'` as entities, and the
    /// control characters XML 1.0 does not allow (names read from binaries may hold any byte) as U+FFFD.
    static func escape(_ s: String) -> String {
        func plain(_ u: Unicode.Scalar) -> Bool {
            switch u {
            case "&", "<", ">", "\"", "'": false
            case "\t", "\n", "\r": true
            default: u.value >= 0x20 && u.value != 0xFFFE && u.value != 0xFFFF
            }
        }
        guard !s.unicodeScalars.allSatisfy(plain) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(plain(u) ? u : "\u{FFFD}")
            }
        }
        return String(out)
    }

    /// `v` rounded to `decimals` places, trailing zeros dropped (`12.5`, `3`, `-0.25`); non-finite values as `0`.
    static func number(_ v: Double, decimals: Int = 2) -> String {
        guard v.isFinite else { return "0" }
        var per: UInt64 = 1
        for _ in 0..<decimals { per *= 10 }
        let scaled = (abs(v) * Double(per)).rounded()
        guard scaled < 9e18 else { return (v < 0 ? "-" : "") + "9e18" }
        let units = UInt64(scaled)
        guard units != 0 else { return "0" }
        let whole = units / per
        guard decimals > 0 else { return (v < 0 ? "-" : "") + String(whole) }
        var frac = String(units % per)
        frac = String(repeating: "0", count: decimals - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return (v < 0 ? "-" : "") + String(whole) + (frac.isEmpty ? "" : "." + frac)
    }
}

/// Axis ticks at round values, shared by the line and point charts.
enum ChartScale {
    /// Horizontal grid lines with labels at every `step` from 0 to `top` (class `ytick`, the zero line black),
    /// spanning `left`…`right`; `y` maps a value to its pixel row.
    static func drawYTicks(_ svg: inout SVGWriter, step: Double, top: Double, left: Double, right: Double,
                           y: (Double) -> Double, label: (Double) -> String) {
        var v = 0.0
        while v <= top + step / 2 {
            svg.open("g", ["class": "ytick"])
            svg.element("line", ["x1": .number(left), "x2": .number(right), "y1": .number(y(v)), "y2": .number(y(v)),
                                 "stroke": v == 0 ? "#000" : "#ddd"])
            svg.element("text", ["x": .number(left - 6), "y": .number(y(v) + 4), "font-size": "11", "text-anchor": "end"],
                        text: label(v))
            svg.close()
            v += step
        }
    }

    /// A round step (1, 2 or 5 times a power of ten) that cuts `0…maximum` into about `count` parts, and the
    /// top of the axis (the first multiple of the step at or above `maximum`).
    static func ticks(upTo maximum: Double, count: Int = 5) -> (step: Double, top: Double) {
        guard maximum > 0, maximum.isFinite else { return (1, 1) }
        let raw = maximum / Double(max(1, count))
        var power: Double = 1
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? power * 10
        let top = (maximum / step - 1e-9).rounded(.up) * step
        return (step, max(top, step))
    }
}
