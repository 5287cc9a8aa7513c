/// Constants of the native `.xprof` layout (docs/FORMAT.md).
enum XprofLayout {
    static let magic: [UInt8] = Array("XPROFDAT".utf8)
    static let chunkMagic: [UInt8] = Array("CHNK".utf8)
    static let major: UInt16 = 1
    static let minor: UInt16 = 0
    static let headerSize = 32
    static let chunkHeaderSize = 24
    static let sampleSize = 56
    static let frameSize = 16
    static let maxChunkBytes = 256 << 20
    static let flagCompressed: UInt16 = 1
    /// deflate's largest expansion: one 258-byte match per (at best) 2 bits of compressed data.
    static let maxDeflateRatio = 1032

    enum Kind: UInt16 {
        case metadata = 1
        case kernelSymbols = 2
        case batch = 3
        case lost = 4
        case end = 5
    }

    enum SidebandType: UInt8 {
        case mapping = 1
        case comm = 2
        case fork = 3
        case exit = 4
    }
}
