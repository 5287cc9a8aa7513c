#if canImport(Glibc)
import Glibc
#endif
internal import CElfUtils

/// Parsed symbol tables kept on disk, so that the next report of the same binaries reads each table in a
/// fraction of a millisecond instead of parsing its ELF file or kallsyms dump again (for a large binary
/// and the kernel's 120,000 symbols, a quarter of a report's work). perf keeps copies of the binaries it
/// profiled (`~/.debug`); this keeps what xprof made of them.
///
/// An entry is found by the file's path and inode, and used only when the file is still exactly the one it
/// was made from: same device, inode, size, modification and change times (a rewritten, replaced or
/// touched file misses, and its entry is made again) — and when its checksum (CRC-32 of everything after
/// the header) and every offset in it check out. Anything else is a miss, never an error. Entries are
/// written to a temporary file and renamed into place, so readers never see half of one; the least
/// recently used go when the folder grows past its limit.
///
/// Where: `$XPROF_CACHE_DIR/symbols`, else `$XDG_CACHE_HOME/xprof/symbols`, else `~/.cache/xprof/symbols`;
/// `XPROF_SYMBOL_CACHE=0` turns it off.
public final class SymbolCache: Sendable {
    /// The folder of the entries.
    public let directory: String
    /// The most bytes the folder may hold; older entries go when a new one would pass it.
    public let limitBytes: Int

    /// A cache in `directory` (made on first write, with its parents) holding at most `limitBytes` (256 MiB
    /// by default).
    public init(directory: String, limitBytes: Int = 256 << 20) {
        self.directory = directory
        self.limitBytes = limitBytes
    }

    /// The cache the environment asks for (see the type's description); nil when it is off or there is no
    /// home to keep it in.
    public static let standard: SymbolCache? = {
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        if let off = env("XPROF_SYMBOL_CACHE"), ["0", "off", "no", "false"].contains(off.lowercased()) { return nil }
        if let dir = env("XPROF_CACHE_DIR") { return SymbolCache(directory: dir + "/symbols") }
        if let xdg = env("XDG_CACHE_HOME") { return SymbolCache(directory: xdg + "/xprof/symbols") }
        if let home = env("HOME") { return SymbolCache(directory: home + "/.cache/xprof/symbols") }
        return nil
    }()

    /// What an entry holds.
    enum Kind: UInt32 {
        case elfImage = 1
        case kallsyms = 2
        /// Line and inline answers of an ELF file's DWARF (SymbolCache+DwarfIndex.swift).
        case dwarfIndex = 3
    }

    /// Bumped whenever the payload's layout or the parsers' output changes: older entries then miss.
    static let formatVersion: UInt32 = 4
    private static let magic: [UInt8] = Array("XPROFSYM".utf8)
    /// magic, version, kind, key length, payload length, CRC-32 of the payload.
    private static let headerSize = 8 + 4 + 4 + 4 + 8 + 4 + 4

    /// A file as the cache knows it.
    struct Identity: Equatable {
        var path: String
        var device: UInt64, inode: UInt64, size: Int64
        var modified: (Int, Int), changed: (Int, Int)

        static func == (a: Identity, b: Identity) -> Bool {
            a.path == b.path && a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified == b.modified && a.changed == b.changed
        }

        /// The file at `path` now; nil unless it is a regular file.
        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = (st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
            changed = (st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
        }

        /// The bytes an entry's header stores and a lookup compares.
        var key: [UInt8] {
            var w = CacheWriter()
            w.string(path)
            for v in [device, inode, UInt64(bitPattern: size), UInt64(bitPattern: Int64(modified.0)), UInt64(bitPattern: Int64(modified.1)),
                      UInt64(bitPattern: Int64(changed.0)), UInt64(bitPattern: Int64(changed.1))] { w.u64(v) }
            return w.bytes
        }
    }

