internal import CPerfShim

/// perf's mode rules, written once in C (`CPerfShim.h`: `xprof_cpumode_mode`, `xprof_context_mode`) for the
/// decoder's C fast path and for these Swift decoders: the file reader (``PerfDataSource``), its Swift fast
/// loop and the live recorder (``PerfRecordParser``). docs/ARCHITECTURE.md, "perf.data", says where each
/// applies.
enum PerfModes {
    /// The mode of a sample of PERF_RECORD_MISC_CPUMODE `cpumode` (`misc & 7`; guest modes count as what they
    /// are inside the guest).
    @inline(__always)
    static func mode(cpumode: UInt16) -> SampleMode {
        SampleMode(rawValue: xprof_cpumode_mode(UInt32(cpumode))) ?? .unknown
    }

    /// Whether `cpumode` is GUEST_KERNEL or GUEST_USER: the sample's domain is then a guest machine's.
    @inline(__always)
    static func isGuest(cpumode: UInt16) -> Bool {
        xprof_cpumode_is_guest(UInt32(cpumode)) != 0
    }

    /// The domain and mode of a sample of a non-guest `cpumode`: the host's, or for HYPERVISOR the hypervisor's.
    @inline(__always)
    static func host(cpumode: UInt16) -> (DomainID, SampleMode) {
        (DomainID(xprof_cpumode_host_domain(UInt32(cpumode))), mode(cpumode: cpumode))
    }

    /// Turns `count` raw callchain entries (`entry(k)` reads the k-th) into frames in `buf` (which holds at
    /// least `count + 1`): PERF_CONTEXT_* markers dropped, each frame in the mode of the marker before it,
    /// and the sampled `ip` first (added in `mode` when the chain does not start with it). Returns where the
    /// frames are in `buf`.
    @inline(__always)
    static func decodeChain(count: Int, ip: UInt64, mode: SampleMode, into buf: UnsafeMutableBufferPointer<CallFrame>,
                            entry: (Int) -> UInt64) -> Range<Int> {
        var n = 1
        var frameMode = mode
        for k in 0..<count {
            let v = entry(k)
            if v >= XPROF_CONTEXT_FIRST {
                // XPROF_CONTEXT_KEEP is no mode: the frames keep the one they had.
                if let m = SampleMode(rawValue: xprof_context_mode(v)) { frameMode = m }
                continue
            }
            buf[n] = CallFrame(ip: v, mode: frameMode)
            n += 1
        }
        if n > 1 && buf[1].ip == ip { return 1..<n }
        buf[0] = CallFrame(ip: ip, mode: mode)
        return 0..<n
    }

    /// ``decodeChain(count:ip:mode:into:entry:)`` of the entries at byte `at` of the record `r`.
    @inline(__always)
    static func decodeChain(_ r: RawRecord, at: Int, count: Int, ip: UInt64, mode: SampleMode,
                            into buf: UnsafeMutableBufferPointer<CallFrame>) -> Range<Int> {
        decodeChain(count: count, ip: ip, mode: mode, into: buf) { r.u64(at + 8 * $0) }
    }
}

/// Room for the longest callchain a perf record can hold (65535 bytes: 8191 entries) plus the sampled ip,
/// where ``PerfModes/decodeChain(count:ip:mode:into:entry:)`` assembles one; freed with its owner.
final class ChainScratch {
    static let capacity = 8193
    let frames = UnsafeMutableBufferPointer<CallFrame>.allocate(capacity: ChainScratch.capacity)
    deinit { frames.deallocate() }
}
