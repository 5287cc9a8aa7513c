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
            var failure: Errno? = nil
            var out = [UInt8](unsafeUninitializedCapacity: size) { buf, initialized in
                do throws(Errno) {
                    initialized = try SystemCalls.readFully(fd, into: UnsafeMutableRawBufferPointer(buf))
                } catch {
                    failure = error
                    initialized = 0
                }
            }
            if let failure { throw posixError(path, "read failed", failure) }
            if out.count == size { try appendRest(fd: fd, to: &out, path: path) }
            return out
        }
        var out = [UInt8]()
        try appendRest(fd: fd, to: &out, path: path)
        return out
    }

    private static func appendRest(fd: Int32, to out: inout [UInt8], path: String) throws(SampleIOError) {
        do throws(Errno) {
            out += try SystemCalls.readAll(fd)
        } catch {
            throw posixError(path, "read failed", error)
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
        do throws(Errno) {
            let got = try SystemCalls.readFully(fd, into: &buf)
            return Array(buf[0..<got])
        } catch {
            throw posixError(path, "read failed", error)
        }
    }

    /// Whether `path` names a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes `bytes` to `path`, replacing it as a whole: the bytes go to a new temporary file beside it,
    /// which is renamed over `path` once complete, so a reader never sees a half-written file and a
    /// failed write (full disk, `ulimit -f`) leaves the previous file as it was. A `path` that exists and
    /// is not a regular file (`/dev/stdout`, a FIFO, a symbolic link) is written in place instead.
    public static func write(_ bytes: [UInt8], to path: String) throws(SampleIOError) {
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            let fd: Int32
            do throws(Errno) { fd = try SystemCalls.open(path, O_WRONLY | O_CREAT | O_TRUNC) } catch {
                throw posixError(path, "cannot create", error)
            }
            defer { SystemCalls.close(fd) }
            try writeAll(fd: fd, bytes[...], path: path)
            return
        }
        let temp: (fd: Int32, path: String)
        do throws(Errno) { temp = try SystemCalls.makeTemporaryFile(besides: path) } catch {
            throw posixError(path, "cannot create", error)
        }
        var open = true
        do throws(SampleIOError) {
            try writeAll(fd: temp.fd, bytes[...], path: path)
            // mkstemp makes the file 0600; an output gets the mode open(…, 0644) would have given it.
            guard fchmod(temp.fd, 0o666 & ~SystemCalls.creationMask) == 0 else { throw posixError(path, "cannot set the mode of") }
            open = false
            SystemCalls.close(temp.fd)
            guard rename(temp.path, path) == 0 else { throw posixError(path, "cannot rename \(temp.path) to") }
        } catch {
            if open { SystemCalls.close(temp.fd) }
            unlink(temp.path)
            throw error
        }
    }

    /// Writes all of `bytes` to `fd`, continuing short writes.
    public static func writeAll(fd: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(SampleIOError) {
        do throws(Errno) {
            try SystemCalls.writeAll(fd, bytes)
        } catch {
            throw posixError(path, "write failed", error)
        }
    }

    static func openForReading(_ path: String) throws(SampleIOError) -> Int32 {
        do throws(Errno) { return try SystemCalls.open(path, O_RDONLY) } catch {
            throw posixError(path, "cannot open", error)
        }
    }

    /// A SampleIOError for `error` (the current `errno` when nil), with a hint for the usual causes.
    public static func posixError(_ path: String, _ what: String, _ error: Errno? = nil) -> SampleIOError {
        let e = (error ?? Errno.current).rawValue
        let text = String(cString: strerror(e))
        switch e {
        case ENOENT, ENOTDIR:
            return SampleIOError(.missingInput, "\(what): \(text)", path: path, hint: "check the path")
        case EACCES, EPERM:
            return SampleIOError(.permission, "\(what): \(text)", path: path,
                                 hint: "check the file's permissions or run as its owner")
        case ENOSPC, EDQUOT:
            return SampleIOError(.other, "\(what): \(text)", path: path, hint: "free space on the file system or write elsewhere")
        case EFBIG:
            return SampleIOError(.other, "\(what): \(text) (the file size limit, ulimit -f, was reached)", path: path,
                                 hint: "raise the limit (ulimit -f unlimited) or record for a shorter time")
        default:
            return SampleIOError(.other, "\(what): \(text)", path: path)
        }
    }
}
