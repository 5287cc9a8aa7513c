import SampleIO
import SymbolMap

/// Source lines and code addresses of attributed addresses (DWARF of the mapped binary, its debug file, a
/// `--vmlinux` or `--xen` image), for `--sort line`, pprof's lines and annotate.
extension Attributor {
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

}
