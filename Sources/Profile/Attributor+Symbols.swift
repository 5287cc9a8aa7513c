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
        guard let elf = sources.image(imagePaths[Int(image)], buildID: imageBuildIDs[Int(image)]) else { return .miss(.noSymbols) }
        let vaddr = elf.virtualAddress(forFileOffset: fileOffset) ?? ip
        guard let hit = sources.symbols(of: elf).lookup(vaddr) else { return .miss(.outsideImage) }
        return .hit(hit)
    }
}
