#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file and prefix reads with errors that name the file.
public enum FileBytes {
    /// Reads the whole file at `path`.
    public static func read(_ path: String) throws(SampleIOError) -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw posixError(path, "cannot stat") }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            throw SampleIOError(.badData, "is a directory, expected a file", path: path)
        }
        let size = Int(st.st_size)
        if (st.st_mode & S_IFMT) == S_IFREG && size > 0 {
            // One read straight into the array (no staging buffer), then whatever a growing file added.
            var failed = false
            var out = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
                var got = 0
                while got < size {
                    let n = Glibc.read(fd, buf.baseAddress! + got, size - got)
                    if n < 0 { if errno == EINTR { continue }; failed = true; break }
                    if n == 0 { break }
                    got += n
                }
                initialized = got
            }
            if failed { throw posixError(path, "read failed") }
            if out.count == size { try appendRest(fd: fd, to: &out, path: path) }
            return out
        }
        var out = [UInt8]()
        try appendRest(fd: fd, to: &out, path: path)
        return out
    }

    private static func appendRest(fd: Int32, to out: inout [UInt8], path: String) throws(SampleIOError) {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError(path, "read failed")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
    }

    /// Reads at most `count` bytes from the start of the file (empty for a directory).
    public static func prefix(of path: String, count: Int) throws(SampleIOError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw posixError(path, "cannot open") }
        if (st.st_mode & S_IFMT) == S_IFDIR { return [] }
        let fd = try openForReading(path)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 { if errno == EINTR { continue }; throw posixError(path, "read failed") }
            if n == 0 { break }
            got += n
        }
        return Array(buf[0..<got])
    }

    /// Whether `path` names a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes `bytes` to `path`, replacing it.
    public static func write(_ bytes: [UInt8], to path: String) throws(SampleIOError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError(path, "cannot create") }
        defer { close(fd) }
        try writeAll(fd: fd, bytes[...], path: path)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes.
    public static func writeAll(fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(SampleIOError) {
        var done = 0
        let total = bytes.count
        while done < total {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, total - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError(path, "write failed")
            }
            done += n
        }
    }

    static func openForReading(_ path: String) throws(SampleIOError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError(path, "cannot open") }
        return fd
    }

    /// A SampleIOError for the current `errno`.
    static func posixError(_ path: String, _ what: String) -> SampleIOError {
        let e = errno
        let text = String(cString: strerror(e))
        switch e {
        case ENOENT, ENOTDIR:
            return SampleIOError(.missingInput, "\(what): \(text)", path: path, hint: "check the path")
        case EACCES, EPERM:
            return SampleIOError(.permission, "\(what): \(text)", path: path,
                                 hint: "check the file's permissions or run as its owner")
        default:
            return SampleIOError(.other, "\(what): \(text)", path: path)
        }
    }
}
