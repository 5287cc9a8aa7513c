#if canImport(Glibc)
import Glibc
#endif

/// Reads what the recorder needs from `/proc` and `/sys`: existing processes' mappings and names,
/// the kernel symbol table, the CPUs online, the host's identity.
public enum ProcScanner {
    /// Text of a small file (nil if unreadable).
    public static func readText(_ path: String) -> String? {
        guard let bytes = try? FileBytes.read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a kernel CPU list such as `0-3,8,10-11`.
    public static func parseCPUList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for part in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " }) where !part.isEmpty {
            let bounds = part.split(separator: "-")
            guard let lo = Int(bounds[0]) else { return nil }
            let hi = bounds.count > 1 ? Int(bounds[1]) : lo
            guard let hi, hi >= lo, hi - lo < 65536 else { return nil }
            out.append(contentsOf: lo...hi)
        }
        return out
    }

    /// The CPUs a process (nil: this one) may run on: `Cpus_allowed_list` of /proc/PID/status.
    public static func affinity(of pid: Int32?) -> [Int]? {
        guard let t = readText("/proc/\(pid.map(String.init) ?? "self")/status") else { return nil }
        for line in t.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            return parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count).filter { $0 != "\t" }))
        }
        return nil
    }

    /// Whether process `pid` still runs: it exists and is neither a zombie nor dead (a process that is
    /// not the recorder's child stays a zombie until its own parent reaps it).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let t = readText("/proc/\(pid)/stat"), let close = t.lastIndex(of: ")") else { return false }
        let state = t[t.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X" && state != "x"
    }

    /// The CPUs online (/sys/devices/system/cpu/online), else 0 … the processor count − 1.
    public static func onlineCPUs() -> [Int] {
        if let t = readText("/sys/devices/system/cpu/online"), let cpus = parseCPUList(t), !cpus.isEmpty { return cpus }
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return Array(0..<max(1, n))
    }

    /// The host name, "" if unknown.
    public static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The kernel release (`uname -r`) and machine (`uname -m`).
    public static func uname() -> (release: String, machine: String) {
        var u = utsname()
        guard Glibc.uname(&u) == 0 else { return ("", "") }
        func field<T>(_ v: T) -> String {
            withUnsafeBytes(of: v) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (field(u.release), field(u.machine))
    }

    /// Function symbols of `/proc/kallsyms` (types t, T, w, W), as kallsyms text, and whether the
    /// addresses were hidden (all zero: `kptr_restrict`).
    public static func kernelSymbols() -> (text: String, hidden: Bool, textRange: Range<UInt64>?) {
        guard let all = try? FileBytes.read("/proc/kallsyms") else { return ("", true, nil) }
        var out: [UInt8] = []
        out.reserveCapacity(all.count)
        var nonZero = false
        var lo = UInt64.max, hi: UInt64 = 0
        var i = 0
        let n = all.count
        while i < n {
            var e = i
            while e < n, all[e] != 10 { e += 1 }
            // "ADDR T NAME[\t[MODULE]]": the type is the byte after the first space.
            var sp = i
            while sp < e, all[sp] != 32 { sp += 1 }
            if sp + 2 < e, all[sp + 2] == 32 {
                let t = all[sp + 1]
                if t == UInt8(ascii: "t") || t == UInt8(ascii: "T") || t == UInt8(ascii: "w") || t == UInt8(ascii: "W") {
                    out.append(contentsOf: all[i..<e])
                    out.append(10)
                    var a: UInt64 = 0
                    for k in i..<sp {
                        let c = all[k]
                        let v: UInt64 = c >= 97 ? UInt64(c - 87) : (c >= 65 ? UInt64(c - 55) : UInt64(c &- 48))
                        a = a << 4 | (v & 15)
                    }
                    if a != 0 {
                        nonZero = true
                        // Only the core kernel (no [module] column) bounds the kernel image.
                        if !all[sp..<e].contains(UInt8(ascii: "[")) { lo = min(lo, a); hi = max(hi, a) }
                    }
                }
            }
            i = e + 1
        }
        return (String(decoding: out, as: UTF8.self), !nonZero, nonZero && hi > lo ? lo..<(hi + 1) : nil)
    }

    /// GNU build-id of the running kernel from `/sys/kernel/notes` (lower-case hex, "" if absent).
    public static func kernelBuildID() -> String {
        guard let bytes = try? FileBytes.read("/sys/kernel/notes") else { return "" }
        var c = ByteCursor(bytes)
        while c.remaining >= 12 {
            guard let namesz = c.read(UInt32.self, .little), let descsz = c.read(UInt32.self, .little),
                  let type = c.read(UInt32.self, .little) else { break }
            let nameLen = (Int(namesz) + 3) & ~3, descLen = (Int(descsz) + 3) & ~3
            guard let name = c.readBytes(nameLen), let desc = c.readBytes(descLen) else { break }
            if type == 3, name.prefix(3).elementsEqual("GNU".utf8) {
                return desc.prefix(Int(descsz)).map { String(format2: $0) }.joined()
            }
        }
        return ""
    }

    /// Executable file mappings and the name of every process (or of `only`), as side-band events.
    public static func existingProcesses(only: Int32? = nil) -> [SidebandEvent] {
        var pids: [Int32] = []
        if let only { pids = [only] } else if let dir = opendir("/proc") {
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                if let pid = Int32(name) { pids.append(pid) }
            }
            closedir(dir)
        }
        var out: [SidebandEvent] = []
        for pid in pids.sorted() {
            guard let maps = readText("/proc/\(pid)/maps") else { continue }
            let comm = (readText("/proc/\(pid)/comm") ?? "").trimmingNewline()
            if let tasks = opendir("/proc/\(pid)/task") {
                var tids: [Int32] = []
                while let e = readdir(tasks) {
                    let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
                    if let tid = Int32(name) { tids.append(tid) }
                }
                closedir(tasks)
                for tid in tids.sorted() {
                    let tcomm = (readText("/proc/\(pid)/task/\(tid)/comm") ?? comm).trimmingNewline()
                    out.append(.comm(domain: .host, pid: pid, tid: tid, name: tcomm, exec: false))
                }
            } else {
                out.append(.comm(domain: .host, pid: pid, tid: pid, name: comm, exec: false))
            }
            for line in maps.split(separator: "\n") {
                // start-end perms offset dev inode path
                let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                guard f.count >= 5, f[1].count >= 3, Array(f[1])[2] == "x" else { continue }
                let range = f[0].split(separator: "-")
                guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16), e > s,
                      let off = UInt64(f[2], radix: 16) else { continue }
                let path = f.count == 6 ? String(f[5]).trimmingLeadingSpaces() : "//anon"
                out.append(.mapping(Mapping(pid: pid, start: s, length: e - s, fileOffset: off, path: path, executable: true)))
            }
        }
        return out
    }

    /// Thread ids of a process.
    public static func threads(of pid: Int32) -> [Int32] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        var tids: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if let tid = Int32(name) { tids.append(tid) }
        }
        closedir(dir)
        return tids.sorted()
    }
}

