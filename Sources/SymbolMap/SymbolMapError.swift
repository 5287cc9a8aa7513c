/// A symbol source that could not be read, with the file, what is wrong and what to do.
public struct SymbolMapError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure; `symbolize` exits 66 for ``missingFile`` and 65 for the others.
    public enum Code: String, Sendable {
        case missingFile, notELF, corrupt, noSymbols, other
    }
    /// What kind of failure.
    public var code: Code
    /// The symbol source (ELF file, System.map, kallsyms dump, debug file) the error is about.
    public var path: String
    /// What is wrong, without the path (``description`` adds it).
    public var message: String
    /// What the user can do about it; nil when there is nothing to suggest.
    public var hint: String?

    /// An error about `path`; `message` says what is wrong, `hint` what to do.
    public init(_ code: Code, path: String, _ message: String, hint: String? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `path: message (hint)`.
    public var description: String {
        "\(path): \(message)" + (hint.map { " (\($0))" } ?? "")
    }
}
