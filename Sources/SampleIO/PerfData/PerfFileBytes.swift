#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a perf.data file at a stable address for the decoder's whole life: the file mapped
/// read-only (no copy; pages the decoder has passed can be handed back), or an owned copy of an array.
final class PerfFileBytes {
    /// The whole file.
    let raw: UnsafeRawBufferPointer
    private let mapped: Bool
    /// Bytes before this offset were given back to the kernel (mapped files only).
    private var releasedUpTo = 0

    /// Heap storage of a copy (nil when mapped).
    private let owned: UnsafeMutableRawBufferPointer?

    /// An owned copy of `bytes`.
    init(copying bytes: [UInt8]) {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { src in
            if let b = src.baseAddress, src.count > 0 { m.baseAddress?.copyMemory(from: b, byteCount: src.count) }
        }
        owned = m
        raw = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(m)[0..<bytes.count])
        mapped = false
    }

    private init(mapped p: UnsafeRawPointer, count: Int) {
        owned = nil
        raw = UnsafeRawBufferPointer(start: p, count: count)
        mapped = true
    }

    /// The file at `path`, mapped read-only when it is a non-empty regular file, else read into memory.
    ///
    /// - Complexity: O(1) for a mapped file; pages come from the page cache as the decoder reaches them.
    static func open(_ path: String) throws(SampleIOError) -> PerfFileBytes {
        let fd = try FileBytes.openForReading(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileBytes.posixError(path, "cannot stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else {
            // Pipes, devices, empty files: read them the ordinary way.
            return PerfFileBytes(copying: try FileBytes.read(path))
        }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FileBytes.posixError(path, "cannot map")
        }
        _ = madvise(p, size, MADV_SEQUENTIAL)
        return PerfFileBytes(mapped: UnsafeRawPointer(p), count: size)
    }

    deinit {
        if mapped {
            if let b = raw.baseAddress { _ = munmap(UnsafeMutableRawPointer(mutating: b), raw.count) }
        } else {
            owned?.deallocate()
        }
    }

    var count: Int { raw.count }

    /// A copy of `bytes[start ..< stop]` (clamped to the file) as a cursor whose offset 0 is `start`.
    func cursor(from start: Int, to stop: Int? = nil) -> ByteCursor {
        let s = min(max(0, start), raw.count)
        let e = max(s, min(stop ?? raw.count, raw.count))
        return ByteCursor(Array(UnsafeRawBufferPointer(rebasing: raw[s..<e])))
    }

    /// Gives the pages before `offset` back to the kernel (they stay in the page cache), so that the
    /// decoder's resident memory does not grow with the file. Only mapped files; only every 4 MiB.
    func release(upTo offset: Int) {
        guard mapped, offset - releasedUpTo >= 4 << 20, let b = raw.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let from = releasedUpTo, to = (min(offset, raw.count) / page) * page
        guard to > from else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: b + from), to - from, MADV_DONTNEED)
        releasedUpTo = to
    }
}
