/// DWARF's variable-length integers (LEB128: 7 bits a byte, low first, the top bit saying another byte
/// follows), read from `bytes` at `at` but not at or past `end`; the readers of `.debug_info` and
/// `.debug_line` (``DieReader``, ``LineProgram``) turn nil, a number cut by `end`, into their own error.
enum LEB128 {
    /// The unsigned number at `at`, `at` moved past it; nil (and `at` where it stopped) if it runs to `end`.
    /// Bits beyond 64 are dropped.
    @inline(__always)
    static func unsigned(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, end: Int) -> UInt64? {
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
    /// ``unsigned(_:_:end:)``.
    @inline(__always)
    static func signed(_ bytes: UnsafeRawBufferPointer, _ at: inout Int, end: Int) -> Int64? {
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