    /// The entry file for `kind` of the file `id`: one per path and inode (a binary rebuilt in place replaces
    /// its entry rather than adding one).
    private func entryPath(_ kind: Kind, _ id: Identity) -> String {
        var h = FNV1a()
        h.add(Array(id.path.utf8) + withUnsafeBytes(of: id.inode.littleEndian, Array.init) + [UInt8(kind.rawValue)])
        let hex = String(h.value, radix: 16)
        return directory + "/" + String(repeating: "0", count: 16 - hex.count) + hex + ".xsym"
    }

    /// The payload of `kind`'s entry for `id`, when there is a sound one; marks it used.
    func load(_ kind: Kind, _ id: Identity) -> CacheReader? {
        let path = entryPath(kind, id)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= Self.headerSize else { return nil }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { return nil }
        let mapping = CacheReader.Mapping(base: UnsafeRawPointer(p), count: size)
        let all = UnsafeRawBufferPointer(start: p, count: size)
        var header = CacheReader(all, owner: mapping)
        guard let m = header.bytes(8), m.elementsEqual(Self.magic), header.u32() == Self.formatVersion,
              header.u32() == kind.rawValue, let keyLength = header.u32(), let payloadLength = header.u64(),
              let crc = header.u32(), header.u32() != nil,
              let key = header.bytes(Int(keyLength)), key.elementsEqual(id.key),
              payloadLength == UInt64(header.remaining) else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: all[(size - header.remaining)...])
        guard Self.crc32(payload) == crc else { return nil }
        // Used now: the least recently used entries are the first to go.
        _ = futimens(fd, nil)
        return CacheReader(payload, owner: mapping)
    }

