#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// C++ (Itanium ABI) names demangled as perf shows them by default: libiberty's `cplus_demangle` with no
/// options — the qualified name without its parameter list (`std::vector<int>::push_back`) — and a suffix
/// after `@` (a symbol version, `@plt`) put back after the demangled name, as binutils' `bfd_demangle` does.
public enum Demangler {
    /// The demangled name, or nil when `name` is not a mangled C++ name (C, Swift, anything the demangler
    /// refuses).
    public static func demangle(_ name: String) -> String? {
        guard name.hasPrefix("_Z") else { return nil }
        var base = Substring(name), suffix = Substring()
        if let at = name.firstIndex(of: "@") {
            base = name[..<at]
            suffix = name[at...]
        }
        guard let out = String(base).withCString({ cplus_demangle($0, 0 /* DMGL_NO_OPTS */) }) else { return nil }
        defer { free(out) }
        return String(cString: out) + suffix
    }
}
