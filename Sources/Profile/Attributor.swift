import SampleIO
import SymbolMap

/// Where one sample goes: interned ids of its command, image and symbol, and whether its symbol resolved.
public struct Attribution: Sendable, Equatable {
    public var comm: Int32
    public var image: Int32
    public var symbol: Int32
    public var resolved: Bool
}

/// Attributes samples to image and symbol with DESIGN.md's rules (OProfile's names for passive domains).
///
/// | role | mode | inside the known image | outside |
/// |---|---|---|---|
/// | coordinator/active | hypervisor | the Xen image | `xen-unknown` |
/// | coordinator/active | kernel | kernel mapping / `vmlinux` / module | `vmlinux-unknown`; `[unknown]` for perf's inputs (perf.data, xprof's recordings: perf's name), or when no kernel image or map is known at all |
/// | coordinator/active | user | the mapped binary | `[unknown]` |
/// | passive N | hypervisor | `domainN-xen` | `domainN-xen-unknown` |
/// | passive N | kernel | `domainN-kernel` | `domainN-modules` |
/// | passive N | user | `domainN-apps` | — |
///
/// Side-band events (mappings, names, forks) must be applied in sample order with ``apply(_:)``.
final class Attributor {
    var strings = StringTable()
    let sources: SymbolSources
    private var roles: [DomainID: DomainRole] = [:]
    /// Per (domain, pid): executable mappings and the incarnation that cache keys hold.
    private var processes = ProcessTable()
    /// Per domain: kernel mappings (pid -1).
    private var kernelMaps: [DomainID: ProcessMaps] = [:]
    /// Per (domain, tid): command name id.
    private var comms: [ProcessKey: Int32] = [:]
    /// Mapped images: path id, display name id, build-id.
    private var imagePaths: [String] = []
    private var imageBuildIDs: [[UInt8]] = []
    private var imageNames: [Int32] = []
    private var imageIndex: [String: Int32] = [:]
    /// Symbols by (image, file offset): shared by every process that maps the image.
    private var symbolCache = FastMap<(Int32, Bool)>(capacity: 4096)
    /// Mapped images (indexes into `imagePaths`) that received at least one sample.
    /// (Indexed by image: asked on every user address the caches do not hold, where a set's hashing showed.)
    private var imageHit: [Bool] = []
    private let hints: [SymbolHint]

    struct ProcessKey: Hashable {
        var domain: DomainID
        var pid: Int32
    }

    /// The interned `[unknown]`.
    let unknownName: Int32

    /// Whether the host domain is passive (looked up once: it is asked for every user sample).
    private var hostPassive = false
    /// Whether unresolved kernel addresses take perf's name (`[unknown]`) rather than OProfile's
    /// (`vmlinux-unknown`): inputs perf or xprof's perf-like recorder wrote.
    private let perfNames: Bool

    init(metadata: RunMetadata, options: SymbolOptions) {
        sources = SymbolSources(metadata: metadata, options: options)
        unknownName = strings.intern("[unknown]")
        perfNames = ["perf.data", "xprof"].contains(metadata.sourceFormat)
        for d in metadata.domains { roles[d.id] = d.role }
        hints = metadata.symbolHints
        hostPassive = role(of: .host) == .passive
    }

    func role(of domain: DomainID) -> DomainRole {
        if let r = roles[domain] { return r }
        if domain == .host { return .coordinator }
        if domain == .hypervisor { return .hypervisor }
        return .passive
    }

