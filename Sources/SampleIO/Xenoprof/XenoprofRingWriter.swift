/// Produces Xenoprof ring snapshots the way Xen fills its shared buffers (`xenoprof_add_sample`): one
/// slot always kept free, `lost_samples` counted when a ring is full, the mode counters bumped per sample,
/// backtraces as an escape/`TRACE_BEGIN` entry, the pc, then caller frames with event 0. Between
/// snapshots the consumer (dom0's driver) is taken to have read everything.
///
/// Used by the scenario generator to write synthetic captures; the decoder is checked independently
/// against a C writer built from Xen's struct definitions.
public final class XenoprofRingWriter {
    /// Rings (one per vCPU, `xenoprof_buf.vcpu_id` 0 ..< vcpus) in each snapshot.
    public let vcpus: Int
    /// Slots per ring (`xenoprof_buf.event_size`); one is always kept free, so a ring holds `maxSamples - 1`.
    public let maxSamples: Int
    /// Width of an entry's pc in bits: 64 (x86-64 Xen) or 32 (`struct event_log` of a 32-bit build).
    public let wordSize: Int
    /// The pc value that marks a backtrace (`XENOPROF_ESCAPE_CODE`: all ones in the word size).
    public let escape: UInt64
    private var heads: [UInt32]
    private var tails: [UInt32]
    private var entries: [[(UInt64, UInt8, UInt8)]]
    private var counters: [[UInt64]]  // xen, kernel, user, lost
    /// Every snapshot taken so far, back to back: per snapshot one `xenoprof_buf` per vCPU, in vCPU order (the
    /// bytes of a capture's `domN.rings` file).
    public private(set) var snapshots: [UInt8] = []
    /// How many times ``snapshot()`` was called.
    public private(set) var snapshotCount = 0

    /// Empty rings for `vcpus` vCPUs. `escape` nil: the 64-bit escape code (pass `0xFFFF_FFFF` with
    /// `wordSize` 32).
    public init(vcpus: Int, maxSamples: Int, wordSize: Int = 64, escape: UInt64? = nil) {
        self.vcpus = vcpus
        self.maxSamples = maxSamples
        self.wordSize = wordSize
        self.escape = escape ?? XenoprofLayout.escape64
        heads = Array(repeating: 0, count: vcpus)
        tails = Array(repeating: 0, count: vcpus)
        entries = Array(repeating: Array(repeating: (0, 0, 0), count: maxSamples), count: vcpus)
        counters = Array(repeating: [0, 0, 0, 0], count: vcpus)
    }

    private func space(_ v: Int) -> Int {
        let head = Int(heads[v]), tail = Int(tails[v])
        return (tail > head ? 0 : maxSamples) + tail - head - 1
    }

    private func put(_ v: Int, _ eip: UInt64, _ mode: UInt8, _ event: UInt8) {
        entries[v][Int(heads[v])] = (eip, mode, event)
        heads[v] = (heads[v] + 1) % UInt32(maxSamples)
    }

    private func count(_ v: Int, _ mode: SampleMode) {
        switch mode {
        case .hypervisor: counters[v][0] += 1
        case .kernel: counters[v][1] += 1
        default: counters[v][2] += 1
        }
    }

    /// Logs one sample; false (and `lost_samples` + 1) when the ring is full.
    @discardableResult
    public func log(vcpu: Int, ip: UInt64, mode: SampleMode, event: UInt8 = 0) -> Bool {
        guard space(vcpu) >= 1 else { counters[vcpu][3] += 1; return false }
        put(vcpu, ip, mode.rawValue, event)
        count(vcpu, mode)
        return true
    }

    /// Logs a sample with its callers (a backtrace); false when it does not fit.
    @discardableResult
    public func logTrace(vcpu: Int, ip: UInt64, mode: SampleMode, event: UInt8 = 0, callers: [UInt64]) -> Bool {
        guard space(vcpu) >= 2 + callers.count else { counters[vcpu][3] += 1; return false }
        put(vcpu, escape, mode.rawValue, XenoprofLayout.traceBegin)
        put(vcpu, ip, mode.rawValue, event)
        for c in callers { put(vcpu, c, mode.rawValue, 0) }
        count(vcpu, mode)
        return true
    }

    /// Appends the current state of all buffers as one snapshot, then marks everything read.
    public func snapshot() {
        let entry = XenoprofLayout.entrySize(wordSize: wordSize)
        for v in 0..<vcpus {
            var w = ByteWriter(capacity: XenoprofLayout.bufferSize(maxSamples: maxSamples, wordSize: wordSize))
            w.write(heads[v]); w.write(tails[v]); w.write(UInt32(maxSamples)); w.write(UInt32(v))
            for c in counters[v] { w.write(c) }
            for (eip, mode, event) in entries[v] {
                w.write(eip); w.write(mode); w.write(event)
                w.write(bytes: repeatElement(UInt8(0), count: entry - 10))
            }
            snapshots.append(contentsOf: w.bytes)
            tails[v] = heads[v]
        }
        snapshotCount += 1
    }

    /// Samples lost so far, over all vCPUs.
    public var lost: UInt64 { counters.reduce(0) { $0 + $1[3] } }
}
