import SampleIO
import SymbolMap

/// The naming policy of attribution (docs/ARCHITECTURE.md, "Attribution and naming"): what an image, a
/// function and a thread are called once normalization and symbolization have said where an address is —
/// perf's names for the host and active domains, OProfile's for passive ones.
extension Attributor {
    /// How perf names a mapped file: its base name; kernel and pseudo names as they are.
    static func displayName(_ path: String) -> String {
        if path.hasPrefix("[kernel.kallsyms]") { return "[kernel.kallsyms]" }
        if path.hasPrefix("[") { return path }
        if path.hasPrefix("/"), path.hasSuffix(".ko") || path.hasSuffix(".ko.xz") || path.hasSuffix(".ko.zst") {
            let base = basename(path)
            return "[" + String(base.prefix { $0 != "." }) + "]"
        }
        return basename(path)
    }


    func lookupComm(domain: DomainID, pid: Int32, tid: Int32) -> Int32 {
        if let c = comms[ProcessKey(domain: domain, pid: tid)] { return c }
        if let c = comms[ProcessKey(domain: domain, pid: pid)] { return c }
        if role(of: domain) == .passive { return strings.intern("domain\(domain)") }
        if tid == 0 || (tid < 0 && pid == 0) { return strings.intern("swapper") }
        if tid < 0 && pid < 0 { return strings.intern("[unknown]") }
        return strings.intern(":\(tid >= 0 ? tid : pid)")
    }


    /// The name of an unresolved address (`[unknown] 0x…`, `[domN] 0x…` in a guest). Until `unresolvedNames`
    /// is first emptied for size, each name is met here once and goes into the strings unhashed
    /// (``StringTable/appendDistinct(_:)``); after that, a name may come again and is interned.
    func unresolved(_ domain: DomainID, _ ip: UInt64) -> Int32 {
        if let id = unresolvedNames.get(ip, UInt64(domain.rawValue), 0) { return Int32(truncatingIfNeeded: id) }
        let hex = "0x" + String(ip, radix: 16)
        let name = domain == .host ? "[unknown] \(hex)" : "[dom\(domain)] \(hex)"
        let id = unresolvedNamesEmptied ? strings.intern(name) : strings.appendDistinct(name)
        // (A whole system's callers hold a million unresolved addresses: 4 Mi entries are 256 MB at most.)
        if unresolvedNames.count >= 1 << 22 {
            unresolvedNames.removeAll()
            unresolvedNamesEmptied = true
        }
        unresolvedNames.set(ip, UInt64(domain.rawValue), 0, UInt64(UInt32(bitPattern: id)))
        return id
    }


    func symbolName(_ hit: SymbolHit, table: UInt64) -> Int32 {
        if let id = symbolNames.get(hit.start, hit.size, table) { return id }
        let id = strings.intern(hit.name)
        symbolNames.set(hit.start, hit.size, table, id)
        return id
    }

    /// A user-code symbol's name, the symbol at index `j` of image `image`'s table `table`: demangled (C++)
    /// as perf demangles it, unless the options say not to. The name is made, interned and demangled the
    /// first time the symbol is met in the image; after that it is an array element.
    @inline(__always)
    func userSymbolName(_ table: SymbolTable, index j: Int, image: Int32) -> Int32 {
        let known = userSymbolNames[Int(image)][j]
        if known != Int32.min { return known }
        let name = table.name(at: j)
        let raw = strings.intern(name)
        var d = raw
        if sources.options.demangle, Demangler.isMangled(name) {
            if let known = demangled[raw] {
                d = known
            } else {
                d = Demangler.demangle(name).map { strings.intern($0) } ?? raw
                demangled[raw] = d
            }
        }
        userSymbolNames[Int(image)][j] = d
        return d
    }

    /// A kernel symbol's name id, the symbol at index `j` of domain `domain`'s table `table` (made once).
    @inline(__always)
    func kernelSymbolName(_ table: NamedTable, index j: Int, domain: DomainID) -> Int32 {
        let tableWord = 2 << 62 | UInt64(domain.rawValue)
        if let id = kernelSymbolNames.get(UInt64(j), 0, tableWord) { return id }
        let id = strings.intern(table.table.name(at: j))
        kernelSymbolNames.set(UInt64(j), 0, tableWord, id)
        return id
    }