    /// Stores `payload` as `kind`'s entry for `id` (quietly does nothing when the folder cannot be written).
    func store(_ kind: Kind, _ id: Identity, payload: [UInt8]) {
        guard makeDirectory() else { return }
        let key = id.key
        var w = CacheWriter()
        w.raw(Self.magic)
        w.u32(Self.formatVersion)
        w.u32(kind.rawValue)
        w.u32(UInt32(key.count))
        w.u64(UInt64(payload.count))
        w.u32(payload.withUnsafeBytes { Self.crc32($0) })
        w.u32(0)
        w.raw(key)
        let final = entryPath(kind, id)
        var template = Array((directory + "/.tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return }
        let tmp = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // The header, then the payload as it is (no copy of it behind the header).
        func writeAll(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { b in
                var written = 0
                while written < b.count {
                    let n = write(fd, b.baseAddress! + written, b.count - written)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    written += n
                }
                return true
            }
        }
        let complete = writeAll(w.bytes) && writeAll(payload)
        close(fd)
        guard complete, rename(tmp, final) == 0 else { unlink(tmp); return }
        trim()
    }

    /// Creates the folder (and its parents) when missing; whether it is there now.
    private func makeDirectory() -> Bool {
        var st = stat()
        if stat(directory, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        // Each ancestor in turn (mkdir -p).
        let path = Array(directory.utf8)
        for i in path.indices where i > 0 && (path[i] == UInt8(ascii: "/") || i == path.count - 1) {
            let prefix = String(decoding: path[0..<(path[i] == UInt8(ascii: "/") ? i : i + 1)], as: UTF8.self)
            _ = mkdir(prefix, 0o700)
        }
        return stat(directory, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes the least recently used entries (and temporary files left by killed writers) until the folder
    /// holds at most `limitBytes`.
    private func trim() {
        guard let dir = opendir(directory) else { return }
        var entries: [(used: (Int, Int), size: Int, path: String)] = []
        var total = 0
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name.hasSuffix(".xsym") || name.hasPrefix(".tmp-") else { continue }
            let path = directory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            // A writer's temporary file older than a minute was left by a killed run.
            if name.hasPrefix(".tmp-") {
                if time(nil) - st.st_mtim.tv_sec > 60 { unlink(path) }
                continue
            }
            entries.append(((st.st_mtim.tv_sec, st.st_mtim.tv_nsec), Int(st.st_size), path))
            total += Int(st.st_size)
        }
        closedir(dir)
        guard total > limitBytes else { return }
        for e in entries.sorted(by: { $0.used < $1.used }) where total > limitBytes {
            if unlink(e.path) == 0 { total -= e.size }
        }
    }

    static func crc32(_ b: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = b.baseAddress, b.count > 0 else { return 0 }
        return UInt32(truncatingIfNeeded: crc32_z(0, base.assumingMemoryBound(to: UInt8.self), b.count))
    }
}

/// Appends little-endian values, strings and raw arrays (each array 8-byte aligned) for a cache entry.
struct CacheWriter {
    private(set) var bytes: [UInt8] = []

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        u64(UInt64(u.count))
        bytes.append(contentsOf: u)
    }

    mutating func reserve(_ n: Int) { bytes.reserveCapacity(bytes.count + n) }

    /// `count` then the elements' bytes as they are in memory, then zeros up to a multiple of 8 bytes from
    /// the start.
    mutating func array<T: BitwiseCopyable>(_ a: UnsafeBufferPointer<T>) {
        u64(UInt64(a.count))
        append(contentsOf: a)
        pad()
    }

    /// The same piece by piece: the count, then the elements (``append(_:)``, ``append(contentsOf:)``),
    /// then ``pad()``.
    mutating func arrayCount(_ n: Int) { u64(UInt64(n)) }
    mutating func append<T: BitwiseCopyable>(_ v: T) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func append<T: BitwiseCopyable>(contentsOf a: UnsafeBufferPointer<T>) { bytes.append(contentsOf: UnsafeRawBufferPointer(a)) }
    mutating func pad() { while bytes.count % 8 != 0 { bytes.append(0) } }
}

/// Reads what ``CacheWriter`` wrote, every read checked against the bytes left (nil past the end; the reader
/// then stays where it was).
struct CacheReader {
    /// Keeps an entry's mapping for as long as a reader (or what it made) needs it.
    final class Mapping: @unchecked Sendable {
        let base: UnsafeRawPointer
        let count: Int
        init(base: UnsafeRawPointer, count: Int) { self.base = base; self.count = count }
        deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    private let data: UnsafeRawBufferPointer
    private var at = 0
    /// The mapping the bytes are in.
    let owner: Mapping

    init(_ data: UnsafeRawBufferPointer, owner: Mapping) {
        self.data = data
        self.owner = owner
    }

    var remaining: Int { data.count - at }

    mutating func bytes(_ n: Int) -> UnsafeRawBufferPointer? {
        guard n >= 0, n <= remaining else { return nil }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: data[at..<(at + n)])
    }

    mutating func u32() -> UInt32? { bytes(4).map { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }
    mutating func u64() -> UInt64? { bytes(8).map { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } }

    mutating func string() -> String? {
        guard let n = u64(), n <= UInt64(remaining), let b = bytes(Int(n)) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }

    /// An array written by ``CacheWriter/array(_:)``: its elements' bytes (in the mapping) and count.
    mutating func array<T: BitwiseCopyable>(of: T.Type) -> (UnsafeRawBufferPointer, Int)? {
        let start = at
        guard let n = u64(), n <= UInt64(remaining / max(1, MemoryLayout<T>.stride)) else { at = start; return nil }
        let length = Int(n) * MemoryLayout<T>.stride
        guard let b = bytes(length) else { at = start; return nil }
        // The writer pads to 8 bytes from the start of the payload.
        guard bytes((8 - at % 8) % 8) != nil else { at = start; return nil }
        return (b, Int(n))
    }

    /// A copy of such an array.
    mutating func copy<T: BitwiseCopyable>(of: T.Type) -> [T]? {
        guard let (b, n) = array(of: T.self) else { return nil }
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: b) }
            count = n
        }
    }
}

/// The 64-bit FNV-1a hash of some bytes: cheap, for names and keys that only need spreading (equal hashes are
/// always confirmed by comparing what was hashed).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add<C: Sequence>(_ bytes: C) where C.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
}
