import SampleIO
#if canImport(Glibc)
import Glibc
#endif
internal import CPerfShim

/// The signal (SIGINT, SIGTERM or SIGHUP) that asked the recording to stop; the loop stops at its next turn.
nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0

/// Samples this machine with `perf_event_open` and writes a native `.xprof` file.
///
/// System-wide (`-a`), an existing process (`-p`), or a command the recorder starts and follows into its
/// children. Rings are drained with acquire/release ordering on `data_head`/`data_tail`; samples go to the
/// file in complete, checksummed chunks as they arrive — at least every ``flushInterval`` and every few MB —
/// so a recorder killed outright (SIGKILL, the OOM killer) leaves a file that reads up to its last second
/// (docs/ARCHITECTURE.md, "Recording").
public enum Recorder {
    /// The longest time a sample waits in memory before its chunk is written (plus one ring round).
    static let flushInterval = 0.5
    /// Pending samples, callchain frames and side-band events that make a chunk worth writing at once
    /// (about 1 MB, 2 MB and a few hundred KB before compression).
    static let flushSamples = 16_384, flushFrames = 131_072, flushSideband = 4096
    /// The signals that end a recording cleanly.
    static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Why `argv0` cannot be executed (looked up in PATH as `execvp` does), or nil when it can.
    public static func executableProblem(_ argv0: String) -> String? {
        func check(_ path: String) -> Int32? {
            var st = stat()
            guard stat(path, &st) == 0 else { return errno }
            if (st.st_mode & S_IFMT) == S_IFDIR { return EISDIR }
            return access(path, X_OK) == 0 ? nil : errno
        }
        if argv0.isEmpty { return String(cString: strerror(ENOENT)) }
        if argv0.contains("/") { return check(argv0).map { String(cString: strerror($0)) } }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        var firstError: Int32? = nil
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + argv0
            guard let e = check(candidate) else { return nil }
            if e != ENOENT && e != ENOTDIR && firstError == nil { firstError = e }
        }
        return String(cString: strerror(firstError ?? ENOENT)) + (firstError == nil ? " (searched PATH)" : "")
    }

    /// Renames an existing, non-empty `path` to `path.old` (as perf record does), so a new recording
    /// never destroys the previous one.
    static func keepPrevious(_ path: String) throws(SampleIOError) {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { return }
        guard rename(path, path + ".old") == 0 else {
            throw FileBytes.posixError(path, "cannot rename the previous recording to \(path).old")
        }
    }

    /// Records according to `options`. `note` receives one-line notices (event fallback, lost samples).
    public static func record(_ options: RecordOptions, note: (String) -> Void = { _ in }) throws(SampleIOError) -> RecordSummary {
        let online = ProcScanner.onlineCPUs()
        let cpus = options.cpus ?? online
        for c in cpus where !online.contains(c) {
            throw SampleIOError(.other, "CPU \(c) is not online (online: \(online.map(String.init).joined(separator: ",")))",
                                hint: "choose CPUs from the online list")
        }
        let argv: [String]
        switch options.target {
        case .command(let a): argv = a
        case .systemWide: argv = options.whileCommand
        case .process: argv = []
        }
        if let first = argv.first, let problem = executableProblem(first) {
            throw SampleIOError(.missingInput, "cannot run the command '\(first)': \(problem)",
                                hint: "check the command's name, its path and that it is executable")
        }
        stopSignal = 0
        let previousInt = signal(SIGINT) { stopSignal = $0 }
        let previousTerm = signal(SIGTERM) { stopSignal = $0 }
        let previousHup = signal(SIGHUP) { stopSignal = $0 }
        // Past `ulimit -f` a write fails with EFBIG (handled) instead of killing the recorder.
        let previousXfsz = signal(SIGXFSZ, SIG_IGN)
        // A parent may have started this process with the stop signals blocked.
        var stops = sigset_t(), previousMask = sigset_t()
        sigemptyset(&stops)
        for s in stopSignals { sigaddset(&stops, s) }
        pthread_sigmask(SIG_UNBLOCK, &stops, &previousMask)
        defer {
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
            signal(SIGINT, previousInt)
            signal(SIGTERM, previousTerm)
            signal(SIGHUP, previousHup)
            signal(SIGXFSZ, previousXfsz)
        }

        // Start the command stopped before exec: a shell waits for one byte on fd 3, then execs it.
        var child: pid_t = -1
        var goPipe: [Int32] = [-1, -1]
        var tasks: [Int32] = [-1]
        var enableOnExec = false
        switch options.target {
        case .systemWide:
            tasks = [-1]
            if !options.whileCommand.isEmpty {
                (child, goPipe) = try spawnWaiting(options.whileCommand, cpus: options.commandCPUs.map { $0.map { Int32($0) } })
            }
        case .process(let pid):
            tasks = ProcScanner.threads(of: pid)
            if tasks.isEmpty {
                throw SampleIOError(.missingInput, "process \(pid) does not exist", hint: "check the pid with ps")
            }
        case .command(let argv):
            guard !argv.isEmpty else { throw SampleIOError(.other, "no command given after --") }
            (child, goPipe) = try spawnWaiting(argv, cpus: options.commandCPUs.map { $0.map { Int32($0) } })
            tasks = [child]
            enableOnExec = true
        }

        let session: PerfEventSession
        do {
            session = try PerfEventSession(options: options, tasks: tasks, cpus: cpus, enableOnExec: enableOnExec)
        } catch {
            if child > 0 { kill(child, SIGKILL); var st: Int32 = 0; waitpid(child, &st, 0) }
            throw error
        }
        for n in session.notes { note(n) }

        var meta = RunMetadata()
        meta.sourceFormat = "xprof"
        meta.hostname = ProcScanner.hostname()
        let un = ProcScanner.uname()
        meta.kernelRelease = un.release
        meta.architecture = un.machine
        meta.cpusOnline = online.count
        meta.cpusUsed = cpus
        // The profiled tasks' CPU affinity (what `taskset` or -C gave them), which `scale` counts.
        switch options.target {
        case .command: meta.cpuAffinity = options.commandCPUs ?? ProcScanner.affinity(of: nil) ?? []
        case .process(let pid): meta.cpuAffinity = ProcScanner.affinity(of: pid) ?? []
        case .systemWide: break
        }
        if meta.cpuAffinity == online { meta.cpuAffinity = [] }
        meta.events = session.events.map {
            EventInfo(name: $0.name, frequency: options.period == nil ? options.frequency : nil, period: options.period)
        }
        switch options.target {
        case .command(let argv): meta.command = argv
        case .process(let pid): meta.command = ["-p", String(pid)]
        case .systemWide: meta.command = ["-a"] + (options.whileCommand.isEmpty ? [] : ["--"] + options.whileCommand)
        }
        meta.domains = [DomainInfo(id: .host, name: meta.hostname.isEmpty ? "host" : meta.hostname, role: .coordinator, vcpus: online.count)]
        let ks = ProcScanner.kernelSymbols()
        if ks.hidden {
            // Who hides them: kptr_restrict 0 shows them only where perf_event_paranoid is 1 or lower.
            let kptr = (ProcScanner.readText("/proc/sys/kernel/kptr_restrict") ?? "?").trimmingNewline()
            let paranoid = (ProcScanner.readText("/proc/sys/kernel/perf_event_paranoid") ?? "?").trimmingNewline()
            let cause = kptr == "0" ? "kernel.perf_event_paranoid is \(paranoid) and kernel.kptr_restrict 0 shows them only at 1 or lower"
                : "kernel.kptr_restrict is \(kptr)"
            note("kernel addresses are hidden from this user (\(cause)); kernel samples will show as [unknown]; run as root, "
                 + (kptr == "0" ? "or set kernel.perf_event_paranoid to 1 or lower" : "or set kernel.kptr_restrict=0"))
        } else {
            meta.kernelSymbols = [KernelSymbolSnapshot(domain: .host, text: ks.text)]
        }
        meta.symbolHints = [SymbolHint(domain: .host, kind: .kernel, path: "[kernel.kallsyms]", buildID: ProcScanner.kernelBuildID())]
        meta.extra["recorder"] = "xprof record"
        var startTS = timespec()
        clock_gettime(CLOCK_REALTIME, &startTS)
        meta.startTime = UInt64(startTS.tv_sec) * 1_000_000_000 + UInt64(startTS.tv_nsec)

        let writer: XprofWriter
        do {
            try keepPrevious(options.output)
            writer = try XprofWriter(path: options.output, metadata: meta)
        } catch {
            if child > 0 { kill(child, SIGKILL); var st: Int32 = 0; waitpid(child, &st, 0) }
            throw error
        }

        var parser = PerfRecordParser(sampleType: session.sampleType, eventOfID: session.eventOfID)
        // The kernel image and the processes that already exist.
        if let r = ks.textRange {
            parser.batch.append(.mapping(Mapping(pid: -1, start: r.lowerBound, length: r.upperBound - r.lowerBound,
                                                 fileOffset: 0, path: "[kernel.kallsyms]", executable: true)))
        }
        switch options.target {
        case .systemWide: for e in ProcScanner.existingProcesses() { parser.batch.append(e) }
        case .process(let pid): for e in ProcScanner.existingProcesses(only: pid) { parser.batch.append(e) }
        case .command: break
        }

        let t0 = monotonicSeconds()
        if !enableOnExec { session.enable() }
        if child > 0 {
            var go: UInt8 = 10  // a newline ends the shell's read
            _ = write(goPipe[1], &go, 1)
            close(goPipe[1])
        }

        var commandStatus: Int32? = nil
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
        defer { scratch.deallocate() }
        var pfds = session.rings.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var writeError: SampleIOError? = nil
        // Rings are drained one after another; records reach the file in time order through the sorter the
        // perf.data reader uses, released one round late (perf's FINISHED_ROUND rule).
        let sorter = PerfRoundSorter()
        var ordered = SampleBatch()
        func endRound(final: Bool) {
            sorter.queue(parser.batch, into: &ordered)
            parser.batch = SampleBatch()
            if final { sorter.finish(into: &ordered) } else { sorter.endRound(into: &ordered) }
        }
        var lastFlush = monotonicSeconds()
        func flush(force: Bool) {
            guard writeError == nil else { return }
            let due = force || ordered.samples.count >= flushSamples || ordered.frames.count >= flushFrames
                || ordered.sideband.count >= flushSideband || monotonicSeconds() - lastFlush >= flushInterval
            guard due else { return }
            lastFlush = monotonicSeconds()
            do {
                try writer.write(ordered)
            } catch {
                writeError = error
            }
            ordered = SampleBatch()
        }
        while true {
            _ = poll(&pfds, nfds_t(pfds.count), 100)
            for r in session.rings { drain(r, into: &parser, scratch: scratch) }
            endRound(final: false)
            flush(force: false)
            if writeError != nil { break }
            if stopSignal != 0 { break }
            if let d = options.duration, monotonicSeconds() - t0 >= d { break }
            if case .process(let pid) = options.target, !ProcScanner.isRunning(pid) {
                note("process \(pid) exited; the recording ends")
                break
            }
            if child > 0 {
                var st: Int32 = 0
                if waitpid(child, &st, WNOHANG) == child {
                    commandStatus = exitStatus(st)
                    child = -1
                    break
                }
            }
        }
        session.disable()
        for r in session.rings { drain(r, into: &parser, scratch: scratch) }
        endRound(final: true)
        flush(force: true)
        let elapsed = monotonicSeconds() - t0
        let endedCommand = child > 0
        if child > 0 {
            // Stopped by a signal, --duration or a write error while the command runs: end it too (with the
            // signal the recorder got; a terminal's Ctrl-C reached it already).
            kill(child, stopSignal != 0 ? stopSignal : SIGTERM)
            var st: Int32 = 0
            while waitpid(child, &st, 0) < 0 && errno == EINTR {}
            commandStatus = exitStatus(st)
        }
        if let writeError {
            throw writeError.adding(context: "the recording stopped after \((elapsed * 10).rounded() / 10) s"
                                    + (endedCommand ? " and ended the command" : "") + "; the file lacks its END chunk")
        }
        if parser.throttles > 0 {
            parser.stats.warnings.append("the kernel throttled sampling \(parser.throttles) times (kernel.perf_event_max_sample_rate); lower -F")
        }
        try writer.finish(stats: parser.stats, duration: UInt64(elapsed * 1e9))
        let lost = parser.stats.totalLost
        if lost > 0 { note("\(lost) samples were lost (the ring filled faster than xprof read it); try a lower -F or more --ring-pages") }
        return RecordSummary(output: options.output, samples: writer.sampleCount, lost: lost, duration: elapsed,
                             event: session.eventName, notes: session.notes, commandStatus: commandStatus,
                             commandEndedByRecorder: endedCommand)
    }

    /// Reads every complete record between `data_tail` and `data_head` of one ring.
    private static func drain(_ r: PerfEventSession.Ring, into parser: inout PerfRecordParser,
                              scratch: UnsafeMutableRawBufferPointer) {
        let page = r.base.assumingMemoryBound(to: perf_event_mmap_page.self)
        let head = xprof_ring_load_head(page)
        var tail = page.pointee.data_tail
        let data = r.base + r.dataOffset
        let size = UInt64(r.dataSize)
        while tail < head {
            let avail = head - tail
            guard avail >= 8 else { break }
            copy(from: data, size: size, at: tail, count: 8, to: scratch)
            let recSize = UInt64(scratch.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            guard recSize >= 8, recSize <= avail else {
                parser.stats.drop("ring record")
                parser.stats.warnings.append("cpu \(r.cpu): a ring record of size \(recSize) does not fit; skipped the rest of that ring's data")
                tail = head
                break
            }
            copy(from: data, size: size, at: tail, count: Int(recSize), to: scratch)
            parser.parse(UnsafeRawBufferPointer(rebasing: scratch[0..<Int(recSize)]))
            tail += recSize
        }
        xprof_ring_store_tail(page, tail)
    }

    private static func copy(from data: UnsafeMutableRawPointer, size: UInt64, at pos: UInt64, count: Int,
                             to out: UnsafeMutableRawBufferPointer) {
        let off = Int(pos % size)
        let first = min(count, Int(size) - off)
        out.baseAddress!.copyMemory(from: data + off, byteCount: first)
        if first < count { (out.baseAddress! + first).copyMemory(from: data, byteCount: count - first) }
    }

    private static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    private static func exitStatus(_ st: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand (macros are not imported).
        if st & 0x7f == 0 { return (st >> 8) & 0xff }
        return 128 + (st & 0x7f)
    }

    /// Starts `/bin/sh -c 'read go <&3; exec "$@"'` so the command execs only after the events are open.
    /// With `cpus`, the command starts with that CPU affinity (set on this thread around the spawn, which the
    /// child inherits).
    private static func spawnWaiting(_ argv: [String], cpus: [Int32]? = nil) throws(SampleIOError) -> (pid_t, [Int32]) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SampleIOError(.other, "pipe failed: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 3)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let script = "read -r _go <&3 || exit 126; exec 3<&-; exec \"$@\""
        let args = ["/bin/sh", "-c", script, "xprof-record"] + argv
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        var saved = [UInt8](repeating: 0, count: Int(XPROF_CPU_MASK_BYTES))
        if let cpus {
            let ok = cpus.withUnsafeBufferPointer { xprof_affinity_push($0.baseAddress, Int32($0.count), &saved) }
            if ok != 0 {
                close(fds[0]); close(fds[1])
                throw SampleIOError(.other, "cannot run the command on CPUs \(cpus.map(String.init).joined(separator: ",")): \(String(cString: strerror(errno)))",
                                    hint: "choose online CPUs this process may use")
            }
        }
        // The command starts with no signal blocked and the signals the recorder handles or ignores at
        // their defaults, whatever this process inherited (a parent may spawn it with them blocked or ignored).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for s in Self.stopSignals + [SIGXFSZ] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, cargs, environ)
        if cpus != nil { _ = xprof_affinity_pop(saved) }
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            throw SampleIOError(.other, "cannot start /bin/sh for the command: \(String(cString: strerror(rc)))")
        }
        return (pid, fds)
    }
}
