/// An input that SampleIO could not read, with where and why, and what the user can do.
///
/// Messages follow one pattern: *file: at byte N (record R): expected X, found Y. What to do.*
/// Context is added as the error travels up with ``adding(context:)``.
public struct SampleIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; the CLI maps it to an exit code.
    public enum Code: String, Sendable {
        /// The bytes are not what the format says (exit 65).
        case badData
        /// The input ended before a structure was complete (exit 65).
        case truncated
        /// The input is a format xprof recognises but does not read (exit 65).
        case unsupported
        /// The file does not exist or cannot be opened (exit 66).
        case missingInput
        /// The kernel or file system refused (exit 77).
        case permission
        /// Anything else (exit 1).
        case other
    }

    /// What kind of failure; decides the CLI's exit code.
    public var code: Code
    /// The file the error is about; nil until someone who knows it fills it in (``at(path:)``).
    public var path: String?
    /// Byte offset in the file where the problem was found; nil when it is not about one place.
    public var offset: Int?
    /// Number of the record the problem is in, counted from 0 in the order the decoder reads records
    /// (a xentrace file's first record is 0); nil when the error is not about one record.
    public var record: Int?
    /// What was expected and what was found, without the file or place (``description`` adds those).
    public var message: String
    /// What the user can do about it (shown after `hint:`); nil when there is nothing to suggest.
    public var hint: String?
    /// Outer context, innermost first ("while decoding domain 2's rings").
    public var context: [String]

    /// An error of `code`; `message` says what was expected and found, the rest say where and what to do.
    public init(_ code: Code, _ message: String, path: String? = nil, offset: Int? = nil,
                record: Int? = nil, hint: String? = nil, context: [String] = []) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.record = record
        self.hint = hint
        self.context = context
    }

    /// A "the input ended early" error: `expected` names the structure that was cut short.
    public static func truncated(expected: String, at offset: Int, path: String? = nil,
                                 record: Int? = nil, found: Int? = nil) -> SampleIOError {
        var msg = "truncated: expected \(expected)"
        if let found { msg += ", found only \(found) byte\(found == 1 ? "" : "s")" }
        return SampleIOError(.truncated, msg, path: path, offset: offset, record: record,
                             hint: "the file is incomplete; re-copy or re-record it")
    }

    /// This error with the file path filled in (if it had none).
    public func at(path: String) -> SampleIOError {
        var e = self
        if e.path == nil { e.path = path }
        return e
    }

    /// This error with one more piece of outer context.
    public func adding(context line: String) -> SampleIOError {
        var e = self
        e.context.append(line)
        return e
    }

    /// `path: at byte N, record R: message`, then each context line and the hint, indented on lines of their own.
    public var description: String {
        var s = ""
        if let path { s += path + ": " }
        var whereParts: [String] = []
        if let offset { whereParts.append("at byte \(offset)") }
        if let record { whereParts.append("record \(record)") }
        if !whereParts.isEmpty { s += whereParts.joined(separator: ", ") + ": " }
        s += message
        for c in context { s += "\n  " + c }
        if let hint { s += "\n  hint: " + hint }
        return s
    }
}
