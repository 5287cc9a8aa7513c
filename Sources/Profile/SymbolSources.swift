#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import SampleIO
import SymbolMap

/// Reads and parses the running kernel's symbols on another thread, started as soon as a report knows it
/// will probably need them, so that the time it takes overlaps decoding the samples.
final class KallsymsPrefetch: @unchecked Sendable {
    private let group = DispatchGroup()
    /// Written once by the background task before `group.leave()`, read only after `group.wait()`.
    private var table: SymbolTable?

    /// - Parameter buildID: the running kernel's build-id (hex), "" if unknown.
    init(buildID: String) {
        group.enter()
        DispatchQueue.global().async {
            self.table = SymbolSources.runningKernelTable(buildID: buildID)
            Timings.mark("kernel symbols read")
            self.group.leave()
        }
    }

    /// The parsed table (nil when kallsyms is unreadable or hidden), waiting for the read to finish.
    func result() -> SymbolTable? {
        group.wait()
        return table
    }
}

/// A symbol table with the name its image goes by in reports and the offset to add to a runtime address
/// to get the table's address (KASLR).
struct NamedTable {
    var imageName: String
    var table: SymbolTable
    /// table address = runtime address &- slide.
    var slide: UInt64 = 0
    /// The ELF file the table came from (for DWARF lines), nil for text maps.
    var elfPath: String? = nil

    func lookup(_ runtime: UInt64) -> SymbolHit? { table.lookup(runtime &- slide) }

    func contains(_ runtime: UInt64) -> Bool {
        guard let r = table.addressRange else { return false }
        return r.contains(runtime &- slide)
    }
}

/// Loads, once each and lazily, the symbol sources a report needs: the hypervisor image, each domain's
/// kernel table, and user ELF images by path. Problems are warnings; the report goes on without them.
final class SymbolSources {
    let metadata: RunMetadata
    let options: SymbolOptions
    private(set) var warnings: [String] = []
    private var xenLoaded = false
    private var xenTable: NamedTable?
    private var kernels: [DomainID: NamedTable?] = [:]
    private var images: [String: ElfImage?] = [:]
    private var symbolFiles: [String: SymbolTable] = [:]
    private var dwarfs: [String: DwarfLines?] = [:]

    /// DWARF line tables of an ELF image: its own, else its separate debug file's; nil (once warned) when none.
    func dwarf(of image: ElfImage) -> DwarfLines? {
        if let d = dwarfs[image.path] { return d }
        var d: DwarfLines? = nil
        var candidates: [String] = []
        if image.hasDebugLines { candidates.append(image.path) }
        if let dbg = image.separateDebugFile(debugDirectories: options.debugDirectories) { candidates.append(dbg) }
        // With the symbol cache, lines come from the DWARF index kept there (docs/ARCHITECTURE.md, "Line and
        // inline index"): a report whose addresses it answers opens no DWARF.
        for c in candidates where d == nil { d = try? DwarfLines(path: c, cache: SymbolCache.standard) }
        if d == nil { warn("\(image.path): no DWARF line information (nor a separate debug file); its source lines show as ??:0") }
        dwarfs[image.path] = d
        return d
    }

    /// Writes what the DWARF line indexes learnt to the symbol cache (see ``DwarfLines/saveIndex()``); also
    /// done when the sources are released.
    func saveDwarfIndexes() {
        for case let d? in dwarfs.values { d.saveIndex() }
    }

    deinit { saveDwarfIndexes() }

    /// DWARF of the ELF file at `path` (a --vmlinux or --xen image).
    func dwarf(path: String) -> DwarfLines? {
        if let d = dwarfs[path] { return d }
        guard let img = try? Self.elfImage(path) else { dwarfs[path] = .some(nil); return nil }
        return dwarf(of: img)
    }

    /// The running kernel's symbols, being read in the background when the recording will likely need them.
    private let liveKallsyms: KallsymsPrefetch?

    init(metadata: RunMetadata, options: SymbolOptions) {
        self.metadata = metadata
        self.options = options
        // The live kernel is the last resort of `loadKernel(.host)`: prefetch only when nothing the user gave
        // or the recording carries would come first, and the recording names a host kernel.
        let hostGiven = options.vmlinux[.host] != nil || options.kallsyms[.host] != nil || options.systemMap[.host] != nil
        let recorded = metadata.kernelSymbols.contains { $0.domain == .host }
        let hinted = metadata.symbolHints.contains { $0.domain == .host && $0.kind == .kernel }
        liveKallsyms = !hostGiven && !recorded && hinted ? KallsymsPrefetch(buildID: HostIdentity.kernelBuildID()) : nil
    }