    /// Reads all of `source` in order, applying its side-band events before the samples they precede, and
    /// calls `body` with each sample that passes the domain and mode filters (its batch and index give its
    /// callchain).
    /// `afterSideband` runs after each side-band event is applied (for the caller's own caches by address).
    func forEachSample(of source: any SampleSource, domain: DomainID?, mode: SampleMode?, event: UInt16? = nil,
                       afterSideband: () -> Void = {},
                       _ body: (Sample, SampleBatch, Int) -> Void) throws(SampleIOError) {
        while let batch = try source.nextBatch() {
            var next = 0
            for (i, s) in batch.samples.enumerated() {
                while next < batch.sideband.count, batch.sideband[next].beforeSample <= i {
                    apply(batch.sideband[next].event)
                    afterSideband()
                    next += 1
                }
                if let domain, s.domain != domain { continue }
                if let mode, s.mode != mode { continue }
                if let event, s.event != event { continue }
                body(s, batch, i)
            }
            while next < batch.sideband.count {
                apply(batch.sideband[next].event)
                afterSideband()
                next += 1
            }
        }
    }

    /// Applies one side-band event.
    func apply(_ event: SidebandEvent) {
        switch event {
        case .mapping(let m):
            guard m.executable else { return }
            if m.pid < 0 {
                // The kernel's and its modules' mappings, listed at the start (later only when a module is
                // loaded): kernel addresses are cached for every process at once, so these clear the caches.
                addressCache.removeAll()
                lineCache.removeAll()
            } else {
                renew(domain: m.domain, pid: m.pid)
            }
            let img = imageID(path: m.path, buildID: m.buildID)
            let entry = ProcessMaps.Entry(start: m.start, end: m.end, fileOffset: m.fileOffset, image: img)
            if m.pid < 0 {
                kernelMaps[m.domain, default: ProcessMaps()].insert(entry)
                // perf names the kernel map `[kernel.kallsyms]_text`: its file offset is `_text`'s address.
                if m.path.hasPrefix("[kernel.kallsyms]"), m.path.count > 17 {
                    sources.kernelReference[m.domain] = (String(m.path.dropFirst(17)), m.fileOffset)
                }
            } else {
                processes.insert(entry, domain: m.domain, pid: m.pid)
            }
        case .comm(let d, let pid, let tid, let name, _):
            renew(domain: d, pid: pid)
            let id = strings.intern(name)
            comms[ProcessKey(domain: d, pid: tid)] = id
            if pid == tid { comms[ProcessKey(domain: d, pid: pid)] = id }
        case .fork(let d, let pid, let ppid, let tid, let ptid):
            // A new process (its mappings) or a new thread (its name).
            renew(domain: d, pid: pid)
            // A new process starts with a copy of its parent's mappings and name.
            if pid != ppid { processes.inherit(domain: d, pid: pid, parent: ppid) }
            if comms[ProcessKey(domain: d, pid: tid)] == nil, let c = comms[ProcessKey(domain: d, pid: ptid)] {
                comms[ProcessKey(domain: d, pid: tid)] = c
            }
        case .exit:
            break  // Samples can still arrive for an exiting task; keep its state.
        }
    }

    private func imageID(path: String, buildID: [UInt8]) -> Int32 {
        if let i = imageIndex[path] { return i }
        let i = Int32(imagePaths.count)
        imagePaths.append(path)
        imageBuildIDs.append(buildID)
        imageNames.append(strings.intern(Self.displayName(path)))
        imageHit.append(false)
        imageIndex[path] = i
        return i
    }

    /// Mapped files that received samples, with their build-ids (from the mapping, else from the
    /// recording's build-id table): what `perf buildid-list --with-hits` lists.
    func imagesWithHits() -> [(path: String, buildID: String)] {
        imageHit.indices.filter { imageHit[$0] }.map { i in
            var path = imagePaths[Int(i)]
            if path.hasPrefix("[kernel.kallsyms]") { path = "[kernel.kallsyms]" }
            var id = imageBuildIDs[Int(i)].map { String(format2: $0) }.joined()
            if id.isEmpty, let h = hints.first(where: { $0.path == path && !$0.buildID.isEmpty }) { id = h.buildID }
            return (path, id)
        }
    }

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

