/// The side-band records of perf (MMAP, MMAP2, COMM, FORK, EXIT, LOST, LOST_SAMPLES) decoded once, for the
/// file reader (``PerfDataSource``) and the live recorder (``PerfRecordParser``): the layouts of
/// `include/uapi/linux/perf_event.h`, read through a ``RawRecord`` of either byte order.
enum PerfSidebandRecords {
    // Record types (enum perf_event_type).
    static let mmap: UInt32 = 1, lost: UInt32 = 2, comm: UInt32 = 3, exit: UInt32 = 4
    static let throttle: UInt32 = 5, unthrottle: UInt32 = 6, fork: UInt32 = 7
    static let sample: UInt32 = 9, mmap2: UInt32 = 10, lostSamples: UInt32 = 13
    // misc bits.
    static let miscCommExec: UInt16 = 1 << 13, miscMmapData: UInt16 = 1 << 13
    static let miscMmapBuildID: UInt16 = 1 << 14

    /// What one record says.
    enum Decoded {
        /// A side-band event; `time` is the record's own (FORK, EXIT), nil when it is in the sample_id_all
        /// trailer, which the caller reads by its own layout.
        case event(SidebandEvent, time: UInt64?)
        /// Samples the kernel lost.
        case lost(UInt64)
        /// Too short for its type: dropped, counted under this name.
        case malformed(String)
        /// Not a side-band record of these types.
        case other
    }

    /// Decodes the record `r` of type `type` (its header's `misc` in `misc`). Mappings of the kernel
    /// (cpumode KERNEL or GUEST_KERNEL, or pid -1) have pid -1; every event is the host's (a guest's
    /// mapping gets its domain from the caller).
    static func decode(_ r: RawRecord, type: UInt32, misc: UInt16) -> Decoded {
        switch type {
        case mmap, mmap2:
            guard r.count >= 40 else { return .malformed("mmap") }
            let pid = r.u32(8)
            var nameAt = 40
            var buildID: [UInt8] = []
            var exec = true
            if type == mmap2 {
                // struct perf_record_mmap2: the 24 bytes at 40 (maj, min, ino, ino_generation, or build_id_size,
                // 3 reserved bytes and a 20-byte build_id), then prot and flags: 72 bytes before the file name.
                guard r.count >= 72 else { return .malformed("mmap2") }
                if misc & miscMmapBuildID != 0 {
                    let n = min(20, Int(r.p[40]))
                    buildID = Array(r.p[44..<(44 + n)])
                }
                exec = r.u32(64) & 4 != 0  // PROT_EXEC
                nameAt = 72
            } else {
                exec = misc & miscMmapData == 0
            }
            let cpumode = misc & 7
            let kernel = cpumode == 1 || cpumode == 4 || pid == UInt32.max
            let m = Mapping(pid: kernel ? -1 : Int32(bitPattern: pid), start: r.u64(16), length: r.u64(24),
                            fileOffset: r.u64(32), path: r.string(nameAt), buildID: buildID, executable: exec)
            return .event(.mapping(m), time: nil)
        case comm:
            guard r.count >= 16 else { return .malformed("comm") }
            return .event(.comm(domain: .host, pid: Int32(bitPattern: r.u32(8)), tid: Int32(bitPattern: r.u32(12)),
                                name: r.string(16), exec: misc & miscCommExec != 0), time: nil)
        case exit, fork:
            guard r.count >= 32 else { return .malformed(type == fork ? "fork" : "exit") }
            let pid = Int32(bitPattern: r.u32(8)), ppid = Int32(bitPattern: r.u32(12))
            let tid = Int32(bitPattern: r.u32(16)), ptid = Int32(bitPattern: r.u32(20))
            if type == fork {
                return .event(.fork(domain: .host, pid: pid, ppid: ppid, tid: tid, ptid: ptid), time: r.u64(24))
            }
            return .event(.exit(domain: .host, pid: pid, tid: tid), time: r.u64(24))
        case lost:
            guard r.count >= 24 else { return .malformed("lost") }
            return .lost(r.u64(16))
        case lostSamples:
            guard r.count >= 16 else { return .malformed("lost_samples") }
            return .lost(r.u64(8))
        default:
            return .other
        }
    }
}
