/// Byte order of a binary input, decided once (from a magic number or a header field) and then passed
/// to every read.
public enum ByteOrder: Sendable {
    case little
    case big
}

/// A bounds-checked reader over a byte buffer.
///
/// Every read returns `nil` when fewer bytes remain than it needs, and then does not move the cursor,
/// so a decoder can turn the `nil` into a precise "truncated at offset N" error. Bounds are compared
/// against the bytes remaining, so the arithmetic cannot overflow on hostile sizes.
public struct ByteCursor: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// Offset of the next read, from the start of `bytes`.
    public private(set) var offset: Int
    /// The end of the readable window (exclusive).
    public let end: Int

    /// Reads `bytes[start..<end]` (the whole buffer by default).
    public init(_ bytes: [UInt8], start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        let e = min(end ?? bytes.count, bytes.count)
        self.end = max(0, e)
        self.offset = min(max(0, start), self.end)
    }

    /// Bytes left between the cursor and the end of the window.
    public var remaining: Int { end - offset }

    /// Whether at least `count` bytes remain.
    public func has(_ count: Int) -> Bool { count >= 0 && count <= end - offset }

    /// Moves to an absolute offset inside the window; `false` (and no move) if it is outside.
    public mutating func seek(to newOffset: Int) -> Bool {
        guard newOffset >= 0, newOffset <= end else { return false }
        offset = newOffset
        return true
    }

    /// Skips `count` bytes; `false` (and no move) if fewer remain.
    public mutating func skip(_ count: Int) -> Bool {
        guard has(count) else { return false }
        offset += count
        return true
    }

    /// Reads an unsigned integer of `T`'s width in the given byte order.
    public mutating func read<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ order: ByteOrder) -> T? {
        guard let v = peek(T.self, order, at: 0) else { return nil }
        offset += MemoryLayout<T>.size
        return v
    }

    /// Reads an unsigned integer `delta` bytes past the cursor without moving it.
    public func peek<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ order: ByteOrder, at delta: Int = 0) -> T? {
        let size = MemoryLayout<T>.size
        guard delta >= 0, delta <= end - offset, size <= end - offset - delta else { return nil }
        let raw = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + delta, as: T.self) }
        return order == .little ? T(littleEndian: raw) : T(bigEndian: raw)
    }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard has(count) else { return nil }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// Reads a NUL-padded string occupying exactly `count` bytes (the text stops at the first NUL).
    public mutating func readFixedString(_ count: Int) -> String? {
        guard let raw = readBytes(count) else { return nil }
        let text = raw.prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }
}
