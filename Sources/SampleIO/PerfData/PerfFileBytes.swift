#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

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
    /// The open file behind a mapping (for ``read(into:count:at:)``), -1 for a copy.
    private let fd: Int32

    /// Whether the bytes are a mapped file (rather than a copy in memory).
    var isMapped: Bool { mapped }

    /// An owned copy of `bytes`.
    init(copying bytes: [UInt8]) {
        let m = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { src in
            if let b = src.baseAddress, src.count > 0 { m.baseAddress?.copyMemory(from: b, byteCount: src.count) }
        }
        owned = m
        raw = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(m)[0..<bytes.count])
        mapped = false
        fd = -1
    }

    private init(mapped p: UnsafeRawPointer, count: Int, fd: Int32) {
        owned = nil
        raw = UnsafeRawBufferPointer(start: p, count: count)
        mapped = true
        self.fd = fd
    }

    /// The file at `path`, mapped read-only when it is a non-empty regular file, else read into memory.
    ///
    /// - Complexity: O(1) for a mapped file; pages come from the page cache as the decoder reaches them.
    static func open(_ path: String) throws(SampleIOError) -> PerfFileBytes {
        let fd = try FileBytes.openForReading(path)
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw FileBytes.posixError(path, "cannot stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else {
            // Pipes, devices, empty files: read them the ordinary way.
            close(fd)
            return PerfFileBytes(copying: try FileBytes.read(path))
        }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            close(fd)
            throw FileBytes.posixError(path, "cannot map")
        }
        _ = madvise(p, size, MADV_SEQUENTIAL)
        return PerfFileBytes(mapped: UnsafeRawPointer(p), count: size, fd: fd)
    }

    deinit {
        if mapped {
            if let b = raw.baseAddress { _ = munmap(UnsafeMutableRawPointer(mutating: b), raw.count) }
            close(fd)
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

    /// Copies up to `count` bytes at `offset` into `buffer`, for a decoder that reads the file once from
    /// front to back: a mapped file is read with `pread` into the caller's (reused) buffer, which costs far
    /// less than having the decoder fault in every page of the mapping (measured: a 300 MB perf.data walked
    /// in 42 ms this way, 152 ms through page faults; ``WindowReader`` maps pages ahead on its own threads
    /// instead when the kernel can). Returns how many bytes were copied (fewer at the end of the file or on a
    /// read error).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Int {
        let n = max(0, min(count, raw.count - offset))
        guard n > 0 else { return 0 }
        if !mapped {
            buffer.copyMemory(from: raw.baseAddress! + offset, byteCount: n)
            return n
        }
        // A read error ends the copy where it happened, as the end of the file would.
        return (try? SystemCalls.pread(fd, into: UnsafeMutableRawBufferPointer(start: buffer, count: n), at: offset)) ?? 0
    }

    /// The file's size on disk now (it may have been cut since it was mapped); nil for a copy or when unknown.
    func sizeOnDisk() -> Int? {
        guard mapped else { return nil }
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : nil
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

/// Reads a byte range of a file front to back on threads of their own, a few windows ahead of the
/// consumer, so that bringing the file into memory (the largest single cost of reading a big perf.data)
/// runs beside parsing it, on two threads when the machine has the cores.
///
/// Window k holds the bytes from `start + k * stride` on, `stride + overlap` of them (fewer at the end):
/// a record that starts in the first `stride` bytes of a window (and is at most `overlap` bytes long) is
/// wholly inside it. Window k is made ready only once window k - `slots` was given back: the readers never
/// get ahead of the consumer by more than the ring, whatever order they finish in. The consumer takes
/// windows in order with ``take(_:)`` and gives each back with ``give(_:)``.
///
/// A mapped file is read in place: a reader has the kernel map a window's pages (`MADV_POPULATE_READ`, no
/// copy and no page faults in the consumer; a page the file no longer has is an error there, not a SIGBUS
/// later) and unmaps the pages of the window given back before it (`MADV_DONTNEED`: they stay in the page
/// cache), so resident memory stays at the ring's size. Measured on a 105 MB perf.data: mapping the pages
/// costs about half of copying them. Otherwise, or on a kernel without `MADV_POPULATE_READ` (before 5.14),
/// windows are copied with `pread` into a ring of buffers, window k into buffer k mod `slots`.
final class WindowReader: @unchecked Sendable {
    let start: Int
    let end: Int
    let stride: Int
    let size: Int
    let buffers: [UnsafeMutableRawPointer]
    /// The file's mapping when windows are read in place (then `buffers` is empty).
    private let inPlace: UnsafeMutableRawPointer?
    private let slots: Int
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Per buffer: free for the next window, and filled (with the byte count in `counts`).
    private let freeSlot: [DispatchSemaphore]
    private let filledSlot: [DispatchSemaphore]
    private var counts: [Int]
    private let readers: Int
    private let lock = DispatchSemaphore(value: 1)
    private var cancelled = false
    private let file: PerfFileBytes
    /// Number of windows.
    let windows: Int

    /// - Parameters:
    ///   - stride: bytes between window starts; by default 4 MiB in place (each window given back costs a
    ///     TLB shootdown on the consumer's core: fewer, larger windows read a 300 MB file 10 % faster), 1 MiB
    ///     copied (buffers that stay in the cache).
    ///   - inPlace: read a mapped file in place when the kernel can (false: always copy).
    init(file: PerfFileBytes, start: Int, end: Int, stride: Int? = nil, overlap: Int = 1 << 16, slots: Int = 4,
         readers: Int = 2, inPlace allowInPlace: Bool = true) {
        self.file = file
        self.start = start
        self.end = end
        self.slots = max(1, slots)
        inPlace = allowInPlace && file.isMapped ? file.raw.baseAddress.flatMap { Self.canPopulate($0, count: file.count) } : nil
        let stride = max(1, stride ?? (inPlace != nil ? 1 << 22 : 1 << 20))
        self.stride = stride
        size = stride + overlap
        windows = end > start ? (end - start + stride - 1) / stride : 0
        buffers = inPlace != nil ? [] : (0..<self.slots).map { _ in UnsafeMutableRawPointer.allocate(byteCount: stride + overlap, alignment: 64) }
        // Semaphores start at 0 and are raised (libdispatch will not free one below its initial value).
        freeSlot = (0..<self.slots).map { _ in DispatchSemaphore(value: 0) }
        filledSlot = (0..<self.slots).map { _ in DispatchSemaphore(value: 0) }
        for f in freeSlot { f.signal() }
        counts = [Int](repeating: 0, count: self.slots)
        self.readers = max(1, readers)
    }

    deinit {
        for b in buffers { b.deallocate() }
    }

    /// Starts the reading threads; false when none could be made.
    func begin() -> Bool {
        var started = 0
        for t in 0..<readers where startDetachedThread({ [self] in run(first: t, step: readers) }) { started += 1 }
        if started == readers { return true }
        cancel()
        return false
    }

    /// Stops the readers (a waiting one wakes up and leaves).
    func cancel() {
        lock.wait()
        cancelled = true
        lock.signal()
        for f in freeSlot { for _ in 0..<readers { f.signal() } }
    }

    private var isCancelled: Bool {
        lock.wait()
        defer { lock.signal() }
        return cancelled
    }

    /// Waits for window `k` (taken in order, 0 first) and returns its buffer and byte count; a count short
    /// of the window's size means the file could not be read that far.
    func take(_ k: Int) -> (UnsafeRawPointer, Int) {
        let slot = k % slots
        filledSlot[slot].wait()
        if let inPlace { return (UnsafeRawPointer(inPlace + start + k * stride), counts[slot]) }
        return (UnsafeRawPointer(buffers[slot]), counts[slot])
    }

    /// Gives window `k` back for window `k + slots`.
    func give(_ k: Int) {
        freeSlot[k % slots].signal()
    }

    /// `base` when the kernel maps file pages on request (`MADV_POPULATE_READ`, Linux 5.14), else nil.
    private static func canPopulate(_ base: UnsafeRawPointer, count: Int) -> UnsafeMutableRawPointer? {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let p = UnsafeMutableRawPointer(mutating: base)
        return madvise(p, min(count, page), MADV_POPULATE_READ) == 0 ? p : nil
    }

    /// Maps the file's pages of `at ..< at + count` (in place); how many of those bytes are readable (fewer
    /// when the file is shorter now than when it was mapped: then those up to its end now, as `pread` reads).
    private func populate(_ base: UnsafeMutableRawPointer, at: Int, count: Int) -> Int {
        let from = at / pageSize * pageSize
        var to = at + count
        var cut = false
        while to > from {
            if madvise(base + from, to - from, MADV_POPULATE_READ) == 0 { return to - at }
            if errno == EINTR || errno == EAGAIN { continue }
            // Cut short on disk: what is left of this window, once.
            guard !cut, let size = file.sizeOnDisk(), size < at + count else { return 0 }
            cut = true
            to = max(at, size)
        }
        return 0
    }

    /// Unmaps the pages that lie wholly inside `at ..< at + count` (they stay in the page cache).
    private func unmap(_ base: UnsafeMutableRawPointer, at: Int, count: Int) {
        let from = (at + pageSize - 1) / pageSize * pageSize, to = (at + count) / pageSize * pageSize
        if to > from { _ = madvise(base + from, to - from, MADV_DONTNEED) }
    }

    private func run(first: Int, step: Int) {
        var failed = false
        var k = first
        while k < windows {
            let slot = k % slots
            freeSlot[slot].wait()
            if isCancelled { return }
            let at = start + k * stride
            let want = min(size, end - at)
            // After a read error, what follows is not there either (the consumer stops at the first short window).
            let got: Int
            if let inPlace {
                // The window given back for this one is done with: its own bytes (not the overlap, which the
                // next window starts with) are unmapped.
                if k >= slots { unmap(inPlace, at: start + (k - slots) * stride, count: stride) }
                got = failed ? 0 : populate(inPlace, at: at, count: want)
            } else {
                got = failed ? 0 : file.read(into: buffers[slot], count: want, at: at)
            }
            if got < want { failed = true }
            counts[slot] = got
            filledSlot[slot].signal()
            k += step
        }
    }
}
