#if canImport(Glibc)
import Glibc
#endif

/// An `errno` value from a failed system call, with the C library's text for it.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    /// The C `errno` number (`EINTR`, `ENOSPC` …).
    public let rawValue: Int32
    /// The error for the C `errno` number `rawValue`.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(errno) }
    /// `strerror`'s text for the number ("No space left on device").
    public var description: String { String(cString: strerror(rawValue)) }
    /// `EINTR`: a signal interrupted the call (``SystemCalls`` retries these).
    public static let interrupted = Errno(EINTR)
    /// `EPIPE`: the reader of a pipe went away (standard output's reader gone: the CLI exits 0 quietly).
    public static let brokenPipe = Errno(EPIPE)
    /// `EFBIG`: the file size limit (`ulimit -f`) was reached.
    public static let fileTooLarge = Errno(EFBIG)
    /// `ENOSPC`: the file system is full.
    public static let noSpace = Errno(ENOSPC)
}

/// Every raw read, write and file-creating system call of xprof's I/O, in one place (swift-system's
/// `Syscalls.swift`/`FileHelpers.swift` are the model; docs/ARCHITECTURE.md, "System calls").
///
/// Each call is retried when a signal interrupts it (`EINTR`); a short read or write is continued until
/// the whole count is done, the end of the file is reached, or the kernel reports an error, which comes
/// back as an ``Errno`` (a `write` that makes no progress at all is reported as `EIO`, never looped on).
public enum SystemCalls {
    /// `read(2)` once, retried on `EINTR`: the bytes read (0 at the end of the input).
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// Reads until `buffer` is full or the input ends: the bytes read.
    public static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var got = 0
        while got < buffer.count {
            let n = try read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...]))
            if n == 0 { break }
            got += n
        }
        return got
    }

    /// `pread(2)` until `buffer` is full or the file ends, retried on `EINTR`: the bytes read.
    public static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var got = 0
        while got < buffer.count {
            let n = Glibc.pread(fd, base + got, buffer.count - got, off_t(offset + got))
            if n < 0 {
                if errno == EINTR { continue }
                throw Errno.current
            }
            if n == 0 { break }
            got += n
        }
        return got
    }

    /// Reads `fd` to its end.
    public static func readAll(_ fd: Int32) throws(Errno) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try readFully(fd, into: &buf)
            out.append(contentsOf: buf[0..<n])
            if n < buf.count { return out }
        }
    }

    /// ``readFully(_:into:)`` into the bytes of an array: how many of its first bytes were read.
    public static func readFully(_ fd: Int32, into array: inout [UInt8]) throws(Errno) -> Int {
        let r: Result<Int, Errno> = array.withUnsafeMutableBytes { b in
            do throws(Errno) { return .success(try readFully(fd, into: b)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// ``writeAll(_:_:written:)`` for array bytes.
    public static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, written: inout Int) throws(Errno) {
        var count = 0
        let r: Result<Void, Errno> = bytes.withUnsafeBytes { b in
            do throws(Errno) { try writeAll(fd, b, written: &count); return .success(()) } catch { return .failure(error) }
        }
        written = count
        try r.get()
    }

    /// ``writeAll(_:_:written:)`` for array bytes, when the caller does not need the partial count.
    public static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) throws(Errno) {
        var written = 0
        try writeAll(fd, bytes, written: &written)
    }

    /// Writes every byte of `bytes` to `fd`, continuing short writes and retrying on `EINTR`.
    ///
    /// - Throws: the `errno` of the failing `write(2)` (`ENOSPC`, `EFBIG`, `EIO`, `EPIPE` …); `written`
    ///   then says how many bytes did reach the file, so a caller can cut a partial record off again.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, written: inout Int) throws(Errno) {
        written = 0
        guard let base = bytes.baseAddress else { return }
        while written < bytes.count {
            let n = Glibc.write(fd, base + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw Errno.current
            }
            if n == 0 { throw Errno(EIO) }
            written += n
        }
    }

    /// ``writeAll(_:_:written:)`` when the caller does not need the partial count.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var written = 0
        try writeAll(fd, bytes, written: &written)
    }

    /// `open(2)` retried on `EINTR` (a FIFO's open can be interrupted); `O_CLOEXEC` is always added.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(Errno) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// `close(2)`; an `EINTR` is not retried (Linux has closed the descriptor already).
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Creates a new, empty file with a unique name next to `path` (`mkstemp(3)`: `O_EXCL`, mode 0600), for
    /// writing an output before it is renamed into place. Returns the descriptor and the name.
    public static func makeTemporaryFile(besides path: String) throws(Errno) -> (fd: Int32, path: String) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return try makeTemporaryFile(template: dir + "." + base + ".tmp-XXXXXX")
    }

    /// `mkstemp(3)` on `template` (which ends in `XXXXXX`), retried on `EINTR`; close-on-exec.
    public static func makeTemporaryFile(template: String) throws(Errno) -> (fd: Int32, path: String) {
        var name = Array(template.utf8CString)
        while true {
            let fd = name.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                return (fd, String(cString: name))
            }
            if errno != EINTR { throw Errno.current }
        }
    }

    /// Creates a new directory only this user can enter (`mkdtemp(3)`, mode 0700) in `$TMPDIR` (else
    /// `/tmp`), named `prefix` and six random characters: a private place for scratch files, so nobody can
    /// plant a symbolic link where they will be written.
    public static func makeTemporaryDirectory(prefix: String) throws(Errno) -> String {
        let tmp = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var name = Array((tmp + "/" + prefix + "XXXXXX").utf8CString)
        let made = name.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw Errno.current }
        return String(cString: name)
    }

    /// Removes the directory `path` and the files in it (not its subdirectories' contents); errors are ignored.
    public static func removeDirectory(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }

    /// The process's file-creation mask (read without changing it for long: `umask` has no getter).
    public static var creationMask: mode_t {
        let m = umask(0o022)
        umask(m)
        return m
    }
}