    private func warn(_ s: String) { warnings.append(s) }

    /// The hypervisor's symbols (`--xen`), shared by all domains.
    func xen() -> NamedTable? {
        if xenLoaded { return xenTable }
        xenLoaded = true
        guard let path = options.xen else { return nil }
        do {
            let img = try Self.elfImage(path)
            if !checkBuildID(img, kind: .hypervisor, domain: nil) { return nil }
            xenTable = NamedTable(imageName: basename(path), table: img.symbols, elfPath: path)
        } catch {
            warn("--xen \(path): \(error); hypervisor samples stay unresolved")
        }
        return xenTable
    }

    /// Where the recording says the kernel's relocation symbol was (perf's `[kernel.kallsyms]_text`
    /// mapping: the symbol name and its runtime address), per domain; set by the attributor.
    var kernelReference: [DomainID: (symbol: String, address: UInt64)] = [:]

    /// The kernel symbols of `domain`: the user's `--vmlinux`/`--kallsyms`/`--system-map`, else the
    /// kallsyms snapshot the recording carries, else (host only) the running kernel's `/proc/kallsyms`
    /// when the recording was made by this very kernel (same build-id), relocated by the recorded
    /// reference symbol.
    func kernel(_ domain: DomainID) -> NamedTable? {
        if let k = kernels[domain] { return k }
        let t = loadKernel(domain)
        kernels[domain] = t
        return t
    }

    private func recordedSnapshot(_ domain: DomainID) -> SymbolTable? {
        guard let snap = metadata.kernelSymbols.first(where: { $0.domain == domain }) else { return nil }
        let (table, bad) = SymbolTable.kallsyms(text: snap.text)
        if !bad.isEmpty { warn("recorded kernel symbols of domain \(domain): \(bad.count) unreadable lines skipped") }
        return table
    }

    private func loadKernel(_ domain: DomainID) -> NamedTable? {
        let recorded = recordedSnapshot(domain)
        if let path = options.vmlinux[domain] {
            do {
                let img = try Self.elfImage(path)
                guard checkBuildID(img, kind: .kernel, domain: domain) else { return nil }
                var t = NamedTable(imageName: basename(path), table: img.symbols, elfPath: path)
                // KASLR: the recording's _stext (or _text) against the image's.
                for anchor in ["_stext", "_text"] {
                    if let r = recorded?.symbol(named: anchor), let i = img.symbols.symbol(named: anchor) {
                        t.slide = r.start &- i.start
                        break
                    }
                }
                return t
            } catch {
                warn("--vmlinux \(domain)=\(path): \(error); trying other kernel symbol sources")
            }
        }
        if let path = options.kallsyms[domain] {
            if let text = readText(path, what: "--kallsyms \(domain)") {
                let (table, bad) = SymbolTable.kallsyms(text: text)
                if !bad.isEmpty { warn("--kallsyms \(domain)=\(path): \(bad.count) unreadable lines skipped, e.g. \(bad[0])") }
                if table.count == 0 { warn("--kallsyms \(domain)=\(path): no function symbols in it (empty, or addresses hidden by kptr_restrict?)") }
                return NamedTable(imageName: domain == .host ? "[kernel.kallsyms]" : "vmlinux", table: table)
            }
        }
        if let path = options.systemMap[domain] {
            if let text = readText(path, what: "--system-map \(domain)") {
                let (table, bad) = SymbolTable.systemMap(text: text)
                if !bad.isEmpty { warn("--system-map \(domain)=\(path): \(bad.count) unreadable lines skipped, e.g. \(bad[0])") }
                if table.count == 0 { warn("--system-map \(domain)=\(path): no function symbols in it") }
                return NamedTable(imageName: "vmlinux", table: table)
            }
        }
        if let recorded {
            return NamedTable(imageName: "[kernel.kallsyms]", table: recorded)
        }
        if domain == .host, let live = liveKernel() { return live }
        return nil
    }