extension String {
    /// The text without its trailing newlines (and carriage returns), as /proc and /sys files end.
    public func trimmingNewline() -> String {
        var s = self
        while s.last == "\n" || s.last == "\r" { s.removeLast() }
        return s
    }
    func trimmingLeadingSpaces() -> String {
        String(drop { $0 == " " })
    }
}

/// Facts about the machine xprof runs on, to decide whether a recording was made on it.
public enum HostIdentity {
    /// GNU build-id of the running kernel (from /sys/kernel/notes), "" if unknown.
    public static func kernelBuildID() -> String { ProcScanner.kernelBuildID() }
    /// `uname -r`.
    public static func kernelRelease() -> String { ProcScanner.uname().release }
    /// The host name.
    /// The host name, "" if unknown.
    public static func hostname() -> String { ProcScanner.hostname() }
    /// The online CPUs, in order.
    /// The CPUs online (/sys/devices/system/cpu/online), else 0 … the processor count − 1.
    public static func onlineCPUs() -> [Int] { ProcScanner.onlineCPUs() }
    /// The bytes of the vDSO the kernel maps into every process (this one's: the same for every process
    /// of the running kernel), nil if it has none. perf names `[vdso]` samples from it as well.
    public static func vdsoImage() -> [UInt8]? {
        guard let maps = ProcScanner.readText("/proc/self/maps") else { return nil }
        for line in maps.split(separator: "\n") where line.hasSuffix("[vdso]") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let a = UInt(range[0], radix: 16), let b = UInt(range[1], radix: 16), b > a,
                  b - a <= 1 << 20, let p = UnsafeRawPointer(bitPattern: a) else { return nil }
            return Array(UnsafeRawBufferPointer(start: p, count: Int(b - a)))
        }
        return nil
    }

    /// The running kernel's function symbols as kallsyms text, nil when unreadable or hidden.
    public static func kallsyms() -> String? {
        kallsymsBytes().map { String(decoding: $0, as: UTF8.self) }
    }

    /// `/proc/kallsyms` as bytes; nil when unreadable or when kptr_restrict shows every address as zeros.
    public static func kallsymsBytes() -> [UInt8]? {
        guard let bytes = try? FileBytes.read("/proc/kallsyms"), !bytes.isEmpty else { return nil }
        if bytes.prefix(16).allSatisfy({ $0 == UInt8(ascii: "0") }) { return nil }
        return bytes
    }
}
