/// The numbers DWARF's sections are made of, read from `bytes` at `at`: fixed-size integers and the
/// variable-length LEB128 ones (7 bits a byte, low first, the top bit saying another byte follows), not at
/// or past `end`. The readers of `.debug_info` and `.debug_line` (``DieReader``, ``LineProgram``) check
/// the room first or turn nil, a number cut by `end`, into their own error naming the offset.
enum DwarfBytes {
    /// The `size`-byte unsigned integer at `at` (room checked by the caller), `at` moved past it.
    @inline(__always)
    static func fixed(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, size: Int, bigEndian: Bool = false) -> UInt64 {
        var v: UInt64 = 0
        if bigEndian {
            for k in 0..<size { v = v << 8 | UInt64(bytes[at + k]) }
        } else {
            switch size {
            case 1: v = UInt64(bytes[at])
            case 2: v = UInt64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            case 4: v = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            case 8: v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            default: for k in (0..<size).reversed() { v = v << 8 | UInt64(bytes[at + k]) }
            }
        }
        at += size
        return v
    }

    /// The unsigned number at `at`, `at` moved past it; nil (and `at` where it stopped) if it runs to `end`.
    /// Bits beyond 64 are dropped.
    @inline(__always)
    static func unsignedLEB(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, end: Int) -> UInt64? {
        guard at < end else { return nil }
        let first = bytes[at]
        if first & 0x80 == 0 { at += 1; return UInt64(first) }
        var v: UInt64 = 0, shift: UInt64 = 0
        while at < end {
            let b = bytes[at]
            at += 1
            if shift < 64 { v |= UInt64(b & 0x7f) << shift }
            shift += 7
            if b & 0x80 == 0 { return v }
        }
        return nil
    }

    /// The signed (two's complement, sign-extended from its last byte's bit 6) number at `at`, as
    /// ``unsignedLEB(_:_:end:)``.
    @inline(__always)
    static func signedLEB(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, end: Int) -> Int64? {
        var v: Int64 = 0, shift: Int64 = 0
        var b: UInt8 = 0
        repeat {
            guard at < end else { return nil }
            b = bytes[at]
            at += 1
            if shift < 64 { v |= Int64(b & 0x7f) << shift }
            shift += 7
        } while b & 0x80 != 0
        if shift < 64, b & 0x40 != 0 { v |= -(Int64(1) << shift) }
        return v
    }
}
