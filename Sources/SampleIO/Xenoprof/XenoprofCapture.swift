#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `capture.json`: the header of a Xenoprof capture directory (docs/FORMAT.md, "Xenoprof captures").
struct XenoprofCaptureJSON: Codable {
    struct Event: Codable {
        var name: String
        var count: UInt64
        var unit_mask: UInt64?
    }
    struct Domain: Codable {
        var id: UInt32
        var name: String?
        var role: String
        var vcpus: Int
        var max_samples: Int
        var rings: String?
        var word_size: Int?
        var escape: String?
        /// How many snapshots the rings file holds (lets a reader notice a file cut at a snapshot boundary).
        var snapshots: Int?
    }
    struct Stream: Codable {
        var file: String
        var word_size: Int
        var cookies: [String: String]?
    }
    /// Word sizes in bits: `capture.json` may give them in bytes (4, 8) or in bits (32, 64) — unambiguous
    /// either way (docs/FORMAT.md).
    mutating func normalizeWordSizes() {
        func bits(_ v: Int) -> Int { v == 4 || v == 8 ? v * 8 : v }
        word_size = bits(word_size)
        for i in domains.indices { domains[i].word_size = domains[i].word_size.map(bits) }
        if var s = oprofile_stream {
            s.word_size = bits(s.word_size)
            oprofile_stream = s
        }
    }

    var format: String
    var version: Int
    var xen_version: String?
    var word_size: Int
    var cpu_type: String?
    var pcpus: Int?
    var escape: String?
    var synthetic: String?
    var events: [Event]
    var domains: [Domain]
    var oprofile_stream: Stream?
}

/// Reads the members of a capture, from a directory or a `.tar` of it.
struct CaptureFiles {
    let root: String
    /// For a tar: member name (without leading folders) → bytes.
    private var members: [String: [UInt8]] = [:]
    let isTar: Bool

    init(path: String) throws(SampleIOError) {
        root = path
        if FileBytes.isDirectory(path) {
            isTar = false
            return
        }
        isTar = true
        let bytes = try FileBytes.read(path)
        members = try Self.untar(bytes, path: path)
    }

    /// ustar: 512-byte headers (name at 0, size octal at 124, type at 156, magic "ustar" at 257), data padded to 512.
    static func untar(_ b: [UInt8], path: String) throws(SampleIOError) -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var o = 0
        while o + 512 <= b.count {
            let h = b[o..<(o + 512)]
            if h.allSatisfy({ $0 == 0 }) { break }
            guard b[(o + 257)..<(o + 262)].elementsEqual("ustar".utf8) else {
                throw SampleIOError(.badData, "tar header at byte \(o) has no ustar magic", path: path, offset: o + 257,
                                    hint: "pack the capture folder with `tar cf`")
            }
            let name = String(decoding: b[o..<(o + 100)].prefix { $0 != 0 }, as: UTF8.self)
            let prefix = String(decoding: b[(o + 345)..<(o + 500)].prefix { $0 != 0 }, as: UTF8.self)
            let sizeText = String(decoding: b[(o + 124)..<(o + 136)].prefix { $0 != 0 && $0 != 32 }, as: UTF8.self)
            guard let size = Int(sizeText, radix: 8) else {
                throw SampleIOError(.badData, "tar member '\(name)' has an unreadable size '\(sizeText)'", path: path, offset: o + 124)
            }
            let type = b[o + 156]
            let dataStart = o + 512
            guard size <= b.count - dataStart else {
                throw SampleIOError.truncated(expected: "\(size) bytes of tar member '\(name)'", at: dataStart, path: path,
                                              found: b.count - dataStart)
            }
            if type == 0 || type == UInt8(ascii: "0") {
                let full = prefix.isEmpty ? name : prefix + "/" + name
                let base = full.split(separator: "/").last.map(String.init) ?? full
                out[base] = Array(b[dataStart..<(dataStart + size)])
            }
            o = dataStart + (size + 511) / 512 * 512
        }
        return out
    }

    /// The bytes of member `name` (a plain file name inside the capture).
    func read(_ name: String) throws(SampleIOError) -> [UInt8] {
        guard !name.contains("/") || !isTar else {
            throw SampleIOError(.badData, "member names in capture.json must be plain file names, found '\(name)'", path: root)
        }
        if isTar {
            guard let m = members[name] else {
                throw SampleIOError(.missingInput, "the capture has no member '\(name)'", path: root,
                                    hint: "capture.json names a file that is not in the archive")
            }
            return m
        }
        guard !name.hasPrefix("/"), !name.contains("..") else {
            throw SampleIOError(.badData, "member names in capture.json must stay inside the capture, found '\(name)'", path: root)
        }
        return try FileBytes.read(root + "/" + name)
    }

    func contains(_ name: String) -> Bool {
        if isTar { return members[name] != nil }
        return FileManager.default.fileExists(atPath: root + "/" + name)
    }
}
