import SampleIO
import SymbolMap

/// Where one sample goes: interned ids of its command, image and symbol, and whether its symbol resolved.
public struct Attribution: Sendable, Equatable {
    public var comm: Int32
    public var image: Int32
    public var symbol: Int32
    public var resolved: Bool
}

/// Attributes samples to image and symbol with the naming rules of docs/ARCHITECTURE.md, "Attribution and
/// naming" (perf's names for the host, OProfile's for passive domains).
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
///
/// Attribution is three tasks, one file each: *normalization* here (mappings → image and file offset,
/// threads → command names), *symbolization* (`Attributor+Symbols.swift`: ``SymbolLookup``, a hit or a
/// miss with its reason) and the *naming policy* (`Attributor+Naming.swift`: perf's and OProfile's names);
/// `Attributor+Lines.swift` finds source lines (DWARF).
final class Attributor {
    var strings = StringTable()
    let sources: SymbolSources
    var roles: [DomainID: DomainRole] = [:]
    /// Per (domain, pid): executable mappings and the incarnation that cache keys hold.
    var processes = ProcessTable()
    /// Per domain: kernel mappings (pid -1).
    var kernelMaps: [DomainID: ProcessMaps] = [:]
    /// Per (domain, tid): command name id.
    var comms: [ProcessKey: Int32] = [:]
    /// Mapped images: path id, display name id, build-id.
    var imagePaths: [String] = []
    var imageBuildIDs: [[UInt8]] = []
    var imageNames: [Int32] = []
    var imageIndex: [String: Int32] = [:]
    /// Symbols by (image, file offset): shared by every process that maps the image.
    var symbolCache = FastMap<(Int32, Bool)>(capacity: 4096)
    /// Per mapped image (indexed like `imagePaths`): its ELF file and symbol table, looked up by path once
    /// (``userImage(_:)``), so that an address the caches do not hold costs no String-keyed lookup; nil until
    /// the image's first unresolved address.
    var userImages: [UserImage?] = []
    /// Per mapped image: each symbol's name id by its index in the image's table (`Int32.min`: not named yet),
    /// made when its first address is met (docs/ARCHITECTURE.md, "Whole-system reports").
    var userSymbolNames: [[Int32]] = []
    /// The kernel symbols of the domain last asked for (a whole system's kernel addresses are of one domain).
    var lastKernel: (domain: DomainID, table: NamedTable?)? = nil
    /// Kernel symbols' name ids by (symbol index, 2 << 62 | domain), and modules' image names by (module
    /// index, domain): what a kernel address the address cache does not hold costs, with no name made again.
    var kernelSymbolNames = FastMap<Int32>(capacity: 1024)
    var moduleImageNames = FastMap<Int32>(capacity: 64)
    /// Mapped images (indexes into `imagePaths`) that received at least one sample.
    /// (Indexed by image: asked on every user address the caches do not hold, where a set's hashing showed.)
    var imageHit: [Bool] = []
    private let hints: [SymbolHint]

    struct ProcessKey: Hashable {
        var domain: DomainID
        var pid: Int32
    }

    /// The interned `[unknown]`.
    let unknownName: Int32

    /// Whether the host domain is passive (looked up once: it is asked for every user sample).
    var hostPassive = false
    /// Whether unresolved kernel addresses take perf's name (`[unknown]`) rather than OProfile's
    /// (`vmlinux-unknown`): inputs perf or xprof's perf-like recorder wrote.
    let perfNames: Bool

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


    /// Names of unresolved addresses by (address, domain): an address outside any mapping is met again in
    /// every process's incarnation.
    var unresolvedNames = WordMap(capacity: 1024)
    /// Whether `unresolvedNames` was emptied for size (its names may then be asked for again).
    var unresolvedNamesEmptied = false

    /// Symbols' name ids by (start, size, table): the addresses of a function, met in new processes or at new
    /// offsets, get its name without hashing it again (a whole system's C++ names are long). The table word:
    /// 1 << 62 the hypervisor's, 2 << 62 | domain a kernel's, 3 << 62 | image a mapped file's.
    var symbolNames = FastMap<Int32>(capacity: 4096)

    /// Source lines by address, like `addressCache`.
    var lineCache = FastMap<Int32>(capacity: 1024)

    /// Names by (process incarnation, tid).
    var commCache = FastMap<Int32>(capacity: 256)


    /// Demangled names by raw name id (user code's C++ names, as perf shows them unless --no-demangle).
    var demangled: [Int32: Int32] = [:]

    /// Results by address (``addressKey(domain:mode:pid:)``). Hot code repeats a few thousand addresses
    /// over and over, so most samples cost one hash lookup.
    var addressCache = FastMap<(Int32, Int32, Bool)>(capacity: 4096)

    func imageID(path: String, buildID: [UInt8]) -> Int32 {
        if let i = imageIndex[path] { return i }
        let i = Int32(imagePaths.count)
        imagePaths.append(path)
        imageBuildIDs.append(buildID)
        imageNames.append(strings.intern(Self.displayName(path)))
        imageHit.append(false)
        userImages.append(nil)
        userSymbolNames.append([])
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


    /// The command name of a sample's thread (perf's rules: `swapper` for the idle task, `:TID` when unknown).
    func comm(domain: DomainID, pid: Int32, tid: Int32) -> Int32 {
        let k = UInt64(incarnation(domain: domain, pid: pid)) << 32 | UInt64(UInt32(bitPattern: tid))
        if let c = commCache.get(k, 0) { return c }
        let c = lookupComm(domain: domain, pid: pid, tid: tid)
        if commCache.count >= 1 << 20 { commCache.removeAll() }
        commCache.set(k, 0, 0, c)
        return c
    }

    /// Attributes one sample.
    func attribute(_ s: Sample) -> Attribution {
        let comm = comm(domain: s.domain, pid: s.pid, tid: s.tid)
        let (image, symbol, resolved) = attributeAddress(domain: s.domain, mode: s.mode, pid: s.pid, ip: s.ip)
        return Attribution(comm: comm, image: image, symbol: symbol, resolved: resolved)
    }

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

    func renew(domain: DomainID, pid: Int32) { processes.renew(domain: domain, pid: pid) }

    /// Where a user-code address is in the file its process maps there: the image and the file offset, which
    /// (with the domain) decide its attribution in every process that maps the image, wherever it does; nil
    /// when the address is in no mapping of the process or the domain is passive.
    @inline(__always)
    func fileLocation(domain: DomainID, pid: Int32, ip: UInt64) -> (image: Int32, offset: UInt64)? {
        guard let m = userMapping(domain: domain, pid: pid, ip: ip), !isPassive(domain) else { return nil }
        return (m.image, ip &- m.start &+ m.fileOffset)
    }

    /// Normalization of user code: the mapping of process `pid` that holds `ip` (its image and file offset).
    @inline(__always)
    func userMapping(domain: DomainID, pid: Int32, ip: UInt64) -> ProcessMaps.Entry? {
        processes.mapping(domain: domain, pid: pid, address: ip)
    }

    /// Normalization of kernel code: the kernel mapping of `domain` (the kernel image, a module) holding `ip`.
    func kernelMapping(domain: DomainID, ip: UInt64) -> ProcessMaps.Entry? {
        kernelMaps[domain]?.find(ip)
    }

    /// Whether the domain is passive (its code is named by OProfile's rules, not by mappings).
    @inline(__always)
    func isPassive(_ domain: DomainID) -> Bool {
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

}