    /// The image name of kernel module `module` (an index into the table's modules, not 0): `[name]`, made once.
    func moduleImageName(_ table: NamedTable, index j: Int, module: Int32, domain: DomainID) -> Int32 {
        if let id = moduleImageNames.get(UInt64(UInt32(bitPattern: module)), UInt64(domain.rawValue)) { return id }
        let id = strings.intern("[\(table.table.module(at: j) ?? "")]")
        moduleImageNames.set(UInt64(UInt32(bitPattern: module)), UInt64(domain.rawValue), 0, id)
        return id
    }


    /// Image and symbol of one address — normalized (its mapping), symbolized (``SymbolLookup``) and named by
    /// the policy's table (docs/ARCHITECTURE.md): interned image and symbol, and whether the symbol resolved.
    func resolveAddress(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> (Int32, Int32, Bool) {
        let passive = isPassive(domain)
        switch mode {
        case .hypervisor:
            if case .hit(let hit) = lookupHypervisor(ip), let xen = sources.xen() {
                let img = strings.intern(passive ? "domain\(domain)-xen" : xen.imageName)
                return (img, symbolName(hit, table: 1 << 62), true)
            }
            let img = strings.intern(passive ? "domain\(domain)-xen-unknown" : "xen-unknown")
            return (img, unresolved(domain, ip), false)
        case .kernel:
            // Symbols by index (docs/ARCHITECTURE.md, "Whole-system reports"): names are made once per symbol.
            let table = kernelTable(domain)
            let j = table.flatMap { kernelSymbolIndex($0, ip) }
            if passive {
                // OProfile's names: the kernel image, else its modules.
                guard let table else { return (strings.intern("domain\(domain)-kernel"), unresolved(domain, ip), false) }
                if let j {
                    return (strings.intern(table.table.moduleIndex(at: j) == 0 ? "domain\(domain)-kernel" : "domain\(domain)-modules"),
                            kernelSymbolName(table, index: j, domain: domain), true)
                }
                return (strings.intern("domain\(domain)-modules"), unresolved(domain, ip), false)
            }
            // Coordinator / active: a kernel mapping names the image (perf's [kernel.kallsyms], modules).
            if let table, let j {
                let img: Int32
                let module = table.table.moduleIndex(at: j)
                if module != 0 {
                    img = moduleImageName(table, index: j, module: module, domain: domain)
                } else if let mapped = kernelMapping(domain: domain, ip: ip) {
                    imageHit[Int(mapped.image)] = true
                    img = imageNames[Int(mapped.image)]
                } else {
                    img = strings.intern(table.imageName)
                }
                return (img, kernelSymbolName(table, index: j, domain: domain), true)
            }
            if let mapped = kernelMapping(domain: domain, ip: ip) {
                imageHit[Int(mapped.image)] = true
                return (imageNames[Int(mapped.image)], unresolved(domain, ip), false)
            }
            // perf's name on perf's inputs; and with no kernel image known at all there is no range to be
            // outside of: like perf, `[unknown]`.
            if perfNames || (table == nil && kernelMaps[domain] == nil) {
                return (unknownName, unresolved(domain, ip), false)
            }
            return (strings.intern("vmlinux-unknown"), unresolved(domain, ip), false)
        case .user:
            if passive { return (strings.intern("domain\(domain)-apps"), unresolved(domain, ip), false) }
            guard let m = userMapping(domain: domain, pid: pid, ip: ip) else {
                return (unknownName, unresolved(domain, ip), false)
            }
            let imgName = imageNames[Int(m.image)]
            imageHit[Int(m.image)] = true
            let fileOffset = ip &- m.start &+ m.fileOffset
            if let (sym, ok) = symbolCache.get(UInt64(UInt32(bitPattern: m.image)), fileOffset) { return (imgName, sym, ok) }
            // (The unresolved name only when unresolved: interning one for every new address cost a tenth of
            // a whole-system report.)
            let result: (Int32, Bool)
            if let (u, j) = userSymbolIndex(image: m.image, fileOffset: fileOffset, ip: ip), let table = u.table {
                result = (userSymbolName(table, index: j, image: m.image), true)
            } else {
                result = (unresolved(domain, ip), false)
            }
            symbolCache.set(UInt64(UInt32(bitPattern: m.image)), fileOffset, 0, result)
            return (imgName, result.0, result.1)
        case .unknown:
            return (strings.intern("[unknown]"), unresolved(domain, ip), false)
        }
    }
}