    /// The running kernel's symbols: perf's copy of its kallsyms for its build-id when there is one
    /// (`~/.debug/[kernel.kallsyms]/ID/kallsyms`, what `perf report` reads too: a plain file is much cheaper
    /// than having the kernel format `/proc/kallsyms` again, and its table can be kept in the symbol cache),
    /// else `/proc/kallsyms`.
    static func runningKernelTable(buildID running: String) -> SymbolTable? {
        if !running.isEmpty, let home = getenv("HOME") {
            let path = String(cString: home) + "/.debug/[kernel.kallsyms]/" + running + "/kallsyms"
            let table = SymbolCache.standard.map { $0.kallsyms(at: path) } ?? SymbolTable.kallsyms(mapping: path)?.0
            if let table, table.count > 0 { return table }
        }
        return HostIdentity.kallsymsBytes().map { SymbolTable.kallsyms(bytes: $0).0 }
    }

    private func liveKernel() -> NamedTable? {
        // The recording's kernel build-id (perf's BUILD_ID feature; `perf record -z` writes none).
        let recorded = metadata.symbolHints.first(where: { $0.domain == .host && $0.kind == .kernel && !$0.buildID.isEmpty })?.buildID ?? ""
        let running = HostIdentity.kernelBuildID()
        let sameKernel: Bool
        if !recorded.isEmpty && !running.isEmpty {
            sameKernel = recorded == running
            if !sameKernel && !options.forceSymbols {
                warn("the recording's kernel (build-id \(recorded)) is not the running kernel (\(running)); kernel samples stay unresolved (give --kallsyms 0=FILE or --vmlinux 0=FILE)")
                return nil
            }
        } else {
            sameKernel = !metadata.kernelRelease.isEmpty && metadata.kernelRelease == HostIdentity.kernelRelease()
                && metadata.hostname == HostIdentity.hostname()
        }
        guard sameKernel || options.forceSymbols else { return nil }
        let table: SymbolTable
        if let liveKallsyms {
            guard let t = liveKallsyms.result() else { return nil }
            table = t
        } else {
            guard let t = Self.runningKernelTable(buildID: running) else { return nil }
            table = t
        }
        var t = NamedTable(imageName: "[kernel.kallsyms]", table: table)
        if let ref = kernelReference[.host], let live = table.symbol(named: ref.symbol) {
            t.slide = ref.address &- live.start
        }
        return t
    }

    /// The best symbol table for the image at `path`: its separate debug file's `.symtab` when the image
    /// itself only has `.dynsym` (Debian ships full symbols in `-dbg` packages), else its own.
    func symbols(of image: ElfImage) -> SymbolTable {
        if let t = symbolFiles[image.path] { return t }
        var table = image.symbols
        if image.symbolSection != ".symtab", let debug = image.separateDebugFile(debugDirectories: options.debugDirectories) {
            do {
                // With the image's PLT stubs, which the debug file's table lacks (perf adds them too).
                let plt = ElfImage.pltSymbols(path: image.path)
                let d = plt.isEmpty ? try Self.elfImage(debug) : try ElfImage(path: debug, extraSymbols: plt)
                if !image.buildID.isEmpty, !d.buildID.isEmpty, d.buildID != image.buildID {
                    warn("\(debug): build-id \(d.buildID) is not \(image.path)'s \(image.buildID); not used")
                } else if d.symbols.count > 0 {
                    table = d.symbols
                }
            } catch {
                warn("\(error) (separate debug file of \(image.path)); using its own symbols")
            }
        }
        symbolFiles[image.path] = table
        return table
    }

    /// Loads now the host's symbol sources the recording says have samples (perf's build-id table lists only
    /// those): its user images, the vDSO and the kernel's table, so that a consumer that would otherwise wait
    /// for its first samples (merged samples come late) reads them while the decoder is still busy.
    func preloadSymbols() {
        // The kernel's last: its table is read on another thread already (``KallsymsPrefetch``), in the meantime.
        let hints = metadata.symbolHints.filter { $0.domain == .host }
        for h in hints.filter({ $0.kind != .kernel }) + hints.filter({ $0.kind == .kernel }) {
            switch h.kind {
            case .user where h.path.hasPrefix("/"):
                if let img = image(h.path, buildID: []) { _ = symbols(of: img) }
            case .user where h.path == "[vdso]":
                _ = image(h.path, buildID: [])
            case .kernel:
                _ = kernel(.host)
            default:
                continue
            }
            Timings.mark("symbols read: \(h.path)")
        }
    }

