/// A symbol source that could not be read, with the file, what is wrong and what to do.
public struct SymbolMapError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case missingFile, notELF, corrupt, noSymbols, other
    }
    public var code: Code
    public var path: String
    public var message: String
    public var hint: String?

    public init(_ code: Code, path: String, _ message: String, hint: String? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.hint = hint
    }

    public var description: String {
        "\(path): \(message)" + (hint.map { " (\($0))" } ?? "")
    }
}
