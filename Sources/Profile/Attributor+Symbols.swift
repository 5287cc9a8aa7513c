import SampleIO
import SymbolMap

/// What symbolization says of one address: the function that holds it, or why there is none (a result, not
/// an error: SymbolMap's ``SymbolMiss``).
enum SymbolLookup {
    case hit(SymbolHit)
    case miss(SymbolMiss)
}

/// Symbolization, the second task of attribution: given where normalization put an address (the hypervisor,
/// a domain's kernel, or an offset into a mapped image), the function holding it in the symbol source the
/// options and the recording name (``SymbolSources``). Nothing here names anything (see
/// `Attributor+Naming.swift`).
extension Attributor {
    /// The hypervisor's function at `ip` (`--xen`): a miss when no Xen image is known (`noSymbols`) or the
    /// address is outside its text (`outsideImage`).
    func lookupHypervisor(_ ip: UInt64) -> SymbolLookup {
        guard let xen = sources.xen() else { return .miss(.noSymbols) }
        guard xen.contains(ip), let hit = xen.lookup(ip) else { return .miss(.outsideImage) }
        return .hit(hit)
    }

    /// The kernel function at `ip` in `table` (the domain's kernel symbols): a hit inside the kernel image's
    /// range or in a module; a miss without symbols (`noSymbols`) or elsewhere (`outsideImage`).
    func lookupKernel(_ table: NamedTable?, _ ip: UInt64) -> SymbolLookup {
        guard let table else { return .miss(.noSymbols) }
        guard let hit = table.lookup(ip), table.contains(ip) || hit.module != nil else { return .miss(.outsideImage) }
        return .hit(hit)
    }

    /// The function at `fileOffset` of the mapped image `image` (user code; `ip` is the runtime address, for
    /// an image whose segments cannot place the offset): a miss when the image's ELF file cannot be used
    /// (`noSymbols`: missing, not ELF, another build-id — ``SymbolSources`` warns which) or no function
    /// holds the address (`outsideImage`).
    func lookupUser(image: Int32, fileOffset: UInt64, ip: UInt64) -> SymbolLookup {
        let u = userImage(image)
        guard let elf = u.elf, let table = u.table else { return .miss(.noSymbols) }
        let vaddr = elf.virtualAddress(forFileOffset: fileOffset) ?? ip
        guard let hit = table.lookup(vaddr) else { return .miss(.outsideImage) }
        return .hit(hit)
    }

    /// ``lookupUser(image:fileOffset:ip:)`` as the index of the function in the image's table (no name is
    /// made): nil for either miss.
    @inline(__always)
    func userSymbolIndex(image: Int32, fileOffset: UInt64, ip: UInt64) -> (UserImage, Int)? {
        let u = userImage(image)
        guard let elf = u.elf, let table = u.table else { return nil }
        let vaddr = elf.virtualAddress(forFileOffset: fileOffset) ?? ip
        guard let j = table.index(containing: vaddr) else { return nil }
        return (u, j)
    }

    /// The mapped image `image`'s ELF file and symbol table (``SymbolSources/image(_:buildID:)`` and
    /// ``SymbolSources/symbols(of:)``, which warn once about a missing or mismatched file), looked up by path
    /// the first time only.
    @inline(__always)
    func userImage(_ image: Int32) -> UserImage {
        if let u = userImages[Int(image)] { return u }
        let elf = sources.image(imagePaths[Int(image)], buildID: imageBuildIDs[Int(image)])
        let u = UserImage(elf: elf, table: elf.map { sources.symbols(of: $0) })
        userImages[Int(image)] = u
        if let t = u.table { userSymbolNames[Int(image)] = [Int32](repeating: Int32.min, count: t.count) }
        return u
    }

    /// The domain's kernel symbols (``SymbolSources/kernel(_:)``), the last domain's without a lookup.
    @inline(__always)
    func kernelTable(_ domain: DomainID) -> NamedTable? {
        if let k = lastKernel, k.domain == domain { return k.table }
        let t = sources.kernel(domain)
        lastKernel = (domain, t)
        return t
    }

    /// ``lookupKernel(_:_:)`` as the index of the function in `table` (no name is made): nil for either miss.
    @inline(__always)
    func kernelSymbolIndex(_ table: NamedTable, _ ip: UInt64) -> Int? {
        guard let j = table.table.index(containing: ip &- table.slide),
              table.contains(ip) || table.table.moduleIndex(at: j) != 0 else { return nil }
        return j
    }
}

/// A mapped image's symbol source, found once per image (``Attributor/userImage(_:)``).
struct UserImage {
    /// The ELF file (nil when missing, unreadable or of another build: its addresses stay unresolved).
    var elf: ElfImage?
    /// Its best symbol table (``SymbolSources/symbols(of:)``).
    var table: SymbolTable?
}
