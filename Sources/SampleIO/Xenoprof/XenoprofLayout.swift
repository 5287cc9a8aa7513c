/// Xen's shared-buffer layout for Xenoprof (facts from Xen's public header `xen/include/public/xenoprof.h`).
///
/// `struct event_log { uint64_t eip; uint8_t mode; uint8_t event; }` — 16 bytes on x86_64, 12 in the
/// 32-bit compat layout (where `uint64_t` is 4-byte aligned).
/// `struct xenoprof_buf { uint32_t event_head, event_tail, event_size, vcpu_id; uint64_t xen_samples,
/// kernel_samples, user_samples, lost_samples; struct event_log event_log[1]; }` — a 48-byte header, then
/// the ring of `event_size` entries.
enum XenoprofLayout {
    static let headerSize = 48
    static let headOffset = 0, tailOffset = 4, sizeOffset = 8, vcpuOffset = 12
    static let xenSamplesOffset = 16, kernelSamplesOffset = 24, userSamplesOffset = 32, lostSamplesOffset = 40
    /// `XENOPROF_ESCAPE_CODE` on 64-bit (`~0UL`).
    static let escape64: UInt64 = ~0
    /// The escape Xen before 4.2 wrote in 32-bit guests' buffers (`~0U` widened).
    static let escape32: UInt64 = 0xFFFF_FFFF
    /// `XENOPROF_TRACE_BEGIN`: the escape's event that starts a backtrace.
    static let traceBegin: UInt8 = 1

    /// Bytes per `event_log` entry for a word size (64 → 16, 32 → 12).
    static func entrySize(wordSize: Int) -> Int { wordSize == 32 ? 12 : 16 }

    /// Bytes per vCPU buffer: the header plus `maxSamples` entries (Xen's
    /// `sizeof(xenoprof_buf) + (max_samples - 1) * sizeof(event_log)`).
    static func bufferSize(maxSamples: Int, wordSize: Int) -> Int {
        headerSize + maxSamples * entrySize(wordSize: wordSize)
    }

    /// OProfile event-buffer codes (after an escape word).
    enum Code: UInt64 {
        case ctxSwitch = 1, cpuSwitch = 2, cookieSwitch = 3, kernelEnter = 4, userEnter = 5, moduleLoaded = 6
        case tgid = 7, traceBegin = 8, spuProfiling = 9, xenEnter = 10, domainSwitch = 11
    }
}
