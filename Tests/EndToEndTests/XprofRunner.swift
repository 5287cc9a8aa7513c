import Foundation
import Testing

/// Runs the built `xprof` (and other programs) for end-to-end tests.
enum XprofRunner {
    /// The package root (two levels above this file's folder).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures` next to the package root.
    static let sharedFixtures: URL = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures")

    /// Whether the run is under CI (`CI=true`): missing external inputs then fail instead of skipping.
    static var underCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// `value`, or the test is skipped (cancelled, reported as such, not passed) when it is nil: a tool or
    /// shared input the test needs is missing on this machine. Under `CI=true` the helper that gave nil has
    /// already recorded an issue, so the test fails there.
    static func orSkip<T>(_ value: T?, _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        if let value { return value }
        try Test.cancel("skipped: \(what()) not available here", sourceLocation: sourceLocation)
    }

    /// The folder holding the built products (`XPROF_BIN_DIR`, else the test bundle's build folder).
    static var binDir: URL {
        if let dir = ProcessInfo.processInfo.environment["XPROF_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        // Test bundles live in .build/<triple>/<config>/; the executables are built beside them.
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("xprof").path) { return url }
            url.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    static var xprof: String { binDir.appendingPathComponent("xprof").path }
    static var workload: String { binDir.appendingPathComponent("xprof-workload").path }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments`, capturing both streams.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], stdin: String? = nil,
                    environment: [String: String] = [:], cwd: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = Pipe()
        p.standardInput = inPipe
        try p.run()
        // Drain both pipes concurrently so a chatty child cannot block.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inPipe.fileHandleForWriting.close()
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `perf record ARGUMENTS`. perf 6.1 now and then dies before finishing its file (status 6, the data
    /// size left 0) when the machine is busy with other tests: such a run is retried (twice at most) and
    /// logged; a perf that keeps failing fails the test that checks the status.
    static func perfRecord(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        var r = try run("/usr/bin/perf", ["record"] + arguments, environment: environment)
        for attempt in 2...3 where r.status != 0 {
            print("perf record failed with status \(r.status) (attempt \(attempt - 1)), retrying: \(r.stderr.suffix(500))")
            r = try run("/usr/bin/perf", ["record"] + arguments, environment: environment)
        }
        return r
    }

    /// Runs the built `xprof`.
    @discardableResult
    static func xprof(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        try run(xprof, arguments, stdin: stdin, environment: environment)
    }

    /// The fields of one CSV line as xprof writes it (RFC 4180: a field with a comma or quote is quoted,
    /// quotes doubled): C++ names such as `std::map<int, int>::find` hold commas.
    static func csvFields(_ line: Substring) -> [String] {
        var out: [String] = [], field = "", quoted = false
        var it = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let n = it.next() {
                        if n == "\"" { field.append("\"") } else { quoted = false; pending = n }
                    } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                out.append(field); field = ""
            } else {
                field.append(c)
            }
        }
        out.append(field)
        return out
    }

    /// A fresh temporary directory, removed by the caller when done.
    /// Runs `body` while no other test that places work on particular CPUs runs (tests in other suites run
    /// at the same time): a spinner pinned to CPU 1 for one test made the scheduler move another test's
    /// two-CPU workload onto CPU 0 alone. An advisory lock on a file every such test takes.
    static func withCPUsToItself<T>(_ body: () throws -> T) throws -> T {
        let fd = open(FileManager.default.temporaryDirectory.appendingPathComponent("xprof-tests-cpus.lock").path, O_CREAT | O_RDWR, 0o666)
        guard fd >= 0 else { return try body() }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("xprof-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Path of a file in `../shared/fixtures`; nil (and a skip) when missing outside CI, a failure under CI.
    static func sharedFixture(_ relative: String) -> String? {
        let path = sharedFixtures.appendingPathComponent(relative).path
        if FileManager.default.fileExists(atPath: path) { return path }
        if underCI { Issue.record("shared fixture missing under CI=true: \(path)") }
        return nil
    }

    /// Path of Debian's xen-syms-4.17-amd64 (fetched by scripts/fetch-xen-syms.sh, which `make test` runs).
    static func xenSyms() -> String? {
        if let p = ProcessInfo.processInfo.environment["XPROF_XEN_SYMS"], FileManager.default.fileExists(atPath: p) { return p }
        let p = packageRoot.appendingPathComponent(".cache/xen/usr/lib/debug/boot/xen-syms-4.17-amd64").path
        if FileManager.default.fileExists(atPath: p) { return p }
        if underCI { Issue.record("xen-syms missing under CI=true; run scripts/fetch-xen-syms.sh") }
        return nil
    }
}
