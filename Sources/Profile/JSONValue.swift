#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON document built in code and written with `JSONEncoder` (sorted keys, pretty-printed), so the
/// renderers need no dynamic `Any` dictionaries and the binary only needs FoundationEssentials.
public enum JSONValue: Encodable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    /// Encodes the value as the JSON it stands for (a non-finite double as 0).
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .uint(let u):
            var c = encoder.singleValueContainer()
            try c.encode(u)
        case .double(let d):
            var c = encoder.singleValueContainer()
            try c.encode(d.isFinite ? d : 0)
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(v) }
        case .object(let o):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in o { try c.encode(v, forKey: Key(k)) }
        }
    }

    /// Pretty-printed text with sorted keys and a final newline.
    public func rendered() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(self) else { return "null\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// A string value from a literal.
    public init(stringLiteral s: String) { self = .string(s) }
}

extension JSONValue {
    /// A string.
    public static func of(_ s: String) -> JSONValue { .string(s) }
    /// A signed integer.
    public static func of(_ i: Int) -> JSONValue { .int(Int64(i)) }
    /// An unsigned integer.
    public static func of(_ u: UInt64) -> JSONValue { .uint(u) }
    /// An unsigned integer.
    public static func of(_ u: UInt32) -> JSONValue { .uint(UInt64(u)) }
    /// A number (a non-finite one is written as 0).
    public static func of(_ d: Double) -> JSONValue { .double(d) }
    /// An array of strings.
    public static func of(_ s: [String]) -> JSONValue { .array(s.map { .string($0) }) }
    /// An array of integers.
    public static func of(_ s: [Int]) -> JSONValue { .array(s.map { .int(Int64($0)) }) }
    /// An object of strings.
    public static func of(_ d: [String: String]) -> JSONValue { .object(d.mapValues { .string($0) }) }
    /// An object of integers.
    public static func of(_ d: [String: Int]) -> JSONValue { .object(d.mapValues { .int(Int64($0)) }) }
}
