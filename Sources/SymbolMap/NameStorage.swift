#if canImport(Glibc)
import Glibc
#endif

/// Where a symbol table's names are: an array of its own, or a file mapped read-only (a kallsyms dump's
/// names are used where they stand in the file, so loading one copies nothing).
final class NameStorage: @unchecked Sendable {
    private let array: [UInt8]
    private let mapped: UnsafeRawBufferPointer?
    /// What keeps `mapped` valid when the storage does not own the mapping itself (a symbol cache entry).
    private let owner: AnyObject?

    init(array: [UInt8]) {
        self.array = array
        mapped = nil
        owner = nil
    }

    /// Takes over a read-only mapping of `count` bytes at `base` (unmapped when the storage goes).
    init(mapping base: UnsafeRawPointer, count: Int) {
        array = []
        mapped = UnsafeRawBufferPointer(start: base, count: count)
        owner = nil
    }

    /// Bytes that stay valid as long as `owner` lives (which the storage keeps).
    init(bytes: UnsafeRawBufferPointer, keeping owner: AnyObject) {
        array = []
        mapped = bytes
        self.owner = owner
    }

    deinit {
        if owner == nil, let m = mapped, let b = m.baseAddress { munmap(UnsafeMutableRawPointer(mutating: b), m.count) }
    }

    var count: Int { mapped?.count ?? array.count }

    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let m = mapped { return try body(m.bindMemory(to: UInt8.self)) }
        return try array.withUnsafeBufferPointer(body)
    }
}
