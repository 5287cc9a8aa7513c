import SampleIO
#if canImport(Glibc)
import Glibc
#endif
internal import CPerfShim

/// Open `perf_event_open` events and their mapped ring buffers; closes and unmaps everything on deinit.
///
/// One ring per CPU; further events on the same CPU (threads of a `-p` process) are redirected into it
/// with `PERF_EVENT_IOC_SET_OUTPUT`.
final class PerfEventSession {
    struct Ring {
        let fd: Int32
        let cpu: Int
        let base: UnsafeMutableRawPointer
        let mapLength: Int
        let dataOffset: Int
        let dataSize: Int
    }

    private(set) var fds: [Int32] = []
    private(set) var rings: [Ring] = []
    /// The events as opened (auto resolved to cycles or cpu-clock), in the order of `RecordOptions.events`.
    let events: [RecordOptions.Event]
    /// Event names joined with commas, for messages.
    var eventName: String { events.map(\.name).joined(separator: ",") }
    let sampleType: UInt64
    /// With several events: the kernel's event id (PERF_EVENT_IOC_ID) of every opened fd → its event index.
    private(set) var eventOfID: [UInt64: UInt16] = [:]
    let notes: [String]

    /// Sample fields xprof records, in the kernel's order: [IDENTIFIER], IP, TID, TIME, CPU, PERIOD,
    /// [CALLCHAIN]. The identifier (needed to tell several events apart) also ends the sample_id_all trailer.
    static func sampleType(callchains: Bool, identifier: Bool = false) -> UInt64 {
        var t = UInt64(PERF_SAMPLE_IP.rawValue | PERF_SAMPLE_TID.rawValue | PERF_SAMPLE_TIME.rawValue
                       | PERF_SAMPLE_CPU.rawValue | PERF_SAMPLE_PERIOD.rawValue)
        if callchains { t |= UInt64(PERF_SAMPLE_CALLCHAIN.rawValue) }
        if identifier { t |= UInt64(PERF_SAMPLE_IDENTIFIER.rawValue) }
        return t
    }