    /// The ELF image at `path` (under `--symfs` if given); nil when missing or unreadable (warned once).
    func image(_ path: String, buildID: [UInt8]) -> ElfImage? {
        if let i = images[path] { return i }
        var img: ElfImage? = nil
        if path.hasPrefix("/") {
            let full = (options.symfs ?? "") + path
            do {
                let e = try Self.elfImage(full)
                let want = recordedBuildID(path, mapping: buildID)
                if !want.isEmpty, !e.buildID.isEmpty, e.buildID != want {
                    if options.forceSymbols {
                        warn("\(full): build-id \(e.buildID) does not match the recorded \(want); used anyway because of --force-symbols")
                        img = e
                    } else {
                        warn("\(full): build-id \(e.buildID) does not match the recorded \(want); NOT used (--force-symbols uses it anyway)")
                    }
                } else {
                    img = e
                }
            } catch {
                warn("\(error); its samples stay unresolved")
            }
        }
        if path == "[vdso]" { img = hostVDSO(buildID: buildID) }
        images[path] = img
        return img
    }

    /// The ELF image at `path`, through the symbol cache when there is one.
    private static func elfImage(_ path: String) throws(SymbolMapError) -> ElfImage {
        if let cache = SymbolCache.standard { return try cache.elfImage(at: path) }
        return try ElfImage(path: path)
    }

    /// The build-id a recording gives the image at `path`: its mapping's own (MMAP2), else the recording's
    /// build-id table's (perf's BUILD_ID feature); "" when neither has one.
    private func recordedBuildID(_ path: String, mapping buildID: [UInt8]) -> String {
        let own = buildID.map { String(format2: $0) }.joined()
        if !own.isEmpty { return own }
        return metadata.symbolHints.first { $0.path == path && !$0.buildID.isEmpty }?.buildID ?? ""
    }

    /// The running kernel's vDSO, for `[vdso]` mappings, when the recording was made by this kernel: the
    /// recorded build-id of `[vdso]` (the mapping's, else the recording's table) must be its own, or, with
    /// none recorded, the kernel release must be this one's. Written to a temporary file for libelf.
    private func hostVDSO(buildID: [UInt8]) -> ElfImage? {
        let want = recordedBuildID("[vdso]", mapping: buildID)
        if want.isEmpty && !metadata.kernelRelease.isEmpty && metadata.kernelRelease != HostIdentity.kernelRelease() { return nil }
        guard let bytes = HostIdentity.vdsoImage() else { return nil }
        let dir = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        guard let (fd, tmp) = try? SystemCalls.makeTemporaryFile(template: dir + "/xprof-vdso-XXXXXX") else { return nil }
        defer { unlink(tmp) }
        let written = (try? SystemCalls.writeAll(fd, bytes[...])) != nil
        SystemCalls.close(fd)
        guard written, let e = try? ElfImage(path: tmp) else { return nil }
        if !want.isEmpty && e.buildID != want {
            warn("[vdso]: the recording's vDSO (build-id \(want)) is not the running kernel's (\(e.buildID)); its samples stay unresolved")
            return nil
        }
        return e
    }

    private func checkBuildID(_ img: ElfImage, kind: SymbolSourceKind, domain: DomainID?) -> Bool {
        guard let hint = metadata.symbolHints.first(where: { $0.kind == kind && (domain == nil || $0.domain == domain!) && !$0.buildID.isEmpty }),
              !img.buildID.isEmpty, hint.buildID != img.buildID else { return true }
        if options.forceSymbols {
            warn("\(img.path): build-id \(img.buildID) differs from the recorded \(hint.buildID); used because of --force-symbols")
            return true
        }
        warn("\(img.path): build-id \(img.buildID) differs from the recorded \(hint.buildID); NOT used (pass --force-symbols to use it anyway)")
        return false
    }

    private func readText(_ path: String, what: String) -> String? {
        do {
            return String(decoding: try FileBytes.read(path), as: UTF8.self)
        } catch {
            warn("\(what): \(error)")
            return nil
        }
    }
}

/// The last path component.
public func basename(_ path: String) -> String {
    if let slash = path.lastIndex(of: "/") { return String(path[path.index(after: slash)...]) }
    return path
}

extension String {
    init(format2 byte: UInt8) {
        let d = Array("0123456789abcdef")
        self = String([d[Int(byte >> 4)], d[Int(byte & 15)]])
    }
}
