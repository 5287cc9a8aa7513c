internal import CPerfShim

/// zlib (deflate) and CRC-32 through the system zlib.
public enum Zlib {
    /// CRC-32 (IEEE) of `bytes`.
    public static func crc32(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { xprof_crc32(crc, $0.baseAddress, $0.count) }
    }

    /// CRC-32 (IEEE) of `bytes`.
    public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { xprof_crc32(crc, $0.baseAddress, $0.count) }
    }

    /// Compresses `bytes` (zlib container) at `level` 1…9.
    public static func deflate(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        let bound = xprof_deflate_bound(bytes.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                xprof_deflate(src.baseAddress, src.count, dst.baseAddress, dst.count, level)
            }
        }
        guard n >= 0 else { return nil }
        out.removeSubrange(Int(n)...)
        return out
    }

    /// Decompresses zlib data that must expand to exactly `expectedSize` bytes; nil if corrupt or of another size.
    public static func inflate(_ bytes: ArraySlice<UInt8>, expectedSize: Int) -> [UInt8]? {
        guard expectedSize >= 0 else { return nil }
        var out = [UInt8](repeating: 0, count: max(expectedSize, 1))
        let n = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                xprof_inflate(src.baseAddress, src.count, dst.baseAddress, expectedSize)
            }
        }
        guard n == expectedSize else { return nil }
        out.removeSubrange(expectedSize...)
        return out
    }
}

