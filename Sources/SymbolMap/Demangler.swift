#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// C++ (Itanium ABI) and Rust names demangled as perf shows them by default: libiberty's `cplus_demangle`
/// with no options — the qualified name without its parameter list (`std::vector<int>::push_back`) — and a
/// suffix after `@` (a symbol version, `@plt`) put back after the demangled name, as binutils'
/// `bfd_demangle` does. Rust's legacy names (`_ZN…17h<hash>E`) lose their `::h<hash>` as perf's
/// `rust_demangle_sym` drops it; its v0 names (`_R…`) are demangled by libiberty as they are.
public enum Demangler {
    /// Whether `name` looks like a C++ (`_Z…`) or Rust v0 (`_R…`) mangled name, the ones ``demangle(_:)`` tries.
    public static func isMangled(_ name: String) -> Bool { name.hasPrefix("_Z") || name.hasPrefix("_R") }

    /// The demangled name, or nil when `name` is not a mangled C++ name (C, Swift, anything the demangler
    /// refuses).
    public static func demangle(_ name: String) -> String? {
        guard isMangled(name) else { return nil }
        var base = Substring(name), suffix = Substring()
        if let at = name.firstIndex(of: "@") {
            base = name[..<at]
            suffix = name[at...]
        }
        guard let out = String(base).withCString({ cplus_demangle($0, 0 /* DMGL_NO_OPTS */) }) else { return nil }
        defer { free(out) }
        var text = String(cString: out)
        // Legacy Rust: the last path element is the hash, `h` and 16 hex digits (mangled `17h<hash>E`).
        if text.utf8.count > 19, text.dropLast(16).hasSuffix("::h") {
            let hash = String(text.suffix(16))
            if hash.allSatisfy(\.isHexDigit), base.hasSuffix("17h" + hash + "E") { text.removeLast(19) }
        }
        return text + suffix
    }
}
