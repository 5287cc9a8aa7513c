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
    let eventName: String
    let sampleType: UInt64
    let notes: [String]

    /// Sample fields xprof records, in the kernel's order: IP, TID, TIME, CPU, PERIOD, [CALLCHAIN].
    static func sampleType(callchains: Bool) -> UInt64 {
        var t = UInt64(PERF_SAMPLE_IP.rawValue | PERF_SAMPLE_TID.rawValue | PERF_SAMPLE_TIME.rawValue
                       | PERF_SAMPLE_CPU.rawValue | PERF_SAMPLE_PERIOD.rawValue)
        if callchains { t |= UInt64(PERF_SAMPLE_CALLCHAIN.rawValue) }
        return t
    }

    /// Opens one event per (task, CPU) pair and maps one ring per CPU.
    /// - Parameters:
    ///   - tasks: pids/tids to follow (`[-1]` for system-wide).
    ///   - enableOnExec: start counting when the (stopped) task calls exec (command mode).
    init(options: RecordOptions, tasks: [Int32], cpus: [Int], enableOnExec: Bool) throws(SampleIOError) {
        sampleType = Self.sampleType(callchains: options.callchains)
        var notes: [String] = []
        var useHardware = options.event != .cpuClock
        var name = useHardware ? "cycles" : "cpu-clock"
        // Probe: can the hardware event be opened at all here?
        if useHardware {
            var attr = Self.makeAttr(options: options, hardware: true, sampleType: sampleType, enableOnExec: false)
            let fd = xprof_perf_event_open(&attr, 0, -1, -1, UInt(PERF_FLAG_FD_CLOEXEC))
            if fd >= 0 {
                close(fd)
            } else {
                let e = errno
                if e == EACCES || e == EPERM { throw Self.permissionError(errno: e, systemWide: tasks == [-1]) }
                if options.event == .cycles {
                    throw SampleIOError(.unsupported, "the hardware event 'cycles' cannot be opened: \(String(cString: strerror(e)))",
                                        hint: "this machine (often a VM) has no hardware counters; use --event cpu-clock")
                }
                notes.append("hardware event 'cycles' is not available here (\(String(cString: strerror(e)))); sampling the software event 'cpu-clock' instead")
                useHardware = false
                name = "cpu-clock"
            }
        }
        eventName = name
        self.notes = notes
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        do throws(SampleIOError) {
            for cpu in cpus {
                var leader: Int32 = -1
                for task in tasks {
                    var attr = Self.makeAttr(options: options, hardware: useHardware, sampleType: sampleType,
                                             enableOnExec: enableOnExec)
                    let fd = xprof_perf_event_open(&attr, task, Int32(cpu), -1, UInt(PERF_FLAG_FD_CLOEXEC))
                    if fd < 0 {
                        let e = errno
                        if e == EACCES || e == EPERM { throw Self.permissionError(errno: e, systemWide: tasks == [-1]) }
                        if e == ESRCH { continue }  // a thread that ended meanwhile
                        throw SampleIOError(.other, "perf_event_open(\(name), pid \(task), cpu \(cpu)) failed: \(String(cString: strerror(e)))",
                                            hint: "check that the CPU is online and the process exists")
                    }
                    fds.append(fd)
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

    static func makeAttr(options: RecordOptions, hardware: Bool, sampleType: UInt64, enableOnExec: Bool) -> perf_event_attr {
        var a = perf_event_attr()
        a.size = UInt32(MemoryLayout<perf_event_attr>.size)
        if hardware {
            a.type = UInt32(PERF_TYPE_HARDWARE.rawValue)
            a.config = UInt64(PERF_COUNT_HW_CPU_CYCLES.rawValue)
        } else {
            a.type = UInt32(PERF_TYPE_SOFTWARE.rawValue)
            a.config = UInt64(PERF_COUNT_SW_CPU_CLOCK.rawValue)
        }
        a.sample_freq = options.frequency
        a.freq = 1
        a.sample_type = sampleType
        a.disabled = 1
        a.inherit = 1
        a.mmap = 1
        a.mmap2 = 1
        a.comm = 1
        a.comm_exec = 1
        a.task = 1
        a.sample_id_all = 1
        a.build_id = 1
        a.exclude_guest = 0
        a.enable_on_exec = enableOnExec ? 1 : 0
        a.wakeup_watermark = 0
        a.wakeup_events = 0
        a.watermark = 1
        a.wakeup_watermark = UInt32(max(4096, options.ringPages * 4096 / 4))
        if options.callchains { a.sample_max_stack = 127 }
        return a
    }

    static func permissionError(errno e: Int32, systemWide: Bool) -> SampleIOError {
        let paranoid = (ProcScanner.readText("/proc/sys/kernel/perf_event_paranoid") ?? "?").trimmingNewline()
        let need = systemWide ? "-1 (or 0 with CAP_PERFMON) for system-wide sampling" : "1 or lower to sample your own processes"
        return SampleIOError(.permission,
                             "perf_event_open was refused (\(String(cString: strerror(e)))): kernel.perf_event_paranoid is \(paranoid)",
                             hint: "run as root, grant CAP_PERFMON, or lower the setting: sysctl kernel.perf_event_paranoid needs \(need)")
    }
}
