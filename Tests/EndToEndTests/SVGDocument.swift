import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// An SVG file read back with Foundation's XMLParser (libxml2): malformed XML fails the test that parses it.
final class SVGElement {
    let name: String
    let attributes: [String: String]
    var children: [SVGElement] = []
    /// The element's own character data (entities decoded).
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// Every element below this one named `name`, in document order.
    func all(_ name: String) -> [SVGElement] {
        var out: [SVGElement] = []
        for c in children {
            if c.name == name { out.append(c) }
            out += c.all(name)
        }
        return out
    }

    /// Elements below this one whose `class` attribute lists `cls`.
    func all(class cls: String) -> [SVGElement] {
        var out: [SVGElement] = []
        for c in children {
            if (c.attributes["class"] ?? "").split(separator: " ").contains(Substring(cls)) { out.append(c) }
            out += c.all(class: cls)
        }
        return out
    }

    func first(_ name: String) -> SVGElement? { children.first { $0.name == name } }
    /// The text of the `<title>` child (the tooltip).
    var title: String? { first("title")?.text }
    func number(_ attribute: String) -> Double? { attributes[attribute].flatMap(Double.init) }
    var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }

    /// Parses `text`; a parse error is thrown with its line and column.
    static func parse(_ text: String) throws -> SVGElement {
        final class Builder: NSObject, XMLParserDelegate {
            var stack: [SVGElement] = [SVGElement(name: "#document", attributes: [:])]
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                let e = SVGElement(name: name, attributes: attributes)
                stack.last?.children.append(e)
                stack.append(e)
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                stack.removeLast()
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }
            func parser(_ parser: XMLParser, foundCDATA block: Data) { stack.last?.text += String(decoding: block, as: UTF8.self) }
        }
        struct ParseError: Error, CustomStringConvertible {
            var description: String
        }
        let parser = XMLParser(data: Data(text.utf8))
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse() else {
            throw ParseError(description: "SVG is not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber): "
                             + "\(parser.parserError.map { "\($0)" } ?? "?")")
        }
        let root = try #require(builder.stack.first?.children.first)
        #expect(root.name == "svg")
        return root
    }
}

/// A chart axis read from its tick groups (`<g class="ytick">` / `"xtick"`, each a `<line>` and a `<text>`
/// label such as `20%`, `0.5` or `8`): maps a pixel coordinate back to the value it stands for.
struct SVGAxis {
    var ticks: [(value: Double, pixel: Double)]

    init(_ svg: SVGElement, tickClass: String, coordinate: String) throws {
        ticks = try svg.all(class: tickClass).map { g in
            let label = try #require(g.first("text")?.text)
            let value = try #require(Double(label.hasSuffix("%") ? String(label.dropLast()) : label), "tick label \(label)")
            let pixel = try #require(g.first("line")?.number(coordinate))
            return (value, pixel)
        }
        #expect(ticks.count >= 2, "an axis has at least two ticks")
    }

    /// The value at `pixel` (linear between the first and the last tick).
    func value(at pixel: Double) -> Double {
        guard let a = ticks.first, let b = ticks.last, b.pixel != a.pixel else { return .nan }
        return a.value + (pixel - a.pixel) * (b.value - a.value) / (b.pixel - a.pixel)
    }

    /// The value one pixel spans.
    var perPixel: Double {
        guard let a = ticks.first, let b = ticks.last, b.pixel != a.pixel else { return .nan }
        return abs((b.value - a.value) / (b.pixel - a.pixel))
    }
}
