#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer in plain memory for the hot output loops (no bounds checks or reference
/// counting per byte); `release()` frees it. The `put` methods write without checking for room: call
/// ``reserve(_:)`` first for all of it.
struct ByteSink {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(64, capacity)
        base = .allocate(capacity: self.capacity)
    }

    mutating func release() { base.deallocate() }

    /// Empties the buffer, keeping its memory.
    mutating func reset() { count = 0 }

    /// Makes room for `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count + n <= capacity { return }
        grow(n)
    }

    private mutating func grow(_ n: Int) {
        var c = capacity * 2
        while c < count + n { c *= 2 }
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = c
    }

    @inline(__always)
    mutating func append(_ b: UInt8) {
        reserve(1)
        put(b)
    }

    mutating func append(_ p: UnsafePointer<UInt8>, count n: Int) {
        reserve(n)
        put(p, count: n)
    }

    mutating func append(_ buf: UnsafeBufferPointer<UInt8>) {
        guard let p = buf.baseAddress else { return }
        append(p, count: buf.count)
    }

    /// `0x` and lower-case hex digits.
    @inline(__always)
    mutating func appendHex(_ v: UInt64) {
        reserve(18)
        putHex(v)
    }

    mutating func appendDecimal(_ v: Int) {
        reserve(21)
        if v < 0 { put(45); appendDecimal(-v); return }
        var x = v
        var n = 0
        repeat { n += 1; x /= 10 } while x > 0
        x = v
        for k in stride(from: n - 1, through: 0, by: -1) {
            base[count + k] = UInt8(48 + x % 10)
            x /= 10
        }
        count += n
    }

    @inline(__always)
    mutating func put(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    @inline(__always)
    mutating func put(_ p: UnsafePointer<UInt8>, count n: Int) {
        (base + count).update(from: p, count: n)
        count += n
    }

    /// `0x` and lower-case hex digits (18 bytes of room), 16 digits at a time: the value is shifted so its
    /// top digit comes first, all 16 digit bytes are stored, and only the significant ones are kept.
    @inline(__always)
    mutating func putHex(_ v: UInt64) {
        let p = base + count
        p[0] = 48; p[1] = 120
        let digits = v == 0 ? 1 : (67 - v.leadingZeroBitCount) >> 2
        let w = v << UInt64((16 - digits) << 2)
        let d = UnsafeMutableRawPointer(p + 2)
        d.storeBytes(of: Self.hexBytes(UInt32(truncatingIfNeeded: w >> 32)), as: UInt64.self)
        (d + 8).storeBytes(of: Self.hexBytes(UInt32(truncatingIfNeeded: w)), as: UInt64.self)
        count += digits + 2
    }

    /// A line number (11 bytes of room).
    @inline(__always)
    mutating func putDecimal(_ v: Int32) {
        if v < 0 { put(45) }
        var x = v.magnitude
        var n = 1
        var t = x
        while t >= 10 { t /= 10; n += 1 }
        for k in stride(from: n - 1, through: 0, by: -1) {
            base[count + k] = UInt8(truncatingIfNeeded: 48 + x % 10)
            x /= 10
        }
        count += n
    }

    /// The 8 hex digits of `x` as ASCII bytes, most significant first in memory: each nibble is spread into
    /// its own byte, then `'0'` is added, and `'a' - '0' - 10` more where the nibble is 10 or above.
    @inline(__always)
    static func hexBytes(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F  // byte k holds nibble k (least significant first)
        let letters = ((v &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        v = v &+ 0x3030_3030_3030_3030 &+ letters &* 39
        return v.bigEndian  // stored, nibble 7 comes first in memory
    }

    /// Writes the bytes to `fd` (all of them, unless it fails) and empties the buffer.
    /// Writes the bytes to `fd` (continuing short writes, retrying on EINTR) and empties the sink.
    /// - Returns: 0, or the `errno` of the write that failed (`EIO` for one that wrote nothing).
    @discardableResult
    mutating func write(to fd: Int32) -> Int32 {
        var done = 0
        defer { count = 0 }
        while done < count {
            let n = Glibc.write(fd, base + done, count - done)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            done += n
        }
        return 0
    }

    func bytes() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