    /// The command name of a sample's thread (perf's rules: `swapper` for the idle task, `:TID` when unknown).
    func comm(domain: DomainID, pid: Int32, tid: Int32) -> Int32 {
        let k = UInt64(incarnation(domain: domain, pid: pid)) << 32 | UInt64(UInt32(bitPattern: tid))
        if let c = commCache.get(k, 0) { return c }
        let c = lookupComm(domain: domain, pid: pid, tid: tid)
        if commCache.count >= 1 << 20 { commCache.removeAll() }
        commCache.set(k, 0, 0, c)
        return c
    }

    /// Names by (process incarnation, tid).
    private var commCache = FastMap<Int32>(capacity: 256)

    private func lookupComm(domain: DomainID, pid: Int32, tid: Int32) -> Int32 {
        if let c = comms[ProcessKey(domain: domain, pid: tid)] { return c }
        if let c = comms[ProcessKey(domain: domain, pid: pid)] { return c }
        if role(of: domain) == .passive { return strings.intern("domain\(domain)") }
        if tid == 0 || (tid < 0 && pid == 0) { return strings.intern("swapper") }
        if tid < 0 && pid < 0 { return strings.intern("[unknown]") }
        return strings.intern(":\(tid >= 0 ? tid : pid)")
    }

    /// Names of unresolved addresses by (address, domain): an address outside any mapping is met again in
    /// every process's incarnation.
    private var unresolvedNames = FastMap<Int32>(capacity: 1024)

    private func unresolved(_ domain: DomainID, _ ip: UInt64) -> Int32 {
        if let id = unresolvedNames.get(ip, UInt64(domain.rawValue)) { return id }
        let hex = "0x" + String(ip, radix: 16)
        let id = strings.intern(domain == .host ? "[unknown] \(hex)" : "[dom\(domain)] \(hex)")
        if unresolvedNames.count >= 1 << 18 { unresolvedNames.removeAll() }
        unresolvedNames.set(ip, UInt64(domain.rawValue), 0, id)
        return id
    }

    /// Symbols' name ids by (start, size, table): the addresses of a function, met in new processes or at new
    /// offsets, get its name without hashing it again (a whole system's C++ names are long). The table word:
    /// 1 << 62 the hypervisor's, 2 << 62 | domain a kernel's, 3 << 62 | image a mapped file's.
    private var symbolNames = FastMap<Int32>(capacity: 4096)

    private func symbolName(_ hit: SymbolHit, table: UInt64) -> Int32 {
        if let id = symbolNames.get(hit.start, hit.size, table) { return id }
        let id = strings.intern(hit.name)
        symbolNames.set(hit.start, hit.size, table, id)
        return id
    }

    /// Demangled names by raw name id (user code's C++ names, as perf shows them unless --no-demangle).
    private var demangled: [Int32: Int32] = [:]

    /// A user-code symbol's name: demangled (C++) as perf demangles it, unless the options say not to.
    private func userSymbolName(_ hit: SymbolHit, image: Int32) -> Int32 {
        let table = 3 << 62 | UInt64(UInt32(bitPattern: image))
        if let id = symbolNames.get(hit.start, hit.size, table) { return id }
        let raw = strings.intern(hit.name)
        var d = raw
        if sources.options.demangle, Demangler.isMangled(hit.name) {
            if let known = demangled[raw] {
                d = known
            } else {
                d = Demangler.demangle(hit.name).map { strings.intern($0) } ?? raw
                demangled[raw] = d
            }
        }
        symbolNames.set(hit.start, hit.size, table, d)
        return d
    }

    /// Attributes one sample.
    func attribute(_ s: Sample) -> Attribution {
        let comm = comm(domain: s.domain, pid: s.pid, tid: s.tid)
        let (image, symbol, resolved) = attributeAddress(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip)
        return Attribution(comm: comm, image: image, symbol: symbol, resolved: resolved)
    }

    /// Results by address (``addressKey(domain:mode:pid:)``). Hot code repeats a few thousand addresses
    /// over and over, so most samples cost one hash lookup.
    private var addressCache = FastMap<(Int32, Int32, Bool)>(capacity: 4096)

