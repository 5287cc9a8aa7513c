import ArgumentParser
import Profile
import SampleIO

/// Symbol-source options shared by the commands that resolve addresses.
public struct SymbolOptionGroup: ParsableArguments {
    /// Options as ArgumentParser fills them (none given: symbols found from the recording).
    public init() {}

    @Option(help: "The hypervisor image (xen-syms), shared by all domains.")
    public var xen: String?

    @Option(help: ArgumentHelp("Kernel ELF image of a domain.", valueName: "DOM=IMAGE"))
    public var vmlinux: [String] = []

    @Option(help: ArgumentHelp("kallsyms dump of a domain.", valueName: "DOM=FILE"))
    public var kallsyms: [String] = []

    @Option(name: .customLong("system-map"), help: ArgumentHelp("System.map of a domain.", valueName: "DOM=FILE"))
    public var systemMap: [String] = []

    @Option(help: "Root directory to find user binaries under (like perf --symfs).")
    public var symfs: String?

    @Option(name: .customLong("debug-dir"), help: "A folder of separate debug files (default /usr/lib/debug).")
    public var debugDirs: [String] = []

    @Flag(name: .customLong("force-symbols"), help: "Use images whose build-id does not match the recording.")
    public var forceSymbols = false

    @Flag(name: .customLong("no-demangle"), help: "Show C++ names as the symbol table has them (mangled).")
    public var noDemangle = false

    /// Refuses a `--vmlinux`, `--kallsyms` or `--system-map` that is not `DOM=FILE` with a numeric domain.
    public func validate() throws {
        for (flag, list) in [("--vmlinux", vmlinux), ("--kallsyms", kallsyms), ("--system-map", systemMap)] {
            for item in list where Self.split(item) == nil {
                throw ValidationError("\(flag) expects DOM=FILE with a numeric domain id, e.g. 2=/path, not '\(item)'")
            }
        }
    }

    /// `DOM=FILE` as its domain and path; nil when the domain is not a number or the path is empty.
    public static func split(_ item: String) -> (DomainID, String)? {
        guard let eq = item.firstIndex(of: "=") else { return nil }
        guard let d = UInt32(item[..<eq]) else { return nil }
        let path = String(item[item.index(after: eq)...])
        return path.isEmpty ? nil : (DomainID(d), path)
    }

    /// The options as command-line arguments again (for a helper executable that takes the same group).
    public var arguments: [String] {
        var a: [String] = []
        if let xen { a += ["--xen", xen] }
        for v in vmlinux { a += ["--vmlinux", v] }
        for v in kallsyms { a += ["--kallsyms", v] }
        for v in systemMap { a += ["--system-map", v] }
        if let symfs { a += ["--symfs", symfs] }
        for d in debugDirs { a += ["--debug-dir", d] }
        if forceSymbols { a.append("--force-symbols") }
        if noDemangle { a.append("--no-demangle") }
        return a
    }

    /// The options as attribution takes them (per-domain images by domain id).
    public var options: SymbolOptions {
        var o = SymbolOptions()
        o.xen = xen
        for item in vmlinux { if let (d, p) = Self.split(item) { o.vmlinux[d] = p } }
        for item in kallsyms { if let (d, p) = Self.split(item) { o.kallsyms[d] = p } }
        for item in systemMap { if let (d, p) = Self.split(item) { o.systemMap[d] = p } }
        o.symfs = symfs
        o.forceSymbols = forceSymbols
        o.demangle = !noDemangle
        if !debugDirs.isEmpty { o.debugDirectories = debugDirs + ["/usr/lib/debug"] }
        return o
    }
}
