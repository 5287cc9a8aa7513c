import SampleIO
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion and measures its wall-clock time (for `xprof overhead`).
public enum CommandTimer {
    /// Runs `argv` (looked up in PATH), its output sent to /dev/null unless `showOutput`.
    /// - Returns: elapsed seconds and the exit status (128+signal when killed).
    public static func run(_ argv: [String], showOutput: Bool = false) throws(SampleIOError) -> (seconds: Double, status: Int32) {
        guard let exe = argv.first else { throw SampleIOError(.other, "no command to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if !showOutput {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, exe, &actions, nil, cargs, environ)
        guard rc == 0 else {
            throw SampleIOError(rc == ENOENT ? .missingInput : .other, "cannot run \(exe): \(String(cString: strerror(rc)))",
                                hint: "check the command and PATH")
        }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        clock_gettime(CLOCK_MONOTONIC, &end)
        let secs = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9
        let status: Int32 = st & 0x7f == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)
        return (secs, status)
    }
}
