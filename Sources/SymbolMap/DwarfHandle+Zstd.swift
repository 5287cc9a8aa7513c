#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// Debug sections compressed with zstd (`SHF_COMPRESSED` with `ch_type` 2, `ELFCOMPRESS_ZSTD`; what
/// `ld --compress-debug-sections=zstd` writes): libelf inflates zlib sections itself, but zstd ones only
/// from elfutils 0.189 on (Debian 12 has 0.188). Such sections are inflated here with libzstd, before libdw
/// opens the file: the file is mapped privately (copy-on-write), and each section's data and header are
/// replaced by the inflated bytes and an uncompressed header, so libdw reads them as if they had never been
/// compressed. The inflated buffers belong to the ``DwarfHandle``.
extension DwarfHandle {
    /// `ELFCOMPRESS_ZSTD` (not in Debian 12's `elf.h`).
    static let zstdCompression: UInt32 = 2

    /// A compressed section's header (`Elf32_Chdr`/`Elf64_Chdr`), little-endian files only; nil when the
    /// section is not compressed or its header is cut short.
    private static func compressionHeader(_ elf: OpaquePointer, _ scn: OpaquePointer)
        -> (type: UInt32, size: UInt64, align: UInt64, headerSize: Int, data: UnsafeMutablePointer<Elf_Data>)? {
        var shdr = GElf_Shdr()
        guard gelf_getshdr(scn, &shdr) != nil, shdr.sh_flags & UInt64(SHF_COMPRESSED) != 0, shdr.sh_type != UInt32(SHT_NOBITS),
              let ident = elf_getident(elf, nil), ident[Int(EI_DATA)] == CChar(ELFDATA2LSB),
              let data = elf_getdata(scn, nil), let buf = data.pointee.d_buf else { return nil }
        let raw = UnsafeRawBufferPointer(start: buf, count: data.pointee.d_size)
        if gelf_getclass(elf) == ELFCLASS64 {
            guard raw.count >= 24 else { return nil }
            return (UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)), UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                    UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)), 24, data)
        }
        guard raw.count >= 12 else { return nil }
        return (UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)), UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
                UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))), 12, data)
    }

    /// Whether any section of `elf` is compressed with zstd.
    static func hasZstdSections(_ elf: OpaquePointer) -> Bool {
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            if let h = compressionHeader(elf, s), h.type == zstdCompression { return true }
        }
        return false
    }

    /// Inflates every zstd section of `elf` (opened with `ELF_C_READ_MMAP_PRIVATE`) in place; returns the
    /// buffers holding them. A section that does not inflate to its stated size is damaged: an error
    /// naming it.
    static func inflateZstdSections(_ elf: OpaquePointer, path: String) throws(SymbolMapError) -> [UnsafeMutableRawPointer] {
        var buffers: [UnsafeMutableRawPointer] = []
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            guard let h = compressionHeader(elf, s), h.type == zstdCompression else { continue }
            var shdr = GElf_Shdr()
            _ = gelf_getshdr(s, &shdr)
            let name = elf_strptr(elf, sectionNameIndex(elf), Int(shdr.sh_name)).map { String(cString: $0) } ?? "section \(elf_ndxscn(s))"
            // The stated size bounds the buffer: nothing larger than the file's 64-fold (zstd's practical limit).
            let compressed = h.data.pointee.d_size - h.headerSize
            guard h.size > 0, h.size <= UInt64(max(compressed, 1)) * 64 + 4096, let out = malloc(Int(h.size)) else {
                buffers.forEach { free($0) }
                throw SymbolMapError(.corrupt, path: path, "\(name): zstd-compressed section states \(h.size) bytes for \(compressed) compressed",
                                     hint: "the file is damaged; rebuild it or give its uncompressed debug file with --debug-dir")
            }
            let n = ZSTD_decompress(out, Int(h.size), h.data.pointee.d_buf! + h.headerSize, compressed)
            guard ZSTD_isError(n) == 0, n == Int(h.size) else {
                free(out)
                buffers.forEach { free($0) }
                let why = ZSTD_isError(n) != 0 ? String(cString: ZSTD_getErrorName(n)) : "\(n) bytes, \(h.size) stated"
                throw SymbolMapError(.corrupt, path: path, "\(name): zstd-compressed section does not inflate (\(why))",
                                     hint: "the file is damaged; rebuild it or give its uncompressed debug file with --debug-dir")
            }
            buffers.append(out)
            h.data.pointee.d_buf = out
            h.data.pointee.d_size = Int(h.size)
            h.data.pointee.d_type = ELF_T_BYTE
            h.data.pointee.d_align = Int(max(h.align, 1))
            shdr.sh_flags &= ~UInt64(SHF_COMPRESSED)
            shdr.sh_size = h.size
            shdr.sh_addralign = max(h.align, 1)
            _ = gelf_update_shdr(s, &shdr)
        }
        return buffers
    }

    private static func sectionNameIndex(_ elf: OpaquePointer) -> Int {
        var i = 0
        return elf_getshdrstrndx(elf, &i) == 0 ? i : 0
    }
}