    /// Image and symbol of one address (a sample's ip or a callchain frame).
    func attributeAddress(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> (Int32, Int32, Bool) {
        // User code: its mapping and the symbols by (image, offset), shared by the processes that map the
        // image, cost about what a cache by process would, which would hold every process's addresses again.
        if mode == .user { return resolveAddress(domain: domain, mode: mode, pid: pid, ip: ip) }
        let (b, c) = addressKey(domain: domain, mode: mode, pid: pid)
        if let hit = addressCache.get(ip, b, c) { return hit }
        let r = resolveAddress(domain: domain, mode: mode, pid: pid, ip: ip)
        if addressCache.count >= 1 << 20 { addressCache.removeAll() }
        addressCache.set(ip, b, c, r)
        return r
    }

    /// The words of an address's cache key after the address itself: what its attribution depends on. The
    /// domain and mode; for user code the process's incarnation too (kernel and hypervisor code is the same
    /// in every process of a domain).
    @inline(__always)
    func addressKey(domain: DomainID, mode: SampleMode, pid: Int32) -> (UInt64, UInt64) {
        (UInt64(domain.rawValue) << 32 | UInt64(mode.rawValue), mode == .user ? UInt64(incarnation(domain: domain, pid: pid)) : 0)
    }

    /// The process's incarnation (see ``ProcessTable``): cache keys hold it for what depends on the process.
    /// - Complexity: O(1).
    @inline(__always)
    func incarnation(domain: DomainID, pid: Int32) -> UInt32 { processes.incarnation(domain: domain, pid: pid) }

    private func renew(domain: DomainID, pid: Int32) { processes.renew(domain: domain, pid: pid) }

    /// Where a user-code address is in the file its process maps there: the image and the file offset, which
    /// (with the domain) decide its attribution in every process that maps the image, wherever it does; nil
    /// when the address is in no mapping of the process or the domain is passive.
    @inline(__always)
    func fileLocation(domain: DomainID, pid: Int32, ip: UInt64) -> (image: Int32, offset: UInt64)? {
        guard let m = processes.state(domain: domain, pid: pid).maps?.find(ip), !isPassive(domain) else { return nil }
        return (m.image, ip &- m.start &+ m.fileOffset)
    }

    /// Whether the domain is passive (its code is named by OProfile's rules, not by mappings).
    @inline(__always)
    private func isPassive(_ domain: DomainID) -> Bool {
        domain == .host ? hostPassive : role(of: domain) == .passive
    }

    /// An address as `xprof script` (and perf script) shows it: the image — the mapped file's full path for
    /// user code, the report's image name otherwise — its symbol, and the offset into that symbol when the
    /// symbol is known. Interned ids; not cached.
    /// An unresolved address is `[unknown]`, as perf script names it (the address is printed beside it).
    func describe(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> (image: Int32, symbol: Int32, offset: UInt64?) {
        var (image, symbol, resolved) = attributeAddress(domain: domain, mode: mode, pid: pid, ip: ip)
        if !resolved { symbol = unknownName }
        var path = image
        if mode == .user, role(of: domain) != .passive, let m = processes.maps(domain: domain, pid: pid)?.find(ip) {
            path = strings.intern(imagePaths[Int(m.image)])
        }
        let offset = resolved ? codeAddress(domain: domain, mode: mode, pid: pid, ip: ip)?.symbol?.offset : nil
        return (path, symbol, offset)
    }

    /// Source lines by address, like `addressCache`.
    private var lineCache = FastMap<Int32>(capacity: 1024)

    /// `file:line` of an address (DWARF of the mapped binary or its debug file, or of a `--vmlinux` image),
    /// `??:0` when unknown: the file's base name only (``sourceLocation(domain:mode:pid:ip:)`` has the full
    /// path). Interned id.
    func sourceLine(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> Int32 {
        let (b, c) = addressKey(domain: domain, mode: mode, pid: pid)
        if let hit = lineCache.get(ip, b, c) { return hit }
        var text = "??:0"
        if let loc = sourceLocation(domain: domain, mode: mode, pid: pid, ip: ip) {
            text = basename(loc.file) + ":" + String(loc.line)
        }
        let id = strings.intern(text)
        if lineCache.count >= 1 << 20 { lineCache.removeAll() }
        lineCache.set(ip, b, c, id)
        return id
    }

    /// The line-table row of an address: the full path of the source file as DWARF names it (the unit's
    /// directory joined with the file's), its line and column; nil when unknown. Not cached.
    func sourceLocation(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> SourceLocation? {
        guard let (dw, address) = dwarfAddress(domain: domain, mode: mode, pid: pid, ip: ip) else { return nil }
        return dw.location(for: address)
    }

    /// The DWARF an address's code is described by, and the address in that file's own address space
    /// (the mapped binary or its separate debug file for user code, the `--vmlinux` image for kernel code
    /// with the KASLR slide removed, `--xen` for the hypervisor); nil when no DWARF is known (passive
    /// domains' user code, kallsyms and System.map, images without debugging information).
    func dwarfAddress(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> (DwarfLines, UInt64)? {
        if role(of: domain) == .passive && mode == .user { return nil }
        switch mode {
        case .user:
            if let m = processes.maps(domain: domain, pid: pid)?.find(ip),
               let elf = sources.image(imagePaths[Int(m.image)], buildID: imageBuildIDs[Int(m.image)]),
               let dw = sources.dwarf(of: elf) {
                return (dw, elf.virtualAddress(forFileOffset: ip &- m.start &+ m.fileOffset) ?? ip)
            }
        case .kernel:
            if let t = sources.kernel(domain), let path = t.elfPath, let dw = sources.dwarf(path: path) {
                return (dw, ip &- t.slide)
            }
        case .hypervisor:
            if let x = sources.xen(), let path = x.elfPath, let dw = sources.dwarf(path: path) { return (dw, ip) }
        case .unknown:
            break
        }
        return nil
    }

    /// Where an address's code is in its symbol source (see ``codeAddress(domain:mode:pid:ip:)``).
    struct CodeAddress {
        /// The ELF file the symbols come from (`--symfs` applied); nil for kallsyms and System.map.
        var elfPath: String?
        /// The address in the symbol table's space: the ELF file's virtual address, or the runtime address
        /// less the kernel's slide.
        var address: UInt64
        /// The function symbol holding it (start and size in the same space), nil if none.
        var symbol: SymbolHit?
    }

    /// The address of `ip` in its image's own address space, with the ELF file and the function symbol it
    /// falls in: what a per-instruction view (objdump) and a per-address table need. nil when no symbol
    /// source covers the address (unmapped, passive user code, no kernel or hypervisor symbols).
    func codeAddress(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> CodeAddress? {
        let passive = role(of: domain) == .passive
        switch mode {
        case .user:
            guard !passive, let m = processes.maps(domain: domain, pid: pid)?.find(ip),
                  let elf = sources.image(imagePaths[Int(m.image)], buildID: imageBuildIDs[Int(m.image)]) else { return nil }
            let vaddr = elf.virtualAddress(forFileOffset: ip &- m.start &+ m.fileOffset) ?? ip
            return CodeAddress(elfPath: elf.path, address: vaddr, symbol: sources.symbols(of: elf).lookup(vaddr))
        case .kernel:
            guard let t = sources.kernel(domain) else { return nil }
            return CodeAddress(elfPath: t.elfPath, address: ip &- t.slide, symbol: t.lookup(ip))
        case .hypervisor:
            guard let x = sources.xen() else { return nil }
            return CodeAddress(elfPath: x.elfPath, address: ip, symbol: x.lookup(ip))
        case .unknown:
            return nil
        }
    }

    private func resolveAddress(domain: DomainID, mode: SampleMode, pid: Int32, ip: UInt64) -> (Int32, Int32, Bool) {
        let passive = isPassive(domain)
        switch mode {
        case .hypervisor:
            if let xen = sources.xen(), xen.contains(ip), let hit = xen.lookup(ip) {
                let img = strings.intern(passive ? "domain\(domain)-xen" : xen.imageName)
                return (img, symbolName(hit, table: 1 << 62), true)
            }
            let img = strings.intern(passive ? "domain\(domain)-xen-unknown" : "xen-unknown")
            return (img, unresolved(domain, ip), false)
        case .kernel:
            let table = sources.kernel(domain)
            if passive {
                guard let table else { return (strings.intern("domain\(domain)-kernel"), unresolved(domain, ip), false) }
                if table.contains(ip), let hit = table.lookup(ip), hit.module == nil {
                    return (strings.intern("domain\(domain)-kernel"), symbolName(hit, table: 2 << 62 | UInt64(domain.rawValue)), true)
                }
                if let hit = table.lookup(ip), hit.module != nil {
                    return (strings.intern("domain\(domain)-modules"), symbolName(hit, table: 2 << 62 | UInt64(domain.rawValue)), true)
                }
                return (strings.intern("domain\(domain)-modules"), unresolved(domain, ip), false)
            }
            // Coordinator / active: a kernel mapping names the image (perf's [kernel.kallsyms], modules).
            let mapped = kernelMaps[domain]?.find(ip)
            if let table, let hit = table.lookup(ip), table.contains(ip) || hit.module != nil {
                let img: Int32
                if let module = hit.module {
                    img = strings.intern("[\(module)]")
                } else if let mapped {
                    imageHit[Int(mapped.image)] = true
                    img = imageNames[Int(mapped.image)]
                } else {
                    img = strings.intern(table.imageName)
                }
                return (img, symbolName(hit, table: 2 << 62 | UInt64(domain.rawValue)), true)
            }
            if let mapped {
                imageHit[Int(mapped.image)] = true
                return (imageNames[Int(mapped.image)], unresolved(domain, ip), false)
            }
            // perf's name on perf's inputs; and with no kernel image known at all there is no range to be
            // outside of: like perf, `[unknown]`.
            if perfNames || (table == nil && kernelMaps[domain] == nil) {
                return (strings.intern("[unknown]"), unresolved(domain, ip), false)
            }
            return (strings.intern("vmlinux-unknown"), unresolved(domain, ip), false)
        case .user:
            if passive { return (strings.intern("domain\(domain)-apps"), unresolved(domain, ip), false) }
            guard let m = processes.state(domain: domain, pid: pid).maps?.find(ip) else {
                return (unknownName, unresolved(domain, ip), false)
            }
            let imgName = imageNames[Int(m.image)]
            imageHit[Int(m.image)] = true
            let fileOffset = ip &- m.start &+ m.fileOffset
            if let (sym, ok) = symbolCache.get(UInt64(UInt32(bitPattern: m.image)), fileOffset) { return (imgName, sym, ok) }
            var named: (Int32, Bool)? = nil
            if let elf = sources.image(imagePaths[Int(m.image)], buildID: imageBuildIDs[Int(m.image)]) {
                let vaddr = elf.virtualAddress(forFileOffset: fileOffset) ?? ip
                if let hit = sources.symbols(of: elf).lookup(vaddr) {
                    named = (userSymbolName(hit, image: m.image), true)
                }
            }
            // (The unresolved name only when unresolved: interning one for every new address cost a tenth of
            // a whole-system report.)
            let result = named ?? (unresolved(domain, ip), false)
            symbolCache.set(UInt64(UInt32(bitPattern: m.image)), fileOffset, 0, result)
            return (imgName, result.0, result.1)
        case .unknown:
            return (strings.intern("[unknown]"), unresolved(domain, ip), false)
        }
    }
}