    /// Opens one event per (event, task, CPU) and maps one ring per CPU; the CPU's other events write into
    /// its ring through `PERF_EVENT_IOC_SET_OUTPUT`.
    /// - Parameters:
    ///   - tasks: pids/tids to follow (`[-1]` for system-wide).
    ///   - enableOnExec: start counting when the (stopped) task calls exec (command mode).
    init(options: RecordOptions, tasks: [Int32], cpus: [Int], enableOnExec: Bool) throws(SampleIOError) {
        var notes: [String] = []
        var events: [RecordOptions.Event] = []
        for var e in options.events.isEmpty ? [.auto] : options.events {
            let asked = e
            if e.isAuto || e.isHardware {
                // Probe: can the hardware event be opened at all here?
                var probe = e
                if probe.isAuto { probe = RecordOptions.Event(type: 0, config: 0, baseName: "cycles") }
                var attr = Self.makeAttr(options: options, event: probe, sampleType: 0, tracking: false, enableOnExec: false)
                let fd = xprof_perf_event_open(&attr, 0, -1, -1, UInt(PERF_FLAG_FD_CLOEXEC))
                if fd >= 0 {
                    close(fd)
                    e = probe
                } else {
                    let err = errno
                    // Refused for permission: the user-space fallback below decides (or refuses).
                    if err == EACCES || err == EPERM {
                        if tasks == [-1] { throw Self.permissionError(errno: err, systemWide: true) }
                        e = probe
                    } else if e.isAuto {
                        notes.append("hardware event 'cycles' is not available here (\(String(cString: strerror(err)))); sampling the software event 'cpu-clock' instead")
                        e = .cpuClock
                    } else {
                        throw Self.noHardware(e, errno: err)
                    }
                }
            }
            // perf's fallback: where kernel.perf_event_paranoid forbids sampling the kernel (2 for users without
            // CAP_PERFMON), a task's own user space may still be sampled: the event becomes `:u`, with a note.
            // System-wide sampling has no such fallback (permissionError below, exit 77).
            if tasks != [-1], !e.excludeKernel {
                var attr = Self.makeAttr(options: options, event: e, sampleType: 0, tracking: false, enableOnExec: false)
                let fd = xprof_perf_event_open(&attr, 0, -1, -1, UInt(PERF_FLAG_FD_CLOEXEC))
                if fd >= 0 {
                    close(fd)
                } else if errno == EACCES || errno == EPERM {
                    var user = e
                    user.excludeKernel = true
                    attr = Self.makeAttr(options: options, event: user, sampleType: 0, tracking: false, enableOnExec: false)
                    var ufd = xprof_perf_event_open(&attr, 0, -1, -1, UInt(PERF_FLAG_FD_CLOEXEC))
                    if ufd < 0, user.isHardware, errno != EACCES, errno != EPERM {
                        // No hardware counters either (a VM): the software clock, user space only (for -e auto).
                        guard asked.isAuto else { throw Self.noHardware(user, errno: errno) }
                        notes.append("hardware event '\(user.baseName)' is not available here (\(String(cString: strerror(errno)))); sampling the software event 'cpu-clock' instead")
                        user = .cpuClock
                        user.excludeKernel = true
                        attr = Self.makeAttr(options: options, event: user, sampleType: 0, tracking: false, enableOnExec: false)
                        ufd = xprof_perf_event_open(&attr, 0, -1, -1, UInt(PERF_FLAG_FD_CLOEXEC))
                    }
                    if ufd >= 0 {
                        close(ufd)
                        let paranoid = (ProcScanner.readText("/proc/sys/kernel/perf_event_paranoid") ?? "?").trimmingNewline()
                        notes.append("kernel.perf_event_paranoid is \(paranoid): sampling user space only (\(user.name)), as perf does; "
                                     + "run as root, grant CAP_PERFMON or set kernel.perf_event_paranoid to 1 or lower to see the kernel")
                        e = user
                    } else {
                        throw Self.permissionError(errno: EACCES, systemWide: false)
                    }
                }
            }
            if events.contains(e) {
                notes.append("event '\(e.name)' is listed twice (auto became it); sampling it once")
                continue
            }
            events.append(e)
        }
        self.events = events
        self.notes = notes
        sampleType = Self.sampleType(callchains: options.callchains, identifier: events.count > 1)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        do throws(SampleIOError) {
            for cpu in cpus {
                var leader: Int32 = -1
                for (index, event) in events.enumerated() {
                    for task in tasks {
                        var attr = Self.makeAttr(options: options, event: event, sampleType: sampleType,
                                                 tracking: index == 0, enableOnExec: enableOnExec)
                        let fd = xprof_perf_event_open(&attr, task, Int32(cpu), -1, UInt(PERF_FLAG_FD_CLOEXEC))
                        if fd < 0 {
                            let e = errno
                            if e == EACCES || e == EPERM { throw Self.permissionError(errno: e, systemWide: tasks == [-1]) }
                            if e == ESRCH { continue }  // a thread that ended meanwhile
                            throw SampleIOError(.other, "perf_event_open(\(event.name), pid \(task), cpu \(cpu)) failed: \(String(cString: strerror(e)))",
                                                hint: "check that the CPU is online and the process exists"
                                                    + (event.precise > 0 ? ", or drop the :p modifier (precise IPs need hardware support)" : ""))
                        }
                        fds.append(fd)
                        if events.count > 1 {
                            var id: UInt64 = 0
                            guard xprof_perf_event_id(fd, &id) == 0 else {
                                throw SampleIOError(.other, "PERF_EVENT_IOC_ID failed for \(event.name): \(String(cString: strerror(errno)))")
                            }
                            eventOfID[id] = UInt16(index)
                        }
                        if leader < 0 {
                            leader = fd
                            let length = (1 + options.ringPages) * pageSize
                            guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
                                throw SampleIOError(.other, "mmap of the perf ring for cpu \(cpu) failed: \(String(cString: strerror(errno)))",
                                                    hint: "lower the ring size or raise RLIMIT_MEMLOCK / kernel.perf_event_mlock_kb")
                            }
                            let page = p.assumingMemoryBound(to: perf_event_mmap_page.self)
                            let off = page.pointee.data_offset != 0 ? Int(page.pointee.data_offset) : pageSize
                            let size = page.pointee.data_size != 0 ? Int(page.pointee.data_size) : options.ringPages * pageSize
                            rings.append(Ring(fd: fd, cpu: cpu, base: p, mapLength: length, dataOffset: off, dataSize: size))
                        } else if xprof_perf_ioctl(fd, XPROF_PERF_IOC_SET_OUTPUT, UInt(leader)) != 0 {
                            throw SampleIOError(.other, "PERF_EVENT_IOC_SET_OUTPUT failed: \(String(cString: strerror(errno)))")
                        }
                    }
                }
            }
        } catch {
            closeAll()
            throw error
        }
        if fds.isEmpty {
            throw SampleIOError(.other, "no event could be opened (every task ended before sampling started)")
        }
    }

    deinit { closeAll() }

    private func closeAll() {
        for r in rings { munmap(r.base, r.mapLength) }
        rings = []
        for fd in fds { close(fd) }
        fds = []
    }

    func enable() {
        for fd in fds { _ = xprof_perf_ioctl(fd, XPROF_PERF_IOC_ENABLE, 0) }
    }

    func disable() {
        for fd in fds { _ = xprof_perf_ioctl(fd, XPROF_PERF_IOC_DISABLE, 0) }
    }

    /// The attributes of one event. `tracking`: this event also records the side-band (MMAP2 with
    /// build-ids, COMM, FORK/EXIT); only the first of several does, as perf arranges it.
    static func makeAttr(options: RecordOptions, event: RecordOptions.Event, sampleType: UInt64, tracking: Bool,
                         enableOnExec: Bool) -> perf_event_attr {
        var a = perf_event_attr()
        a.size = UInt32(MemoryLayout<perf_event_attr>.size)
        a.type = event.type
        a.config = event.config
        if let period = options.period {
            a.sample_period = period
            a.freq = 0
        } else {
            a.sample_freq = options.frequency
            a.freq = 1
        }
        a.sample_type = sampleType
        a.disabled = 1
        a.inherit = 1
        a.exclude_user = event.excludeUser ? 1 : 0
        a.exclude_kernel = event.excludeKernel ? 1 : 0
        a.precise_ip = UInt64(event.precise)
        if tracking {
            a.mmap = 1
            a.mmap2 = 1
            a.comm = 1
            a.comm_exec = 1
            a.task = 1
            a.build_id = 1
        }
        a.sample_id_all = 1
        a.exclude_guest = 0
        a.enable_on_exec = enableOnExec ? 1 : 0
        a.wakeup_events = 0
        a.watermark = 1
        a.wakeup_watermark = UInt32(max(4096, options.ringPages * 4096 / 4))
        if options.callchains { a.sample_max_stack = 127 }
        return a
    }

    static func noHardware(_ e: RecordOptions.Event, errno err: Int32) -> SampleIOError {
        SampleIOError(.unsupported, "the hardware event '\(e.name)' cannot be opened: \(String(cString: strerror(err)))",
                      hint: "this machine (often a VM) has no hardware counters, or not this one; use a software event such as cpu-clock, task-clock, page-faults or context-switches")
    }

    static func permissionError(errno e: Int32, systemWide: Bool) -> SampleIOError {
        let paranoid = (ProcScanner.readText("/proc/sys/kernel/perf_event_paranoid") ?? "?").trimmingNewline()
        let need = systemWide ? "-1 (or 0 with CAP_PERFMON) for system-wide sampling" : "1 or lower to sample your own processes"
        return SampleIOError(.permission,
                             "perf_event_open was refused (\(String(cString: strerror(e)))): kernel.perf_event_paranoid is \(paranoid)",
                             hint: "run as root, grant CAP_PERFMON, or lower the setting: sysctl kernel.perf_event_paranoid needs \(need)")
    }
}
